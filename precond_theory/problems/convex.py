r"""Smooth convex problems that are not strongly convex, with exact minimisers.

* :class:`HuberSum` — a rotated, weighted Huber function (quadratic near ``x_star``, linear
  far away), so gradient methods see curvature ``L`` near the minimiser and none in the tails;
* :class:`LogSumExp` — :math:`\log\sum_j e^{a_j^\top x - b_j}` built so that ``x_star`` is known;
* :class:`GDWorstCase` — the one-parameter family of functions on which gradient descent with
  step ``h/L`` attains its exact worst-case bound after N steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from .._checks import check_choice, check_int, check_range
from .._xp import array_namespace
from ._util import resolve_dtype, to_xp
from .base import AbstractProblem
from .quadratic import _draw_basis, quadratic_spectrum

__all__ = ["HuberSum", "LogSumExp", "GDWorstCase", "make_huber", "make_log_sum_exp", "make_gd_worst_case"]

Array = Any


class _HostConstants(AbstractProblem):
    """Namespace/dtype/dim read from a stored data array ``_ref``."""

    @property
    def _ref(self) -> Array:
        raise NotImplementedError

    @property
    def xp(self) -> Any:  # type: ignore[override]
        return array_namespace(self._ref)

    @property
    def dtype(self) -> Any:  # type: ignore[override]
        return self._ref.dtype


@dataclass(frozen=True, kw_only=True, eq=False)
class HuberSum(_HostConstants):
    r"""Rotated weighted Huber function.

    Notes
    -----
    .. math::
        f(x) = \sum_{i=1}^n c_i\,\rho_\delta(u_i),\quad u = Q^\top (x - x^\star),\qquad
        \rho_\delta(u) = \begin{cases} u^2/2 & |u|\le\delta\\ \delta|u| - \delta^2/2 & |u| > \delta\end{cases}

    :math:`\nabla f = Q\,(c\odot\mathrm{clip}(u,-\delta,\delta))`,
    :math:`\nabla^2 f = Q\,\mathrm{diag}(c\odot 1_{|u|\le\delta})\,Q^\top` (defined except on the
    kinks :math:`|u_i| = \delta`).  ``L`` :math:`=\max_i c_i`; ``mu = 0`` (f grows only linearly);
    the local curvature at ``x_star`` is ``local_mu`` :math:`=\min_i c_i`.  ``f_star = 0``.
    """

    Q: Array
    c: Array
    x_star: Array
    delta: float = 1.0
    weights: np.ndarray = field(default_factory=lambda: np.ones(1))
    f_star: Any = 0.0
    mu: Any = 0.0
    name: str = "huber"
    params: dict = field(default_factory=dict)

    @property
    def _ref(self) -> Array:
        return self.Q

    @property
    def dim(self) -> int:  # type: ignore[override]
        return int(self.Q.shape[-1])

    @property
    def L(self) -> float:  # type: ignore[override]
        return float(np.max(self.weights))

    @property
    def local_mu(self) -> float:
        """Smallest curvature at ``x_star`` (the strong convexity of f restricted to a ball
        of radius δ around ``x_star`` in the rotated coordinates)."""
        return float(np.min(self.weights))

    def value(self, x: Array) -> Array:
        xp = array_namespace(x, self.Q)
        a = xp.abs((x - self.x_star) @ self.Q)
        d = self.delta
        rho = xp.where(a <= d, 0.5 * a * a, d * a - 0.5 * d * d)
        return xp.sum(self.c * rho, axis=-1)

    def grad(self, x: Array) -> Array:
        xp = array_namespace(x, self.Q)
        u = (x - self.x_star) @ self.Q
        clipped = xp.minimum(xp.maximum(u, -self.delta * xp.ones_like(u)), self.delta * xp.ones_like(u))
        return (self.c * clipped) @ self.Q.T

    def hvp(self, x: Array, v: Array) -> Array:
        xp = array_namespace(x, v, self.Q)
        u = (x - self.x_star) @ self.Q
        active = xp.where(xp.abs(u) <= self.delta, self.c, xp.zeros_like(u))
        return (active * (v @ self.Q)) @ self.Q.T


def make_huber(dim: int = 10, kappa: float = 10.0, *, delta: float = 1.0, rotate: bool = True, seed: int = 0,
               xp: Any = np, dtype: Any = None) -> HuberSum:
    """Huber function with weights geometric in ``[1, kappa]`` (so ``L = kappa``), kink at
    ``delta > 0``, Haar-random (``rotate``) or identity basis and ``x_star ~ N(0, I)`` from ``seed``."""
    dim = check_int("dim", dim, 1)
    check_range("delta", delta, 0.0, lo_open=True)
    weights = quadratic_spectrum(dim, kappa, "geometric", 1.0)
    q, xs = _draw_basis(dim, check_int("seed", seed, 0), bool(rotate))
    dt = resolve_dtype(xp, dtype)
    return HuberSum(Q=to_xp(q, xp, dt), c=to_xp(weights, xp, dt), x_star=to_xp(xs, xp, dt), delta=float(delta),
                    weights=weights, params=dict(dim=dim, kappa=float(kappa), delta=float(delta),
                                                 rotate=bool(rotate), seed=int(seed)))


@dataclass(frozen=True, kw_only=True, eq=False)
class LogSumExp(_HostConstants):
    r"""Log-sum-exp with a known minimiser.

    Notes
    -----
    .. math::
        f(x) = \log\sum_{j=1}^m \exp(a_j^\top x - b_j),\qquad \nabla f = A^\top s,\qquad
        \nabla^2 f = A^\top(\mathrm{diag}(s) - s s^\top) A,\quad s = \mathrm{softmax}(Ax - b)

    The data are built so that ``x_star`` is the minimiser: draw weights p > 0 with
    :math:`\sum p = 1`, project the rows of a Gaussian matrix so that :math:`A^\top p = 0`, and
    set :math:`b = A x^\star - \log p`; then :math:`s(x^\star) = p`, :math:`\nabla f(x^\star) = 0` and
    :math:`f^\star = \log\sum_j p_j = 0`.  With A of full column rank the minimiser is unique
    (f is coercive since :math:`p > 0`), but f grows linearly at infinity: ``mu = 0``.
    ``L`` :math:`=\min(\|A\|_2^2/2, \max_j\|a_j\|^2)`, valid because
    :math:`\|\mathrm{diag}(s) - ss^\top\|_2 \le \max_i 2s_i(1-s_i) \le 1/2` (Gershgorin) and
    :math:`\nabla^2 f \preceq \sum_j s_j a_j a_j^\top`.
    """

    A: Array
    b: Array
    x_star: Array
    f_star: Any = 0.0
    L: Any = None
    mu: Any = 0.0
    name: str = "log_sum_exp"
    params: dict = field(default_factory=dict)

    @property
    def _ref(self) -> Array:
        return self.A

    @property
    def dim(self) -> int:  # type: ignore[override]
        return int(self.A.shape[-1])

    def _z(self, x: Array) -> tuple[Array, Array]:
        xp = array_namespace(x, self.A)
        z = x @ self.A.T - self.b
        zmax = xp.max(z, axis=-1, keepdims=True)
        e = xp.exp(z - zmax)
        return zmax, e

    def value(self, x: Array) -> Array:
        xp = array_namespace(x, self.A)
        zmax, e = self._z(x)
        return zmax[..., 0] + xp.log(xp.sum(e, axis=-1))

    def _softmax(self, x: Array) -> Array:
        xp = array_namespace(x, self.A)
        _, e = self._z(x)
        return e / xp.sum(e, axis=-1, keepdims=True)

    def grad(self, x: Array) -> Array:
        return self._softmax(x) @ self.A

    def hvp(self, x: Array, v: Array) -> Array:
        xp = array_namespace(x, v, self.A)
        s = self._softmax(x)
        Av = v @ self.A.T
        return (s * Av) @ self.A - xp.sum(s * Av, axis=-1, keepdims=True) * (s @ self.A)


def make_log_sum_exp(dim: int = 10, n_terms: int | None = None, *, seed: int = 0, xp: Any = np,
                     dtype: Any = None) -> LogSumExp:
    """Log-sum-exp in ``dim`` variables with ``n_terms >= dim + 1`` terms (default ``2*dim + 1``);
    see :class:`LogSumExp`.  ``x_star`` is refined by two Newton steps with extended-precision
    gradients, so it is the minimiser of the stored (rounded) data to a few ulps."""
    dim = check_int("dim", dim, 1)
    m = 2 * dim + 1 if n_terms is None else check_int("n_terms", n_terms, dim + 1)
    rng = np.random.default_rng(check_int("seed", seed, 0))
    p = rng.dirichlet(np.ones(m))
    A0 = rng.standard_normal((m, dim))
    A = A0 - np.outer(np.ones(m), p @ A0) / p.sum()
    xs = rng.standard_normal(dim)
    b = A @ xs - np.log(p)
    Al, bl = A.astype(np.longdouble), b.astype(np.longdouble)
    for _ in range(2):
        z = Al @ xs.astype(np.longdouble) - bl
        s = np.exp(z - z.max())
        s = s / s.sum()
        g = np.asarray(Al.T @ s, dtype=np.float64)
        sf = np.asarray(s, dtype=np.float64)
        H = A.T @ (np.diag(sf) - np.outer(sf, sf)) @ A
        xs = xs - np.linalg.solve(H, g)
    z = Al @ xs.astype(np.longdouble) - bl
    f_star = float(z.max() + np.log(np.sum(np.exp(z - z.max()))))
    L = float(min(np.linalg.norm(A, 2) ** 2 / 2, np.max(np.sum(A * A, axis=1))))
    dt = resolve_dtype(xp, dtype)
    return LogSumExp(A=to_xp(A, xp, dt), b=to_xp(b, xp, dt), x_star=to_xp(xs, xp, dt), f_star=f_star, L=L,
                     params=dict(dim=dim, n_terms=m, seed=int(seed)))


@dataclass(frozen=True, kw_only=True, eq=False)
class GDWorstCase(_HostConstants):
    r"""Functions on which gradient descent attains its exact worst case.

    Gradient descent :math:`x_{k+1} = x_k - (h/L)\nabla f(x_k)` on an L-smooth convex f with
    :math:`\|x_0 - x^\star\| \le R` satisfies, for :math:`0 < h \le 1`,
    :math:`f(x_N) - f^\star \le LR^2/(4Nh+2)` [1, Thm. 3.1], and the bound is attained [1,
    Thm. 3.2] by the Huber-type function (``kind="huber"``)

    .. math::
        \varphi(x) = \begin{cases} L\,t\,\|x\| - L t^2/2 & \|x\| \ge t\\ \frac L2\|x\|^2 & \|x\| < t\end{cases},
        \qquad t = \frac{R}{2Nh+1},

    from :math:`x_0 = R e_1`: every iterate stays in the linear region, moving by :math:`ht`
    per step, and :math:`f(x_N) = LR^2/(4Nh+2)` exactly.  For :math:`0 < h < 2` the exact
    worst case is :math:`\frac{LR^2}{2}\max\{\frac1{2Nh+1}, (1-h)^{2N}\}` [2, conjecture, verified
    numerically by performance estimation]; the second term is attained by the quadratic
    :math:`\frac L2\|x\|^2` (``kind="quadratic"``).  ``kind="auto"`` picks the larger of the two.
    :attr:`worst_case_gap` is the value :math:`f(x_N) - f^\star` that GD reaches on this f.

    ``x_star = 0``, ``f_star = 0``, ``mu = 0`` (huber) or ``L`` (quadratic).

    References
    ----------
    .. [1] Y. Drori, M. Teboulle, "Performance of first-order methods for smooth convex
           minimization: a novel approach", Math. Program. 145(1-2):451-482, 2014,
           doi:10.1007/s10107-013-0653-0, Theorems 3.1-3.2.
    .. [2] A. B. Taylor, J. M. Hendrickx, F. Glineur, "Smooth strongly convex interpolation and
           exact worst-case performance of first-order methods", Math. Program.
           161(1-2):307-345, 2017, doi:10.1007/s10107-016-1009-3, §4 (conjecture for GD).
    """

    ref: Array  # x0 = R e_1 on xp (also fixes namespace and dtype)
    L: Any = 1.0
    R: float = 1.0
    N: int = 10
    h: float = 1.0
    kind: str = "huber"
    name: str = "gd_worst_case"
    params: dict = field(default_factory=dict)
    f_star: Any = 0.0
    fixed_start: ClassVar[bool] = True  # the worst case is attained from x0 = R e_1

    @property
    def _ref(self) -> Array:
        return self.ref

    @property
    def dim(self) -> int:  # type: ignore[override]
        return int(self.ref.shape[-1])

    @property
    def x_star(self) -> Array:  # type: ignore[override]
        return self.xp.zeros((self.dim,), dtype=self.dtype)

    @property
    def mu(self) -> float:  # type: ignore[override]
        return float(self.L) if self.kind == "quadratic" else 0.0

    @property
    def threshold(self) -> float:
        """t = R/(2Nh+1), the radius where the Huber function turns linear."""
        return self.R / (2 * self.N * self.h + 1)

    @property
    def worst_case_gap(self) -> float:
        r""":math:`f(x_N) - f^\star` of GD with step h/L from ``default_x0()`` on this function."""
        if self.kind == "quadratic":
            return 0.5 * self.L * self.R**2 * (1 - self.h) ** (2 * self.N)
        return self.L * self.R**2 / (4 * self.N * self.h + 2)

    def _norm(self, x: Array) -> tuple[Array, Any]:
        xp = array_namespace(x)
        return xp.sqrt(xp.sum(x * x, axis=-1, keepdims=True)), xp

    def value(self, x: Array) -> Array:
        r, xp = self._norm(x)
        r = r[..., 0]
        if self.kind == "quadratic":
            return 0.5 * self.L * r * r
        t = self.threshold
        return xp.where(r >= t, self.L * t * r - 0.5 * self.L * t * t, 0.5 * self.L * r * r)

    def grad(self, x: Array) -> Array:
        if self.kind == "quadratic":
            return self.L * x
        r, xp = self._norm(x)
        t = self.threshold
        factor = xp.where(r >= t, t / xp.where(r > 0, r, xp.ones_like(r)), xp.ones_like(r))
        return self.L * factor * x

    def hvp(self, x: Array, v: Array) -> Array:
        if self.kind == "quadratic":
            return self.L * v
        r, xp = self._norm(x)
        t = self.threshold
        rs = xp.where(r > 0, r, xp.ones_like(r))
        u = x / rs
        outer = (self.L * t / rs) * (v - u * xp.sum(u * v, axis=-1, keepdims=True))
        return xp.where(r >= t, outer, self.L * v)

    def default_x0(self) -> Array:
        return self.ref


def make_gd_worst_case(dim: int = 1, *, L: float = 1.0, R: float = 1.0, N: int = 10, h: float = 1.0,
                       kind: Literal["huber", "quadratic", "auto"] = "huber", xp: Any = np,
                       dtype: Any = None) -> GDWorstCase:
    """The worst-case function of GD with step ``h/L`` after ``N`` steps from distance ``R``
    (see :class:`GDWorstCase`).  Needs ``0 < h < 2``; the Huber bound is proved for ``h <= 1``."""
    dim = check_int("dim", dim, 1)
    check_range("L", L, 0.0, lo_open=True)
    check_range("R", R, 0.0, lo_open=True)
    N = check_int("N", N, 1)
    check_range("h", h, 0.0, 2.0, lo_open=True, hi_open=True)
    check_choice("kind", kind, ("huber", "quadratic", "auto"))
    if kind == "auto":
        kind = "huber" if 1 / (2 * N * h + 1) >= (1 - h) ** (2 * N) else "quadratic"
    x0 = np.zeros(dim)
    x0[0] = R
    dt = resolve_dtype(xp, dtype)
    return GDWorstCase(ref=to_xp(x0, xp, dt), L=float(L), R=float(R), N=N, h=float(h), kind=kind,
                       params=dict(dim=dim, L=float(L), R=float(R), N=N, h=float(h), kind=kind))

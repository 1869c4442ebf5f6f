r"""Nonconvex models on synthetic data, all finite sums (minibatch-ready):

* :class:`NonconvexRegression` — least squares plus the nonconvex penalty
  :math:`\lambda\sum_j x_j^2/(1+x_j^2)`;
* :class:`PhaseRetrieval` — real phase retrieval :math:`\frac1{4m}\sum_i((a_i^\top x)^2 - y_i)^2`;
* :class:`TwoLayerNet` — a tanh network :math:`z \mapsto v^\top\tanh(Wz)` fitted to a teacher of
  the same shape (so a global minimiser is known), with analytic gradients and HVPs.

Stationary points that can be located exactly are listed with their Hessian eigenvalues,
computed on the host at construction from the problem's own analytic Hessian.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import check_int, check_range
from .._xp import array_namespace
from ._util import features, kind_from_eigenvalues, newton_refine, resolve_dtype, sym_eigvalsh, to_xp
from .base import StationaryPoint
from .finite_sum import AbstractFiniteSum, DesignBacked, _row_dot, gather

__all__ = [
    "NonconvexRegression", "PhaseRetrieval", "TwoLayerNet",
    "make_nonconvex_regression", "make_phase_retrieval", "make_two_layer_net",
]

Array = Any


@dataclass(frozen=True, kw_only=True, eq=False)
class _Data(DesignBacked, AbstractFiniteSum):
    A: Array  # (m, n) design (inputs Z for the network)
    b: Array  # (m,) targets
    x_star: Array | None = None
    f_star: Any = None
    L: Any = None
    mu: Any = None
    stationary_points: tuple = ()
    x0: Array | None = None
    name: str = "model"
    params: dict = field(default_factory=dict)

    def default_x0(self) -> Array:
        return self.x0 if self.x0 is not None else self.xp.zeros((self.dim,), dtype=self.dtype)


def _host_point(problem: Any, x: np.ndarray, kind: str | None = None) -> StationaryPoint:
    H = np.asarray(problem.hessian(np.asarray(x, dtype=np.float64)))
    eigs = np.linalg.eigvalsh((H + H.T) / 2)
    return StationaryPoint(x=tuple(float(v) for v in x), kind=kind or kind_from_eigenvalues(eigs),
                           value=float(problem.value(np.asarray(x))), hessian_eigenvalues=tuple(float(e) for e in eigs))


@dataclass(frozen=True, kw_only=True, eq=False)
class NonconvexRegression(_Data):
    r"""Least squares with a nonconvex (capped-quadratic) penalty.

    Notes
    -----
    .. math::
        f(x) = \frac1{2m}\|Ax-b\|^2 + \lambda\sum_j \varphi(x_j),\qquad
        \varphi(t) = \frac{t^2}{1+t^2},\quad \varphi'(t) = \frac{2t}{(1+t^2)^2},\quad
        \varphi''(t) = \frac{2 - 6t^2}{(1+t^2)^3} \in [-\tfrac12, 2]

    so :math:`\lambda_{\min}(A^\top A/m) - \lambda/2 \preceq \nabla^2 f \preceq \lambda_{\max}(A^\top A/m) + 2\lambda`:
    ``L`` is the upper bound, ``lower_curvature`` the lower one (negative: nonconvex, weakly
    convex).  ``x_star``/``f_star`` are unknown (None); ``stationary_points`` lists the point
    Newton's method reaches from the least-squares solution.  Per-sample terms
    :math:`f_i = \frac12(a_i^\top x - b_i)^2 + \lambda\sum_j\varphi(x_j)`.

    References
    ----------
    .. [1] S. J. Reddi, A. Hefny, S. Sra, B. Póczos, A. Smola, "Stochastic variance reduction
           for nonconvex optimization", ICML 2016 (this penalty in their experiments).
    """

    lam: float = 1.0
    lower_curvature: float = 0.0
    name: str = "nonconvex_regression"

    def _penalty(self, x: Array) -> Array:
        xp = array_namespace(x)
        x2 = x * x
        return self.lam * xp.sum(x2 / (1 + x2), axis=-1)

    def value(self, x: Array) -> Array:
        xp = array_namespace(x, self.A)
        r = x @ self.A.T - self.b
        return xp.sum(r * r, axis=-1) / (2 * self.n_samples) + self._penalty(x)

    def _dpen(self, x: Array) -> Array:
        q = 1 + x * x
        return self.lam * 2 * x / (q * q)

    def grad(self, x: Array) -> Array:
        r = x @ self.A.T - self.b
        return (r @ self.A) / self.n_samples + self._dpen(x)

    def hvp(self, x: Array, v: Array) -> Array:
        x2 = x * x
        q = 1 + x2
        return ((v @ self.A.T) @ self.A) / self.n_samples + self.lam * (2 - 6 * x2) / (q * q * q) * v

    def per_sample_grads(self, x: Array, idx: Array) -> Array:
        xp = array_namespace(x, self.A)
        Ai = gather(self.A, idx)
        r = _row_dot(Ai, x) - gather(self.b, idx)
        return xp.expand_dims(r, axis=-1) * Ai + xp.expand_dims(self._dpen(x), axis=-2)

    def value_samples(self, x: Array, idx: Array) -> Array:
        xp = array_namespace(x, self.A)
        r = _row_dot(gather(self.A, idx), x) - gather(self.b, idx)
        return 0.5 * xp.mean(r * r, axis=-1) + self._penalty(x)


def make_nonconvex_regression(n_samples: int = 50, dim: int = 10, *, lam: float = 1.0, mean: Any = 0.0,
                              scale: Any = 1.0, corr: Any = 0.0, noise: float = 0.1, seed: int = 0, xp: Any = np,
                              dtype: Any = None) -> NonconvexRegression:
    r"""Nonconvex regularised regression (see :class:`NonconvexRegression`); data as in
    :func:`~precond_theory.problems.finite_sum.make_least_squares` with :math:`w \sim N(0, 4I)`
    (so that coordinates reach the concave part :math:`|x_j| > 1/\sqrt3` of the penalty)."""
    m, n = check_int("n_samples", n_samples, 1), check_int("dim", dim, 1)
    check_range("lam", lam, 0.0)
    check_range("noise", noise, 0.0)
    rng = np.random.default_rng(check_int("seed", seed, 0))
    Z = features(m, n, mean=mean, scale=scale, corr=corr, rng=rng)
    b = Z @ (2.0 * rng.standard_normal(n)) + noise * rng.standard_normal(m)
    eigs = sym_eigvalsh(Z.T @ Z / m)
    host = NonconvexRegression(A=Z, b=b, lam=float(lam))
    start = np.linalg.lstsq(Z, b, rcond=None)[0]
    xs = newton_refine(host.grad, lambda z: np.asarray(host.hessian(z)), start)
    converged = np.linalg.norm(host.grad(xs)) < 1e-9 * (1 + np.linalg.norm(Z.T @ b) / m)
    points = (_host_point(host, xs),) if converged else ()
    dt = resolve_dtype(xp, dtype)
    return NonconvexRegression(A=to_xp(Z, xp, dt), b=to_xp(b, xp, dt), lam=float(lam), L=float(eigs[-1] + 2 * lam),
                               lower_curvature=float(eigs[0] - lam / 2), stationary_points=points,
                               params=dict(n_samples=m, dim=n, lam=float(lam), noise=float(noise), seed=int(seed)))


@dataclass(frozen=True, kw_only=True, eq=False)
class PhaseRetrieval(_Data):
    r"""Real phase retrieval from Gaussian measurements.

    Notes
    -----
    .. math::
        f(x) = \frac1{4m}\sum_i\bigl((a_i^\top x)^2 - y_i\bigr)^2,\quad y_i = (a_i^\top x^\natural)^2,\qquad
        \nabla^2 f(x) = \frac1m\sum_i\bigl(3(a_i^\top x)^2 - y_i\bigr)a_i a_i^\top

    Global minima :math:`\pm x^\natural` (value 0; ``x_star`` :math:`= x^\natural`); the origin is
    a local maximum (:math:`\nabla^2 f(0) = -\frac1m\sum_i y_i a_i a_i^\top`).  Both are listed with
    their Hessian eigenvalues.  With :math:`m \gtrsim n\log n` measurements there are no other
    local minima w.h.p. [1].  Not globally L-smooth (quartic).

    References
    ----------
    .. [1] J. Sun, Q. Qu, J. Wright, "A geometric analysis of phase retrieval", Found. Comput.
           Math. 18:1131-1198, 2018.
    .. [2] E. J. Candès, X. Li, M. Soltanolkotabi, "Phase retrieval via Wirtinger flow",
           IEEE Trans. Inf. Theory 61(4):1985-2007, 2015.
    """

    name: str = "phase_retrieval"

    def value(self, x: Array) -> Array:
        xp = array_namespace(x, self.A)
        p = x @ self.A.T
        r = p * p - self.b
        return xp.sum(r * r, axis=-1) / (4 * self.n_samples)

    def grad(self, x: Array) -> Array:
        p = x @ self.A.T
        return ((p * p - self.b) * p) @ self.A / self.n_samples

    def hvp(self, x: Array, v: Array) -> Array:
        p = x @ self.A.T
        return ((3 * p * p - self.b) * (v @ self.A.T)) @ self.A / self.n_samples

    def per_sample_grads(self, x: Array, idx: Array) -> Array:
        xp = array_namespace(x, self.A)
        Ai = gather(self.A, idx)
        p = _row_dot(Ai, x)
        return xp.expand_dims((p * p - gather(self.b, idx)) * p, axis=-1) * Ai

    def value_samples(self, x: Array, idx: Array) -> Array:
        xp = array_namespace(x, self.A)
        p = _row_dot(gather(self.A, idx), x)
        r = p * p - gather(self.b, idx)
        return 0.25 * xp.mean(r * r, axis=-1)


def make_phase_retrieval(dim: int = 8, n_samples: int | None = None, *, seed: int = 0, xp: Any = np,
                         dtype: Any = None) -> PhaseRetrieval:
    r"""Phase retrieval with ``n_samples`` (default ``10*dim``) Gaussian measurements of a unit
    :math:`x^\natural`; the default start is a seeded :math:`N(0, I/n)` point."""
    n = check_int("dim", dim, 1)
    m = 10 * n if n_samples is None else check_int("n_samples", n_samples, 1)
    rng = np.random.default_rng(check_int("seed", seed, 0))
    Z = rng.standard_normal((m, n))
    xt = rng.standard_normal(n)
    xt /= np.linalg.norm(xt)
    y = (Z @ xt) ** 2
    x0 = rng.standard_normal(n) / np.sqrt(n)
    host = PhaseRetrieval(A=Z, b=y)
    points = (_host_point(host, xt, "minimum"), _host_point(host, -xt, "minimum"), _host_point(host, np.zeros(n)))
    dt = resolve_dtype(xp, dtype)
    return PhaseRetrieval(A=to_xp(Z, xp, dt), b=to_xp(y, xp, dt), x_star=to_xp(xt, xp, dt), f_star=0.0,
                          stationary_points=points, x0=to_xp(x0, xp, dt),
                          params=dict(dim=n, n_samples=m, seed=int(seed)))


@dataclass(frozen=True, kw_only=True, eq=False)
class TwoLayerNet(_Data):
    r"""Two-layer tanh network fitted by least squares to a teacher network.

    Notes
    -----
    Parameters :math:`x = (\mathrm{vec}(W), v)` with :math:`W \in \mathbb R^{h\times d}` (row-major)
    and :math:`v \in \mathbb R^h`, so ``dim`` :math:`= hd + h`.

    .. math::
        f(x) = \frac1{2m}\sum_i r_i^2,\quad r_i = v^\top\tanh(W z_i) - y_i,\qquad
        \nabla_v f = \frac1m\sum_i r_i\,a_i,\quad
        \nabla_W f = \frac1m\sum_i r_i\,(v\odot(1 - a_i^2))\,z_i^\top,\quad a_i = \tanh(Wz_i)

    The HVP is the exact directional derivative of this gradient (forward mode, written out).
    With ``noise = 0`` the teacher's parameters are a global minimiser (``x_star``,
    ``f_star = 0``; so is every hidden-unit permutation and sign flip of them); it is listed as a
    minimum with the eigenvalues of :math:`\nabla^2 f(x^\star) = J^\top J/m`.
    """

    hidden: int = 8
    name: str = "two_layer_net"

    @property
    def dim(self) -> int:  # type: ignore[override]
        return self.hidden * int(self.A.shape[-1]) + self.hidden

    def _unpack(self, x: Array) -> tuple[Array, Array, Any]:
        xp = array_namespace(x, self.A)
        hd = self.hidden * int(self.A.shape[-1])
        W = xp.reshape(x[..., :hd], (*tuple(x.shape[:-1]), self.hidden, int(self.A.shape[-1])))
        return W, x[..., hd:], xp

    def _forward(self, x: Array, Z: Array, y: Array) -> tuple[Array, Array, Array, Array, Any]:
        W, v, xp = self._unpack(x)
        a = xp.tanh(Z @ xp.matrix_transpose(W))  # (*batch, m, h)
        r = xp.sum(a * xp.expand_dims(v, axis=-2), axis=-1) - y
        return W, v, a, r, xp

    def _pack(self, gW: Array, gv: Array, xp: Any) -> Array:
        lead = tuple(gv.shape[:-1])
        return xp.concat([xp.reshape(gW, (*lead, -1)), gv], axis=-1)

    def value(self, x: Array) -> Array:
        *_, r, xp = self._forward(x, self.A, self.b)
        return xp.sum(r * r, axis=-1) / (2 * self.n_samples)

    def _grad(self, x: Array, Z: Array, y: Array, m: int) -> Array:
        W, v, a, r, xp = self._forward(x, Z, y)
        rr = xp.expand_dims(r, axis=-1)
        gv = xp.sum(rr * a, axis=-2) / m
        gpre = rr * xp.expand_dims(v, axis=-2) * (1 - a * a)
        return self._pack(xp.matrix_transpose(gpre) @ Z / m, gv, xp)

    def grad(self, x: Array) -> Array:
        return self._grad(x, self.A, self.b, self.n_samples)

    def hvp(self, x: Array, u: Array) -> Array:
        W, v, a, r, xp = self._forward(x, self.A, self.b)
        dW, dv, _ = self._unpack(u)
        Z, m = self.A, self.n_samples
        s = 1 - a * a
        da = s * (Z @ xp.matrix_transpose(dW))
        v2, dv2 = xp.expand_dims(v, axis=-2), xp.expand_dims(dv, axis=-2)
        dr = xp.sum(da * v2 + a * dv2, axis=-1)
        rr, drr = xp.expand_dims(r, axis=-1), xp.expand_dims(dr, axis=-1)
        hv = xp.sum(da * rr + a * drr, axis=-2) / m
        dgpre = drr * v2 * s + rr * dv2 * s - 2 * rr * v2 * a * da
        return self._pack(xp.matrix_transpose(dgpre) @ Z / m, hv, xp)

    def per_sample_grads(self, x: Array, idx: Array) -> Array:
        Zi, yi = gather(self.A, idx), gather(self.b, idx)
        W, v, a, r, xp = self._forward(x, Zi, yi)
        rr = xp.expand_dims(r, axis=-1)
        gv = rr * a  # (*batch, B, h)
        gpre = rr * xp.expand_dims(v, axis=-2) * (1 - a * a)
        gW = xp.expand_dims(gpre, axis=-1) * xp.expand_dims(Zi, axis=-2)  # (*batch, B, h, d)
        return self._pack(gW, gv, xp)

    def grad_samples(self, x: Array, idx: Array) -> Array:
        return self._grad(x, gather(self.A, idx), gather(self.b, idx), int(idx.shape[-1]))

    def value_samples(self, x: Array, idx: Array) -> Array:
        *_, r, xp = self._forward(x, gather(self.A, idx), gather(self.b, idx))
        return 0.5 * xp.mean(r * r, axis=-1)


def make_two_layer_net(n_samples: int = 64, d_in: int = 4, hidden: int = 8, *, noise: float = 0.0, mean: Any = 0.0,
                       scale: Any = 1.0, corr: Any = 0.0, seed: int = 0, xp: Any = np,
                       dtype: Any = None) -> TwoLayerNet:
    r"""Two-layer tanh network with a teacher of the same shape (see :class:`TwoLayerNet`).

    Inputs :math:`z_i` come from :func:`~precond_theory.problems._util.features` (``mean``,
    ``scale``, ``corr``); teacher :math:`W^\natural_{jk} \sim N(0, 1/d)`,
    :math:`v^\natural_j \sim N(0, 1/h)`; targets :math:`y_i = v^{\natural\top}\tanh(W^\natural z_i) +`
    ``noise`` :math:`\cdot\varepsilon_i`.  The default start is an independent draw from the same
    initialisation law.  With ``noise > 0`` the minimiser is unknown (``x_star = None``).
    """
    m = check_int("n_samples", n_samples, 1)
    d, h = check_int("d_in", d_in, 1), check_int("hidden", hidden, 1)
    check_range("noise", noise, 0.0)
    rng = np.random.default_rng(check_int("seed", seed, 0))
    Z = features(m, d, mean=mean, scale=scale, corr=corr, rng=rng)

    def draw() -> np.ndarray:
        return np.concatenate([rng.standard_normal(h * d) / np.sqrt(d), rng.standard_normal(h) / np.sqrt(h)])

    teacher = draw()
    W = teacher[: h * d].reshape(h, d)
    y = np.tanh(Z @ W.T) @ teacher[h * d:] + noise * rng.standard_normal(m)
    x0 = draw()
    points: tuple = ()
    if noise == 0:
        points = (_host_point(TwoLayerNet(A=Z, b=y, hidden=h), teacher, "minimum"),)
    dt = resolve_dtype(xp, dtype)
    return TwoLayerNet(A=to_xp(Z, xp, dt), b=to_xp(y, xp, dt), hidden=h,
                       x_star=to_xp(teacher, xp, dt) if noise == 0 else None, f_star=0.0 if noise == 0 else None,
                       stationary_points=points, x0=to_xp(x0, xp, dt),
                       params=dict(n_samples=m, d_in=d, hidden=h, noise=float(noise), seed=int(seed)))

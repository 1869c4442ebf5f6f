r"""Counterexamples from the literature, each with the behaviour it demonstrates.

* :class:`ReddiPeriodic`, :class:`ReddiStochastic` — online/stochastic linear losses on
  :math:`[-1, 1]` on which Adam converges to the worst point while AMSGrad converges to the
  minimiser (Reddi, Kale, Kumar, ICLR 2018).
* :class:`LessardPiecewise` — a 1-strongly convex, 25-smooth piecewise quadratic on which
  heavy ball with the parameters that are optimal for quadratics cycles forever (Lessard,
  Recht, Packard 2016, §4.6), while gradient descent converges.
* :class:`NesterovWorstCase` — the tridiagonal quadratic on which every first-order method is
  slow (Nesterov 2004, §2.1.2 and §2.1.4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .._checks import check_int, check_range
from .._xp import array_namespace
from ._util import refine_solve, resolve_dtype, to_xp
from .base import AbstractProblem, ArrayBacked, FeasibleSet
from .quadratic import Quadratic

__all__ = [
    "ReddiPeriodic", "ReddiStochastic", "LessardPiecewise", "NesterovWorstCase",
    "make_reddi_periodic", "make_reddi_stochastic", "make_lessard_piecewise", "make_nesterov_worst_case",
]

Array = Any
_BLOCK = 4096  # coins of the stochastic problem are drawn in blocks of this many steps


@dataclass(frozen=True, kw_only=True, eq=False)
class _ReddiOnline(ArrayBacked, AbstractProblem):

    _data: ClassVar[str] = "ref"
    ref: Array  # default start x0 = 0, shape (1,), on xp
    C: float = 3.0
    scale: float = 1.0
    name: str = "reddi"
    params: dict = field(default_factory=dict)
    online = True
    fixed_start: ClassVar[bool] = True  # the construction starts at 0
    feasible_set = FeasibleSet(kind="box", lo=-1.0, hi=1.0)
    L = 0.0
    mu = 0.0

    @property
    def dim(self) -> int:  # type: ignore[override]
        return 1

    @property
    def x_star(self) -> Array:  # type: ignore[override]
        """Minimiser of the average (expected) loss over [-1, 1]: -1."""
        return self.xp.asarray([-1.0], dtype=self.dtype)

    @property
    def f_star(self) -> float:  # type: ignore[override]
        """Minimum of the average (expected) per-step loss, attained at -1."""
        return -self.mean_coefficient

    @property
    def mean_coefficient(self) -> float:
        """Average (expected) gradient; > 0, so the minimiser over [-1, 1] is -1."""
        raise NotImplementedError

    def coefficient(self, k: int) -> float:
        """Gradient of f_k (a host float): ``scale*C`` or ``-scale``."""
        raise NotImplementedError

    def coefficients(self, T: int) -> np.ndarray:
        """Host array of the gradients of f_0, ..., f_{T-1}."""
        return np.asarray([self.coefficient(k) for k in range(T)])

    def value(self, x: Array, k: int) -> Array:  # type: ignore[override]
        """f_k(x) = coefficient(k) * x, shape (*batch,)."""
        return self.coefficient(_step(k)) * x[..., 0]

    def grad(self, x: Array, k: int) -> Array:  # type: ignore[override]
        xp = array_namespace(x)
        return self.coefficient(_step(k)) * xp.ones_like(x)

    def hvp(self, x: Array, v: Array, k: int = 0) -> Array:  # type: ignore[override]
        return array_namespace(v).zeros_like(v)

    def mean_value(self, x: Array) -> Array:
        """The average (expected) loss ``mean_coefficient * x``."""
        return self.mean_coefficient * x[..., 0]

    def comparator_loss(self, T: int) -> float:
        r""":math:`\min_{x\in[-1,1]}\sum_{k<T} f_k(x) = -|\sum_{k<T} c_k|` (host float)."""
        T = check_int("T", T, 0)
        return -abs(float(np.sum(self.coefficients(T))))

    def default_x0(self) -> Array:
        return self.ref


def _step(k: Any) -> int:
    if k is None:
        raise TypeError("online problems need the step: call value(x, k) / grad(x, k)")
    return int(k)


@dataclass(frozen=True, kw_only=True, eq=False)
class ReddiPeriodic(_ReddiOnline):
    r"""Reddi–Kale–Kumar's online problem on which Adam has non-vanishing average regret.

    Notes
    -----
    .. math:: f_t(x) = \begin{cases} C x & t \bmod P = 1\\ -x & \text{otherwise}\end{cases},\qquad x \in [-1, 1],

    with :math:`t = k + 1` (``k``, the step passed by :func:`precond_theory.run`, counts from 0,
    so the large gradient arrives at k = 0, P, 2P, ...).  The average gradient
    :math:`(C - P + 1)/P` is positive for :math:`C > P - 1`, so the best fixed point is -1.

    * ``period=3`` is [1, Theorem 1]: for C > 2, Adam with :math:`\beta_1 = 0`,
      :math:`\beta_2 = 1/(1+C^2)`, :math:`\alpha_t = \alpha/\sqrt t` and
      :math:`\alpha < \sqrt{1-\beta_2}` converges to **x = +1**, the worst point; AMSGrad
      converges to -1.
    * ``period=C`` (integer C) is the construction behind [1, Theorem 2] (any
      :math:`\beta_1 < \sqrt{\beta_2}`, C large enough) and their §5 experiment
      (``C=101, period=101, scale=10``: :math:`1010x` once every 101 steps, else :math:`-10x`).

    ``scale`` multiplies every loss.  ``L = mu = 0`` (linear); :attr:`feasible_set` is the box
    [-1, 1]; :meth:`comparator_loss` gives the best fixed point's cumulative loss for regret.

    References
    ----------
    .. [1] S. J. Reddi, S. Kale, S. Kumar, "On the convergence of Adam and beyond", ICLR 2018,
           arXiv:1904.09237, §3 (Theorems 1-2) and §5.
    """

    period: int = 3
    name: str = "reddi_periodic"

    @property
    def mean_coefficient(self) -> float:
        return self.scale * (self.C - (self.period - 1)) / self.period

    def coefficient(self, k: int) -> float:
        return self.scale * (self.C if k % self.period == 0 else -1.0)

    def comparator_loss(self, T: int) -> float:
        T = check_int("T", T, 0)
        big = -(-T // self.period)  # number of k < T with k % period == 0
        return -abs(self.scale * (big * self.C - (T - big)))


@dataclass(frozen=True, kw_only=True, eq=False)
class ReddiStochastic(_ReddiOnline):
    r"""Reddi–Kale–Kumar's stochastic problem on which Adam does not converge.

    Notes
    -----
    .. math::
        f_k(x) = \begin{cases} C x & \text{with probability } p = \frac{1+\delta}{C+1}\\
        -x & \text{otherwise}\end{cases},\qquad \mathbb E f_k(x) = \delta x,\quad x\in[-1,1]

    so the minimiser of the expected loss is -1.  [1, Theorem 3]: for any
    :math:`\beta_1 < \sqrt{\beta_2}` and C large enough (given :math:`\beta_1, \beta_2, \delta`),
    Adam's iterates do not converge to -1.  We take C and δ as parameters (``0 < delta < C``);
    the paper's §5 experiment is ``C=101, delta=0.02, scale=10`` (1010x with probability 0.01,
    else -10x).  For a run that fails quickly use small :math:`\beta_2`, e.g. C = 20, δ = 1,
    :math:`\beta_1 = 0`, :math:`\beta_2 = 1/(1+C^2)`.

    The coin of step k is a deterministic function of ``(seed, k)`` (drawn on the host in
    blocks of 4096 steps from ``numpy.random.default_rng([seed, k // 4096])``), so every run,
    every backend and :meth:`comparator_loss` see the same sequence of losses; all members of a
    batch see the same sequence.

    References
    ----------
    .. [1] S. J. Reddi, S. Kale, S. Kumar, "On the convergence of Adam and beyond", ICLR 2018,
           arXiv:1904.09237, §3 (Theorem 3) and §5.
    """

    delta: float = 1.0
    seed: int = 0
    name: str = "reddi_stochastic"
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def p(self) -> float:
        """Probability of the large loss C x."""
        return (1.0 + self.delta) / (self.C + 1.0)

    @property
    def mean_coefficient(self) -> float:
        return self.scale * self.delta

    def _block(self, b: int) -> np.ndarray:
        if b not in self._cache:
            rng = np.random.default_rng([self.seed, b])
            self._cache[b] = rng.random(_BLOCK) < self.p
        return self._cache[b]

    def coefficient(self, k: int) -> float:
        big = bool(self._block(k // _BLOCK)[k % _BLOCK])
        return self.scale * (self.C if big else -1.0)

    def coefficients(self, T: int) -> np.ndarray:
        T = check_int("T", T, 0)
        coins = np.concatenate([self._block(b) for b in range(-(-T // _BLOCK))] or [np.zeros(0, bool)])[:T]
        return self.scale * np.where(coins, self.C, -1.0)


def _reddi_ref(xp: Any, dtype: Any) -> Array:
    return to_xp(np.zeros(1), xp, resolve_dtype(xp, dtype))


def make_reddi_periodic(C: float = 3.0, *, period: int = 3, scale: float = 1.0, xp: Any = np,
                        dtype: Any = None) -> ReddiPeriodic:
    """The periodic counterexample (see :class:`ReddiPeriodic`); needs ``period >= 2`` and
    ``C > period - 1`` (so that -1 is the best fixed point)."""
    period = check_int("period", period, 2)
    check_range("C", C, period - 1, lo_open=True)
    check_range("scale", scale, 0.0, lo_open=True)
    return ReddiPeriodic(ref=_reddi_ref(xp, dtype), C=float(C), period=period, scale=float(scale),
                         params=dict(C=float(C), period=period, scale=float(scale)))


def make_reddi_stochastic(C: float = 20.0, *, delta: float = 1.0, scale: float = 1.0, seed: int = 0, xp: Any = np,
                          dtype: Any = None) -> ReddiStochastic:
    """The stochastic counterexample (see :class:`ReddiStochastic`); needs ``0 < delta < C``."""
    check_range("C", C, 0.0, lo_open=True)
    check_range("delta", delta, 0.0, float(C), lo_open=True, hi_open=True)
    check_range("scale", scale, 0.0, lo_open=True)
    seed = check_int("seed", seed, 0)
    return ReddiStochastic(ref=_reddi_ref(xp, dtype), C=float(C), delta=float(delta), scale=float(scale), seed=seed,
                           params=dict(C=float(C), delta=float(delta), scale=float(scale), seed=seed))


@dataclass(frozen=True, kw_only=True, eq=False)
class LessardPiecewise(ArrayBacked, AbstractProblem):
    r"""Lessard–Recht–Packard's strongly convex function on which heavy ball cycles.

    Notes
    -----
    Separable sum :math:`f(x) = \sum_i \varphi(x_i)` of

    .. math::
        \varphi'(t) = \begin{cases} 25t & t < 1\\ t + 24 & 1 \le t < 2\\ 25t - 24 & t \ge 2\end{cases},\qquad
        \varphi(t) = \begin{cases} \frac{25}2 t^2 & t < 1\\ \frac12 t^2 + 24t - 12 & 1\le t<2\\
        \frac{25}2 t^2 - 24t + 36 & t \ge 2\end{cases}

    :math:`\mu = 1`, :math:`L = 25` (:math:`\varphi''\in\{1, 25\}`), ``x_star = 0``, ``f_star = 0``.
    Heavy ball :math:`x_{k+1} = x_k - \alpha\nabla f(x_k) + \beta(x_k - x_{k-1})` with the
    parameters optimal for quadratics, :math:`\alpha = 4/(\sqrt L+\sqrt\mu)^2 = 1/9`,
    :math:`\beta = ((\sqrt\kappa - 1)/(\sqrt\kappa + 1))^2 = 4/9` (:attr:`heavy_ball_parameters`),
    started at :math:`x_{-1} = x_0 \in [3.07, 3.46]` converges to a limit cycle of period 3 and
    never reaches the minimiser [1]; gradient descent with step :math:`\le 2/L` converges from
    anywhere.  The default start is :math:`x_0 = 3.3` in every coordinate.

    References
    ----------
    .. [1] L. Lessard, B. Recht, A. Packard, "Analysis and design of optimization algorithms
           via integral quadratic constraints", SIAM J. Optim. 26(1):57-95, 2016,
           arXiv:1408.3595, §4.6.
    """

    _data: ClassVar[str] = "ref"
    ref: Array
    name: str = "lessard_piecewise"
    params: dict = field(default_factory=dict)
    fixed_start: ClassVar[bool] = True  # the cycle needs the start in [3.07, 3.46]
    L = 25.0
    mu = 1.0
    f_star = 0.0

    @property
    def x_star(self) -> Array:  # type: ignore[override]
        return self.xp.zeros((self.dim,), dtype=self.dtype)

    @property
    def heavy_ball_parameters(self) -> dict[str, float]:
        """``lr`` and ``momentum`` of heavy ball that are optimal on quadratics with [mu, L]."""
        sl, sm = math.sqrt(self.L), math.sqrt(self.mu)
        return {"lr": 4.0 / (sl + sm) ** 2, "momentum": ((sl - sm) / (sl + sm)) ** 2}

    def value(self, x: Array) -> Array:
        xp = array_namespace(x)
        phi = xp.where(x < 1, 12.5 * x * x, xp.where(x < 2, 0.5 * x * x + 24 * x - 12, 12.5 * x * x - 24 * x + 36))
        return xp.sum(phi, axis=-1)

    def grad(self, x: Array) -> Array:
        xp = array_namespace(x)
        return xp.where(x < 1, 25 * x, xp.where(x < 2, x + 24, 25 * x - 24))

    def hvp(self, x: Array, v: Array) -> Array:
        xp = array_namespace(x, v)
        return xp.where((x >= 1) & (x < 2), v, 25 * v)

    def default_x0(self) -> Array:
        return self.ref


def make_lessard_piecewise(dim: int = 1, *, x0: float = 3.3, xp: Any = np, dtype: Any = None) -> LessardPiecewise:
    """The heavy-ball counterexample (see :class:`LessardPiecewise`), default start ``x0``."""
    dim = check_int("dim", dim, 1)
    check_range("x0", x0)
    return LessardPiecewise(ref=to_xp(np.full(dim, float(x0)), xp, resolve_dtype(xp, dtype)),
                            params=dict(dim=dim, x0=float(x0)))


@dataclass(frozen=True, kw_only=True, eq=False)
class NesterovWorstCase(Quadratic):
    r"""Nesterov's worst-case quadratic for first-order methods.

    Notes
    -----
    With :math:`T_k` the :math:`k\times k` tridiagonal matrix tridiag(-1, 2, -1) padded by zeros
    to :math:`n\times n` (k = ``active``),

    .. math::
        f(x) = \frac{L-\mu}{4}\Bigl(\tfrac12 x^\top T_k x - x_1\Bigr) + \frac\mu2\|x\|^2 .

    For :math:`\mu = 0` this is the function of [1, §2.1.2]:
    :math:`x^\star_i = 1 - i/(k+1)` for :math:`i \le k` (0 beyond) and
    :math:`f^\star = \frac L8(-1 + \frac1{k+1})`; any method whose iterates lie in
    :math:`x_0 + \mathrm{span}\{\nabla f(x_0), \dots, \nabla f(x_{t-1})\}` started at 0 has
    :math:`f(x_t) - f^\star \ge 3L\|x_0 - x^\star\|^2/(32(t+1)^2)` when ``active = 2t + 1 <= n``
    [1, Theorem 2.1.7].  For :math:`\mu > 0` it is the finite-dimensional form of [1, §2.1.4]
    (``x_star`` by a direct solve with iterative refinement).

    ``L`` and ``mu`` are the class constants given (the function is L-smooth and μ-strongly
    convex); the exact spectrum ``eigs`` is :math:`\frac{L-\mu}4(2 - 2\cos\frac{j\pi}{k+1}) + \mu`,
    j = 1..k, plus μ (n - k times), so :math:`\lambda_{\max} < L` and :math:`\lambda_{\min} \ge \mu`.

    References
    ----------
    .. [1] Y. Nesterov, *Introductory Lectures on Convex Optimization: A Basic Course*, Kluwer,
           2004, §2.1.2 (Theorem 2.1.7) and §2.1.4 (Theorem 2.1.13).
    """

    lin: Array = None  # c e_1 with c = (L - mu)/4, the linear term, on xp
    L_class: float = 1.0
    mu_class: float = 0.0
    active: int = 1
    name: str = "nesterov_worst_case"
    fixed_start: ClassVar[bool] = True  # the lower bound holds from x0 = 0

    # value and gradient in the original form 1/2 x^T H x - c x_1 (not the centred form of
    # Quadratic), so that coordinates outside the Krylov space stay exactly 0
    def value(self, x: Array) -> Array:
        xp = array_namespace(x, self.A)
        return xp.sum(x * (0.5 * (x @ self.A) - self.lin), axis=-1)

    def grad(self, x: Array) -> Array:
        return x @ self.A - self.lin

    @property
    def L(self) -> float:  # type: ignore[override]
        return self.L_class

    @property
    def mu(self) -> float:  # type: ignore[override]
        return self.mu_class

    def lower_bound(self, t: int) -> float:
        r""":math:`3L\|x_0 - x^\star\|^2/(32(t+1)^2)`, valid from ``x0 = 0`` when ``mu = 0`` and ``active == 2t+1``."""
        xs = np.asarray([1 - i / (self.active + 1) for i in range(1, self.active + 1)])
        return 3 * self.L_class * float(xs @ xs) / (32 * (t + 1) ** 2)


def make_nesterov_worst_case(dim: int = 11, *, active: int | None = None, L: float = 1.0, mu: float = 0.0,
                             xp: Any = np, dtype: Any = None) -> NesterovWorstCase:
    """Nesterov's worst-case function in ``dim`` variables with ``active`` (default ``dim``)
    coupled coordinates (see :class:`NesterovWorstCase`); needs ``0 <= mu < L``."""
    n = check_int("dim", dim, 1)
    k = n if active is None else check_int("active", active, 1)
    if k > n:
        raise ValueError(f"active must be an integer in [1, dim={n}]; got active={k}")
    check_range("L", L, 0.0, lo_open=True)
    check_range("mu", mu, 0.0, float(L), hi_open=True)
    c = (L - mu) / 4.0
    T = np.zeros((n, n))
    T[:k, :k] = 2 * np.eye(k) - np.eye(k, k=1) - np.eye(k, k=-1)
    H = c * T + mu * np.eye(n)
    rhs = np.zeros(n)
    rhs[0] = c
    if mu == 0:
        xs = np.zeros(n)
        xs[:k] = 1 - np.arange(1, k + 1) / (k + 1)
    else:
        Hl = H.astype(np.longdouble)
        xs = refine_solve(H, rhs, lambda x: rhs.astype(np.longdouble) - Hl @ x.astype(np.longdouble))
    f_star = -0.5 * c * float(xs[0])
    j = np.arange(1, k + 1)
    eigs = np.sort(np.concatenate([c * (2 - 2 * np.cos(j * np.pi / (k + 1))) + mu, np.full(n - k, float(mu))]))
    dt = resolve_dtype(xp, dtype)
    return NesterovWorstCase(A=to_xp(H, xp, dt), x_star=to_xp(xs, xp, dt), eigs=eigs, f_star=f_star,
                             lin=to_xp(rhs, xp, dt),
                             L_class=float(L), mu_class=float(mu), active=k,
                             params=dict(dim=n, active=k, L=float(L), mu=float(mu)))

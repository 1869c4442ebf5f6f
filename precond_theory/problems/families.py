r"""Parametrised, batched problem families for worst-case and adversarial search.

Each family is one problem class whose parameters may carry a leading batch shape, so that a
population of candidate instances is *one* batched run (member i of the batch is instance i).

* :class:`PiecewiseQuadratic` — separable :math:`f(x) = \sum_i\varphi(x_i)` with
  :math:`\varphi'' ` piecewise constant: curvatures (slopes of :math:`\varphi'`) in [μ, L]
  between breakpoints.  It contains the quadratics (equal slopes), Drori & Teboulle's Huber
  function (slopes 0, L, 0) and Lessard, Recht & Packard's heavy-ball counterexample (slopes
  25, 1, 25 at breakpoints 1, 2), and every other 1-d smooth strongly convex function with
  piecewise-constant curvature and minimiser 0.
* :class:`PeriodicLinear` — online linear losses :math:`f_k(x) = c_{k \bmod P}\,x` on
  :math:`[-1, 1]` with an arbitrary gradient pattern :math:`c \in \mathbb R^P`; Reddi, Kale &
  Kumar's counterexample is the pattern (C, -1, -1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .._checks import check_int, check_range
from .._xp import array_namespace
from ._util import resolve_dtype, to_xp
from .base import AbstractProblem, ArrayBacked, FeasibleSet

__all__ = ["PiecewiseQuadratic", "PeriodicLinear", "make_piecewise_quadratic", "make_periodic_linear"]

Array = Any


def _as_batch(name: str, v: Any, min_last: int) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64)
    if a.ndim < 1 or a.shape[-1] < min_last:
        raise ValueError(f"{name} must be an array of shape (*batch, m) with m >= {min_last}; got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite; got {v!r}")
    return a


@dataclass(frozen=True, kw_only=True, eq=False)
class PiecewiseQuadratic(ArrayBacked, AbstractProblem):
    r"""Separable piecewise quadratic with curvatures in [μ, L] and minimiser 0 (batched).

    Notes
    -----
    With breakpoints :math:`b_1 < \dots < b_m` and slopes :math:`s_0, \dots, s_m \ge 0` (the
    curvature on :math:`(-\infty, b_1), [b_1, b_2), \dots, [b_m, \infty)`),
    :math:`\Delta_j = s_j - s_{j-1}` and :math:`r_+ = \max(r, 0)`:

    .. math::
        \varphi'(t) &= s_0 t + \sum_j \Delta_j\bigl[(t - b_j)_+ - (-b_j)_+\bigr],\\
        \varphi(t) &= \tfrac{s_0}2 t^2 + \sum_j \Delta_j\Bigl[\tfrac12\bigl((t-b_j)_+^2 - (-b_j)_+^2\bigr)
                      - t\,(-b_j)_+\Bigr],

    so :math:`\varphi(0) = \varphi'(0) = 0`, :math:`\varphi'' \in \{s_j\}`, and
    :math:`f(x) = \sum_i \varphi(x_i)` is L-smooth and μ-strongly convex with
    :math:`L = \max_j s_j`, :math:`\mu = \min_j s_j` (exact), ``x_star = 0``, ``f_star = 0``.
    Batched: ``breakpoints`` ``(*batch, m)``, ``slopes`` ``(*batch, m+1)``; ``L``, ``mu`` are
    then host arrays of the batch shape.  With ``convex=False`` (:func:`make_piecewise_quadratic`
    with ``nonconvex=True``) slopes may be negative: f is L-smooth with :math:`L = \max_j|s_j|`,
    0 is a stationary point, and ``x_star``, ``f_star``, ``mu`` are None.
    """

    _data: ClassVar[str] = "ref"
    ref: Array  # default start, shape (*batch, n)
    breakpoints: Array  # (*batch, m)
    slopes: Array  # (*batch, m + 1)
    L_host: Any = 1.0
    mu_host: Any = 0.0
    convex: bool = True
    name: str = "piecewise_quadratic"
    fixed_start: ClassVar[bool] = True  # the start x0 is a parameter of the instance (Lessard: 3.3)
    params: dict = field(default_factory=dict)
    f_star: Any = 0.0

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.slopes.shape[:-1])

    @property
    def L(self) -> Any:  # type: ignore[override]
        return self.L_host

    @property
    def mu(self) -> Any:  # type: ignore[override]
        return self.mu_host if self.convex else None

    @property
    def x_star(self) -> Array:  # type: ignore[override]
        if not self.convex:
            return None
        return self.xp.zeros((*self.batch_shape, self.dim), dtype=self.dtype)

    def _parts(self, x: Array) -> tuple[Any, Array, Array, Array]:
        xp = array_namespace(x, self.slopes)
        b = self.breakpoints[..., None, :]  # (*batch, 1, m)
        s = self.slopes
        d = (s[..., 1:] - s[..., :-1])[..., None, :]  # (*batch, 1, m)
        return xp, b, d, s[..., 0:1]

    def value(self, x: Array) -> Array:
        xp, b, d, s0 = self._parts(x)
        t = x[..., None]
        pos, neg = xp.maximum(t - b, 0.0), xp.maximum(-b, 0.0)
        phi = 0.5 * s0 * x * x + xp.sum(d * (0.5 * (pos * pos - neg * neg) - t * neg), axis=-1)
        return xp.sum(phi, axis=-1)

    def grad(self, x: Array) -> Array:
        xp, b, d, s0 = self._parts(x)
        t = x[..., None]
        return s0 * x + xp.sum(d * (xp.maximum(t - b, 0.0) - xp.maximum(-b, 0.0)), axis=-1)

    def hvp(self, x: Array, v: Array) -> Array:
        xp, b, d, s0 = self._parts(x)
        curv = s0 + xp.sum(d * xp.astype(x[..., None] >= b, x.dtype), axis=-1)
        return curv * v

    def default_x0(self) -> Array:
        return self.ref


def make_piecewise_quadratic(breakpoints: Any = (), slopes: Any = (1.0,), *, dim: int = 1, x0: Any = 1.0,
                             nonconvex: bool = False, xp: Any = np, dtype: Any = None) -> PiecewiseQuadratic:
    """Piecewise quadratic with curvature ``slopes[j]`` between ``breakpoints`` (see
    :class:`PiecewiseQuadratic`); arrays with leading batch axes give a batched family.

    ``breakpoints`` ``(*batch, m)`` strictly increasing along the last axis, ``slopes``
    ``(*batch, m+1)`` non-negative (any sign with ``nonconvex=True``), ``x0`` a number or an array
    broadcastable to ``(*batch, dim)``.
    Lessard's function is ``make_piecewise_quadratic([1, 2], [25, 1, 25], x0=3.3)``.
    """
    dim = check_int("dim", dim, 1)
    s = _as_batch("slopes", slopes, 1)
    b = np.asarray(breakpoints, dtype=np.float64)
    if b.size == 0:
        b = np.zeros((*s.shape[:-1], 0))
    b = _as_batch("breakpoints", b, 0)
    if b.shape[-1] + 1 != s.shape[-1]:
        raise ValueError(f"slopes must have one more entry than breakpoints along the last axis; got breakpoints "
                         f"{b.shape} and slopes {s.shape}")
    try:
        batch = tuple(np.broadcast_shapes(b.shape[:-1], s.shape[:-1]))
    except ValueError:
        raise ValueError(f"batch shapes of breakpoints {b.shape[:-1]} and slopes {s.shape[:-1]} must broadcast") from None
    b = np.broadcast_to(b, (*batch, b.shape[-1])).copy()
    s = np.broadcast_to(s, (*batch, s.shape[-1])).copy()
    if np.any(np.diff(b, axis=-1) <= 0):
        raise ValueError("breakpoints must be strictly increasing along the last axis")
    if not isinstance(nonconvex, bool):
        raise TypeError(f"nonconvex must be True or False; got {nonconvex!r}")
    check_range("slopes", s, -np.inf if nonconvex else 0.0)
    try:
        start = np.broadcast_to(np.asarray(x0, dtype=np.float64), (*batch, dim)).copy()
    except ValueError:
        raise ValueError(f"x0 must broadcast to (*batch, dim) = {(*batch, dim)}; got shape {np.shape(x0)}") from None
    check_range("x0", start)
    L, mu = np.abs(s).max(axis=-1), s.min(axis=-1)
    dt = resolve_dtype(xp, dtype)
    return PiecewiseQuadratic(ref=to_xp(start, xp, dt), breakpoints=to_xp(b, xp, dt), slopes=to_xp(s, xp, dt),
                              L_host=float(L) if L.ndim == 0 else L, mu_host=float(mu) if mu.ndim == 0 else mu,
                              convex=not nonconvex, f_star=None if nonconvex else 0.0,
                              params=dict(dim=dim, m=int(b.shape[-1]), nonconvex=nonconvex))


@dataclass(frozen=True, kw_only=True, eq=False)
class PeriodicLinear(ArrayBacked, AbstractProblem):
    r"""Online linear losses :math:`f_k(x) = c_{k \bmod P}\, x` on :math:`[-1, 1]` (batched pattern).

    Notes
    -----
    ``pattern`` :math:`c` has shape ``(*batch, P)``; every member of a batch is its own online
    problem.  The comparator of regret is the best fixed point of the box,
    :math:`\min_{x\in[-1,1]}\sum_{k<T} c_{k \bmod P}\,x = -|\sum_{k<T} c_{k \bmod P}|`
    (:meth:`comparator_loss`, a host array of the batch shape).  ``L = mu = 0`` (linear).
    Reddi, Kale & Kumar's problem is the pattern ``(C, -1, -1)`` (their t = k + 1).
    """

    _data: ClassVar[str] = "ref"
    ref: Array  # default start 0, shape (*batch, 1)
    pattern: Array  # (*batch, P) on xp
    pattern_host: np.ndarray = None
    name: str = "periodic_linear"
    fixed_start: ClassVar[bool] = True  # Reddi's construction starts at 0
    params: dict = field(default_factory=dict)
    online = True
    feasible_set = FeasibleSet(kind="box", lo=-1.0, hi=1.0)
    L = 0.0
    mu = 0.0

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.pattern_host.shape[:-1])

    @property
    def period(self) -> int:
        return int(self.pattern_host.shape[-1])

    @property
    def mean_coefficient(self) -> np.ndarray:
        """Average gradient per member (host)."""
        return self.pattern_host.mean(axis=-1)

    def _c(self, k: Any) -> Array:
        if k is None:
            raise TypeError("online problems need the step: call value(x, k) / grad(x, k)")
        return self.pattern[..., int(k) % self.period]

    def value(self, x: Array, k: int) -> Array:  # type: ignore[override]
        return self._c(k) * x[..., 0]

    def grad(self, x: Array, k: int) -> Array:  # type: ignore[override]
        return self._c(k)[..., None] * array_namespace(x).ones_like(x)

    def hvp(self, x: Array, v: Array, k: int = 0) -> Array:  # type: ignore[override]
        return array_namespace(v).zeros_like(v)

    def comparator_loss(self, T: int) -> Any:
        """Best fixed point's cumulative loss over f_0..f_{T-1}, per member (host float or array)."""
        T = check_int("T", T, 0)
        full, rest = divmod(T, self.period)
        total = full * self.pattern_host.sum(axis=-1) + self.pattern_host[..., :rest].sum(axis=-1)
        out = -np.abs(total)
        return float(out) if out.ndim == 0 else out

    def default_x0(self) -> Array:
        return self.ref


def make_periodic_linear(pattern: Any, *, xp: Any = np, dtype: Any = None) -> PeriodicLinear:
    """Online linear problem with gradient pattern ``pattern`` ``(*batch, P)`` (see :class:`PeriodicLinear`)."""
    c = _as_batch("pattern", pattern, 1)
    dt = resolve_dtype(xp, dtype)
    return PeriodicLinear(ref=to_xp(np.zeros((*c.shape[:-1], 1)), xp, dt), pattern=to_xp(c, xp, dt),
                          pattern_host=c, params=dict(period=int(c.shape[-1])))

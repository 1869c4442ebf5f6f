r"""The problem interface: objectives whose constants are known exactly.

A problem is a frozen object with ``value(x)``, ``grad(x)``, ``hvp(x, v)`` and, where it
exists, ``hessian(x)``, plus the exact constants it knows.  Points have shape
``(*batch, n)``; ``value`` returns shape ``(*batch,)``.  A *batched* problem (one instance per
run, e.g. a kappa sweep) has a non-empty :attr:`batch_shape` and per-run constants.

Online (time-varying) problems set ``online = True``; their ``value``/``grad``/``hvp`` take
the step ``k`` as a second argument, they carry a :attr:`feasible_set`, and
:meth:`comparator_loss` gives the best fixed point's cumulative loss so that
:func:`precond_theory.run` can report regret.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

from .._xp import array_namespace

__all__ = ["AbstractProblem", "ArrayBacked", "StationaryPoint", "FeasibleSet", "central_difference_hvp"]

Array = Any


class StationaryPoint(NamedTuple):
    """A known stationary point: location, kind and Hessian eigenvalues (host values)."""

    x: tuple[float, ...]
    kind: str  # "minimum" | "saddle" | "maximum"
    value: float
    hessian_eigenvalues: tuple[float, ...]


@dataclass(frozen=True)
class FeasibleSet:
    """A box ``[lo, hi]^n`` or a Euclidean ball ``{||x|| <= radius}`` (``kind`` names which)."""

    kind: str  # "box" | "ball"
    lo: float | None = None
    hi: float | None = None
    radius: float | None = None

    def projection_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`precond_theory.rules.with_projection`."""
        return {"box": (self.lo, self.hi)} if self.kind == "box" else {"ball": self.radius}


class AbstractProblem(abc.ABC):
    """Interface of every controlled problem.

    Attributes (set by each concrete problem)
    -----------------------------------------
    name : str
    dim : int
        Parameter dimension n.
    xp : namespace
        Array namespace of the problem's data (points passed in must use it).
    dtype : dtype
    x_star : array ``(n,)`` or ``(*batch, n)`` or None
        A minimizer, when known exactly (None for nonconvex problems with several minima).
    f_star : float, array ``(*batch,)`` or None
    L, mu : float, host array or None
        Smoothness and strong-convexity constants (``mu = 0`` for convex, None if unknown).
    online : bool
    feasible_set : FeasibleSet or None
    stationary_points : tuple of StationaryPoint
    params : dict
        Construction parameters (become ``p_data_<name>`` columns in tables).
    fixed_start : bool (class variable)
        True when the problem's start *is* the point of the construction (a counterexample's
        start, a worst-case start): :meth:`sample_x0` then returns :meth:`default_x0` for every
        seed.
    start_scale : float (class variable)
        Relative size of the random start perturbation (see :meth:`sample_x0`), 0.1.
    """

    name: str = "problem"
    dim: int
    xp: Any
    dtype: Any
    x_star: Array | None = None
    f_star: Any = None
    L: Any = None
    mu: Any = None
    online: bool = False
    feasible_set: FeasibleSet | None = None
    stationary_points: tuple[StationaryPoint, ...] = ()
    params: dict[str, Any] = {}
    fixed_start: ClassVar[bool] = False
    start_scale: ClassVar[float] = 0.1

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """Leading shape of a batched problem (``()`` for a single instance)."""
        return ()

    @abc.abstractmethod
    def value(self, x: Array) -> Array:
        """f(x), shape ``(*batch,)``."""

    @abc.abstractmethod
    def grad(self, x: Array) -> Array:
        """∇f(x), shape ``(*batch, n)``."""

    def hvp(self, x: Array, v: Array) -> Array:
        """∇²f(x) v; default: central differences of the analytic gradient
        (see :func:`central_difference_hvp` for the step and error bound)."""
        return central_difference_hvp(self.grad, x, v)

    def hessian(self, x: Array) -> Array:
        """Dense Hessian ``(*batch, n, n)``, assembled from :meth:`hvp` on unit vectors (small n)."""
        xp = array_namespace(x)
        eye = xp.eye(self.dim, dtype=x.dtype)
        cols = [self.hvp(x, xp.broadcast_to(eye[i, :], x.shape)) for i in range(self.dim)]
        H = xp.stack(cols, axis=-1)
        return (H + xp.matrix_transpose(H)) / 2

    def default_x0(self) -> Array:
        """Default starting point, shape ``(n,)`` (or ``(*batch, n)``)."""
        return self.xp.zeros((self.dim,), dtype=self.dtype)

    def sample_x0(self, seeds: Any) -> Array:
        r"""Random starting points, one per seed: shape ``(*seeds.shape, n)``, drawn on the host.

        The start distribution is an isotropic Gaussian around :meth:`default_x0`:

        .. math:: x_0 = \bar x_0 + s\,r\,\frac{z}{\sqrt n},\qquad z \sim N(0, I_n),

        so that :math:`\mathbb E\|x_0 - \bar x_0\|^2 = (s r)^2`, with :math:`\bar x_0` the
        default start, s = :attr:`start_scale` (0.1) and r the start's distance to the minimiser
        :math:`\|\bar x_0 - x^\star\|` when ``x_star`` is known and differs from
        :math:`\bar x_0`, else 1.  z comes from the "start" streams of
        :class:`precond_theory._xp.Rng` keyed by each seed alone, so run i's start depends only on
        its seed.  Problems with :attr:`fixed_start` (counterexamples and worst cases whose start
        is part of the construction) return :meth:`default_x0` broadcast to every seed.

        Parameters
        ----------
        seeds : int or integer array
            Non-negative seeds; their shape is the batch shape of the result (it must
            broadcast with :attr:`batch_shape`).
        """
        import numpy as np

        from .._xp import Rng, asarray, check_seeds, to_numpy

        seeds = check_seeds("seeds", seeds)
        x0 = to_numpy(self.default_x0()).astype(np.float64)
        n = int(self.dim)
        shape = (*seeds.shape, n)
        try:
            base = np.broadcast_to(x0, shape)
        except ValueError:
            raise ValueError(f"seeds of shape {seeds.shape} do not broadcast with the default start of problem "
                             f"{self.name!r} (shape {x0.shape})") from None
        if self.fixed_start:
            return asarray(np.array(base, copy=True), self.xp, self.dtype)
        r = np.ones(x0.shape[:-1])
        if self.x_star is not None:
            d = np.linalg.norm(x0 - to_numpy(self.x_star).astype(np.float64), axis=-1)
            r = np.where(d > 0, d, 1.0)
        z = Rng(seeds, np, stream="start").normal(shape)
        out = base + (self.start_scale * r / np.sqrt(n))[..., None] * z
        return asarray(out, self.xp, self.dtype)

    def comparator_loss(self, T: int) -> Any:
        """Online problems: min over the feasible set of sum_{k<T} f_k(x) (host float)."""
        raise NotImplementedError(f"problem {self.name!r} is not online")

    def describe(self) -> dict[str, Any]:
        """Name, parameters and host-side constants, for trace metadata."""
        from .._xp import to_numpy

        def host(v: Any) -> Any:
            if v is None or isinstance(v, (int, float)):
                return v
            a = to_numpy(v)
            return float(a) if a.ndim == 0 else a.tolist()

        return {
            "name": self.name, "dim": self.dim, "params": dict(self.params),
            "L": host(self.L), "mu": host(self.mu), "f_star": host(self.f_star),
            "online": self.online,
        }


class ArrayBacked:
    """Mixin for problems whose data live in one array attribute (named by ``_data``): the
    namespace, dtype and dimension (its last axis) are read off that array."""

    _data: ClassVar[str] = "A"

    @property
    def xp(self) -> Any:
        return array_namespace(getattr(self, self._data))

    @property
    def dtype(self) -> Any:
        return getattr(self, self._data).dtype

    @property
    def dim(self) -> int:
        return int(getattr(self, self._data).shape[-1])


def central_difference_hvp(grad: Any, x: Array, v: Array, *, step: float | None = None) -> Array:
    r"""Hessian-vector product by central differences of an analytic gradient.

    .. math:: H v \approx \frac{\nabla f(x + h\hat v) - \nabla f(x - h\hat v)}{2h}\,\|v\|,\qquad \hat v = v/\|v\|

    with :math:`h = \varepsilon^{1/3}\max(1, \|x\|_\infty)` per run.  The truncation error is
    at most :math:`h^2 M_3\|v\|/6` (M₃ a bound on the third derivative) and the round-off error
    about :math:`\varepsilon\,\|\nabla f\|\,\|v\|/h`; this h balances the two, giving a relative
    error of order :math:`\varepsilon^{2/3}` (about 4e-11 in float64).  Exact for quadratics up
    to round-off.
    """
    xp = array_namespace(x, v)
    eps = float(xp.finfo(x.dtype).eps)
    vnorm = xp.sqrt(xp.sum(v * v, axis=-1, keepdims=True))
    safe = xp.where(vnorm > 0, vnorm, xp.ones_like(vnorm))
    u = v / safe
    scale = xp.max(xp.abs(x), axis=-1, keepdims=True)
    h = eps ** (1.0 / 3.0) * xp.maximum(scale, xp.ones_like(scale)) if step is None else step
    out = (grad(x + h * u) - grad(x - h * u)) / (2 * h) * safe
    return xp.where(vnorm > 0, out, xp.zeros_like(out))



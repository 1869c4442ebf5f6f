r"""Stochastic first-order oracles: what a run sees of a problem at a query point.

An oracle is a frozen dataclass with

``sample(problem, y, k, rng, need_value) -> (value | None, g)``

where ``y`` has shape ``(*batch, n)``, ``k`` is the step (passed to online problems) and ``rng``
is a :class:`precond_theory._xp.Rng`.  Noise has the shape of ``y``, so runs in a batch get
independent noise; all randomness comes from ``rng``, so a run is reproducible from its seed.
:func:`precond_theory.run` counts the calls; :meth:`AbstractOracle.bind` gives a standalone,
seeded oracle with a ``calls`` counter.

Every oracle states the law of its noise :math:`\xi = g - \nabla f(y)` through
:meth:`~AbstractOracle.noise_variance` (:math:`\mathbb E\|\xi\|^2` per run, ``inf`` when it does not
exist), which is the :math:`\sigma^2` of SGD's convergence theorems.  The value returned with
``need_value`` is exact except for :class:`Minibatch`, which returns the minibatch loss.
"""

from __future__ import annotations

import abc
import dataclasses
import math
import typing
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from ._checks import check_choice, check_int, check_range
from ._xp import Rng, array_namespace

__all__ = [
    "AbstractOracle", "Exact", "GaussianNoise", "HeavyTailedNoise", "MultiplicativeNoise", "Minibatch",
    "BoundOracle", "make", "available", "ORACLES",
]

Array = Any


def _exact(problem: Any, y: Array, k: int, need_value: bool) -> tuple[Array | None, Array]:
    if problem.online:
        return (problem.value(y, k) if need_value else None), problem.grad(y, k)
    return (problem.value(y) if need_value else None), problem.grad(y)


def _like(a: Array, y: Array, xp: Any) -> Array:
    """Draws in ``y``'s dtype (the rng may be set up with another floating dtype)."""
    return a if a.dtype == y.dtype else xp.astype(a, y.dtype)


@dataclass(frozen=True, kw_only=True)
class AbstractOracle(abc.ABC):
    """Interface of every oracle (see the module docstring)."""

    name: ClassVar[str] = "abstract"

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            hint, value = hints.get(f.name), getattr(self, f.name)
            if typing.get_origin(hint) is Literal:
                check_choice(f.name, value, typing.get_args(hint))
            elif hint is bool and not isinstance(value, bool):
                raise TypeError(f"{f.name} must be True or False; got {value!r}")
        self._validate()

    def _validate(self) -> None:
        """Check the oracle's own fields (ValueError naming the field)."""

    @abc.abstractmethod
    def sample(self, problem: Any, y: Array, k: int, rng: Rng, need_value: bool) -> tuple[Array | None, Array]:
        """``(value or None, g)`` at ``y`` for step ``k``."""

    def noise_variance(self, problem: Any, y: Array, k: int = 0) -> Array:
        r""":math:`\mathbb E\|g - \nabla f(y)\|^2`, shape ``(*batch,)`` (``inf`` if infinite)."""
        xp = array_namespace(y)
        return xp.zeros(tuple(y.shape[:-1]), dtype=y.dtype)

    @property
    def params(self) -> dict[str, Any]:
        """The oracle's fields (its parameters), for trace metadata."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def describe(self) -> dict[str, Any]:
        """Name and parameters, for trace metadata."""
        return {"name": self.name, **self.params}

    def bind(self, problem: Any, *, seed: int = 0, dtype: Any = None) -> BoundOracle:
        """A standalone oracle on ``problem`` with its own seeded rng and a ``calls`` counter."""
        return BoundOracle(self, problem, seed=seed, dtype=dtype)


class BoundOracle:
    """An oracle bound to a problem and a seed, for use outside :func:`precond_theory.run`.

    ``sample(y, k=None, need_value=False)``, ``grad(y, k=None)`` and ``value_and_grad(y, k=None)``
    draw from one seeded stream; ``k`` defaults to the number of calls so far.  ``calls`` counts
    oracle calls.
    """

    def __init__(self, oracle: AbstractOracle, problem: Any, *, seed: int = 0, dtype: Any = None) -> None:
        self.oracle, self.problem = oracle, problem
        self.rng = Rng(seed, problem.xp, problem.dtype if dtype is None else dtype)
        self.calls = 0

    def sample(self, y: Array, k: int | None = None, need_value: bool = False) -> tuple[Array | None, Array]:
        step = self.calls if k is None else int(k)
        self.calls += 1
        return self.oracle.sample(self.problem, y, step, self.rng, need_value)

    def grad(self, y: Array, k: int | None = None) -> Array:
        return self.sample(y, k)[1]

    def value_and_grad(self, y: Array, k: int | None = None) -> tuple[Array, Array]:
        v, g = self.sample(y, k, True)
        return v, g


@dataclass(frozen=True, kw_only=True)
class Exact(AbstractOracle):
    """The exact value and gradient (the default of :func:`precond_theory.run`)."""

    name: ClassVar[str] = "exact"

    def sample(self, problem, y, k, rng, need_value):
        return _exact(problem, y, k, need_value)


Scope = Literal["total", "coordinate"]


@dataclass(frozen=True, kw_only=True)
class GaussianNoise(AbstractOracle):
    r"""Additive Gaussian gradient noise: :math:`g = \nabla f(y) + \sigma\xi`, :math:`\xi \sim N(0, I_n)`.

    ``scope="total"`` (default): ``variance`` is :math:`\mathbb E\|g - \nabla f\|^2 = n\sigma^2`
    (the σ² of SGD theorems); ``scope="coordinate"``: ``variance`` is :math:`\sigma^2`, each
    coordinate's variance.  The value is exact.
    """

    name: ClassVar[str] = "gaussian"
    variance: float = 1.0
    scope: Scope = "total"

    def _validate(self) -> None:
        check_range("variance", self.variance, 0.0)

    def _sigma(self, n: int) -> float:
        return math.sqrt(self.variance / n if self.scope == "total" else self.variance)

    def sample(self, problem, y, k, rng, need_value):
        value, g = _exact(problem, y, k, need_value)
        xp = array_namespace(y)
        return value, g + self._sigma(int(y.shape[-1])) * _like(rng.normal(tuple(y.shape)), y, xp)

    def noise_variance(self, problem, y, k=0):
        xp = array_namespace(y)
        total = self.variance if self.scope == "total" else int(y.shape[-1]) * self.variance
        return xp.full(tuple(y.shape[:-1]), total, dtype=y.dtype)


@dataclass(frozen=True, kw_only=True)
class HeavyTailedNoise(AbstractOracle):
    r"""Additive heavy-tailed gradient noise with tail index α: :math:`g = \nabla f(y) + s\,\xi`,
    :math:`\xi` i.i.d. per coordinate with :math:`P(|\xi_i| > t) \sim c\,t^{-\alpha}`.

    ``law="student_t"``: :math:`\xi_i \sim t_\nu` with ν = α (variance :math:`\nu/(\nu-2)` for ν > 2).
    ``law="pareto"``: symmetric Lomax, :math:`|\xi_i| = U^{-1/\alpha} - 1` with a random sign, so
    :math:`P(|\xi_i| > t) = (1+t)^{-\alpha}` exactly and :math:`\mathbb E\xi_i^2 = 2/((\alpha-1)(\alpha-2))`
    for α > 2.

    Give exactly one of ``variance`` (needs α > 2; total or per-coordinate as ``scope`` says,
    as in :class:`GaussianNoise`) and ``scale`` (s itself, any α > 0).  The mean is 0 for α > 1;
    for α ≤ 1 it does not exist (the oracle is then not unbiased).  The value is exact.
    """

    name: ClassVar[str] = "heavy_tailed"
    tail_index: float = 3.0
    variance: float | None = None
    scale: float | None = None
    law: Literal["student_t", "pareto"] = "student_t"
    scope: Scope = "total"

    def _validate(self) -> None:
        check_range("tail_index", self.tail_index, 0.0, lo_open=True)
        if (self.variance is None) == (self.scale is None):
            raise ValueError("give exactly one of variance=<float >= 0> (needs tail_index > 2) and scale=<float > 0>")
        if self.variance is not None:
            check_range("variance", self.variance, 0.0)
            if self.tail_index <= 2:
                raise ValueError(f"variance is infinite for tail_index <= 2 (got tail_index={self.tail_index!r}); "
                                 "give scale= instead")
        else:
            check_range("scale", self.scale, 0.0, lo_open=True)

    def unit_variance(self) -> float:
        """Variance of one unit draw ξ_i (inf for tail_index <= 2)."""
        a = self.tail_index
        if a <= 2:
            return math.inf
        return a / (a - 2) if self.law == "student_t" else 2.0 / ((a - 1) * (a - 2))

    def coordinate_scale(self, n: int) -> float:
        """The factor s multiplying each unit draw."""
        if self.scale is not None:
            return float(self.scale)
        per = self.variance / n if self.scope == "total" else self.variance
        return math.sqrt(per / self.unit_variance())

    def tail_probability(self, t: float, n: int) -> float:
        r""":math:`P(|s\,\xi_i| > t)` for one coordinate (host float; SciPy for Student-t)."""
        u = t / self.coordinate_scale(n)
        if self.law == "pareto":
            return (1.0 + u) ** (-self.tail_index)
        from scipy import stats

        return float(2 * stats.t.sf(u, self.tail_index))

    def sample(self, problem, y, k, rng, need_value):
        value, g = _exact(problem, y, k, need_value)
        xp = array_namespace(y)
        shape = tuple(y.shape)
        if self.law == "student_t":
            xi = rng.student_t(self.tail_index, shape)
        else:
            u = rng.uniform(shape)
            xi = rng.rademacher(shape) * ((1.0 - u) ** (-1.0 / self.tail_index) - 1.0)
        return value, g + self.coordinate_scale(shape[-1]) * _like(xi, y, xp)

    def noise_variance(self, problem, y, k=0):
        xp = array_namespace(y)
        n = int(y.shape[-1])
        return xp.full(tuple(y.shape[:-1]), n * self.coordinate_scale(n) ** 2 * self.unit_variance(), dtype=y.dtype)


@dataclass(frozen=True, kw_only=True)
class MultiplicativeNoise(AbstractOracle):
    r"""Multiplicative (interpolation-type) noise, vanishing where the gradient vanishes.

    ``scope="coordinate"``: :math:`g = \nabla f(y)\odot(1 + \sqrt v\,\xi)`, :math:`\xi\sim N(0, I_n)`;
    ``scope="scalar"``: :math:`g = \nabla f(y)\,(1 + \sqrt v\,\xi)`, one :math:`\xi\sim N(0,1)` per
    run (direction kept).  Both have :math:`\mathbb E\|g - \nabla f\|^2 = v\|\nabla f(y)\|^2`
    (v = ``variance``), the "strong growth" noise model under which SGD converges with a
    constant step.  The value is exact.

    References
    ----------
    .. [1] S. Vaswani, F. Bach, M. Schmidt, "Fast and faster convergence of SGD for
           over-parameterized models and an accelerated perceptron", AISTATS 2019, eq. (2).
    """

    name: ClassVar[str] = "multiplicative"
    variance: float = 1.0
    scope: Literal["coordinate", "scalar"] = "coordinate"

    def _validate(self) -> None:
        check_range("variance", self.variance, 0.0)

    def sample(self, problem, y, k, rng, need_value):
        value, g = _exact(problem, y, k, need_value)
        xp = array_namespace(y)
        shape = tuple(y.shape) if self.scope == "coordinate" else (*tuple(y.shape[:-1]), 1)
        return value, g * (1.0 + math.sqrt(self.variance) * _like(rng.normal(shape), y, xp))

    def noise_variance(self, problem, y, k=0):
        xp = array_namespace(y)
        _, g = _exact(problem, y, k, False)
        return self.variance * xp.sum(g * g, axis=-1)


@dataclass(frozen=True, kw_only=True)
class Minibatch(AbstractOracle):
    r"""Minibatch gradients of a finite sum :math:`f = \frac1m\sum_i f_i`.

    Each call draws, independently per run, B = ``batch_size`` indices — with replacement
    (i.i.d. uniform) or without (B distinct indices, uniform over subsets) — and returns
    :math:`g = \frac1B\sum_{i\in S}\nabla f_i(y)` and, with ``need_value``, the minibatch loss.
    Both are unbiased.  With :math:`\Sigma = \frac1m\sum_i(\nabla f_i - \nabla f)(\nabla f_i - \nabla f)^\top`,

    .. math::
        \mathbb E\|g - \nabla f\|^2 = \frac{\mathrm{tr}\,\Sigma}{B}\ \text{(with replacement)},\qquad
        \frac{\mathrm{tr}\,\Sigma}{B}\,\frac{m - B}{m - 1}\ \text{(without)}

    (the finite-population correction; Cochran, *Sampling Techniques*, 3rd ed., Thm. 2.2).
    The problem must provide ``n_samples``, ``grad_samples(x, idx)``, ``value_samples(x, idx)``
    and ``per_sample_grads(x, idx)`` (:class:`~precond_theory.problems.AbstractFiniteSum`).
    """

    name: ClassVar[str] = "minibatch"
    batch_size: int = 1
    replacement: bool = True

    def _validate(self) -> None:
        check_int("batch_size", self.batch_size, 1)

    def _check(self, problem: Any) -> int:
        for attr in ("n_samples", "grad_samples", "value_samples", "per_sample_grads"):
            if not hasattr(problem, attr):
                raise TypeError(f"the minibatch oracle needs a finite-sum problem with {attr!r}; "
                                f"problem {getattr(problem, 'name', problem)!r} has none")
        m = int(problem.n_samples)
        if not self.replacement and self.batch_size > m:
            raise ValueError(f"batch_size must be <= n_samples={m} when sampling without replacement; "
                             f"got batch_size={self.batch_size}")
        return m

    def indices(self, problem: Any, batch: tuple[int, ...], rng: Rng) -> Array:
        """Index array ``(*batch, batch_size)`` of one draw."""
        m = self._check(problem)
        if self.replacement:
            return rng.integers(0, m, (*batch, self.batch_size))
        return rng.permutation(m, batch)[..., : self.batch_size]

    def sample(self, problem, y, k, rng, need_value):
        idx = self.indices(problem, tuple(y.shape[:-1]), rng)
        value = problem.value_samples(y, idx) if need_value else None
        return value, problem.grad_samples(y, idx)

    def noise_variance(self, problem, y, k=0):
        m = self._check(problem)
        xp = array_namespace(y)
        idx = xp.broadcast_to(xp.arange(m), (*tuple(y.shape[:-1]), m))
        G = problem.per_sample_grads(y, idx)
        d = G - xp.mean(G, axis=-2, keepdims=True)
        tr = xp.sum(d * d, axis=(-2, -1)) / m
        fpc = 1.0 if self.replacement else ((m - self.batch_size) / (m - 1) if m > 1 else 0.0)
        return tr / self.batch_size * fpc


ORACLES: dict[str, type[AbstractOracle]] = {
    c.name: c for c in (Exact, GaussianNoise, HeavyTailedNoise, MultiplicativeNoise, Minibatch)
}


def available() -> list[str]:
    """Sorted names of the oracles."""
    return sorted(ORACLES)


def make(name: str, **params: Any) -> AbstractOracle:
    """Build the oracle ``name`` (unknown names raise ValueError listing the known ones)."""
    if name not in ORACLES:
        raise ValueError(f"unknown oracle {name!r}; available oracles: {', '.join(available())}")
    cls = ORACLES[name]
    known = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise TypeError(f"oracle {name!r} has no parameter(s) {unknown}; its parameters are {known}")
    return cls(**params)

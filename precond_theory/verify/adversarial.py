r"""Adversarial search: the instance of a problem family that a claim fits worst.

:func:`search` maximises ``objective(params) -> ratio`` (measured / claimed) over a box of
named parameters (:class:`Param`) with a seeded, budgeted evolution strategy: a uniform first
generation, then perturbations of the best candidates (step shrinking by ``shrink`` per
generation) mixed with fresh uniform samples.  A whole generation is evaluated by *one* call of
the objective, which builds one batched problem and one batched run (member i = candidate i).

The objectives below turn a rule and a generic family into ratios:

* :func:`regret_objective` — online linear losses with an arbitrary periodic gradient pattern
  on [-1, 1] (:class:`~precond_theory.problems.families.PeriodicLinear`); ratio
  :math:`R_T/(D_\infty G_\infty\sqrt T)` against the O(√T) regret claims (Reddi et al.'s
  counterexample to Adam is the pattern (C, -1, -1)).
* :func:`rate_objective` — 1-d piecewise quadratics with curvatures in [μ, L] and a free start
  (:class:`~precond_theory.problems.families.PiecewiseQuadratic`); ratio = measured
  contraction per step / claimed rate (Lessard et al.'s heavy-ball cycle has ratio 1/ρ).

:func:`nonconvergence_map` runs the numeric search over a (step, momentum) grid and
:func:`cycle_map` (:func:`cycle_gap`) is its performance-estimation counterpart.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import check_int, check_range

__all__ = ["Param", "SearchResult", "search", "regret_objective", "rate_objective", "regret_growth",
           "RegretObjective", "RateObjective", "PepObjective", "pep_objective", "cycle_gap", "cycle_map", "CYCLE_TOL",
           "measured_rate", "nonconvergence_map"]


@dataclass(frozen=True)
class Param:
    """A searched parameter: uniform in ``[lo, hi]`` with ``shape``; ``sort`` sorts the last axis
    (e.g. breakpoints); ``extremes`` is the probability that a fresh sample of an entry is one of
    the two ends (worst cases often sit there, e.g. curvatures μ or L)."""

    lo: float
    hi: float
    shape: tuple[int, ...] = ()
    sort: bool = False
    extremes: float = 0.0

    def __post_init__(self) -> None:
        check_range("lo", self.lo)
        check_range("hi", self.hi, self.lo)
        if not isinstance(self.shape, tuple) or any(not isinstance(s, int) or s < 1 for s in self.shape):
            raise ValueError(f"shape must be a tuple of positive ints; got {self.shape!r}")
        check_range("extremes", self.extremes, 0.0, 1.0)


@dataclass(frozen=True)
class SearchResult:
    """Outcome of :func:`search`.

    Attributes
    ----------
    worst_ratio : float
        Largest ratio found (``inf`` when a candidate diverged).
    where : dict
        Parameters of that candidate (host floats / arrays).
    evaluations, generations, seed, budget : int
    best_by_generation : list of float
        Running best after each generation (non-decreasing).
    """

    worst_ratio: float
    where: dict
    evaluations: int
    generations: int
    seed: int
    budget: int
    best_by_generation: list = field(default_factory=list)


def _sample_uniform(space: Mapping[str, Param], n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    out = {}
    for k, p in space.items():
        v = rng.uniform(p.lo, p.hi, size=(n, *p.shape))
        if p.extremes:
            end = np.where(rng.random(v.shape) < 0.5, p.lo, p.hi)
            v = np.where(rng.random(v.shape) < p.extremes, end, v)
        out[k] = v
    return out


def _finish(space: Mapping[str, Param], cand: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {}
    for k, p in space.items():
        v = np.clip(cand[k], p.lo, p.hi)
        out[k] = np.sort(v, axis=-1) if p.sort else v
    return out


def search(objective: Callable[[dict[str, np.ndarray]], Any], space: Mapping[str, Param], *, budget: int = 1000,
           population: int = 100, elite: float = 0.1, explore: float = 0.2, sigma: float = 0.3,
           shrink: float = 0.7, seed: int = 0, executor: Any = None, chunks: int = 1) -> SearchResult:
    """Maximise ``objective`` over ``space`` with at most ``budget`` evaluations.

    Parameters
    ----------
    objective : callable
        ``objective({name: array (n, *shape)}) -> array (n,)`` of ratios for n candidates at once
        (one batched run).  NaN counts as -inf (not a candidate); +inf (divergence) is kept.
    space : dict name -> :class:`Param`
    budget, population : int
        Total evaluations and candidates per generation (the last generation may be smaller).
    elite, explore : float
        Fraction of the population kept as parents, and fraction drawn afresh uniformly.
    sigma, shrink : float
        Initial perturbation scale relative to each parameter's range, and its factor per generation.
    seed : int
        Seed of the search (the same seed gives the same result).
    executor : object with ``map(fn, items)``, optional
        Evaluate each generation as ``chunks`` parts through ``executor.map`` (e.g. a Dask
        executor; ``objective`` must then be picklable, as :class:`RegretObjective` and
        :class:`RateObjective` are).  Default: one batched call per generation in this process.
    chunks : int
        Parts per generation when ``executor`` is given (ignored without one: refused if > 1).
    """
    if not callable(objective):
        raise TypeError(f"objective must be callable (params dict -> ratios); got {objective!r}")
    if not isinstance(space, Mapping) or not space or not all(isinstance(p, Param) for p in space.values()):
        raise TypeError("space must be a non-empty dict of name -> Param")
    budget = check_int("budget", budget, 1)
    population = check_int("population", population, 1)
    check_range("elite", elite, 0.0, 1.0, lo_open=True)
    check_range("explore", explore, 0.0, 1.0, hi_open=True)
    check_range("sigma", sigma, 0.0, lo_open=True)
    check_range("shrink", shrink, 0.0, 1.0, lo_open=True)
    seed = check_int("seed", seed, 0)
    chunks = check_int("chunks", chunks, 1)
    if executor is None and chunks > 1:
        raise ValueError("chunks > 1 needs an executor (chunks split a generation across the executor's workers)")
    if executor is not None and not callable(getattr(executor, "map", None)):
        raise TypeError(f"executor must have a map(fn, items) method; got {type(executor).__name__}")
    rng = np.random.default_rng(seed)
    best: list[tuple[float, dict[str, np.ndarray]]] = []
    history: list[float] = []
    used, gen, scale = 0, 0, sigma
    n_elite = max(1, int(round(elite * population)))
    while used < budget:
        n = min(population, budget - used)
        if not best:
            cand = _sample_uniform(space, n, rng)
        else:
            n_new = int(round(explore * n))
            fresh = _sample_uniform(space, n_new, rng)
            parents = rng.integers(0, len(best), size=n - n_new)
            cand = {}
            for k, p in space.items():
                base = np.stack([best[i][1][k] for i in parents]) if n - n_new else np.zeros((0, *p.shape))
                step = rng.normal(0.0, scale * (p.hi - p.lo), size=base.shape)
                cand[k] = np.concatenate([base + step, fresh[k]])
        cand = _finish(space, cand)
        ratios = _evaluate(objective, cand, n, executor, chunks)
        if ratios.shape != (n,):
            raise ValueError(f"objective must return one ratio per candidate: expected shape ({n},), got {ratios.shape}")
        ratios = np.where(np.isnan(ratios), -np.inf, ratios)
        for i in np.argsort(-ratios)[:n_elite]:
            best.append((float(ratios[i]), {k: v[i] for k, v in cand.items()}))
        best = sorted(best, key=lambda t: -t[0])[:n_elite]
        history.append(best[0][0])
        used += n
        gen += 1
        scale *= shrink
    worst, where = best[0]
    return SearchResult(worst_ratio=worst, where={k: (float(v) if v.ndim == 0 else v) for k, v in where.items()},
                        evaluations=used, generations=gen, seed=seed, budget=budget, best_by_generation=history)


def _evaluate(objective: Callable, cand: dict[str, np.ndarray], n: int, executor: Any, chunks: int) -> np.ndarray:
    if executor is None:
        return np.asarray(objective(cand), dtype=np.float64).reshape(-1)
    bounds = np.linspace(0, n, min(chunks, n) + 1).astype(int)
    parts = [{k: v[lo:hi] for k, v in cand.items()} for lo, hi in zip(bounds[:-1], bounds[1:])]
    out = []
    for r in executor.map(objective, parts):
        if getattr(r, "status", None) == "failed":  # an executors.Outcome
            raise RuntimeError(f"an adversarial-search chunk failed: {r.error!r}") from r.error
        out.append(np.asarray(getattr(r, "value", r), dtype=np.float64).reshape(-1))
    return np.concatenate(out)


# ----------------------------------------------------------------------------------- objectives
def _quiet_run(rule: Any, problem: Any, **kw: Any) -> Any:
    """A run whose divergence warnings are expected (diverged candidates are scored +inf), from
    the candidate problem's own start (not a seed-drawn one: a candidate is scored the same in any
    chunk)."""
    from ..run import run
    from ..trace import DivergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        kw.setdefault("x0", problem.default_x0())
        return run(rule, problem, **kw)


def regret_objective(rule: Any, *, period: int = 3, T: int = 1000,
                     c_max: float = 4.0) -> tuple[Callable[[dict[str, np.ndarray]], np.ndarray], dict[str, Param]]:
    r"""Objective and space for the generic online linear family (Reddi-type counterexamples).

    Candidates are gradient patterns :math:`c \in [-c_{\max}, c_{\max}]^P`; the loss at step k is
    :math:`c_{k \bmod P}\,x` on [-1, 1] (``rule`` is projected onto the box).  The ratio is

    .. math:: \frac{R_T}{D_\infty\,G_\infty\sqrt T},\qquad D_\infty = 2,\ G_\infty = \max_j|c_j|,

    the regret in units of the O(√T) claims' scale (AdaGrad's bound is √2 of it with d = 1).  A
    linear regret (Adam at Reddi's pattern) makes it grow like √T; see :func:`regret_growth`.
    """
    from ..rules import with_projection

    period = check_int("period", period, 1)
    T = check_int("T", T, 1)
    check_range("c_max", c_max, 0.0, lo_open=True)
    return RegretObjective(with_projection(rule, box=(-1.0, 1.0)), T), {"pattern": Param(-c_max, c_max, (period,))}


@dataclass(frozen=True)
class RegretObjective:
    """Picklable objective of :func:`regret_objective` (``rule`` already projected onto [-1, 1])."""

    rule: Any
    T: int

    def __call__(self, params: dict[str, np.ndarray]) -> np.ndarray:
        from ..problems.families import make_periodic_linear

        c = params["pattern"]
        t = _quiet_run(self.rule, make_periodic_linear(c), steps=self.T, record=[self.T])
        G = np.max(np.abs(c), axis=-1)
        return t.metrics["regret"][-1] / (2.0 * np.where(G > 0, G, 1.0) * math.sqrt(self.T))


def regret_growth(rule: Any, pattern: Any, *, T: int = 1000, factor: int = 4) -> tuple[float, float]:
    """``(ratio(T), ratio(factor*T) / ratio(T))`` of :func:`regret_objective` on one pattern: a
    growth near √factor means linear regret (the O(√T) claim fails), near 1 means O(√T)."""
    T = check_int("T", T, 1)
    factor = check_int("factor", factor, 2)
    c = np.asarray(pattern, dtype=np.float64)[None, :]
    obj_T, _ = regret_objective(rule, period=c.shape[-1], T=T)
    obj_fT, _ = regret_objective(rule, period=c.shape[-1], T=factor * T)
    r1, r2 = float(obj_T({"pattern": c})[0]), float(obj_fT({"pattern": c})[0])
    return r1, (r2 / r1 if r1 > 0 else float("nan"))


def measured_rate(dist_sq: np.ndarray, T: int, window: int = 6, floor: float = 1e-10) -> np.ndarray:
    r"""Measured contraction per step of runs recorded at every step 0..T.

    With :math:`e_k = \max_{k-w < j \le k}\|x_j - x^\star\|` (the window max ignores the zero
    crossings of oscillating runs) and :math:`k^\star` the first step where :math:`e_k` falls
    below ``floor`` times :math:`e_0` (T if never; below it round-off, not the method, sets the
    distance), the rate is :math:`(e_{k^\star}/e_0)^{1/k^\star}`.  It includes the transient, so
    a run that lingers near a cycle before escaping scores close to 1 (which gives the search
    a slope towards the cycle), and a cycle scores about 1.  ``dist_sq`` has shape
    ``(T + 1, *batch)``; non-finite runs give +inf; a start at x⋆ gives 0."""
    d = np.sqrt(np.maximum(np.asarray(dist_sq, dtype=np.float64), 0.0))
    if d.shape[0] != T + 1:
        raise ValueError(f"dist_sq must be recorded at every step 0..T (T + 1 = {T + 1} rows); got {d.shape[0]}")
    pad = np.concatenate([np.repeat(d[:1], window - 1, axis=0), d])
    e = np.max(np.lib.stride_tricks.sliding_window_view(pad, window, axis=0), axis=-1)  # (T+1, *batch)
    e0 = d[0]
    below = e <= floor * e0
    below[0] = False
    k_star = np.maximum(np.where(below.any(axis=0), np.argmax(below, axis=0), T), 1)
    e_end = e[(k_star, *np.indices(k_star.shape))]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rate = (e_end / e0) ** (1.0 / k_star)
    rate = np.where(e0 == 0, 0.0, rate)
    return np.where(~np.isfinite(d).all(axis=0), np.inf, rate)


def rate_objective(rule: Any, *, mu: float, L: float, rate: float, breakpoints: int = 2, T: int = 300,
                   box: float = 5.0, window: int = 6) -> tuple[Callable[[dict[str, np.ndarray]], np.ndarray],
                                                            dict[str, Param]]:
    r"""Objective and space for 1-d piecewise quadratics with curvatures in [μ, L] (Lessard-type).

    Candidates: ``breakpoints`` sorted points in [-box, box], curvatures in [μ, L] on the
    ``breakpoints + 1`` pieces (half of the fresh samples at μ or L), and a start :math:`x_0 \in [-box, box]` (``breakpoints=0``:
    quadratics only).  Every candidate is L-smooth and μ-strongly convex with minimiser 0.  The
    ratio is :func:`measured_rate` / ``rate``: above 1 the run contracts slower than claimed
    (up to the constant's T-th root: heavy ball on quadratics, :math:`e_k \le Ck\rho^k`, scores
    about 1.01 at T = 300); a cycle gives about 1/``rate``; a divergence gives +inf.
    """
    check_range("L", L, 0.0, lo_open=True)
    check_range("mu", mu, 0.0, L)
    check_range("rate", rate, 0.0, lo_open=True)
    breakpoints = check_int("breakpoints", breakpoints, 0)
    T = check_int("T", T, 2 * window + 2)
    check_range("box", box, 0.0, lo_open=True)
    space = {"curvatures": Param(mu, L, (breakpoints + 1,), extremes=0.5), "x0": Param(-box, box)}
    if breakpoints:
        space["breakpoints"] = Param(-box, box, (breakpoints,), sort=True)
    return RateObjective(rule, T, float(rate), breakpoints, window), space


@dataclass(frozen=True)
class RateObjective:
    """Picklable objective of :func:`rate_objective`."""

    rule: Any
    T: int
    rate: float
    breakpoints: int
    window: int = 6

    def __call__(self, params: dict[str, np.ndarray]) -> np.ndarray:
        from ..problems.families import make_piecewise_quadratic

        n = params["x0"].shape[0]
        b = params["breakpoints"] if self.breakpoints else np.zeros((n, 0))
        problem = make_piecewise_quadratic(b + _tie_break(b), params["curvatures"], x0=params["x0"][:, None])
        t = _quiet_run(self.rule, problem, steps=self.T, record="all")
        return measured_rate(t.metrics["dist_sq"], self.T, self.window) / self.rate


def pep_objective(rule: Any, *, N: int, L: float = 1.0, mu: float = 0.0, function_class: str = "convex",
                  performance: str = "f_gap", initial: str = "dist_sq", breakpoints: int = 3,
                  box: float = 5.0) -> tuple[PepObjective, dict[str, Param]]:
    r"""Objective and space for the empirical side of a performance-estimation setting.

    The ratio of a candidate is ``performance / initial`` of :func:`~precond_theory.verify.pep.worst_case`
    (same names) measured on a run of ``rule`` for N steps, over 1-d piecewise quadratics with
    curvatures in [μ, L] (``"convex"``), a single curvature in [μ, L] (``"quadratic"``), or
    curvatures in [-L, L] (``"nonconvex"``), and a start in [-box, box].  Every candidate belongs
    to the PEP's class, so the worst ratio found is a lower bound of the PEP value: a run above
    it refutes the PEP (or the rule is not the PEP's method).
    """
    from .pep import FUNCTION_CLASSES, _check_class

    N = check_int("N", N, 1)
    _check_class(function_class, float(L), float(mu), performance, initial)
    check_range("box", box, 0.0, lo_open=True)
    nb = 0 if function_class == "quadratic" else check_int("breakpoints", breakpoints, 0)
    lo = -L if function_class == "nonconvex" else mu
    space = {"curvatures": Param(lo, L, (nb + 1,), extremes=0.5), "x0": Param(-box, box)}
    if nb:
        space["breakpoints"] = Param(-box, box, (nb,), sort=True)
    assert function_class in FUNCTION_CLASSES
    return PepObjective(rule, N, performance, initial, float(mu), nb, function_class == "nonconvex"), space


@dataclass(frozen=True)
class PepObjective:
    """Picklable objective of :func:`pep_objective`."""

    rule: Any
    N: int
    performance: str
    initial: str
    mu: float
    breakpoints: int
    nonconvex: bool

    def __call__(self, params: dict[str, np.ndarray]) -> np.ndarray:
        from ..problems.families import make_piecewise_quadratic

        n = params["x0"].shape[0]
        b = params["breakpoints"] if self.breakpoints else np.zeros((n, 0))
        problem = make_piecewise_quadratic(b + _tie_break(b), params["curvatures"], x0=params["x0"][:, None],
                                           nonconvex=self.nonconvex)
        m = _quiet_run(self.rule, problem, steps=self.N, record="all").metrics
        perf = m[self.performance][-1]
        init = {"dist_sq": lambda: m["dist_sq"][0], "f_gap": lambda: m["f_gap"][0],
                "lyapunov": lambda: m["f_gap"][0] + 0.5 * self.mu * m["dist_sq"][0],
                "f0_minus_fN": lambda: m["f"][0] - m["f"][-1]}[self.initial]()
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(init > 0, perf / init, np.nan)


def _tie_break(b: np.ndarray) -> np.ndarray:
    """Tiny increasing offsets so that sorted breakpoints are strictly increasing after clipping."""
    return np.arange(b.shape[-1]) * 1e-9 if b.shape[-1] else np.zeros(b.shape)


def _map(executor: Any, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    """``fn`` over ``items`` in order: a loop, or ``executor.map`` (e.g. :func:`precond_theory.executors.get_executor`)."""
    if executor is None:
        return [fn(it) for it in items]
    if not callable(getattr(executor, "map", None)):
        raise TypeError(f"executor must have a map(fn, items) method; got {type(executor).__name__}")
    out = []
    for r in executor.map(fn, items):
        if getattr(r, "status", None) == "failed":  # an executors.Outcome
            raise RuntimeError(f"a grid point failed: {r.error!r}") from r.error
        out.append(getattr(r, "value", r))
    return out


def _nonconvergence_point(item: tuple) -> tuple[float, dict]:
    from ..rules import make

    method, lr, momentum, mu, L, budget, population, T, breakpoints, seed = item
    kw = {"lr": lr, "momentum": momentum}
    rule = make("heavy_ball", **kw) if method == "heavy_ball" else make("nesterov", schedule="constant", **kw)
    obj, space = rate_objective(rule, mu=mu, L=L, rate=1.0, breakpoints=breakpoints, T=T)
    res = search(obj, space, budget=budget, population=population, seed=seed)
    return res.worst_ratio, res.where


def nonconvergence_map(method: str, lrs: Any, momenta: Any, *, mu: float, L: float, budget: int = 400,
                       population: int = 100, T: int = 400, breakpoints: int = 2, threshold: float = 0.999,
                       seed: int = 0, executor: Any = None) -> dict[str, Any]:
    r"""Numeric non-convergence map of heavy ball (or constant-momentum Nesterov) on the grid
    ``lrs x momenta``: at each point, :func:`search` over :func:`rate_objective` with claimed
    rate 1; "non-convergent" when the worst measured contraction (:func:`measured_rate`) is
    ``>= threshold``.  The rules start from :math:`x_{-1} = x_0`, so cycles that repel, or that
    need two dimensions or a state off the diagonal, are out of the numeric search's reach.
    Grid points go through ``executor.map`` when given (one search per point).

    Returns ``{"lr", "momentum", "rate" (n_lr, n_m), "nonconvergent" (bool), "where" (list)}``.
    """
    if method not in ("heavy_ball", "nesterov"):
        raise ValueError(f"method must be 'heavy_ball' or 'nesterov'; got {method!r}")
    check_range("threshold", threshold, 0.0, lo_open=True)
    lrs, momenta = np.asarray(lrs, dtype=np.float64), np.asarray(momenta, dtype=np.float64)
    items = [(method, float(a), float(b), float(mu), float(L), budget, population, T, breakpoints, seed)
             for a in lrs for b in momenta]
    res = _map(executor, _nonconvergence_point, items)
    rates = np.array([r[0] for r in res]).reshape(lrs.size, momenta.size)
    return {"lr": lrs, "momentum": momenta, "rate": rates, "nonconvergent": rates >= threshold,
            "where": [r[1] for r in res]}


# ------------------------------------------------------------------------------------ cycles
CYCLE_TOL = 1e-6


def cycle_gap(method: str, *, K: int, L: float = 1.0, mu: float = 0.1, **params: Any) -> float:
    r"""How far ``method`` is from having a cycle of length ``K`` on an L-smooth μ-strongly convex function.

    Performance estimation over the state :math:`(x_0, x_{-1})` (both free):

    .. math:: \min\ \|x_K - x_0\|^2 + \|x_{K-1} - x_{-1}\|^2 \quad\text{s.t.}\quad
              \|x_0 - x^\star\|^2 \ge 1,\ \text{interpolation conditions},

    a semidefinite program in the Gram matrix (the normalisation is linear in it).  The gap is 0
    exactly when some function of the class has a non-trivial K-cycle of the method (which then
    does not converge from that state); :data:`CYCLE_TOL` (1e-6) separates zero from the
    solver's round-off.  This is the construction of Goujaud, Dieuleveut & Taylor [1] for
    ``heavy_ball`` and constant-momentum ``nesterov`` (methods whose state is two iterates).

    References
    ----------
    .. [1] B. Goujaud, A. Dieuleveut, A. Taylor, "Counter-examples in first-order optimization:
           a constructive approach", IEEE Control Syst. Lett. 7, 2023, arXiv:2303.10503, §3.
    """
    from .pep import _check_class, _declare, _require, _resolve_params, iterate, solve

    _require()
    K = check_int("K", K, 2)
    L, mu = float(L), float(mu)
    _check_class("convex", L, mu, "dist_sq", "dist_sq")
    p = _resolve_params(method, L, params)
    if method not in ("heavy_ball", "nesterov") or (method == "nesterov" and p["schedule"] != "constant"):
        raise ValueError("cycles are searched for heavy_ball and nesterov with schedule='constant' (a stationary "
                         f"two-iterate state); got method={method!r}")
    from PEPit import PEP

    problem = PEP()
    func = _declare(problem, "convex", L, mu)
    xs = func.stationary_point()
    x0 = problem.set_initial_point()
    xm = problem.set_initial_point()
    its, _ = iterate(method, p, func.gradient, x0, K, L, x_prev=xm)
    problem.set_initial_condition((x0 - xs) ** 2 >= 1)
    problem.set_performance_metric(-((its[K] - x0) ** 2 + (its[K - 1] - xm) ** 2))
    dual, primal, _, status = solve(problem)
    if not status.startswith("optimal"):
        raise RuntimeError(f"the cycle SDP did not solve (status {status!r})")
    return max(-dual, 0.0)


def _cycle_point(item: tuple) -> tuple[float, int]:
    method, lr, momentum, mu, L, K_max = item
    kw: dict[str, Any] = {"lr": lr, "momentum": momentum}
    if method == "nesterov":
        kw["schedule"] = "constant"
    best = math.inf
    for K in range(2, K_max + 1):
        g = cycle_gap(method, K=K, L=L, mu=mu, **kw)
        best = min(best, g)
        if g <= CYCLE_TOL:
            return best, K
    return best, 0


def cycle_map(method: str, lrs: Any, momenta: Any, *, K_max: int = 6, L: float = 1.0, mu: float = 0.1,
              executor: Any = None) -> dict[str, Any]:
    """:func:`cycle_gap` over the grid ``lrs x momenta`` for K = 2..K_max (grid points through
    ``executor.map`` when given).

    Returns ``{"lr", "momentum", "gap" (n_lr, n_m): min over K, "K" (n_lr, n_m): the first K
    whose gap is below :data:`CYCLE_TOL` (0 if none), "cycle" (bool)}``."""
    K_max = check_int("K_max", K_max, 2)
    lrs, momenta = np.asarray(lrs, dtype=np.float64), np.asarray(momenta, dtype=np.float64)
    items = [(method, float(a), float(b), float(mu), float(L), K_max) for a in lrs for b in momenta]
    res = _map(executor, _cycle_point, items)
    gap = np.array([r[0] for r in res]).reshape(lrs.size, momenta.size)
    first = np.array([r[1] for r in res], dtype=int).reshape(lrs.size, momenta.size)
    return {"lr": lrs, "momentum": momenta, "gap": gap, "K": first, "cycle": gap <= CYCLE_TOL}

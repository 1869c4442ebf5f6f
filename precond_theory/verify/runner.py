"""Runs what a claim needs (batched over seeds and horizons), measures its assumptions, and
decides: :func:`check` (a recorded trace) and :func:`check_claim` (run the setup, or a given rule
and problem, optionally a mutant of the rule).  Re-exported by :mod:`precond_theory.rates`."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import assumptions as _assumptions
from .claims import Claim, _check_horizons
from .instances import _float, oracle_env, preconditioner_env, problem_env, setup_instance, setup_rule_factory
from .verdict import RateCheck, as_claim, check_arrays, claimed_rate

__all__ = ["check", "check_claim", "MinOfMean", "rule_hyperparameters"]


class MinOfMean:
    """min over recorded t <= T of the mean over replicate runs: the estimator of
    :math:`\\min_{t\\le T}\\mathbb E\\|\\nabla f(x_t)\\|^2` (not the per-run running minimum
    averaged over runs, E[min], which a noise plateau keeps lowering).

    ``blocks`` is a list of (n_t, R) arrays, one per output point (the records t <= T of that
    point); ``self(idx)`` recomputes the curve from the replicate runs ``idx``."""

    def __init__(self, blocks: list[np.ndarray], n_tests: int | None = None) -> None:
        self.blocks = blocks
        self.n_runs = blocks[0].shape[1]
        #: distinct records behind the blocks (nested prefixes of one trajectory share them)
        self.n_tests = int(n_tests) if n_tests is not None else sum(len(b) for b in blocks)
        self._full: np.ndarray | None = None

    @classmethod
    def of_trajectory(cls, g: np.ndarray) -> MinOfMean:
        """Blocks ``g[:i+1]``, the records t <= k_i of one trajectory (n_records, R): the curve is the
        running minimum of the per-record means (the same numbers, without a loop over records)."""
        out = cls([g[: i + 1] for i in range(len(g))], n_tests=len(g))
        out._full = g
        return out

    def __call__(self, idx: Any = None) -> np.ndarray:
        if self._full is not None:
            g = self._full if idx is None else self._full[:, idx]
            return np.minimum.accumulate(g.mean(axis=1))
        if idx is None:
            return np.array([float(np.min(b.mean(axis=1))) for b in self.blocks])
        return np.array([float(np.min(b[:, idx].mean(axis=1))) for b in self.blocks])


def rule_hyperparameters(rule: Any) -> dict[str, Any]:
    """The innermost rule's fields (the actual ``lr``, ``b1``, ...), for explicit bounds."""
    import dataclasses

    base, _ = _assumptions.unwrap(rule)
    if not dataclasses.is_dataclass(base):
        return {}
    out = {}
    for f in dataclasses.fields(base):
        v = getattr(base, f.name)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out[f.name] = float(v)
        elif isinstance(v, np.ndarray) and v.size:
            out[f.name] = float(np.max(v))
    return out


def _context_from_trace(trace: Any) -> dict[str, Any]:
    prob = trace.meta.get("problem", {}) if isinstance(trace.meta, dict) else {}
    L, mu = _float(prob.get("L")), _float(prob.get("mu"))
    ctx: dict[str, Any] = {"L": L, "mu": mu, "f_star": _float(prob.get("f_star")), "dim": prob.get("dim")}
    ctx["kappa"] = (L / mu) if (L is not None and mu) else None
    if len(trace.steps) and trace.steps[0] == 0:
        for name, key in (("dist_sq", "dist0_sq"), ("f_gap", "f_gap0")):
            if name in trace.metrics:
                ctx[key] = float(np.median(trace.metric(name)[0]))
    return ctx


def _eps_from_meta(meta: Any) -> float | None:
    s = str(meta.get("dtype", "")) if isinstance(meta, dict) else ""
    for name in ("float16", "float32", "float64"):
        if name in s:
            return float(np.finfo(name).eps)
    return None


def _measure(claim: Claim, *, problem: Any, rules_: list[Any], oracle: Any, steps: int | None, ctx: dict[str, Any],
             trace: Any) -> list[_assumptions.Measured]:
    if not claim.assumptions:
        return []
    try:
        rate = claimed_rate(claim, ctx)
    except ValueError:
        rate = None
    c = _assumptions.Context(problem=problem, rules=rules_, oracle=oracle, steps=steps, claimed_rate=rate,
                             trace=trace, env=ctx, bound=claim.bound)
    return _assumptions.measure(claim.assumptions, c)


def _running_average(g: np.ndarray, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(1/k) sum_{t<k} g_t`` per run at about 60 log-spaced k (and the last), from records at
    every step 0..K (``record="all"``); refused otherwise."""
    K = int(steps[-1]) if steps.size else 0
    if steps.size < 2 or not np.array_equal(steps, np.arange(K + 1)):
        raise ValueError("metric 'avg_grad_norm_sq' needs grad_norm_sq recorded at every step 0..K (run with "
                         "record='all')")
    avg = np.cumsum(g, axis=0)[:-1] / np.arange(1, K + 1)[:, None]  # row k-1: mean of g_0..g_{k-1}
    ks = np.unique(np.concatenate([np.round(np.geomspace(1, K, 60)).astype(int), [K]]))
    return ks.astype(float), avg[ks - 1]


def check(claim: Claim | str, trace: Any, *, rule: Any = None, problem: Any = None, oracle: Any = None,
          window: Any = None, level: float = 0.95, n_boot: int = 1000, seed: int = 0,
          context: dict[str, Any] | None = None) -> RateCheck:
    r"""Check a claim on a :class:`~precond_theory.trace.Trace` (runs of the batch as replicates).

    Every run of the trace is treated as a replicate of the same experiment: slice a sweep (e.g.
    over learning rates) into its configurations first, or use
    :func:`~precond_theory.verify.verdict.check_arrays`.  Pass ``rule``/``problem``/``oracle``
    (as run) so that the claim's assumptions are measured and its explicit bound uses the rule's
    actual hyperparameters; without them those assumptions are reported as not measured.

    ``min_grad_norm_sq`` claims are estimated as :math:`\min_{t\le k}` of the mean over runs of
    ``grad_norm_sq`` (min E, the theorems' quantity), when ``grad_norm_sq`` was recorded;
    ``avg_grad_norm_sq`` claims as :math:`\frac1k\sum_{t<k}\|\nabla f(x_t)\|^2` per run (the
    trace must hold ``grad_norm_sq`` at every step).  ``context``: further constants for the claim's
    expressions and bound (e.g. the setup's ``kappa_M``); they override those of the problem.

    Verdicts: see :mod:`precond_theory.verify.verdict` and ``docs/claims.md``.
    """
    claim = as_claim(claim)
    if claim.horizon == "per_horizon":
        raise ValueError(f"claim {claim.name or '(unnamed)'} is about min over t <= T with a step that depends on T: "
                         "check it with check_claim(..., horizons=[...]), which runs one trajectory per horizon")
    source = "grad_norm_sq" if claim.metric == "avg_grad_norm_sq" else claim.metric
    try:
        y = trace.metric(source)
    except KeyError:
        raise ValueError(f"metric {source!r} was not recorded in this trace; recorded: "
                         f"{', '.join(sorted(trace.metrics))}") from None
    ctx = _context_from_trace(trace)
    if problem is not None:
        ctx.update({k: v for k, v in problem_env(problem).items() if v is not None})
        ctx.update(oracle_env(oracle, problem))
    ctx.update(context or {})
    scale = abs(ctx["f_star"]) if (claim.metric in ("f", "f_gap") and ctx.get("f_star") is not None) else None
    steps = np.asarray(trace.steps, dtype=float)
    y = np.asarray(y, dtype=float).reshape(len(steps), -1)
    if claim.metric == "avg_grad_norm_sq":
        steps, y = _running_average(y, np.asarray(trace.steps))
    curve = None
    div = np.asarray(trace.diverged).reshape(-1)
    if claim.metric == "min_grad_norm_sq" and "grad_norm_sq" in trace.metrics and y.shape[1] > 1:
        g = np.asarray(trace.metric("grad_norm_sq"), dtype=float).reshape(len(steps), -1)
        if not (div >= 0).any():
            curve = MinOfMean.of_trajectory(g)
            y = curve()[:, None]
    measured = _measure(claim, problem=problem, rules_=[rule] if rule is not None else [], oracle=oracle,
                        steps=int(steps.max()) if steps.size else None, ctx=ctx, trace=trace)
    return check_arrays(claim, steps, y, diverged=div, eps=_eps_from_meta(trace.meta), scale=scale, context=ctx,
                        window=window, level=level, n_boot=n_boot, seed=seed, assumptions=measured,
                        replicate_curve=curve, hyperparameters=rule_hyperparameters(rule) if rule is not None else None)


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, (int, float, str, bool, type(None))) and isinstance(b, (int, float, str, bool, type(None))):
        return type(a) is type(b) and a == b
    return False


def _stack_rules(rules_T: list[Any]) -> Any:
    """One rule whose differing scalar hyperparameters become arrays of shape (H, 1, 1), or None
    (wrapped rules are stacked through their innermost rule)."""
    import dataclasses

    first = rules_T[0]
    if not dataclasses.is_dataclass(first) or any(type(r) is not type(first) for r in rules_T):
        return None
    kw = {}
    for f in dataclasses.fields(first):
        vals = [getattr(r, f.name) for r in rules_T]
        if all(_same(v, vals[0]) for v in vals):
            continue
        if f.name == "inner":
            inner = _stack_rules(vals)
            if inner is None:
                return None
            kw[f.name] = inner
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
            kw[f.name] = np.asarray(vals, dtype=float).reshape(-1, 1, 1)
        else:
            return None
    try:
        return dataclasses.replace(first, **kw)
    except (TypeError, ValueError):
        return None


def _record_steps(steps: int, claim: Claim) -> Any:
    if claim.metric == "avg_grad_norm_sq":
        return "all"
    if claim.shape == "linear":
        pts = np.unique(np.concatenate([np.arange(min(steps, 10) + 1),
                                        np.round(np.geomspace(10, max(steps, 10), 60)).astype(int),
                                        np.round(np.linspace(0, steps, 201)).astype(int), [steps]]))
        return [int(s) for s in pts if s <= steps]
    return "log"


def _per_horizon_records(Ts: Sequence[int]) -> list[int]:
    pts = np.unique(np.concatenate([[0], np.round(np.geomspace(1, max(Ts), 60)).astype(int), Ts]))
    return [int(p) for p in pts]


def check_claim(claim: Claim | str, rule: Any = None, problem: Any = None, *, oracle: Any = None,
                seeds: int | None = None, horizons: Sequence[int] | None = None, steps: int | None = None,
                x0: Any = None, seed: int = 0, window: Any = None, level: float = 0.95, n_boot: int = 1000,
                mutant: str | None = None, replicates: int | None = None, return_trace: bool = False) -> Any:
    r"""Run what ``claim`` needs, batched over seeds (and horizons), and return its :class:`RateCheck`.

    Parameters
    ----------
    claim : Claim or str
        A claim or a catalog name.  With ``rule``/``problem`` omitted, the claim's ``setup`` is used.
    rule : rule, or callable ``T -> rule``
        The method.  For ``per_horizon`` claims (``min_{t<=T}`` with a step depending on T) pass
        a callable giving the rule for horizon T (e.g. ``lambda T: rules.make("sgd", lr=c/T**0.5)``).
    problem : problem
    oracle : oracle, optional
        Stochastic oracle (default: exact gradients, then one run suffices).
    seeds : int, optional
        Number of replicate runs (default: the setup's, else 8 with an oracle, 1 without).  With an
        oracle at least two are needed, since the interval uses runs as replicates.
    horizons : list of int
        Horizons T of a per-horizon claim (positive, at least 3 distinct); one trajectory per T.
        All horizons run in one batched call when the rules differ only in scalar hyperparameters.
    steps : int
        Steps of a trajectory claim.
    x0, seed : start point and oracle seed.
    window, level, n_boot : passed to :func:`~precond_theory.verify.verdict.check_arrays`.
    mutant : str, optional
        Name of a mutant (:mod:`~precond_theory.verify.mutants`) applied to the rule before running.
    replicates : int, optional
        Repeat the whole experiment this many times, in **one** batched run (replicate i uses the
        runs ``i*seeds ... (i+1)*seeds - 1``), and return a list of RateChecks (one per replicate):
        the sample behind rejection rates (:mod:`~precond_theory.verify.power`).  Exact runs
        without an oracle are deterministic: one RateCheck is returned.
    return_trace : bool
        Also return the Trace: ``(RateCheck, Trace)``.
    """
    from ..rules.base import AbstractRule
    from ..run import run
    from ..trace import DivergenceWarning

    claim = as_claim(claim)
    setup = claim.setup
    from_setup = problem is None
    setup_env: dict[str, Any] = {}
    if problem is None:
        inst = setup_instance(claim)
        problem = inst.problem
        setup_env = preconditioner_env(problem, setup.rule_params)  # the setup's constants, not a mutant's
        if oracle is None:
            oracle = inst.oracle
        if x0 is None:
            x0 = inst.x0
    if rule is None:
        if setup is None:
            raise ValueError(f"claim {claim.name or '(unnamed)'} has no setup: pass rule=")
        rule = setup_rule_factory(claim, problem)
        if claim.horizon == "trajectory":
            rule = rule(None)
    if mutant is not None:
        from .mutants import apply_mutant

        rule = apply_mutant(mutant, rule)
    if seeds is None:
        seeds = setup.seeds if (setup is not None and from_setup) else (8 if oracle is not None else 1)
    if isinstance(seeds, bool) or not isinstance(seeds, (int, np.integer)) or seeds < 1:
        raise ValueError(f"seeds must be a positive integer (the number of replicate runs); got seeds={seeds!r}")
    if oracle is not None and seeds < 2:
        raise ValueError(f"seeds={seeds}: a stochastic oracle needs at least two seeds, because the interval "
                         "uses runs as replicates")
    S = int(seeds) if oracle is not None else 1
    early = _outside_before_running(claim, rule, problem, oracle, steps, horizons, setup, from_setup, setup_env)
    if early is not None:  # a field-measured assumption fails: nothing to run
        return ([early] if replicates is not None else early) if not return_trace else (early, None)
    if replicates is not None:
        if isinstance(replicates, bool) or not isinstance(replicates, (int, np.integer)) or replicates < 1:
            raise ValueError(f"replicates must be a positive integer; got replicates={replicates!r}")
    G = int(replicates) if (replicates is not None and oracle is not None) else 1
    groups = [np.arange(g * S, (g + 1) * S) for g in range(G)]
    env = {**problem_env(problem), **oracle_env(oracle, problem), **setup_env}
    if horizons is not None:
        horizons = _check_horizons(horizons)
        if claim.horizon != "per_horizon":
            raise ValueError(f"horizons apply to per-horizon claims; claim {claim.name or '(unnamed)'} is about one "
                             "trajectory: pass steps= instead")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        if claim.horizon == "per_horizon":
            if horizons is None:
                horizons = setup.horizons if (setup is not None and from_setup and setup.horizons) else None
            if horizons is None:
                raise ValueError(f"claim {claim.name or '(unnamed)'} is per-horizon: pass horizons=[T1, T2, ...]")
            Ts = _check_horizons(horizons)
            data = _run_per_horizon(claim, rule, problem, oracle, Ts, G * S, x0, seed, run, AbstractRule)
            rcs = [_decide_per_horizon(claim, data, cols, problem, oracle, Ts, env, window, level, n_boot, seed)
                   for cols in groups]
            out: Any = rcs if replicates is not None else rcs[0]
            return (out, data["traces"]) if return_trace else out
        if steps is None:
            steps = setup.steps if (setup is not None and from_setup) else None
        if steps is None:
            raise ValueError("steps must be given for a trajectory claim (a positive integer)")
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
            raise ValueError(f"steps must be a positive integer; got steps={steps!r}")
        if not isinstance(rule, AbstractRule):
            raise TypeError("a trajectory claim needs a rule (not a function of the horizon); got "
                            f"{type(rule).__name__}")
        tr = run(rule, problem, steps=int(steps), x0=x0, batch=(G * S,) if oracle is not None else (),
                 oracle=oracle, record=_record_steps(int(steps), claim), seed=seed)
    if G == 1:
        rcs = [check(claim, tr, rule=rule, problem=problem, oracle=oracle, window=window, level=level, n_boot=n_boot,
                     seed=seed, context=setup_env)]
    else:
        rcs = [check(claim, _slice_trace(tr, cols), rule=rule, problem=problem, oracle=oracle, window=window,
                     level=level, n_boot=n_boot, seed=seed, context=setup_env) for cols in groups]
    out = rcs if replicates is not None else rcs[0]
    return (out, tr) if return_trace else out


def _outside_before_running(claim: Claim, rule: Any, problem: Any, oracle: Any, steps: Any, horizons: Any,
                            setup: Any, from_setup: bool, setup_env: dict[str, Any]) -> RateCheck | None:
    """An inconclusive RateCheck when an assumption measurable without running (problem constants,
    rule fields) fails; None otherwise (the run's trace may still fail others)."""
    from ..rules.base import AbstractRule

    if not claim.assumptions:
        return None
    if claim.horizon == "per_horizon":
        Ts = horizons if horizons is not None else (setup.horizons if (setup is not None and from_setup) else None)
        if not Ts:
            return None
        rules_ = [rule(T) if not isinstance(rule, AbstractRule) else rule for T in _check_horizons(Ts)]
        n = max(Ts)
    else:
        if not isinstance(rule, AbstractRule):
            return None
        rules_ = [rule]
        n = steps if steps is not None else (setup.steps if (setup is not None and from_setup) else None)
    ctx = {**problem_env(problem), **oracle_env(oracle, problem), **setup_env}
    measured = _measure(claim, problem=problem, rules_=rules_, oracle=oracle, steps=n, ctx=ctx, trace=None)
    if not any(m.holds is False for m in measured):
        return None
    return check_arrays(claim, np.zeros(0), np.zeros((0, 1)), context=ctx, assumptions=measured)


def _run_per_horizon(claim: Claim, rule: Any, problem: Any, oracle: Any, Ts: tuple[int, ...], S: int, x0: Any,
                     seed: int, run: Callable[..., Any], AbstractRule: type) -> dict[str, Any]:
    """Run every horizon (batched when possible); per horizon h: the final values ``y[h]`` (S,),
    the grad_norm_sq records ``blocks[h]`` (n_t, S) at t <= T_h (min-E claims), divergence (H, S)."""
    rules_T = [rule(T) if not isinstance(rule, AbstractRule) else rule for T in Ts]
    stacked = _stack_rules(rules_T)
    min_mean = claim.metric == "min_grad_norm_sq"
    blocks: list[np.ndarray] = []
    if stacked is not None:
        rec = _per_horizon_records(Ts) if min_mean else list(Ts)
        tr = run(stacked, problem, steps=max(Ts), x0=x0, batch=(len(Ts), S), oracle=oracle, record=rec, seed=seed)
        m = tr.metrics.get(claim.metric)
        if m is None:
            raise ValueError(f"metric {claim.metric!r} was not recorded; recorded: {sorted(tr.metrics)}")
        m = m.reshape(len(tr.steps), len(Ts), S)
        idx = np.searchsorted(tr.steps, Ts)
        y = np.stack([m[idx[h], h, :] for h in range(len(Ts))])
        if min_mean:
            g = tr.metric("grad_norm_sq").reshape(len(tr.steps), len(Ts), S)
            blocks = [g[: idx[h] + 1, h, :] for h in range(len(Ts))]
        d = tr.diverged.reshape(len(Ts), S)
        div = np.where((d >= 0) & (d <= np.asarray(Ts)[:, None]), d, -1)
        traces: Any = tr
    else:
        ys, divs, traces = [], [], []
        for h, (T, r) in enumerate(zip(Ts, rules_T, strict=True)):
            rec = _per_horizon_records([T]) if min_mean else [T]
            # horizon h gets the seeds seed + h*S ... seed + (h+1)*S - 1: the same disjoint ranges as the
            # stacked run's batch (H, S), so no two runs of the experiment share a noise stream
            tr = run(r, problem, steps=T, x0=x0, batch=(S,), oracle=oracle, record=rec, seed=seed + h * S)
            ys.append(tr.metric(claim.metric)[-1].reshape(S))
            if min_mean:
                blocks.append(np.asarray(tr.metric("grad_norm_sq")).reshape(len(tr.steps), S))
            divs.append(tr.diverged.reshape(S))
            traces.append(tr)
        y, div = np.stack(ys), np.stack(divs)
    return dict(rules=rules_T, y=y, blocks=blocks, div=div, traces=traces, min_mean=min_mean)


def _decide_per_horizon(claim: Claim, data: dict[str, Any], cols: Any, problem: Any, oracle: Any,
                        Ts: tuple[int, ...], env: dict[str, Any], window: Any, level: float, n_boot: int,
                        seed: int) -> RateCheck:
    y = data["y"][:, cols]
    div = data["div"][:, cols].max(axis=0)
    curve = None
    if data["min_mean"] and y.shape[1] > 1 and not (div >= 0).any():
        curve = MinOfMean([b[:, cols] for b in data["blocks"]])
        y = curve()[:, None]
    ctx = dict(env)
    traces = data["traces"]
    last = traces if not isinstance(traces, list) else traces[-1]
    measured = _measure(claim, problem=problem, rules_=data["rules"], oracle=oracle, steps=max(Ts), ctx=ctx,
                        trace=last)
    return check_arrays(claim, np.asarray(Ts, dtype=float), y, diverged=div, context=ctx,
                        window="all" if window is None else window, level=level, n_boot=n_boot, seed=seed,
                        assumptions=measured, replicate_curve=curve,
                        hyperparameters=rule_hyperparameters(data["rules"][-1]))


def _slice_trace(tr: Any, cols: Any) -> Any:
    """The runs ``cols`` of a trace run with batch (R,)."""
    import dataclasses

    n = len(tr.steps)
    metrics = {k: np.asarray(v).reshape(n, -1)[:, cols] for k, v in tr.metrics.items()}
    xf = np.asarray(tr.x_final)
    return dataclasses.replace(tr, metrics=metrics, diverged=np.asarray(tr.diverged).reshape(-1)[cols],
                               x_final=xf.reshape(-1, xf.shape[-1])[cols], iterates=None)

"""Running what a claim needs (batched over seeds and horizons) before checking it:
:func:`check_claim`, re-exported by :mod:`precond_theory.rates`."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .claims import Claim, _check_horizons, evaluate_expression
from .rates import _as_claim, _float, check, check_arrays

__all__ = ["check_claim"]


def _factory(module: Any, name: str, what: str) -> Callable[..., Any]:
    make = getattr(module, "make", None)
    if callable(make):
        return lambda **kw: make(name, **kw)
    fn = getattr(module, f"make_{name}", None)
    if callable(fn):
        return fn
    known = sorted(n[5:] for n in dir(module) if n.startswith("make_"))
    raise ValueError(f"unknown {what} {name!r}; available: {', '.join(known)}")


def _build_problem(spec: dict[str, Any]) -> Any:
    from . import problems

    params = {k: v for k, v in spec.items() if k != "name"}
    return _factory(problems, spec["name"], "problem")(**params)


def _build_oracle(spec: dict[str, Any] | None) -> Any:
    if not spec:
        return None
    from . import oracles  # type: ignore[attr-defined]

    params = {k: v for k, v in spec.items() if k != "name"}
    return _factory(oracles, spec["name"], "oracle")(**params)


def _problem_env(problem: Any) -> dict[str, Any]:
    L, mu = _float(getattr(problem, "L", None)), _float(getattr(problem, "mu", None))
    return {"L": L, "mu": mu, "kappa": (L / mu) if (L is not None and mu) else None,
            "dim": getattr(problem, "dim", None)}


def _setup_rule_factory(claim: Claim, problem: Any) -> Callable[[int | None], Any]:
    from . import rules

    setup = claim.setup
    env = _problem_env(problem)

    def make(T: int | None) -> Any:
        e = dict(env, T=T)
        hp = {k: (evaluate_expression(v, e) if isinstance(v, str) and k != "schedule" and not _is_choice(v) else v)
              for k, v in setup.rule_params.items()}
        rule = rules.make(setup.rule, **hp)
        if setup.schedule:
            rule = rules.with_schedule(rule, setup.schedule)
        fs = getattr(problem, "feasible_set", None)
        if fs is not None:  # online problems on a bounded set: projected runs, as their theorems assume
            rule = rules.with_projection(rule, **fs.projection_kwargs())
        return rule

    return make


def _is_choice(v: str) -> bool:
    return v.replace("_", "").isalpha() and v not in ("L", "mu", "kappa", "dim", "T", "pi")


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, (int, float, str, bool, type(None))) and isinstance(b, (int, float, str, bool, type(None))):
        return type(a) is type(b) and a == b
    return False


def _stack_rules(rules_T: list[Any]) -> Any:
    """One rule whose differing scalar hyperparameters become arrays of shape (H, 1, 1), or None."""
    import dataclasses

    first = rules_T[0]
    if not dataclasses.is_dataclass(first) or any(type(r) is not type(first) for r in rules_T):
        return None
    kw = {}
    for f in dataclasses.fields(first):
        vals = [getattr(r, f.name) for r in rules_T]
        if all(_same(v, vals[0]) for v in vals):
            continue
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
            kw[f.name] = np.asarray(vals, dtype=float).reshape(-1, 1, 1)
        else:
            return None
    try:
        return dataclasses.replace(first, **kw)
    except (TypeError, ValueError):
        return None


def _record_steps(steps: int, claim: Claim) -> Any:
    if claim.shape == "linear":
        pts = np.unique(np.concatenate([np.arange(min(steps, 10) + 1),
                                        np.round(np.geomspace(10, max(steps, 10), 60)).astype(int),
                                        np.round(np.linspace(0, steps, 201)).astype(int), [steps]]))
        return [int(s) for s in pts if s <= steps]
    return "log"


def check_claim(claim: Claim | str, rule: Any = None, problem: Any = None, *, oracle: Any = None,
                seeds: int | None = None, horizons: Sequence[int] | None = None, steps: int | None = None,
                x0: Any = None, seed: int = 0, window: Any = None, level: float = 0.95, n_boot: int = 1000,
                return_trace: bool = False) -> Any:
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
    window, level, n_boot : passed to :func:`check_arrays`.
    return_trace : bool
        Also return the Trace: ``(RateCheck, Trace)``.
    """
    from .rules.base import AbstractRule
    from .run import run
    from .trace import DivergenceWarning

    claim = _as_claim(claim)
    setup = claim.setup
    from_setup = problem is None
    if problem is None:
        if setup is None:
            raise ValueError(f"claim {claim.name or '(unnamed)'} has no setup: pass rule= and problem=")
        problem = _build_problem(setup.problem)
        if oracle is None:
            oracle = _build_oracle(setup.oracle)
    if rule is None:
        if setup is None:
            raise ValueError(f"claim {claim.name or '(unnamed)'} has no setup: pass rule=")
        rule = _setup_rule_factory(claim, problem)
        if claim.horizon == "trajectory":
            rule = rule(None)
    if x0 is None and from_setup and setup.start_offset is not None:
        if getattr(problem, "x_star", None) is None:
            raise ValueError(f"setup.start_offset needs a problem with a known x_star; {problem.name!r} has none")
        x0 = problem.x_star + float(setup.start_offset)
    if seeds is None:
        seeds = setup.seeds if (setup is not None and from_setup) else (8 if oracle is not None else 1)
    if isinstance(seeds, bool) or not isinstance(seeds, (int, np.integer)) or seeds < 1:
        raise ValueError(f"seeds must be a positive integer (the number of replicate runs); got seeds={seeds!r}")
    if oracle is not None and seeds < 2:
        raise ValueError(f"seeds={seeds}: a stochastic oracle needs at least two seeds, because the interval "
                         "uses runs as replicates")
    S = int(seeds) if oracle is not None else 1
    env = _problem_env(problem)
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
            rules_T = [rule(T) if not isinstance(rule, AbstractRule) else rule for T in Ts]
            stacked = _stack_rules(rules_T)
            if stacked is not None:
                tr = run(stacked, problem, steps=max(Ts), x0=x0, batch=(len(Ts), S), oracle=oracle, record=list(Ts),
                         seed=seed)
                m = tr.metrics.get(claim.metric)
                if m is None:
                    raise ValueError(f"metric {claim.metric!r} was not recorded; recorded: {sorted(tr.metrics)}")
                m = m.reshape(len(tr.steps), len(Ts), S)
                idx = np.searchsorted(tr.steps, Ts)
                y = np.stack([m[idx[h], h, :] for h in range(len(Ts))])
                d = tr.diverged.reshape(len(Ts), S)
                div = np.where((d >= 0) & (d <= np.asarray(Ts)[:, None]), d, -1).max(axis=0)
                traces = tr
            else:
                ys, divs, traces = [], [], []
                for h, (T, r) in enumerate(zip(Ts, rules_T, strict=True)):
                    tr = run(r, problem, steps=T, x0=x0, batch=(S,), oracle=oracle, record=[T], seed=seed + h)
                    ys.append(tr.metric(claim.metric)[-1])
                    divs.append(tr.diverged.reshape(-1))
                    traces.append(tr)
                y, div = np.stack(ys), np.max(np.stack(divs), axis=0)
            ctx = dict(env)
            rc = check_arrays(claim, np.asarray(Ts, dtype=float), y, diverged=div, context=ctx,
                              window="all" if window is None else window, level=level, n_boot=n_boot, seed=seed)
            return (rc, traces) if return_trace else rc
        if steps is None:
            steps = setup.steps if (setup is not None and from_setup) else None
        if steps is None:
            raise ValueError("steps must be given for a trajectory claim (a positive integer)")
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
            raise ValueError(f"steps must be a positive integer; got steps={steps!r}")
        if not isinstance(rule, AbstractRule):
            raise TypeError("a trajectory claim needs a rule (not a function of the horizon); got "
                            f"{type(rule).__name__}")
        tr = run(rule, problem, steps=int(steps), x0=x0, batch=(S,) if oracle is not None else (), oracle=oracle,
                 record=_record_steps(int(steps), claim), seed=seed)
    rc = check(claim, tr, window=window, level=level, n_boot=n_boot, seed=seed)
    return (rc, tr) if return_trace else rc

r"""Named, measurable assumptions of convergence theorems.

Each claim lists the assumptions of its theorem by name (``assumptions = ["convex", "smooth",
"step_le_1_over_L"]`` in ``claims.toml``); :func:`measure` evaluates them on the experiment
actually run (the problem's constants, the rule's hyperparameters, the recorded trace).  An
assumption that does not hold turns the verdict into ``inconclusive: assumption X does not hold
(measured ...)``: a theorem says nothing outside its assumptions, so a run there can neither
confirm nor refute it.  An assumption that cannot be measured on the inputs given (e.g. no
trace) is reported as "not measured" and does not block the verdict.

The registry :data:`ASSUMPTIONS` maps each name to its description and measurement; unknown
names in a claim raise ``ValueError`` naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import check_names as _check_names

__all__ = ["Assumption", "Measured", "Context", "ASSUMPTIONS", "measure", "check_names", "HORIZON_FACTOR"]

#: ``horizon_gg_kappa`` holds when the horizon is at least this many time constants.
HORIZON_FACTOR = 10.0


@dataclass(frozen=True)
class Measured:
    """Outcome of one assumption on one experiment: ``holds`` (None: not measurable here) and
    the measured value in words."""

    name: str
    holds: bool | None
    value: str


@dataclass
class Context:
    """What the assumptions are measured on: the problem, the rule(s) as run (one per horizon for
    per-horizon claims), the oracle, the horizon(s), the claim's claimed rate, and the trace."""

    problem: Any = None
    rules: list[Any] = field(default_factory=list)
    oracle: Any = None
    steps: int | None = None
    claimed_rate: float | None = None
    trace: Any = None
    env: dict[str, Any] = field(default_factory=dict)
    bound: str | None = None


@dataclass(frozen=True)
class Assumption:
    """A named assumption: ``text`` says what it means, ``measure(ctx) -> (holds, value)``."""

    name: str
    text: str
    measure: Callable[[Context], tuple[bool | None, str]]


# ------------------------------------------------------------------------------------ helpers
def _const(ctx: Context, name: str) -> float | None:
    v = ctx.env.get(name)
    if v is None and ctx.problem is not None:
        v = getattr(ctx.problem, name, None)
    try:
        a = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        return None
    return float(a) if v is not None and a.ndim == 0 else None


def unwrap(rule: Any) -> tuple[Any, list[str]]:
    """The innermost rule under wrappers (schedules, projections) and the wrappers' schedule names."""
    names: list[str] = []
    while hasattr(rule, "inner"):
        sched = getattr(rule, "schedule", None)
        if callable(sched):
            names.append(getattr(sched, "__name__", "schedule"))
        rule = rule.inner
    return rule, names


def _field(ctx: Context, name: str) -> list[Any]:
    out = []
    for r in ctx.rules:
        base, _ = unwrap(r)
        if hasattr(base, name):
            out.append(getattr(base, name))
    return out


def _max(values: list[Any]) -> float:
    return max(float(np.max(np.asarray(v, dtype=float))) for v in values)


def _fmt(v: float) -> str:
    return f"{v:.4g}"


# ------------------------------------------------------------------------------- measurements
def _convex(ctx: Context) -> tuple[bool | None, str]:
    if ctx.problem is None:
        return None, "no problem given"
    mu = _const(ctx, "mu")
    if mu is None:
        return False, f"problem {ctx.problem.name!r} is not declared convex (mu unknown)"
    return mu >= 0, f"mu = {_fmt(mu)}"


def _strongly_convex(ctx: Context) -> tuple[bool | None, str]:
    mu = _const(ctx, "mu")
    if ctx.problem is None:
        return None, "no problem given"
    return (mu is not None and mu > 0), f"mu = {mu if mu is None else _fmt(mu)}"


def _not_strongly_convex(ctx: Context) -> tuple[bool | None, str]:
    mu = _const(ctx, "mu")
    if ctx.problem is None:
        return None, "no problem given"
    return (mu is not None and mu == 0), f"mu = {mu if mu is None else _fmt(mu)}"


def _smooth(ctx: Context) -> tuple[bool | None, str]:
    L = _const(ctx, "L")
    if ctx.problem is None:
        return None, "no problem given"
    return (L is not None and 0 < L < math.inf), f"L = {L if L is None else _fmt(L)}"


def _step(ctx: Context, limit: float, strict: bool) -> tuple[bool | None, str]:
    L = _const(ctx, "L")
    lrs = _field(ctx, "lr")
    if L is None or not lrs:
        return None, "L or the rule's lr unknown"
    h = _max(lrs) * L
    ok = h < limit if strict else h <= limit * (1 + 1e-12)
    return ok, f"lr * L = {_fmt(h)}"


def _horizon(ctx: Context) -> tuple[bool | None, str]:
    if ctx.steps is None:
        return None, "no horizon given"
    if ctx.claimed_rate is not None and 0 < ctx.claimed_rate < 1:
        tau, what = 1.0 / abs(math.log(ctx.claimed_rate)), "1/|log rho|"
    else:
        kappa = _const(ctx, "kappa")
        if kappa is None:
            L, mu = _const(ctx, "L"), _const(ctx, "mu")
            kappa = (L / mu) if (L is not None and mu) else math.inf
        tau, what = kappa, "kappa"
    ratio = ctx.steps / tau if tau > 0 else math.inf
    return ratio >= HORIZON_FACTOR, (f"horizon / {what} = {ctx.steps} / {_fmt(tau)} = {_fmt(ratio)} "
                                     f"(need >= {HORIZON_FACTOR:g})")


def _bounded_preconditioner(ctx: Context) -> tuple[bool | None, str]:
    caps, deltas = _field(ctx, "cap"), _field(ctx, "delta")
    measured = ""
    tr = ctx.trace
    if tr is not None and "precond_min" in getattr(tr, "metrics", {}):
        lo, hi = np.asarray(tr.metric("precond_min"), float), np.asarray(tr.metric("precond_max"), float)
        pmin = float(np.min(lo[np.isfinite(lo)])) if np.isfinite(lo).any() else math.nan
        pmax = float(np.max(hi[np.isfinite(hi)])) if np.isfinite(hi).any() else math.nan
        measured = f"P ranged over [{pmin:.3g}, {pmax:.3g}]"
    if caps or deltas:
        cap = _max(caps) if caps else math.inf
        ds = [unwrap(r)[0]._delta() if hasattr(unwrap(r)[0], "_delta") else d for r, d in zip(ctx.rules, deltas)]
        delta = min((float(np.min(np.asarray(d, dtype=float))) for d in ds if d is not None), default=0.0)
        ok = math.isfinite(cap) and delta > 0
        words = f"the rule bounds D_t to [delta, cap] = [{delta:g}, {cap:g}]"
        return ok, words + (f"; {measured}" if measured else "")
    if measured:  # the method's own state: reported, never used to excuse the method
        return None, measured + " (the rule enforces no bound)"
    return None, "no preconditioner recorded"


def _bounded_gradients(ctx: Context) -> tuple[bool | None, str]:
    # A property of the problem class: measured on the problem, never on the run of the method under
    # test (a diverging method makes its own gradients grow; that must not excuse it).
    p = ctx.problem
    if p is not None and getattr(p, "online", False):
        fs = getattr(p, "feasible_set", None)
        return (fs is not None), ("losses on a bounded feasible set" if fs is not None else "no feasible set")
    words = "a global gradient bound of an unconstrained problem is not measurable from runs"
    tr = ctx.trace
    if tr is not None and "grad_norm_sq" in getattr(tr, "metrics", {}):
        g = np.asarray(tr.metric("grad_norm_sq"), dtype=float)
        if np.isfinite(g).any():
            words += f"; along this run max ||grad f||^2 = {float(np.max(g[np.isfinite(g)])):.3g}"
    if ctx.oracle is not None and "variance" in getattr(ctx.oracle, "params", {}):
        words += "; Gaussian oracle: noise bounded in mean square only"
    return None, words


def _bounded_variance(ctx: Context) -> tuple[bool | None, str]:
    o = ctx.oracle
    if o is None:
        return True, "exact gradients (variance 0)"
    params = getattr(o, "params", {})
    if "variance" in params:
        v = float(params["variance"])
        return math.isfinite(v), f"sigma^2 = {v:g}"
    return True, f"oracle {getattr(o, 'name', type(o).__name__)!r} samples a finite sum (bounded variance)"


def _feasible_set(ctx: Context) -> tuple[bool | None, str]:
    if ctx.problem is None:
        return None, "no problem given"
    fs = getattr(ctx.problem, "feasible_set", None)
    return fs is not None, "feasible set given" if fs is not None else "unconstrained problem"


def _online(ctx: Context) -> tuple[bool | None, str]:
    if ctx.problem is None:
        return None, "no problem given"
    return bool(getattr(ctx.problem, "online", False)), f"problem {ctx.problem.name!r} online = {ctx.problem.online}"


def _quadratic(ctx: Context) -> tuple[bool | None, str]:
    if ctx.problem is None:
        return None, "no problem given"
    from ..problems.quadratic import Quadratic

    return isinstance(ctx.problem, Quadratic), f"problem {ctx.problem.name!r}"


def _schedule(name: str) -> Callable[[Context], tuple[bool | None, str]]:
    def m(ctx: Context) -> tuple[bool | None, str]:
        if not ctx.rules:
            return None, "no rule given"
        scheds = sorted({s for r in ctx.rules for s in unwrap(r)[1]})
        return name in scheds, f"schedules {scheds or ['none']}"
    return m


def _beta(ctx: Context) -> tuple[bool | None, str]:
    b1, b2 = _field(ctx, "b1"), _field(ctx, "b2")
    if not b1 or not b2:
        return None, "the rule has no b1/b2"
    r = _max(b1) / math.sqrt(min(float(np.min(np.asarray(v, dtype=float))) for v in b2))
    return r < 1, f"b1/sqrt(b2) = {_fmt(r)}"


def _nonincreasing(ctx: Context) -> tuple[bool | None, str]:
    if not ctx.rules:
        return None, "no rule given"
    base, _ = unwrap(ctx.rules[0])
    if base.name == "adagrad":
        return True, "AdaGrad's accumulator never decreases"
    flags = _field(ctx, "amsgrad")
    if flags:
        ok = all(bool(f) for f in flags)
        return ok, f"amsgrad = {flags[0]}" + ("" if ok else " (the v EMA can decrease, increasing the step)")
    return False, f"rule {base.name!r} has no max over past second moments"


def _fixed_preconditioner(ctx: Context) -> tuple[bool | None, str]:
    if not ctx.rules:
        return None, "no rule given"
    base, _ = unwrap(ctx.rules[0])
    ok = base.name == "preconditioned" and getattr(base, "source", None) is None
    return ok, f"rule {base.name!r}" + ("" if ok else " (preconditioner changes along the run)")


def _bound_parameters(ctx: Context) -> tuple[bool | None, str]:
    # the explicit bound's theorem is stated for these hyperparameters only: its function refuses others
    import dataclasses
    import inspect

    from .. import theory

    if ctx.bound is None or not ctx.rules:
        return None, "no explicit bound or no rule given"
    fn = getattr(theory, ctx.bound)
    args: dict[str, Any] = {}
    for r in ctx.rules:
        base, _ = unwrap(r)
        hyper = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)} if dataclasses.is_dataclass(base) else {}
        for name in inspect.signature(fn).parameters:
            if name in ("k", "T"):
                args[name] = 1.0
            elif name in hyper and isinstance(hyper[name], (int, float, np.ndarray)) and not isinstance(hyper[name], bool):
                args[name] = hyper[name]
            elif ctx.env.get(name) is not None:
                args[name] = ctx.env[name]
            elif name in ("dist0_sq", "f_gap0"):  # data of the run: any admissible value tests the parameters
                args[name] = 1.0
        try:
            fn(**args)
        except ValueError as exc:
            return False, str(exc)
        except TypeError:
            return None, f"{ctx.bound} cannot be evaluated before running"
    used = ", ".join(f"{k} = {_fmt(float(np.max(v)))}" for k, v in args.items() if k not in ("k", "T", "dist0_sq",
                                                                                             "f_gap0"))
    return True, f"{ctx.bound} accepts {used}"


ASSUMPTIONS: dict[str, Assumption] = {a.name: a for a in (
    Assumption("convex", "f (each f_t online) is convex: the problem declares mu >= 0", _convex),
    Assumption("strongly_convex", "f is mu-strongly convex with mu > 0", _strongly_convex),
    Assumption("not_strongly_convex", "f is convex with mu = 0 (no strong convexity a linear rate could come from)",
               _not_strongly_convex),
    Assumption("smooth", "f is L-smooth with a finite, known L", _smooth),
    Assumption("step_le_1_over_L", "the (base) step satisfies lr <= 1/L", lambda c: _step(c, 1.0, False)),
    Assumption("step_le_1_over_3L", "the (base) step satisfies lr <= 1/(3L)", lambda c: _step(c, 1.0 / 3.0, False)),
    Assumption("bound_parameters", "the rule's hyperparameters are those the explicit bound's theorem is stated for "
               "(its theory function accepts them)", _bound_parameters),
    Assumption("step_lt_2_over_L", "the (base) step satisfies lr < 2/L", lambda c: _step(c, 2.0, True)),
    Assumption("horizon_gg_kappa", f"the horizon is at least {HORIZON_FACTOR:g} time constants (1/|log rho| of "
               "the claimed rate, else kappa = L/mu): shorter runs see a transient, not the rate", _horizon),
    Assumption("bounded_preconditioner", "the rule enforces delta <= D_t <= C (fields delta, cap); for other rules "
               "the recorded range of P is reported, not measured", _bounded_preconditioner),
    Assumption("bounded_gradients", "online: Lipschitz losses on a bounded feasible set; unconstrained problems: not "
               "measurable from runs (reported with the largest gradient seen)", _bounded_gradients),
    Assumption("noise_bounded_variance", "stochastic gradients are unbiased with bounded variance", _bounded_variance),
    Assumption("bounded_feasible_set", "the iterates are projected on a bounded feasible set", _feasible_set),
    Assumption("online_convex", "online convex optimisation (time-varying convex losses)", _online),
    Assumption("quadratic", "f is a quadratic (the spectrum bounds the rate)", _quadratic),
    Assumption("step_inverse_sqrt", "the step decays like alpha/sqrt(t)", _schedule("inverse_sqrt")),
    Assumption("beta1_lt_sqrt_beta2", "b1 / sqrt(b2) < 1", _beta),
    Assumption("nonincreasing_effective_step", "the effective step is non-increasing (AMSGrad's max, AdaGrad's sum)",
               _nonincreasing),
    Assumption("fixed_preconditioner", "the preconditioner M is fixed along the run", _fixed_preconditioner),
)}


def check_names(names: Any, where: str = "assumptions") -> tuple[str, ...]:
    """Validate assumption names against :data:`ASSUMPTIONS`; raise ``ValueError`` naming ``where``."""
    return _check_names(names, ASSUMPTIONS, "assumption", where)


def measure(names: Any, ctx: Context) -> list[Measured]:
    """Measure each named assumption on ``ctx`` (in the order given)."""
    out = []
    for n in check_names(names):
        holds, value = ASSUMPTIONS[n].measure(ctx)
        out.append(Measured(n, None if holds is None else bool(holds), value))
    return out


def first_failure(results: list[Measured]) -> str | None:
    """``"assumption X does not hold (measured ...)"`` for the failed ones, or None."""
    bad = [m for m in results if m.holds is False]
    if not bad:
        return None
    return "; ".join(f"assumption {m.name} does not hold (measured {m.value})" for m in bad)

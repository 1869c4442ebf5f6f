r"""From data to a verdict: ``consistent`` / ``violated`` / ``inconclusive: <reason>``.

Order of the decision (each step documented in ``docs/claims.md``):

1. *Assumptions* (:mod:`~precond_theory.verify.assumptions`) measured on the experiment: one
   that does not hold gives ``inconclusive: assumption X does not hold (measured ...)``.
2. *Divergence* of any run refutes a claim of decay.
3. *Explicit bound* (a :mod:`precond_theory.theory` function evaluated with the rule's actual
   hyperparameters): violated when the lower confidence limit of the mean over replicas exceeds
   the bound at some record (one-sided, Bonferroni over the records); for ``tight`` claims also
   violated when the upper confidence limit at the last record stays below the bound (a
   worst-case instance decaying faster than the tight bound refutes tightness).  With a bound,
   the bound decides; the fitted order is reported.
4. Otherwise the *fitted law* over the tail window (statistics of :mod:`precond_theory.rates`).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .._rate_stats import (
    DECELERATION,
    PLATEAU_SLOPE,
    Floor,
    InsufficientData,
    _check_level,
    _check_slope,
    _check_window,
    _eps,
    _fit_line,
    _Line,
    _prepare,
    _select,
    _window_mask,
)
from ..rates import LinearRateFit, PowerLawFit
from .assumptions import Measured
from .claims import Claim, evaluate_expression, get_claim

__all__ = ["RateCheck", "check_arrays", "claimed_rate", "BOUND_RTOL", "TIGHT_RTOL"]

#: Relative slack of the explicit-bound test for exact (deterministic) data: round-off only.
BOUND_RTOL = 1e-9
#: Relative slack of the tightness test for exact data: the bound must be attained to this accuracy.
TIGHT_RTOL = 1e-6


@dataclass(frozen=True)
class RateCheck:
    """Verdict of a claim on data.

    ``order``/``ci`` are the fitted power and its interval (power-law claims), ``rate``/``ci`` the
    fitted factor per step and its interval (linear claims); ``constant`` the fitted constant;
    ``claimed`` the claimed order (or rate); ``floor`` a floor met by the data; ``k``/``y`` the data
    used (host arrays, for figures); ``bound`` the claim's explicit bound at each k (NaN where not
    evaluated), when it has one; ``assumptions`` the measured assumptions.
    """

    claim: Claim
    verdict: Literal["consistent", "violated", "inconclusive"]
    reason: str
    order: float = math.nan
    rate: float = math.nan
    ci: tuple[float, float] = (math.nan, math.nan)
    constant: float = math.nan
    claimed: float | None = None
    floor: Floor | None = None
    fit: PowerLawFit | LinearRateFit | None = None
    n_runs: int = 0
    k: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    y: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    bound: np.ndarray | None = field(default=None, repr=False)
    assumptions: tuple[Measured, ...] = ()

    def __bool__(self) -> bool:  # a RateCheck is not a boolean; make misuse loud
        raise TypeError("use rc.verdict == 'consistent' (a RateCheck has three outcomes)")

    @property
    def interval_text(self) -> str:
        lo, hi = self.ci
        return f"[{lo:.4g}, {hi:.4g}]" if math.isfinite(lo) or math.isfinite(hi) else "-"


def as_claim(claim: Any) -> Claim:
    if isinstance(claim, Claim):
        return claim
    if isinstance(claim, str):
        return get_claim(claim)
    raise TypeError(f"claim must be a Claim or a catalog name; got {type(claim).__name__}")


def claimed_rate(claim: Claim, context: dict[str, Any]) -> float | None:
    """The claim's per-step factor evaluated on the problem constants (None: "some rate < 1")."""
    if claim.rate is None:
        return None
    env = {k: context.get(k) for k in ("L", "mu", "kappa", "dim", "kappa_M", "lam_min_M", "lam_max_M")}
    r = evaluate_expression(claim.rate, env)
    if not 0 < r < 1:
        raise ValueError(f"claim {claim.name or '(unnamed)'}: rate {claim.rate!r} evaluates to {r!r}, not in (0, 1)")
    return r


def _fmt_k(a: float, b: float) -> str:
    return f"k = {a:g}..{b:g}"


def check_arrays(claim: Claim | str, k: Any, y: Any, *, diverged: Any = None, eps: float | None = None,
                 scale: float | None = None, context: dict[str, Any] | None = None, window: Any = None,
                 level: float = 0.95, n_boot: int = 1000, seed: int = 0, min_points: int = 5,
                 assumptions: Any = (), replicate_curve: Callable[[np.ndarray], np.ndarray] | None = None,
                 hyperparameters: dict[str, Any] | None = None, slope: str = "mean") -> RateCheck:
    """Check ``claim`` on host arrays: ``k`` (n_records,) steps or horizons, ``y`` (n_records[, n_runs]).

    ``diverged`` (n_runs,) holds each run's divergence step (-1: never); ``context`` the problem
    constants (``L``, ``mu``, ``kappa``, ``dim``, ``dist0_sq``, ``f_gap0``) used by expression
    rates and explicit bounds; ``hyperparameters`` the rule's actual ones (``lr``, ...) passed to
    the bound; ``assumptions`` the measured :class:`~precond_theory.verify.assumptions.Measured`
    list (a failed one makes the verdict inconclusive).  ``replicate_curve(idx)``, when given,
    recomputes the estimate ``y`` (then one column) from the replicate runs ``idx`` (a bootstrap
    resample): the interval then resamples runs through it (used for min_t E[...]).
    ``window``: None (power laws: the terminal window of :func:`precond_theory.rates.fit_power_law`,
    which moves past transients and curvature; linear rates: the upper half in k), ``"half"``,
    ``"all"`` or ``(k_lo, k_hi)``.  A two-sided (``rate``) power-law claim is refuted as decaying
    *faster* than claimed only when the local order at the window's end (terminal slope) agrees.
    ``slope``: the power-law estimator, ``"mean"`` (least-squares slope over the window; default)
    or ``"terminal"`` (local slope at the window's end: robust to sub-leading terms, wider); see
    :func:`precond_theory.rates.fit_power_law` and the calibration of both in ``docs/rates.md``.
    """
    claim = as_claim(claim)
    level = _check_level(level)
    window = _check_window(window)
    terminal = _check_slope(slope)
    k, y = _prepare(k, y)
    ctx = dict(context or {})
    measured = tuple(assumptions)
    claimed = claim.order if claim.shape == "power" else claimed_rate(claim, ctx)
    base = dict(claim=claim, claimed=claimed, k=k, y=y, assumptions=measured)
    failed = [m for m in measured if m.holds is False]
    if failed:
        why = "; ".join(f"assumption {m.name} does not hold (measured {m.value})" for m in failed)
        return RateCheck(verdict="inconclusive", reason=why, n_runs=y.shape[1], **base)
    notes: list[str] = [f"assumption {m.name} not measured ({m.value})" for m in measured if m.holds is None]
    div_note = None
    if diverged is not None:
        d = np.asarray(diverged).reshape(-1) >= 0
        if replicate_curve is None and d.shape[0] != y.shape[1]:
            raise ValueError(f"diverged has {d.shape[0]} entries but y has {y.shape[1]} runs")
        if d.any():
            div_note = f"{int(d.sum())} of {d.size} runs diverged (non-finite iterates)"
            if d.all() or replicate_curve is not None:
                # a non-finite metric refutes a decay and exceeds any finite explicit bound
                verdict = "violated" if (claim.decaying or claim.bound is not None) else "inconclusive"
                return RateCheck(verdict=verdict, reason=div_note + ("; nothing left to fit" if d.all() else ""),
                                 n_runs=d.size, **base)
            y = y[:, ~d]
            base["y"] = y
    n_runs = y.shape[1] if replicate_curve is None else int(replicate_curve.n_runs)
    base["n_runs"] = n_runs
    if claim.bound is not None:
        return _bound_verdict(claim, k, y, ctx, hyperparameters or {}, base, notes, div_note, level=level,
                              window=window, n_boot=n_boot, seed=seed, eps=eps, scale=scale, min_points=min_points,
                              replicate_curve=replicate_curve, terminal=terminal)
    fitted = _fit(claim, k, y, claimed, window=window, level=level, n_boot=n_boot, seed=seed, eps=eps, scale=scale,
                  min_points=min_points, replicate_curve=replicate_curve, terminal=terminal)
    if isinstance(fitted, _Early):  # too little data (or a plateau from the start)
        verdict, why = fitted.verdict, fitted.reason
        if div_note and claim.decaying:
            verdict, why = "violated", div_note + "; " + why
        return RateCheck(verdict=verdict, reason=why, floor=fitted.floor, **base)
    verdict, why, fit, est, desc, floor = fitted
    if div_note and claim.decaying:
        verdict, why = "violated", div_note + "; " + why
    elif div_note:
        notes.append(div_note)
    reason = "; ".join([why, desc, *_floor_note(floor), *notes])
    return RateCheck(verdict=verdict, reason=reason, floor=floor, fit=fit, **est, **base)


def _floor_note(floor: Floor | None) -> list[str]:
    if floor is None:
        return []
    what = "round-off floor" if floor.kind == "roundoff" else "plateau (noise floor)"
    return [f"{what} at level {floor.level:.3g} from k = {floor.start:g} (excluded from the fit)"]


def _fit(claim: Claim, k: np.ndarray, y: np.ndarray, claimed: float | None, *, window: Any, level: float,
         n_boot: int, seed: int, eps: float | None, scale: float | None, min_points: int,
         replicate_curve: Callable[[np.ndarray], np.ndarray] | None, terminal: bool = False) -> Any:
    """Fit the claimed law over the tail window; returns (verdict, why, fit, estimates, description,
    floor), or a RateCheck-like record when the data do not allow a fit."""
    shape = "linear" if claim.shape == "linear" else "power"
    decaying = claim.decaying
    delta = None
    if decaying:
        delta = PLATEAU_SLOPE if (claim.order is None or claim.order >= 0) else min(PLATEAU_SLOPE, abs(claim.order) / 3)
    e = _eps(y, eps)
    if claim.kind == "upper_bound" and not decaying:
        tail = k >= (k[k > 0].min() * k.max()) ** 0.5 if (k > 0).any() else k > 0
        if tail.any() and np.all(np.isfinite(y[tail])) and np.all(y[tail] <= 0):
            return _Early("consistent", f"{claim.metric} is <= 0 over the tail (k >= {k[tail][0]:g}), below any "
                          f"positive C k^{claim.order:g}", None)
    try:
        kw, yw, floor, ku, yu = _select(k, y, shape=shape, log_power=claim.log_power, window=window, eps=e,
                                        scale=scale, decaying=decaying, min_points=min_points, min_span=4.0,
                                        plateau_delta=delta, level=level, n_boot=n_boot, seed=seed)
    except InsufficientData as exc:
        fl = exc.floor
        if fl is not None and fl.kind == "noise" and decaying:
            return _Early("violated", f"the metric stops decreasing (plateau at {fl.level:.3g}, far above round-off, "
                          f"from k = {fl.start:g}), which refutes {claim.law()}; too few records before the floor to "
                          "fit an order", fl)
        return _Early("inconclusive", str(exc), fl)
    lp = claim.log_power if shape == "power" else 0.0

    def data(kk: np.ndarray, yy: np.ndarray) -> tuple[np.ndarray, np.ndarray, Any]:
        rows = np.searchsorted(k, kk)
        boot = None
        if replicate_curve is not None:
            def boot(idx: np.ndarray) -> np.ndarray:
                c = np.log(np.maximum(replicate_curve(idx)[rows], 1e-300))
                return c - lp * np.log(np.log(kk)) if lp else c
            boot.n_runs = replicate_curve.n_runs  # type: ignore[attr-defined]
        x = np.log(kk) if shape == "power" else kk
        z = np.log(yy) - (lp * np.log(np.log(kk)))[:, None] if lp else np.log(yy)
        return x, z, boot

    x, z, boot = data(kw, yw)
    line = _fit_line(x, z, level=level, n_boot=n_boot, seed=seed, bootstrap=None, replicate_curve=boot,
                     terminal=terminal and shape == "power" and len(kw) >= 6)
    end = None  # the local order at the end: a two-sided claim's "decays faster" needs it too
    if shape == "power" and claim.kind == "rate":
        ke, ye = kw, yw
        if window in (None, "auto", "terminal"):  # from the upper half: the quadratic needs the room
            half = _window_mask(ku, "half", "power")
            if half.sum() > len(kw):
                ke, ye = ku[half], yu[half]
        if len(ke) >= 6:
            xe, ze, be = data(ke, ye)
            end = _fit_line(xe, ze, level=level, n_boot=n_boot, seed=seed, bootstrap=None, replicate_curve=be,
                            terminal=True)
    n_runs = y.shape[1] if replicate_curve is None else int(replicate_curve.n_runs)
    if shape == "power":
        fit: Any = PowerLawFit(line.slope, line.ci, math.exp(line.intercept), float(claim.log_power),
                               (float(kw[0]), float(kw[-1])), len(kw), n_runs, level, line.half_regression,
                               line.half_bootstrap, floor)
        est = dict(order=line.slope, ci=line.ci, constant=fit.constant)
        desc = f"fitted order {line.slope:.4g} [{line.ci[0]:.4g}, {line.ci[1]:.4g}]"
    else:
        fit = LinearRateFit(math.exp(line.slope), (math.exp(line.ci[0]), math.exp(line.ci[1])),
                            math.exp(line.intercept), (float(kw[0]), float(kw[-1])), len(kw), n_runs, level,
                            line.half_regression, line.half_bootstrap, floor)
        est = dict(rate=fit.rate, ci=fit.ci, constant=fit.constant)
        desc = f"fitted rate {fit.rate:.6g} [{fit.ci[0]:.6g}, {fit.ci[1]:.6g}] per step"
    runs = "runs" if n_runs != 1 else "run"
    if replicate_curve is not None:
        runs = "runs (min over t of the mean over runs)"
    desc += f" over {_fmt_k(float(kw[0]), float(kw[-1]))} ({len(kw)} records, {n_runs} {runs})"
    verdict, why = _verdict(claim, line, claimed, floor, ku, yu, level=level, n_boot=n_boot, seed=seed, end=end)
    return verdict, why, fit, est, desc, floor


@dataclass(frozen=True)
class _Early:
    verdict: str
    reason: str
    floor: Floor | None


def _verdict(claim: Claim, line: _Line, claimed: float | None, floor: Floor | None, ku: np.ndarray, yu: np.ndarray,
             *, level: float, n_boot: int, seed: int, end: _Line | None = None) -> tuple[str, str]:
    lo, hi = line.ci
    m = claim.default_margin
    if floor is not None and floor.kind == "noise" and claim.decaying:
        return "violated", (f"the metric stops decreasing (plateau at {floor.level:.3g}, far above round-off, from "
                            f"k = {floor.start:g}), which refutes {claim.law()}")
    if claim.kind == "limit":
        if hi < -PLATEAU_SLOPE * (1 if claim.shape == "power" else 0):
            return "consistent", f"the metric keeps decreasing over the tail ({claim.law()})"
        if floor is not None and floor.kind == "roundoff":
            return "consistent", f"the metric decreased to the round-off floor ({claim.law()})"
        if lo > PLATEAU_SLOPE:
            return "violated", f"the metric grows over the tail, refuting {claim.law()}"
        return "inconclusive", "the tail neither clearly decreases nor plateaus"
    if claim.shape == "power":
        p0 = float(claimed)
        if claim.kind == "upper_bound":
            verb = "decays at least like" if p0 < 0 else "grows at most like"
            if hi <= p0 + m:
                return "consistent", f"the metric {verb} k^{p0:g} (upper end {hi:.4g} <= {p0:g} + {m:g})"
            verb = "decays slower than" if p0 < 0 else "grows faster than"
            if lo > p0 + m:
                return "violated", f"the metric {verb} k^{p0:g} (lower end {lo:.4g} > {p0:g} + {m:g})"
            return "inconclusive", f"the interval straddles the claimed order {p0:g} + margin {m:g}"
        if p0 - m <= lo and hi <= p0 + m:
            return "consistent", f"the interval lies within the claimed order {p0:g} +- {m:g}"
        if lo > p0 + m:
            return "violated", f"the interval excludes the claimed order {p0:g} +- {m:g} (slower)"
        if hi < p0 - m:
            # metric/template decreases over the window: a vanishing sub-leading term or transient does
            # that too, so tightness is refuted only if the local order at the window's end agrees
            if end is None or end.ci[1] < p0 - m:
                at_end = "" if end is None else f"; local order at the window's end {end.slope:.4g} " \
                                                  f"[{end.ci[0]:.4g}, {end.ci[1]:.4g}]"
                return "violated", f"the interval excludes the claimed order {p0:g} +- {m:g} (faster){at_end}"
            return "inconclusive", (f"faster than the claimed order {p0:g} - {m:g} over the window, but the local "
                                    f"order at its end {end.slope:.4g} [{end.ci[0]:.4g}, {end.ci[1]:.4g}] does not "
                                    "exclude it (a vanishing sub-leading term or transient looks the same; a "
                                    "longer horizon decides)")
        return "inconclusive", f"the interval is too wide to decide against {p0:g} +- {m:g}"
    decel = _deceleration(ku, yu, level=level, n_boot=n_boot, seed=seed)
    if decel is not None:
        return "violated", decel
    if claimed is None:
        if hi < 0:
            return "consistent", f"the metric decays geometrically over the tail (rho < {math.exp(hi):.6g})"
        if lo >= 0:
            return "violated", "the metric does not decrease over the tail"
        return "inconclusive", "the interval of rho contains 1"
    s0 = math.log(claimed)
    band = (s0 * (1 + m), s0 * (1 - m))
    if claim.kind == "upper_bound":
        if hi <= band[1]:
            return "consistent", f"rho <= claimed {claimed:.6g} (within {m:.0%} of log rho)"
        if lo > band[1]:
            return "violated", f"rho > claimed {claimed:.6g} (beyond {m:.0%} of log rho)"
        return "inconclusive", f"the interval of rho straddles the claimed {claimed:.6g}"
    if band[0] <= lo and hi <= band[1]:
        return "consistent", f"rho matches the claimed {claimed:.6g} within {m:.0%} of log rho"
    if hi < band[0] or lo > band[1]:
        return "violated", f"rho differs from the claimed {claimed:.6g} by more than {m:.0%} of log rho"
    return "inconclusive", f"the interval of rho is too wide to decide against {claimed:.6g}"


def _deceleration(k: np.ndarray, y: np.ndarray, *, level: float, n_boot: int, seed: int) -> str | None:
    """Reason string when the geometric decay rate slows down over the tail (sublinear), else None.

    The usable records with k >= 1 in the upper half of their log-k range are split at the
    geometric midpoint; if the later half's semilog slope is, even at the end of its interval
    nearest to the earlier one, above ``DECELERATION`` (0.5) times the earlier half's slope, the
    decay is decelerating: a power law gives a ratio of about sqrt(k_lo/k_hi), a linear rate 1.
    (Only meaningful when the horizon resolves the rate: claims list ``horizon_gg_kappa`` or
    ``not_strongly_convex``.)
    """
    m = k >= 1
    k, y = k[m], y[m]
    if len(k) < 8:
        return None
    lk = np.log(k)
    t = lk >= (lk[0] + lk[-1]) / 2
    k, y, lk = k[t], y[t], lk[t]
    a = lk < (lk[0] + lk[-1]) / 2
    if a.sum() < 3 or (~a).sum() < 3:
        return None
    try:
        l1 = _fit_line(k[a], np.log(y[a]), level=level, n_boot=n_boot, seed=seed, bootstrap=None)
        l2 = _fit_line(k[~a], np.log(y[~a]), level=level, n_boot=n_boot, seed=seed, bootstrap=None)
    except InsufficientData:
        return None
    if l1.ci[1] < 0 and l2.ci[0] > DECELERATION * l1.ci[1]:
        return (f"the decay decelerates (per-step factor {math.exp(l1.slope):.6g} on k = {k[a][0]:g}..{k[a][-1]:g}, "
                f"{math.exp(l2.slope):.6g} on k = {k[~a][0]:g}..{k[~a][-1]:g}): sublinear, not geometric")
    return None


# ------------------------------------------------------------------------------ explicit bounds
def evaluate_bound(claim: Claim, k: np.ndarray, ctx: dict[str, Any], hyper: dict[str, Any]) -> np.ndarray:
    """The claim's explicit bound at the steps (or horizons) ``k``, with the problem constants of
    ``ctx`` and the rule's actual hyperparameters ``hyper`` (``lr``, ``b1``, ...).  Missing
    arguments, or parameters outside the theorem (the bound function refuses them), raise
    ``ValueError`` naming the claim's ``bound`` field."""
    from .. import theory

    fn = getattr(theory, claim.bound)
    args: dict[str, Any] = {}
    missing = []
    for name, p in inspect.signature(fn).parameters.items():
        if name in ("k", "T"):
            args[name] = k
        elif hyper.get(name) is not None:
            args[name] = hyper[name]
        elif ctx.get(name) is not None:
            args[name] = ctx[name]
        elif p.default is inspect.Parameter.empty:
            missing.append(name)
    if missing:
        raise ValueError(f"claim {claim.name or '(unnamed)'}: bound {claim.bound!r} needs {', '.join(missing)}, which "
                         "this setup does not provide")
    try:
        b = np.asarray(fn(**args), dtype=float)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"claim {claim.name or '(unnamed)'}: bound {claim.bound!r} does not evaluate on this setup: "
                         f"{exc}") from None
    b = np.broadcast_to(b, k.shape)
    if not np.all(np.isfinite(b)) or np.any(b <= 0):
        raise ValueError(f"claim {claim.name or '(unnamed)'}: bound {claim.bound!r} evaluates to non-positive or "
                         f"non-finite values on this setup (e.g. {b.ravel()[0]!r})")
    return b


def _bound_verdict(claim, k, y, ctx, hyper, base, notes, div_note, *, level, window, n_boot, seed, eps, scale,
                   min_points, replicate_curve, terminal):
    from scipy import stats

    k_min = 1.0
    sel = (k >= k_min) & np.all(np.isfinite(y), axis=1)
    if not sel.any():
        return RateCheck(verdict="inconclusive", reason=f"no finite records with k >= 1 to compare with the bound "
                         f"{claim.bound}", **base)
    ks, ys = k[sel], y[sel]
    bound = evaluate_bound(claim, ks, ctx, hyper)
    full = np.full(len(k), np.nan)
    full[sel] = bound
    R = ys.shape[1]
    mean = ys.mean(axis=1)
    stochastic = R > 1 and float(np.max(ys.std(axis=1))) > 0
    if replicate_curve is not None and getattr(replicate_curve, "blocks", None) is not None:
        lo, hi, how = _min_of_mean_limits(replicate_curve, sel, level)
        stochastic = True
    elif stochastic:
        se = ys.std(axis=1, ddof=1) / math.sqrt(R)
        q = float(stats.t.ppf(1 - (1 - level) / len(ks), R - 1))  # one-sided, Bonferroni over the records
        lo, hi = mean - q * se, mean + q * (ys.std(axis=1, ddof=1) / math.sqrt(R))
        how = f"mean of {R} replicas, one-sided {100 * level:g}% limits (Bonferroni over {len(ks)} records)"
    else:
        lo = hi = mean
        how = "exact runs"
    rtol = 0.0 if stochastic else BOUND_RTOL
    ratio = mean / bound
    fit_desc, fit_extra = _fit_note(claim, k, y, window=window, level=level, n_boot=n_boot, seed=seed, eps=eps,
                                    scale=scale, min_points=min_points, replicate_curve=replicate_curve,
                                    terminal=terminal)
    over = lo > bound * (1 + rtol)
    if div_note and (claim.decaying or claim.bound is not None):
        verdict, why = "violated", div_note
    elif over.any():
        i = int(np.argmax(over))
        verdict, why = "violated", (f"the explicit bound {claim.bound} is exceeded at k = {ks[i]:g} "
                                    f"({mean[i]:.6g} > {bound[i]:.6g}, ratio {ratio[i]:.6g}; {how})")
    elif claim.tight and hi[-1] < bound[-1] * (1 - (0.0 if stochastic else TIGHT_RTOL)):
        verdict, why = "violated", (f"the tight bound {claim.bound} is not attained on this worst-case instance: at "
                                    f"k = {ks[-1]:g} the metric is {mean[-1]:.6g} < {bound[-1]:.6g} (ratio "
                                    f"{ratio[-1]:.6g}; {how}); decaying faster than the tight worst case refutes "
                                    "tightness")
    else:
        att = f"; attained at k = {ks[-1]:g} (ratio {ratio[-1]:.10g})" if claim.tight else ""
        verdict, why = "consistent", (f"below the explicit bound {claim.bound} at every record k >= 1 (max ratio "
                                      f"{float(np.max(ratio)):.6g}; {how}){att}")
    parts = [why] + ([fit_desc] if fit_desc else []) + notes
    if div_note and not claim.decaying:
        parts.append(div_note)
    return RateCheck(verdict=verdict, reason="; ".join(parts), bound=full, **fit_extra, **base)


def _min_of_mean_limits(curve: Any, sel: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray, str]:
    r"""One-sided limits of :math:`\min_{t\le k}\mathbb E[g_t]` at the selected records, from the
    replicate runs behind a min-of-mean curve (``curve.blocks``: per record, the (n_t, R) values at
    the records t <= k).  Simultaneous one-sided t-limits of every E[g_t] (Bonferroni over the
    ``curve.n_tests`` distinct records) give ``min_t lower_t <= min_t E[g_t]`` and
    ``min_t E[g_t] <= min_t upper_t`` at the level."""
    from scipy import stats

    R = int(curve.n_runs)
    m = int(getattr(curve, "n_tests", 0) or sum(len(b) for b in curve.blocks))
    q = float(stats.t.ppf(1 - (1 - level) / max(m, 1), R - 1))
    lo, hi = [], []
    for b, keep in zip(curve.blocks, sel, strict=True):
        if not keep:
            continue
        mu, se = b.mean(axis=1), b.std(axis=1, ddof=1) / math.sqrt(R)
        lo.append(float(np.min(mu - q * se)))
        hi.append(float(np.min(mu + q * se)))
    how = (f"min over t of the mean of {R} replicas, one-sided {100 * level:g}% limits (Bonferroni over {m} "
           "records)")
    return np.asarray(lo), np.asarray(hi), how


def _fit_note(claim, k, y, **kw) -> tuple[str, dict[str, Any]]:
    """The fitted law, reported next to a bound verdict (it does not decide it)."""
    claimed = claim.order
    if claim.shape == "linear":
        try:
            claimed = claimed_rate(claim, {})
        except ValueError:
            claimed = None
    elif claim.order is None:
        return "", {}
    try:
        out = _fit(claim, k, y, claimed, **kw)
    except (InsufficientData, ValueError):
        return "", {}
    if isinstance(out, _Early):
        return f"law not fitted ({out.reason})", {"floor": out.floor}
    _, _, fit, est, desc, floor = out
    return f"fitted law (not deciding): {desc}", dict(fit=fit, floor=floor, **est)

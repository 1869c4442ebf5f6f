r"""Fitting convergence laws with confidence intervals, and checking claims against runs.

``fit_power_law`` fits :math:`y \approx C k^p (\log k)^q` (q fixed by the caller) and
``fit_linear_rate`` fits :math:`y \approx C\rho^k`, both over a tail window, with runs (seeds)
as replicates.  ``check(claim, trace)`` turns a :class:`~precond_theory.claims.Claim` and a
:class:`~precond_theory.trace.Trace` into a :class:`RateCheck` with a verdict
``"consistent" | "violated" | "inconclusive"`` and the reason in words; ``check_claim`` runs
what the claim needs first.  The statistics run on host NumPy arrays (traces are host data).

Rules (each constant is documented in ``docs/rates.md``)
--------------------------------------------------------
*Round-off floor.*  With ε the dtype's machine epsilon and s the metric's scale (its first
recorded positive value, median over runs), records from the first one at or below
``FLOOR_FACTOR·ε²·s`` (1000 ε² s ≈ 5e-29 s in float64) on are excluded: metrics computed from
differences to a stored optimum (``dist_sq``, ``grad_norm_sq``, ``f_gap`` with f⋆ = 0) resolve
values down to about ε² s, and below that the recorded decay reflects round-off.  When the
caller gives an explicit ``scale`` (``check`` passes ``|f⋆|`` for ``f``/``f_gap``, where
f(x) − f⋆ cancels) the threshold is at least ``FLOOR_FACTOR·ε·scale`` (1000 ε ≈ 2e-13 relative).
Stagnation above these thresholds is detected by the plateau test below.

*Plateaus.*  For claims of decay, the last third (in log k) of the usable records is tested:
if the confidence interval of its log-log slope lies inside ``[-δ, δ]``
(δ = min(``PLATEAU_SLOPE``, |order|/3), ``PLATEAU_SLOPE = 0.1``) the metric has stopped
decreasing.  A plateau at a level below ``STAGNATION_FACTOR·ε·s`` (1e5 ε s ≈ 2e-11 s) is
round-off stagnation and is excluded like the floor; above it, it is a *noise floor*: it is
reported, excluded from the fit (never fitted), and it refutes any claim of decay to 0.

*Tail window* (``window=None``).  Power laws: the usable records with log k in the upper half
of their log range (at least ``min_points``; the window must span a factor ``min_span`` in k).
Linear rates: the upper half of the usable range in k.

*Interval.*  The fit is ordinary least squares on the run-mean of log y (the per-run fits
average to it).  Two half-widths are computed: (a) the regression's own t-interval,
:math:`t_{n-2}\,\hat\sigma/\sqrt{S_{xx}}` from the residuals of the mean curve (it captures
misfit and within-run noise, and is all there is for one run or identical runs); (b) a
percentile bootstrap over runs (``n_boot`` resamples of the R runs with replacement, refitting
the mean curve), whose distances from the estimate are widened by the small-sample factor
:math:`c_R = \frac{t_{R-1}}{z}\sqrt{R/(R-1)}` (the bootstrap under-estimates the spread of a
mean of R replicates by :math:`\sqrt{(R-1)/R}` and normal quantiles are too narrow for small
R).  On each side the interval uses the larger of (a) and (b).  Measured coverage of the
true order on synthetic data: ``docs/rates.md``.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ._rate_stats import (
    DECELERATION,
    FLOOR_FACTOR,
    PLATEAU_SLOPE,
    STAGNATION_FACTOR,
    Floor,
    InsufficientData,
    _check_level,
    _check_window,
    _eps,
    _fit_line,
    _Line,
    _prepare,
    _select,
)
from .claims import Claim, catalog, evaluate_expression, get_claim

__all__ = ["PowerLawFit", "LinearRateFit", "Floor", "RateCheck", "InsufficientData", "fit_power_law",
           "fit_linear_rate", "check", "check_claim", "check_arrays", "Claim", "catalog", "get_claim",
           "FLOOR_FACTOR", "STAGNATION_FACTOR", "PLATEAU_SLOPE"]

@dataclass(frozen=True)
class PowerLawFit:
    """Fit of ``y ≈ constant · k^order · (log k)^log_power`` over ``window`` (steps, inclusive)."""

    order: float
    ci: tuple[float, float]
    constant: float
    log_power: float
    window: tuple[float, float]
    n_points: int
    n_runs: int
    level: float
    half_regression: float
    half_bootstrap: tuple[float, float] | None
    floor: Floor | None = None

    def predict(self, k: Any) -> np.ndarray:
        k = np.asarray(k, dtype=float)
        return self.constant * k**self.order * (np.log(k) ** self.log_power if self.log_power else 1.0)


@dataclass(frozen=True)
class LinearRateFit:
    """Fit of ``y ≈ constant · rate^k`` over ``window``; ``ci`` is the interval of ``rate``."""

    rate: float
    ci: tuple[float, float]
    constant: float
    window: tuple[float, float]
    n_points: int
    n_runs: int
    level: float
    half_regression: float
    half_bootstrap: tuple[float, float] | None
    floor: Floor | None = None

    @property
    def log_rate(self) -> float:
        return math.log(self.rate) if self.rate > 0 else -math.inf

    def predict(self, k: Any) -> np.ndarray:
        return self.constant * self.rate ** np.asarray(k, dtype=float)


@dataclass(frozen=True)
class RateCheck:
    """Verdict of a claim on data.

    ``order``/``ci`` are the fitted power and its interval (power-law claims), ``rate``/``ci`` the
    fitted factor per step and its interval (linear claims); ``constant`` the fitted constant;
    ``claimed`` the claimed order (or rate); ``floor`` a floor met by the data; ``k``/``y`` the data
    used (host arrays, for figures); ``bound`` the claim's explicit bound at each k (NaN where not
    evaluated), when it has one.
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

    def __bool__(self) -> bool:  # a RateCheck is not a boolean; make misuse loud
        raise TypeError("use rc.verdict == 'consistent' (a RateCheck has three outcomes)")

    @property
    def interval_text(self) -> str:
        lo, hi = self.ci
        return f"[{lo:.4g}, {hi:.4g}]" if math.isfinite(lo) or math.isfinite(hi) else "-"


# -------------------------------------------------------------------------------------- fits
def fit_power_law(k: Any, y: Any, *, log_power: float = 0.0, window: Any = None, level: float = 0.95,
                  n_boot: int = 1000, seed: int = 0, bootstrap: bool | None = None, eps: float | None = None,
                  scale: float | None = None, decaying: bool = True, min_points: int = 5,
                  min_span: float = 4.0, plateau: bool = True) -> PowerLawFit:
    r"""Fit ``y ≈ C k^p (log k)^q`` (q = ``log_power`` fixed) over a tail window.

    Parameters
    ----------
    k : array (n_records,)
        Recorded steps (or horizons T).
    y : array (n_records,) or (n_records, n_runs)
        Metric; columns are replicate runs (seeds).
    window : None | "auto" | "all" | (k_lo, k_hi)
        Tail window (default: upper half of the usable log-k range; see the module notes).
    level : float
        Confidence level of ``ci``.
    n_boot, seed : int
        Bootstrap resamples over runs and their seed.
    bootstrap : bool or None
        None: bootstrap when there are at least two runs; True with one run raises.
    eps, scale : float, optional
        Machine epsilon (default: from ``y``'s dtype) and the metric's scale for the round-off floor.
    decaying : bool
        Apply floor and plateau detection (set False for growing metrics such as regret).
    min_points, min_span : minimal number of points and factor spanned in k by the window.
    plateau : bool
        Detect noise floors (the fit then stops before the floor, reported in ``.floor``).

    Raises
    ------
    InsufficientData
        Too few usable records (too short, or floor reached at once).
    """
    level = _check_level(level)
    k, y = _prepare(k, y)
    delta = PLATEAU_SLOPE if plateau else None
    kw, yw, floor, _, _ = _select(k, y, shape="power", log_power=log_power, window=window, eps=_eps(y, eps),
                                  scale=scale,
                            decaying=decaying, min_points=min_points, min_span=min_span, plateau_delta=delta,
                            level=level, n_boot=n_boot, seed=seed)
    z = np.log(yw) - (log_power * np.log(np.log(kw)))[:, None] if log_power else np.log(yw)
    line = _fit_line(np.log(kw), z, level=level, n_boot=n_boot, seed=seed, bootstrap=bootstrap)
    return PowerLawFit(line.slope, line.ci, math.exp(line.intercept), float(log_power), (float(kw[0]), float(kw[-1])),
                       len(kw),
                       y.shape[1], level, line.half_regression, line.half_bootstrap, floor)


def fit_linear_rate(k: Any, y: Any, *, window: Any = None, level: float = 0.95, n_boot: int = 1000, seed: int = 0,
                    bootstrap: bool | None = None, eps: float | None = None, scale: float | None = None,
                    min_points: int = 5, plateau: bool = True) -> LinearRateFit:
    r"""Fit ``y ≈ C ρ^k`` over a tail window (default: upper half of the usable k range).

    Same parameters, floors and interval as :func:`fit_power_law`; ``ci`` is the interval of ρ
    (the exponential of the slope interval of log y against k).
    """
    level = _check_level(level)
    k, y = _prepare(k, y)
    kw, yw, floor, _, _ = _select(k, y, shape="linear", log_power=0.0, window=window, eps=_eps(y, eps), scale=scale,
                            decaying=True, min_points=min_points, min_span=1.0,
                            plateau_delta=PLATEAU_SLOPE if plateau else None, level=level, n_boot=n_boot, seed=seed)
    line = _fit_line(kw, np.log(yw), level=level, n_boot=n_boot, seed=seed, bootstrap=bootstrap)
    return LinearRateFit(math.exp(line.slope), (math.exp(line.ci[0]), math.exp(line.ci[1])), math.exp(line.intercept),
                         (float(kw[0]), float(kw[-1])), len(kw), y.shape[1], level, line.half_regression,
                         line.half_bootstrap, floor)


# ------------------------------------------------------------------------------------ verdicts
def _as_claim(claim: Any) -> Claim:
    if isinstance(claim, Claim):
        return claim
    if isinstance(claim, str):
        return get_claim(claim)
    raise TypeError(f"claim must be a Claim or a catalog name; got {type(claim).__name__}")


def _claimed_rate(claim: Claim, context: dict[str, Any]) -> float | None:
    if claim.rate is None:
        return None
    env = {k: context.get(k) for k in ("L", "mu", "kappa", "dim")}
    r = evaluate_expression(claim.rate, env)
    if not 0 < r < 1:
        raise ValueError(f"claim {claim.name or '(unnamed)'}: rate {claim.rate!r} evaluates to {r!r}, not in (0, 1)")
    return r


def _fmt_k(a: float, b: float) -> str:
    return f"k = {a:g}..{b:g}"


def check_arrays(claim: Claim | str, k: Any, y: Any, *, diverged: Any = None, eps: float | None = None,
                 scale: float | None = None, context: dict[str, Any] | None = None, window: Any = None,
                 level: float = 0.95, n_boot: int = 1000, seed: int = 0, min_points: int = 5) -> RateCheck:
    """Check ``claim`` on host arrays: ``k`` (n_records,) steps or horizons, ``y`` (n_records[, n_runs]).

    ``diverged`` (n_runs,) holds each run's divergence step (-1: never); ``context`` the problem
    constants (``L``, ``mu``, ``kappa``, ``dim``, ``dist0_sq``, ``f_gap0``) used by expression
    rates and explicit bounds.  See :func:`check` for the verdict rules.
    """
    claim = _as_claim(claim)
    level = _check_level(level)
    window = _check_window(window)
    k, y = _prepare(k, y)
    ctx = dict(context or {})
    notes: list[str] = []
    div_note = None
    if diverged is not None:
        d = np.asarray(diverged).reshape(-1) >= 0
        if d.shape[0] != y.shape[1]:
            raise ValueError(f"diverged has {d.shape[0]} entries but y has {y.shape[1]} runs")
        if d.any():
            div_note = f"{int(d.sum())} of {d.size} runs diverged (non-finite iterates)"
            if d.all():
                verdict = "violated" if claim.decaying else "inconclusive"
                return RateCheck(claim, verdict, div_note + "; nothing left to fit", n_runs=d.size, k=k, y=y)
            y = y[:, ~d]
    n_runs = y.shape[1]
    claimed = claim.order if claim.shape == "power" else _claimed_rate(claim, ctx)
    base = dict(claim=claim, claimed=claimed, n_runs=n_runs, k=k, y=y)
    shape = "linear" if claim.shape == "linear" else "power"
    decaying = claim.decaying
    delta = None
    if decaying:
        delta = PLATEAU_SLOPE if (claim.order is None or claim.order >= 0) else min(PLATEAU_SLOPE, abs(claim.order) / 3)
    e = _eps(y, eps)
    if claim.kind == "upper_bound" and not decaying:
        tail = k >= (k[k > 0].min() * k.max()) ** 0.5 if (k > 0).any() else k > 0
        if tail.any() and np.all(np.isfinite(y[tail])) and np.all(y[tail] <= 0):
            return RateCheck(verdict="consistent", reason=f"{claim.metric} is <= 0 over the tail (k >= "
                             f"{k[tail][0]:g}), below any positive C k^{claim.order:g}", **base)
    try:
        kw, yw, floor, ku, yu = _select(k, y, shape=shape, log_power=claim.log_power, window=window, eps=e,
                                        scale=scale, decaying=decaying, min_points=min_points, min_span=4.0,
                                        plateau_delta=delta, level=level, n_boot=n_boot, seed=seed)
    except InsufficientData as exc:
        fl = exc.floor
        if fl is not None and fl.kind == "noise" and decaying:  # stuck from (nearly) the start: still a refutation
            why = (f"the metric stops decreasing (plateau at {fl.level:.3g}, far above round-off, from "
                   f"k = {fl.start:g}), which refutes {claim.law()}; too few records before the floor to fit an order")
            return RateCheck(verdict="violated", reason=why, floor=fl, **base)
        why = f"{exc}" + (f"; {div_note}" if div_note else "")
        return RateCheck(verdict="violated" if (div_note and decaying) else "inconclusive", reason=why, floor=fl,
                         **base)
    if floor is not None:
        what = "round-off floor" if floor.kind == "roundoff" else "plateau (noise floor)"
        notes.append(f"{what} at level {floor.level:.3g} "
                     f"from k = {floor.start:g} (excluded from the fit)")
    if shape == "power":
        z = np.log(yw) - (claim.log_power * np.log(np.log(kw)))[:, None] if claim.log_power else np.log(yw)
        line = _fit_line(np.log(kw), z, level=level, n_boot=n_boot, seed=seed, bootstrap=None)
        fit: Any = PowerLawFit(line.slope, line.ci, math.exp(line.intercept), float(claim.log_power),
                               (float(kw[0]), float(kw[-1])),
                               len(kw), n_runs, level, line.half_regression, line.half_bootstrap, floor)
        est = dict(order=line.slope, ci=line.ci, constant=fit.constant)
        desc = f"fitted order {line.slope:.4g} [{line.ci[0]:.4g}, {line.ci[1]:.4g}]"
    else:
        line = _fit_line(kw, np.log(yw), level=level, n_boot=n_boot, seed=seed, bootstrap=None)
        fit = LinearRateFit(math.exp(line.slope), (math.exp(line.ci[0]), math.exp(line.ci[1])),
                            math.exp(line.intercept), (float(kw[0]), float(kw[-1])), len(kw), n_runs, level,
                            line.half_regression,
                            line.half_bootstrap, floor)
        est = dict(rate=fit.rate, ci=fit.ci, constant=fit.constant)
        desc = f"fitted rate {fit.rate:.6g} [{fit.ci[0]:.6g}, {fit.ci[1]:.6g}] per step"
    desc += f" over {_fmt_k(float(kw[0]), float(kw[-1]))} ({len(kw)} records, {n_runs} run{'s' * (n_runs != 1)})"
    verdict, why = _verdict(claim, line, claimed, floor, ku, yu, level=level, n_boot=n_boot, seed=seed)
    if div_note and decaying:
        verdict, why = "violated", div_note + "; " + why
    elif div_note:
        notes.append(div_note)
    bound_values = None
    if claim.bound is not None and verdict != "violated":
        k_end = floor.start if (floor is not None and floor.kind == "roundoff") else math.inf
        bverdict, bwhy, bound_values = _bound_check(claim, k, y, ctx, k_end)
        if bverdict == "violated":
            verdict, why = "violated", bwhy
        elif bwhy:
            notes.append(bwhy)
    reason = "; ".join([why, desc, *notes])
    return RateCheck(verdict=verdict, reason=reason, floor=floor, fit=fit, bound=bound_values, **est, **base)


def _verdict(claim: Claim, line: _Line, claimed: float | None, floor: Floor | None, ku: np.ndarray, yu: np.ndarray,
             *, level: float, n_boot: int, seed: int) -> tuple[str, str]:
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
        if hi < p0 - m or lo > p0 + m:
            return "violated", f"the interval excludes the claimed order {p0:g} +- {m:g}"
        return "inconclusive", f"the interval is too wide to decide against {p0:g} +- {m:g}"
    # linear claims: slope s = log rho
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


def _bound_check(claim: Claim, k: np.ndarray, y: np.ndarray, ctx: dict[str, Any],
                 k_end: float) -> tuple[str, str, np.ndarray | None]:
    """Compare every record with 1 <= k < k_end (before a round-off floor) with the theorem's bound;
    returns (verdict or "", words, the bound at every k (NaN where not evaluated) or None)."""
    from . import theory

    fn = getattr(theory, claim.bound)
    params = inspect.signature(fn).parameters
    args: dict[str, Any] = {}
    missing = []
    sel = (k >= 1) & (k < k_end) & np.all(np.isfinite(y), axis=1)
    if not sel.any():
        return "", f"explicit bound {claim.bound} not checked (no records before the floor)", None
    for name, p in params.items():
        if name in ("k", "T"):
            args[name] = k[sel]
        elif ctx.get(name) is not None:
            args[name] = ctx[name]
        elif p.default is inspect.Parameter.empty:
            missing.append(name)
    if missing:
        return "", f"explicit bound {claim.bound} not checked (needs {', '.join(missing)})", None
    bound = np.asarray(fn(**args), dtype=float)
    full = np.full(len(k), np.nan)
    full[sel] = bound
    ys = y[sel]
    mean = ys.mean(axis=1)
    se = ys.std(axis=1, ddof=1) / math.sqrt(ys.shape[1]) if ys.shape[1] > 1 else np.zeros(len(mean))
    over = (mean - 3 * se) > bound * (1 + 1e-9) + 1e-300
    if over.any():
        i = int(np.argmax(over))
        return "violated", (f"the explicit bound {claim.bound} is exceeded at k = {k[sel][i]:g} "
                            f"({mean[i]:.4g} > {bound[i]:.4g})"), full
    ratio = float(np.max(mean / bound))
    return "", f"below the explicit bound {claim.bound} at every recorded k (max ratio {ratio:.3g})", full


def _float(v: Any) -> float | None:
    if v is None:
        return None
    a = np.asarray(v, dtype=float)
    return float(a) if a.ndim == 0 else None


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


def check(claim: Claim | str, trace: Any, *, window: Any = None, level: float = 0.95, n_boot: int = 1000,
          seed: int = 0) -> RateCheck:
    r"""Check a claim on a :class:`~precond_theory.trace.Trace` (runs of the batch as replicates).

    Every run of the trace is treated as a replicate of the same experiment: slice a sweep (e.g.
    over learning rates) into its configurations first, or use :func:`check_arrays`.

    Verdicts (m = the claim's margin; [lo, hi] the interval of the fitted order p̂, or of log ρ̂):

    * any run diverged, or a noise floor (the metric stops decreasing above round-off), for a
      claim of decay: **violated**;
    * ``upper_bound`` (power, order p): consistent if hi ≤ p + m (envelope: metric/k^p does not
      grow over the tail), violated if lo > p + m, else inconclusive;
    * ``rate``: consistent if [lo, hi] ⊂ [p − m, p + m] (equivalence test), violated if disjoint,
      else inconclusive;
    * ``limit``: consistent if hi < −0.1 or the metric reached round-off, violated if it grows,
      else inconclusive;
    * linear claims: violated if the decay decelerates (sublinear), else as above on log ρ with
      a relative margin; without a claimed ρ, consistent when the interval of ρ lies below 1;
    * too few usable records, a window spanning less than a factor 4 in k, or the round-off
      floor reached at once: **inconclusive**;
    * a claim with an explicit ``bound`` is violated when a record exceeds the bound (by more
      than 3 standard errors of the mean over runs).
    """
    claim = _as_claim(claim)
    if claim.horizon == "per_horizon":
        raise ValueError(f"claim {claim.name or '(unnamed)'} is about min over t <= T with a step that depends on T: "
                         "check it with check_claim(..., horizons=[...]), which runs one trajectory per horizon")
    try:
        y = trace.metric(claim.metric)
    except KeyError:
        raise ValueError(f"metric {claim.metric!r} was not recorded in this trace; recorded: "
                         f"{', '.join(sorted(trace.metrics))}") from None
    ctx = _context_from_trace(trace)
    scale = abs(ctx["f_star"]) if (claim.metric in ("f", "f_gap") and ctx.get("f_star") is not None) else None
    return check_arrays(claim, trace.steps, y, diverged=trace.diverged, eps=_eps_from_meta(trace.meta), scale=scale,
                        context=ctx, window=window, level=level, n_boot=n_boot, seed=seed)


from ._check_run import check_claim  # noqa: E402  (runs claims; imports the names above)

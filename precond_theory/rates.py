r"""Fitting convergence laws with confidence intervals (statistics only: nothing here knows claims).

``fit_power_law`` fits :math:`y \approx C k^p (\log k)^q` (q fixed by the caller) and
``fit_linear_rate`` fits :math:`y \approx C\rho^k`, both over a tail window, with runs (seeds)
as replicates.  The statistics run on host NumPy arrays (traces are host data).  Claims and
verdicts live in :mod:`precond_theory.verify` (``check``, ``check_claim``, ``Claim``,
``catalog``, ``RateCheck`` stay importable from here for compatibility).

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

*Tail window* (``window=None``).  Power laws: the *terminal window*: the longest of the last
1/2, 1/3, 1/4 of the usable log-k range over which ``log y - q log log k`` is not significantly
curved in log k (else the last 1/4), so that a transient or a sub-leading term that bends the
curve does not set the estimate (``window="half"``: always the upper half, the former rule); at
least ``min_points`` records spanning a factor ``min_span`` in k.  Linear rates: the upper half of
the usable range in k.

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

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._rate_stats import (
    DECELERATION,
    FLOOR_FACTOR,
    PLATEAU_SLOPE,
    STAGNATION_FACTOR,
    Floor,
    InsufficientData,
    _check_level,
    _check_slope,
    _eps,
    _fit_line,
    _prepare,
    _select,
)
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


# -------------------------------------------------------------------------------------- fits
def fit_power_law(k: Any, y: Any, *, log_power: float = 0.0, window: Any = None, level: float = 0.95,
                  n_boot: int = 1000, seed: int = 0, bootstrap: bool | None = None, eps: float | None = None,
                  scale: float | None = None, decaying: bool = True, min_points: int = 5,
                  min_span: float = 4.0, plateau: bool = True, slope: str = "mean") -> PowerLawFit:
    r"""Fit ``y ≈ C k^p (log k)^q`` (q = ``log_power`` fixed) over a tail window.

    Parameters
    ----------
    k : array (n_records,)
        Recorded steps (or horizons T).
    y : array (n_records,) or (n_records, n_runs)
        Metric; columns are replicate runs (seeds).
    window : None | "auto" | "terminal" | "half" | "all" | (k_lo, k_hi)
        Tail window.  None, "auto", "terminal": the terminal window (the longest of the last 1/2,
        1/3, 1/4 of the usable log-k range that is not significantly curved; see the module notes);
        "half": the upper half of the usable log-k range; "all": every usable record.
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
    slope : {"mean", "terminal"}
        ``"mean"``: the least-squares slope over the window; ``"terminal"``: the local slope at the
        window's last record from a quadratic fit in log k (robust to sub-leading terms and
        transients; wider interval).  Calibration of both: ``docs/rates.md``.

    Raises
    ------
    InsufficientData
        Too few usable records (too short, or floor reached at once).
    """
    level = _check_level(level)
    terminal = _check_slope(slope)
    k, y = _prepare(k, y)
    delta = PLATEAU_SLOPE if plateau else None
    kw, yw, floor, _, _ = _select(k, y, shape="power", log_power=log_power, window=window, eps=_eps(y, eps),
                                  scale=scale,
                            decaying=decaying, min_points=min_points, min_span=min_span, plateau_delta=delta,
                            level=level, n_boot=n_boot, seed=seed)
    z = np.log(yw) - (log_power * np.log(np.log(kw)))[:, None] if log_power else np.log(yw)
    line = _fit_line(np.log(kw), z, level=level, n_boot=n_boot, seed=seed, bootstrap=bootstrap, terminal=terminal)
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


# ------------------------------------------------------- claims and verdicts (lazy re-exports)
_VERIFY = {"Claim": "claims", "catalog": "claims", "get_claim": "claims", "RateCheck": "verdict",
           "check_arrays": "verdict", "check": "runner", "check_claim": "runner"}


def __getattr__(name: str) -> Any:
    # Claims and verdicts live in precond_theory.verify, which builds on the statistics here;
    # the names stay importable from this module without an import cycle.
    if name in _VERIFY:
        import importlib

        return getattr(importlib.import_module(f"precond_theory.verify.{_VERIFY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Statistics behind :mod:`precond_theory.rates`: floors, plateaus, tail windows and the combined
regression + bootstrap interval (the rules are documented in the :mod:`~precond_theory.rates`
module notes and in ``docs/rates.md``).  Host NumPy/SciPy on trace data."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

__all__ = ["FLOOR_FACTOR", "STAGNATION_FACTOR", "PLATEAU_SLOPE", "DECELERATION", "TERMINAL_FRACTIONS", "WINDOWS",
           "Floor", "InsufficientData"]

FLOOR_FACTOR = 1e3
STAGNATION_FACTOR = 1e5
PLATEAU_SLOPE = 0.1
DECELERATION = 0.5


@dataclass(frozen=True)
class Floor:
    """A floor met by the metric: ``kind`` ``"roundoff"`` or ``"noise"``, from step ``start``, at ``level``."""

    kind: Literal["roundoff", "noise"]
    start: float
    level: float


class InsufficientData(ValueError):
    """Too few usable records to fit (too short, or the floor was reached at once); ``floor`` is
    the floor met, if any (a noise floor covering nearly everything still refutes decay)."""

    def __init__(self, message: str, floor: Floor | None = None) -> None:
        super().__init__(message)
        self.floor = floor


@dataclass(frozen=True)
class _Line:
    slope: float
    intercept: float
    ci: tuple[float, float]
    half_regression: float
    half_bootstrap: tuple[float, float] | None


def _prepare(k: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    k = np.asarray(k, dtype=float)
    y = np.asarray(y, dtype=float)
    if k.ndim != 1:
        raise ValueError(f"k must be 1-D (the recorded steps); got shape {k.shape}")
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape[0] != k.shape[0]:
        raise ValueError(f"y must have shape (n_records,) or (n_records, n_runs) with n_records = len(k) = "
                         f"{k.shape[0]}; got {y.shape}")
    if y.shape[1] == 0:
        raise ValueError("y has no runs")
    order = np.argsort(k, kind="stable")
    return k[order], y[order]


def _fit_line(x: np.ndarray, z: np.ndarray, *, level: float, n_boot: int, seed: int,
              bootstrap: bool | None, replicate_curve: Any = None, terminal: bool = False,
              curvature: bool = False) -> _Line:
    """OLS of the run-mean of z (n, R) on x, with the combined interval of the module notes.

    ``terminal``: fit ``z = a + b x + c x^2`` and estimate the *terminal slope* ``b + 2 c x_end``
    (the local slope at the last record) instead of the mean slope: sub-leading terms and
    transients, which bend the curve, then no longer set the estimate (``docs/rates.md``).
    ``curvature``: fit the same quadratic and estimate its second derivative ``2 c`` (in x units)
    with the same interval; ``slope`` then holds the curvature (used by the terminal-window rule).
    ``replicate_curve``: a callable ``idx -> (n,)`` with an ``n_runs`` attribute that recomputes
    the fitted curve (then ``z`` is its single column) from a resample ``idx`` of the replicate
    runs, for estimates that are not run-means (e.g. min over t of the mean over runs)."""
    from scipy import stats

    n, R = z.shape
    if replicate_curve is not None:
        R = int(replicate_curve.n_runs)
    n_par = 3 if (terminal or curvature) else 2
    if n < n_par + 1:
        raise InsufficientData(f"{n} points; a slope interval needs at least {n_par + 1}")
    if bootstrap and R < 2:
        raise ValueError(f"a bootstrap interval over runs needs at least two runs (seeds); got {R}")
    x0, scale = float(x.mean()), float(np.ptp(x))
    if scale <= 0:
        raise InsufficientData("all points at the same step")
    u = (x - x0) / scale  # centred and scaled for conditioning
    X = np.stack([np.ones(n), u, u * u][:n_par], axis=1)
    u_end = float(u[-1])
    if curvature:
        g = np.array([0.0, 0.0, 2.0]) / scale**2  # d^2/dx^2 of the fitted quadratic
    else:
        g = np.array([0.0, 1.0, 2.0 * u_end][:n_par]) / scale  # d/dx of the fitted curve at x_end (terminal)
    XtX_inv = np.linalg.inv(X.T @ X)
    H = X @ XtX_inv  # (n, p): beta = H^T zbar
    w = H @ g  # the slope estimate is w . zbar
    zbar = z.mean(axis=1)
    beta = H.T @ zbar
    slope = float(w @ zbar)
    fitted = X @ beta
    intercept = float(fitted[-1] - slope * x[-1]) if terminal else float(beta[0] - slope * x0)
    resid = zbar - fitted
    alpha = 1.0 - level
    rss = float(resid @ resid)
    h_reg = float(stats.t.ppf(1 - alpha / 2, n - n_par) * math.sqrt(rss / (n - n_par)) * float(np.linalg.norm(w)))
    if n >= 4 and rss > 0:  # serially correlated residuals: AR(1) variance inflation, lag-1 r capped at 0.95
        r1 = min(float(resid[1:] @ resid[:-1]) / rss, 0.95)
        if r1 > 0:
            h_reg *= math.sqrt((1 + r1) / (1 - r1))
    d_lo = d_hi = 0.0
    half_boot = None
    if R >= 2 and bootstrap is not False:
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, R, size=(n_boot, R))
        if replicate_curve is not None:
            zb = np.stack([replicate_curve(i) for i in idx], axis=1)
        else:
            zb = z[:, idx].mean(axis=2)  # (n, n_boot)
        slopes = w @ zb
        q_lo, q_hi = np.quantile(slopes, [alpha / 2, 1 - alpha / 2])
        c = float(stats.t.ppf(1 - alpha / 2, R - 1) / stats.norm.ppf(1 - alpha / 2) * math.sqrt(R / (R - 1)))
        d_lo, d_hi = c * max(slope - float(q_lo), 0.0), c * max(float(q_hi) - slope, 0.0)
        half_boot = (d_lo, d_hi)
    ci = (slope - max(d_lo, h_reg), slope + max(d_hi, h_reg))
    return _Line(slope, intercept, ci, h_reg, half_boot)


def _usable(k: np.ndarray, y: np.ndarray, *, k_min: float, eps: float, scale: float | None,
            decaying: bool) -> tuple[np.ndarray, Floor | None, float]:
    """Boolean mask of records usable for a fit, the round-off floor met (if any), and the scale."""
    first = np.where(np.isfinite(y) & (y > 0), y, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        firsts = [col[np.isfinite(col)][0] if np.isfinite(col).any() else np.nan for col in first.T]
    s = float(np.nanmedian(firsts)) if np.isfinite(firsts).any() else 1.0
    # A metric computed from differences to a stored optimum (dist_sq, grad_norm_sq, f_gap with
    # f* = 0) resolves values down to about eps^2 s, not eps s: only an explicit scale (|f*| for
    # f and f_gap, where f(x) - f* cancels) sets the coarser eps-relative floor.  Stagnation above
    # these thresholds is caught by the plateau test instead.
    threshold = FLOOR_FACTOR * eps * eps * s
    if scale:
        threshold = max(threshold, FLOOR_FACTOR * eps * float(scale))
    s = max(s, scale or 0.0)
    mask = (k >= k_min) & np.all(np.isfinite(y), axis=1) & np.all(y > 0, axis=1)
    floor = None
    if decaying:
        below = np.any(~(y > threshold), axis=1) & np.all(~np.isnan(y), axis=1)
        below &= k >= min(k_min, k.max())
        if below.any():
            i = int(np.argmax(below))
            floor = Floor("roundoff", float(k[i]), float(np.nanmedian(y[i])))
            mask &= np.arange(len(k)) < i
    return mask, floor, s


def _plateau(x: np.ndarray, z: np.ndarray, *, delta: float, level: float, n_boot: int, seed: int) -> int | None:
    """Index (into x) where a plateau starts: the last third's slope CI lies in [-delta, delta]; the
    plateau is then extended backwards, record by record, while the test still holds."""
    if len(x) < 6:
        return None
    start = int(np.searchsorted(x, x[-1] - (x[-1] - x[0]) / 3.0))
    start = min(start, len(x) - 4)
    try:
        line = _fit_line(x[start:], z[start:], level=level, n_boot=n_boot, seed=seed, bootstrap=None)
    except InsufficientData:
        return None
    if not (-delta <= line.ci[0] and line.ci[1] <= delta):
        return None
    while start > 0:  # extend the plateau backwards while the test still holds
        line = _fit_line(x[start - 1:], z[start - 1:], level=level, n_boot=n_boot, seed=seed, bootstrap=None)
        if not (-delta <= line.ci[0] and line.ci[1] <= delta):
            break
        start -= 1
    return start


WINDOWS = ("auto", "terminal", "half", "all")
#: Candidate terminal windows, as fractions of the usable log-k range ending at the last record,
#: longest first (``window="terminal"``; see :func:`_terminal_window`).
TERMINAL_FRACTIONS = (1 / 2, 1 / 3, 1 / 4)
#: A quadratic departing from a line by less than this (in log y) over a window is straight
#: (round-off of exact data; keeps the terminal-window rule from chasing 1e-16 curvatures).
CURVATURE_ROUNDOFF = 1e-9


def _check_window(window: Any) -> Any:
    if window is None or (isinstance(window, str) and window in WINDOWS):
        return window
    try:
        lo, hi = window
        lo, hi = float(lo), float(hi)
    except (TypeError, ValueError):
        raise ValueError(f"window must be None, {', '.join(repr(w) for w in WINDOWS)} or (k_lo, k_hi); "
                         f"got {window!r}") from None
    if not lo < hi:
        raise ValueError(f"window must satisfy k_lo < k_hi; got {window!r}")
    return (lo, hi)


def _window_mask(k: np.ndarray, window: Any, shape: str) -> np.ndarray:
    if window in (None, "auto", "half", "terminal"):  # "terminal" falls back to the upper half
        if shape == "power":
            lk = np.log(k)
            return lk >= (lk[0] + lk[-1]) / 2
        return k >= (k[0] + k[-1]) / 2
    if window == "all":
        return np.ones(len(k), dtype=bool)
    lo, hi = _check_window(window)
    return (k >= lo) & (k <= hi)


def _select(k, y, *, shape, log_power, window, eps, scale, decaying, min_points, min_span, plateau_delta,
            level, n_boot, seed):
    """Usable, floor-free window of (k, y); returns (k_w, y_w, floor, k_u, y_u) (window, then all usable
    records before any floor) or raises InsufficientData."""
    window = _check_window(window)
    k_min = 2.0 if (shape == "power" and log_power) else (1.0 if shape == "power" else 0.0)
    mask, floor, s = _usable(k, y, k_min=k_min, eps=eps, scale=scale, decaying=decaying)
    finite = y[np.isfinite(y)]
    if finite.size and finite.min() < 0 and -finite.min() > 1e3 * eps * max(float(np.abs(finite).max()), 1e-300):
        raise ValueError(f"the metric takes negative values (min {finite.min():.3g}), beyond round-off: a gap "
                         "f - f* or a squared norm cannot be negative, so f* (or the metric) is wrong; "
                         "negative data are not a round-off floor and are not fitted")
    if mask.sum() == 0:
        if floor is not None:
            raise InsufficientData(f"the round-off floor was reached at once (k = {floor.start:g}); nothing to fit",
                                   floor)
        raise InsufficientData("no usable records (all non-finite, non-positive or before k = "
                               f"{k_min:g})")
    ku, yu = k[mask], y[mask]
    if decaying and plateau_delta is not None and len(ku) >= 6:
        x = np.log(np.maximum(ku, 1.0))
        i = _plateau(x, np.log(yu), delta=plateau_delta, level=level, n_boot=n_boot, seed=seed)
        if i is not None:
            lvl = float(np.exp(np.median(np.log(yu[i:]))))
            kind = "roundoff" if lvl <= STAGNATION_FACTOR * eps * s else "noise"
            floor = Floor(kind, float(ku[i]), lvl)
            ku, yu = ku[:i], yu[:i]
    if len(ku) < min_points:
        raise InsufficientData(f"too short: {len(ku)} usable records (need {min_points})", floor)
    if shape == "linear" and window == "terminal":
        raise ValueError("window='terminal' applies to power laws; a linear rate uses None (upper half in k), "
                         "'all' or (k_lo, k_hi)")
    wm = None
    if shape == "power" and window in (None, "auto", "terminal"):
        wm = _terminal_window(ku, yu, log_power=log_power, min_points=min_points, min_span=min_span, level=level,
                              n_boot=n_boot, seed=seed)
    if wm is None:
        wm = _window_mask(ku, window, shape)
    if window in (None, "auto", "half", "terminal") and wm.sum() < min_points:
        wm = np.arange(len(ku)) >= len(ku) - min_points
    kw, yw = ku[wm], yu[wm]
    if len(kw) < min_points:
        raise InsufficientData(f"too short: {len(kw)} records in the window (need {min_points})", floor)
    if shape == "power" and kw[-1] / kw[0] < min_span:
        raise InsufficientData(f"too short: the window spans k = {kw[0]:g}..{kw[-1]:g}, a factor "
                               f"{kw[-1] / kw[0]:.3g} < {min_span:g}", floor)
    return kw, yw, floor, ku, yu


def _terminal_window(k: np.ndarray, y: np.ndarray, *, log_power: float, min_points: int, min_span: float,
                     level: float, n_boot: int, seed: int) -> np.ndarray | None:
    """The terminal window of a power-law fit (``window="terminal"``, the default).

    Candidates: the records whose log k lies in the last 1/2, 1/3 or 1/4 of the usable log-k range
    (:data:`TERMINAL_FRACTIONS`), each with at least ``max(min_points, 6)`` records spanning a factor
    ``min_span``.  The longest candidate over which ``log y - q log log k`` is not significantly
    curved in log k (the interval of the second derivative of a quadratic fit, same
    regression + bootstrap interval as the slope, contains 0, or the quadratic departs from a line
    by at most :data:`CURVATURE_ROUNDOFF`) is the window; if every candidate is
    curved (a transient or a sub-leading term still visible), the shortest.  A power law times the
    claimed log factor is straight in these coordinates, so curvature is what is left of the
    transient and of lower-order terms, and the window moves past it.  None when no candidate is
    long enough (the caller then uses the upper half)."""
    lk = np.log(k)
    z = np.log(y) - (log_power * np.log(np.log(k)))[:, None] if log_power else np.log(y)
    cands = []
    for frac in TERMINAL_FRACTIONS:
        m = lk >= lk[-1] - frac * (lk[-1] - lk[0]) - 1e-12
        if m.sum() >= max(min_points, 6) and k[m][-1] / k[m][0] >= min_span:
            cands.append(m)
    for m in cands:
        try:
            c = _fit_line(lk[m], z[m], level=level, n_boot=n_boot, seed=seed, bootstrap=None, curvature=True)
        except InsufficientData:
            continue
        bend = abs(c.slope) * float(np.ptp(lk[m])) ** 2 / 8  # the quadratic's largest departure from a line
        if c.ci[0] <= 0.0 <= c.ci[1] or bend <= CURVATURE_ROUNDOFF:
            return m
    return cands[-1] if cands else None


def _eps(y: Any, eps: float | None) -> float:
    if eps is not None:
        return float(eps)
    dt = np.asarray(y).dtype
    return float(np.finfo(dt).eps) if np.issubdtype(dt, np.floating) else float(np.finfo(np.float64).eps)


def _check_level(level: Any) -> float:
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0.5 <= level < 1:
        raise ValueError(f"level must be a confidence level in [0.5, 1); got level={level!r}")
    return float(level)


SLOPES = ("mean", "terminal")


def _check_slope(slope: Any) -> bool:
    """True for the terminal-slope estimator; refuses anything but ``"mean"`` / ``"terminal"``."""
    if not isinstance(slope, str) or slope not in SLOPES:
        raise ValueError(f"slope must be one of {list(SLOPES)}; got slope={slope!r}")
    return slope == "terminal"

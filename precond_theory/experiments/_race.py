"""Shared machinery of the comparison experiments: batched learning-rate sweeps from seeded
starts, per-run summaries (final value, steps to a target, divergence), and paired verdicts."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["starts", "lr_sweep", "summarize", "paired_verdict", "combine", "steps_to_target", "rule_fidelity"]


def rule_fidelity(name: str) -> str:
    from .. import rules

    return str(rules.get(name).fidelity).upper()


def starts(problem: Any, seeds: int, scale: float = 1.0) -> np.ndarray:
    """Starts ``(seeds, n)``: the problem's reference point (x* when known, else its default
    start) plus ``scale`` times N(0, I) drawn from ``default_rng(seed)``, seed = 0, 1, ..."""
    ref = problem.x_star if problem.x_star is not None else problem.default_x0()
    ref = np.asarray(ref, dtype=float)
    return np.stack([ref + scale * np.random.default_rng(s).standard_normal(problem.dim) for s in range(seeds)])


def lr_sweep(name: str, problem: Any, lrs: Sequence[float], x0: np.ndarray, *, steps: int, record: Any = "log",
             hps: dict[str, Any] | None = None, oracle: Any = None, keep_iterates: bool = False,
             advance: Callable[[int], None] | None = None, rule_index: int = 0) -> tuple[Any, Any]:
    """One batched run of rule ``name`` over ``lrs`` x starts; returns ``(tidy frame, Trace)``.

    The frame has ``p_solver_lr`` (one value per learning rate), ``seed`` (index of the start)
    and ``rule_index``.
    """
    from .. import rules
    from ..run import run
    from ..trace import DivergenceWarning

    lr = np.asarray(lrs, dtype=float).reshape(-1, 1, 1)
    rule = rules.make(name, lr=lr, **(hps or {}))
    S = x0.shape[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)  # divergence is recorded and reported
        tr = run(rule, problem, steps=steps, x0=x0[None], record=record, oracle=oracle, keep_iterates=keep_iterates)
    if advance:
        advance(lr.size * S)
    frame = tr.to_frame()
    frame["seed"] = frame["run"].to_numpy() % S
    frame["rule_index"] = rule_index
    return frame, tr


def steps_to_target(k: np.ndarray, y: np.ndarray, target: float, cap: float) -> np.ndarray:
    """First recorded k with y <= target, per run (columns of y); ``cap`` when never reached."""
    out = np.full(y.shape[1], float(cap))
    for j in range(y.shape[1]):
        hit = np.flatnonzero(np.isfinite(y[:, j]) & (y[:, j] <= target))
        if hit.size:
            out[j] = k[hit[0]]
    return out


def summarize(frame: Any, metric: str) -> Any:
    """Per (rule, lr, seed): final value (+inf if diverged), first value, divergence step."""
    import pandas as pd

    col = f"objective_{metric}"
    rows = []
    for (ri, lr, s), g in frame.groupby(["rule_index", "p_solver_lr", "seed"], sort=True):
        g = g.sort_values("stop_val")
        y = g[col].to_numpy(dtype=float)
        d = int(g["diverged_at"].iloc[0])
        final = float(y[-1]) if d < 0 and np.isfinite(y[-1]) else math.inf
        rows.append({"rule_index": ri, "rule": g["solver_name"].iloc[0], "lr": float(lr), "seed": int(s),
                     "first": float(y[0]), "final": final, "diverged_at": d})
    return pd.DataFrame(rows)


def best_lr(summary: Any, rule_index: int) -> float:
    """The learning rate with the smallest median final value (diverged runs count as +inf)."""
    g = summary[summary.rule_index == rule_index]
    med = g.groupby("lr")["final"].median()
    return float(med.idxmin())


def paired_verdict(a: Any, b: Any, *, level: float = 0.95, log: bool = True, what: str = "value",
                   names: tuple[str, str] = ("A", "B"), better: str = "smaller",
                   margin: float | None = None) -> dict[str, Any]:
    """Is A's ``what`` smaller (``better="smaller"``) or larger than B's, paired over seeds?

    The statistic is the mean over seeds of ``log(a/b)`` (or ``a - b`` with ``log=False``) with a
    Student-t interval (``level``).  ``consistent`` when the interval lies on A's better side of
    ``±margin``, ``violated`` when it lies beyond ``margin`` on the other side, ``inconclusive``
    otherwise.  ``margin`` (default 0.05 for log ratios, i.e. about 5%, and 0 for differences) keeps
    differences below the resolution of the measurement (recorded steps are log-spaced) from
    deciding.  With zero spread (identical differences) the interval is the point itself.
    """
    from scipy import stats

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or a.size < 2:
        raise ValueError(f"paired_verdict needs two equal-length 1-d arrays with >= 2 seeds; got {a.shape}, {b.shape}")
    if better not in ("smaller", "larger"):
        raise ValueError(f"better must be 'smaller' or 'larger'; got {better!r}")
    if log:
        if (a <= 0).any() or (b <= 0).any() or not (np.isfinite(a).all() and np.isfinite(b).all()):
            raise ValueError(f"log comparison of {what} needs positive finite values")
        d = np.log(a) - np.log(b)
    else:
        d = a - b
    n = d.size
    mean = float(d.mean())
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * d.std(ddof=1) / math.sqrt(n))
    lo, hi = mean - half, mean + half
    m = (0.05 if log else 0.0) if margin is None else float(margin)
    if not m >= 0:
        raise ValueError(f"margin must be >= 0; got {margin!r}")
    good, bad = (hi < -m, lo > m) if better == "smaller" else (lo > m, hi < -m)
    verdict = "consistent" if good else "violated" if bad else "inconclusive"
    unit = "log ratio" if log else "difference"
    side = "smaller" if better == "smaller" else "larger"
    text = (f"{names[0]} vs {names[1]}: mean {unit} of {what} {mean:+.3g}, {100 * level:.0f}% interval "
            f"[{lo:+.3g}, {hi:+.3g}] over {n} seeds, margin {m:g} ({names[0]} claimed {side})")
    return {"verdict": verdict, "reason": text, "estimate": mean, "interval": [lo, hi], "n": n}


def combine(parts: Sequence[dict[str, Any]]) -> tuple[str, str]:
    """Verdict of a claim made of several comparisons: violated if any is, consistent if all
    are, inconclusive otherwise; the reason lists each part."""
    vs = [p["verdict"] for p in parts]
    if "violated" in vs:
        v = "violated"
    elif all(x == "consistent" for x in vs):
        v = "consistent"
    else:
        v = "inconclusive"
    return v, "; ".join(f"{p['verdict']}: {p['reason']}" for p in parts)

"""Figures from stored records (tidy tables or Traces). Plotting never computes results."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["plot_convergence", "save_figure", "plot_rate_check"]


def _mpl():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_convergence(table: Any, *, metric: str = "f_gap", by: str = "rule_index", label: str = "solver_name",
                     ax: Any = None, logx: bool = True) -> Any:
    """Metric against step, one colour per group: each run faint, the median across runs bold.

    ``table`` is a tidy table (``Trace.to_frame()`` or a sweep table) with columns
    ``stop_val``, ``run`` and ``objective_<metric>``.  Returns the matplotlib Axes.
    """
    plt = _mpl()
    col = f"objective_{metric}"
    if col not in table.columns:
        known = sorted(c[len("objective_"):] for c in table.columns if c.startswith("objective_"))
        raise ValueError(f"metric {metric!r} is not in the table; recorded metrics: {known}")
    if ax is None:
        _, ax = plt.subplots(figsize=(7.0, 4.5))
    groups = table.groupby(by, sort=True) if by in table.columns else [(0, table)]
    for i, (_, g) in enumerate(groups):
        color = f"C{i % 10}"
        wide = g.pivot_table(index="stop_val", columns="run", values=col, aggfunc="first").sort_index()
        k = wide.index.to_numpy()
        kk = np.where(k == 0, 0.8, k) if logx else k  # show k = 0 on log axes
        y = wide.to_numpy(dtype=float)
        y = np.where(y > 0, y, np.nan)
        ax.plot(kk, y, color=color, alpha=0.15, lw=0.8)
        ax.plot(kk, np.nanmedian(y, axis=1), color=color, lw=2.0, label=str(g[label].iloc[0]))
    ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel("step k")
    ax.set_ylabel(metric.replace("_", " "))
    ax.legend(fontsize=8, frameon=False)
    ax.grid(True, which="major", alpha=0.3)
    return ax


def save_figure(ax: Any, path: Any) -> Any:
    """Save the figure of ``ax`` (PNG or PDF by suffix) and close it."""
    from pathlib import Path

    plt = _mpl()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = ax.figure
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path


def plot_rate_check(rc: Any, *, ax: Any = None, title: str | None = None) -> Any:
    """Figure of a :class:`~precond_theory.rates.RateCheck`: metric against k (or T) on log axes.

    Each run faint, the median across runs bold, the fitted law over its window (solid), the
    claimed law anchored to the median at the start of the window (dashed), the band of laws
    whose order (or rate) lies in the confidence interval, anchored at the window's centre, and
    the theorem's explicit bound (dotted) when the claim has one.
    A floor met by the data is marked with a dotted vertical line.  Returns the Axes.
    """
    plt = _mpl()
    if ax is None:
        _, ax = plt.subplots(figsize=(7.0, 4.5))
    k = np.asarray(rc.k, dtype=float)
    y = np.asarray(rc.y, dtype=float)
    if y.ndim == 1:
        y = y[:, None]
    pos = k > 0
    kk, yy = k[pos], np.where(y[pos] > 0, y[pos], np.nan)
    if kk.size:
        ax.plot(kk, yy, color="C0", alpha=0.2, lw=0.8)
        med = np.nanmedian(yy, axis=1) if yy.shape[1] > 1 else yy[:, 0]
        ax.plot(kk, med, color="C0", lw=2.0, label=f"{rc.claim.metric} (median of {yy.shape[1]})")
    fit = rc.fit
    if fit is not None:
        lo, hi = fit.window
        kw = np.geomspace(lo, hi, 100) if lo > 0 else np.linspace(lo, hi, 100)
        ax.plot(kw, fit.predict(kw), color="C1", lw=1.6, label=_fit_label(rc))
        kc = float(np.sqrt(lo * hi)) if lo > 0 else (lo + hi) / 2
        yc = float(fit.predict(kc))
        if hasattr(fit, "order"):
            shape = (kw / kc) ** np.asarray(fit.ci)[:, None]
        else:
            shape = np.asarray(fit.ci)[:, None] ** (kw - kc)
        band = yc * shape
        ax.fill_between(kw, band.min(axis=0), band.max(axis=0), color="C1", alpha=0.2, lw=0,
                        label=f"{100 * fit.level:.0f}% interval")
        claimed = rc.claimed
        if claimed is not None and kk.size:
            i0 = int(np.searchsorted(kk, lo))
            i0 = min(i0, kk.size - 1)
            y0 = float(np.nanmedian(yy[i0]))
            kl = kk[kk >= kk[i0]]
            if rc.claim.shape == "linear":
                law = y0 * claimed ** (kl - kk[i0])
            else:
                q = rc.claim.log_power
                law = y0 * (kl / kk[i0]) ** claimed * ((np.log(kl) / np.log(kk[i0])) ** q if q else 1.0)
            ax.plot(kl, law, color="C3", ls="--", lw=1.4, label=f"claimed: {rc.claim.law()}")
    bound = getattr(rc, "bound", None)
    if bound is not None and kk.size:
        b = np.asarray(bound, dtype=float)[pos]
        ax.plot(kk, b, color="0.3", ls=(0, (1, 1)), lw=1.2, label=f"theorem bound ({rc.claim.bound})")
    if rc.floor is not None:
        ax.axvline(rc.floor.start, color="0.4", ls=":", lw=1.0, label=f"{rc.floor.kind} floor")
    ax.set_yscale("log")
    if rc.claim.shape != "linear":
        ax.set_xscale("log")
    ax.set_xlabel("horizon T" if rc.claim.horizon == "per_horizon" else "step k")
    ax.set_ylabel(rc.claim.metric.replace("_", " "))
    ax.set_title(title or f"{rc.claim.name or 'claim'}: {rc.verdict}", fontsize=10)
    ax.legend(fontsize=7, frameon=False)
    ax.grid(True, which="major", alpha=0.3)
    return ax


def _fit_label(rc: Any) -> str:
    if hasattr(rc.fit, "order"):
        return f"fit: order {rc.fit.order:.3g} [{rc.fit.ci[0]:.3g}, {rc.fit.ci[1]:.3g}]"
    return f"fit: rate {rc.fit.rate:.5g} [{rc.fit.ci[0]:.5g}, {rc.fit.ci[1]:.5g}]"


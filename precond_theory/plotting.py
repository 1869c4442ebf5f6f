"""Figures from stored records (tidy tables or Traces). Plotting never computes results."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["plot_convergence", "save_figure"]


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

"""Final value against a swept hyperparameter (learning-rate sensitivity), one line per rule."""

from __future__ import annotations

from typing import Any

import numpy as np

from .convergence import mark_diverged, median_band, place_legend
from .style import fidelity_label, line_style, metric_label, paper_figure, paper_style

__all__ = ["plot_sensitivity"]


def plot_sensitivity(summary: Any, *, x: str = "lr", value: str = "final", rule: str = "rule",
                     metric: str = "f_gap", ax: Any = None, width: str | float = "single",
                     fidelity: dict[str, str] | None = None, title: str | None = None) -> Any:
    """Median (and inter-quartile band) over seeds of ``value`` against ``x``, one line per rule.

    ``summary`` has one row per (rule, x, seed); ``value`` = +inf marks a diverged run, drawn as
    a cross at the top of the axes at its x.  ``fidelity`` maps rule names to EXACT / CONCORDANT /
    RECON (RECON rules dashed and labelled).  Log-log axes.  Returns the Axes.
    """
    for c in (x, value, rule):
        if c not in summary.columns:
            raise ValueError(f"summary has no column {c!r}; columns: {list(summary.columns)}")
    fidelity = fidelity or {}
    with paper_style():
        own = ax is None
        if own:
            _, ax = paper_figure(width=width)
        handles, labels, finite = [], [], []
        any_div = False
        for i, (name, g) in enumerate(summary.groupby(rule, sort=False)):
            wide = g.pivot_table(index=x, columns="seed", values=value, aggfunc="first").sort_index()
            xs = wide.index.to_numpy(dtype=float)
            y = wide.to_numpy(dtype=float)
            med, lo, hi = median_band(y, (0.25, 0.75))
            st = line_style(i, fidelity.get(name))
            ax.fill_between(xs, lo, hi, color=st["color"], alpha=0.2, lw=0)
            (h,) = ax.plot(xs, med, color=st["color"], ls=st["ls"], marker=st["marker"], lw=1.2)
            div = np.isposinf(y).any(axis=1)
            if div.any():
                any_div = True
                mark_diverged(ax, xs[div], st["color"])
            handles.append(h)
            labels.append(fidelity_label(str(name), fidelity.get(name)))
            finite.append(y[np.isfinite(y) & (y > 0)])
        if any_div:
            from matplotlib.lines import Line2D

            handles.append(Line2D([], [], ls="none", marker="x", ms=5, mew=1.2, color="0.2"))
            labels.append("diverged at this lr")
        data = np.concatenate(finite) if finite else np.zeros(0)
        if data.size:
            ax.set_ylim(float(data.min()) / 2, float(data.max()) * 2)
            ax.set_yscale("log")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate" if x == "lr" else x.replace("_", " "))
        ax.set_ylabel(f"final {metric_label(metric)}")
        if title:
            ax.set_title(title)
        place_legend(ax, handles, labels, own_figure=own)
    return ax

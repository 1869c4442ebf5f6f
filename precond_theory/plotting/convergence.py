"""Convergence figures from tidy tables: medians with inter-quantile bands, one line per
rule and value of each swept hyperparameter, diverged runs marked, round-off floor cut."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .style import (FONT_PT, fidelity_label, format_value, line_style, machine_eps, metric_label, metric_scale,
                    paper_figure, paper_style, round_off_floor)

__all__ = ["plot_convergence", "run_matrix", "median_band", "place_legend", "mark_diverged"]

_BIG = 1e300  # stand-in for +inf (a diverged run) inside quantiles


def run_matrix(g: Any, col: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(k, y, diverged_at)`` of one group: steps, values ``(n_steps, n_runs)``, divergence step per run.

    After a run's divergence step its values are +inf (a diverged run counts as worse than any
    finite value in medians and quantiles).
    """
    wide = g.pivot_table(index="stop_val", columns="run", values=col, aggfunc="first", dropna=False).sort_index()
    k = wide.index.to_numpy(dtype=float)
    y = np.array(wide.to_numpy(dtype=float), dtype=float, copy=True)
    if "diverged_at" in g.columns:
        d = g.groupby("run")["diverged_at"].first().reindex(wide.columns).to_numpy(dtype=float)
    else:
        d = np.full(y.shape[1], -1.0)
    for j in range(y.shape[1]):  # a value that turns non-finite after a finite one also counts
        fin = np.isfinite(y[:, j])
        if d[j] < 0 and fin.any():
            after = np.flatnonzero(~fin & (np.arange(len(k)) > np.flatnonzero(fin)[0]))
            if after.size:
                d[j] = k[after[0]]
        if d[j] >= 0:
            y[k >= d[j], j] = np.inf
    return k, y, d


def median_band(y: np.ndarray, quantiles: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median and quantile band over runs (axis 1); +inf (diverged) entries rank last, and a
    statistic that is itself a diverged run is NaN (not drawn)."""
    z = np.where(np.isposinf(y), _BIG, y)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows (no records)
        med = np.nanmedian(z, axis=1)
        lo = np.nanquantile(z, quantiles[0], axis=1)
        hi = np.nanquantile(z, quantiles[1], axis=1)
    out = []
    for v in (med, lo, hi):  # a statistic that is a diverged run is not drawn; huge values are clipped
        out.append(np.where(v >= _BIG / 10, np.nan, np.clip(v, -1e100, 1e100)))
    return out[0], out[1], out[2]


def mark_diverged(ax: Any, xs: Sequence[float], color: str) -> None:
    """A cross at the top of the axes at each divergence step (x in data coordinates)."""
    if len(xs) == 0:
        return
    tr = ax.get_xaxis_transform()  # x in data, y in axes fraction
    ax.plot(xs, np.full(len(xs), 0.96), ls="none", marker="x", ms=5, mew=1.2, color=color, transform=tr,
            clip_on=False, zorder=5, gid="diverged")


def place_legend(ax: Any, handles: list, labels: list, *, own_figure: bool, title: str | None = None) -> Any:
    """Legend in the emptiest corner for a few entries; below the axes (outside the data) for more."""
    if not handles:
        return None
    if own_figure and len(handles) > 3:
        fig = ax.figure
        w, h = fig.get_size_inches()
        ncols = 2 if w > 5 else 1
        rows = -(-len(handles) // ncols)
        fig.set_size_inches(w, h + rows * 1.45 * FONT_PT / 72 + 0.1)  # room below the axes, width unchanged
        return fig.legend(handles, labels, loc="outside lower center", ncols=ncols, title=title, fontsize=FONT_PT)
    return ax.legend(handles, labels, loc="best", title=title, fontsize=FONT_PT)


def _swept_columns(table: Any, rule_key: str) -> list[str]:
    cols = [c for c in table.columns if c.startswith("p_solver_")]
    out = []
    for c in cols:
        n = table.groupby(rule_key, dropna=False)[c].nunique(dropna=False)
        if (n > 1).any():
            out.append(c)
    return out


def _fmt(v: Any) -> str:
    return format_value(v)


def plot_convergence(table: Any, *, metric: str = "f_gap", group_by: Sequence[str] | None = None,
                     by: str | None = None, label: str = "solver_name", ax: Any = None, logx: bool = True,
                     logy: bool | None = None, width: str | float = "single",
                     quantiles: tuple[float, float] = (0.25, 0.75), dtype: Any = "float64",
                     floor: float | None | str = "auto", title: str | None = None) -> Any:
    r"""Metric against step: per line the median over runs (seeds) and an inter-quantile band.

    Parameters
    ----------
    table : DataFrame
        A tidy table (``Trace.to_frame()`` or a sweep table) with ``stop_val``, ``run`` and
        ``objective_<metric>`` (and ``diverged_at``, ``fidelity``, ``p_solver_*`` when present).
    metric : str
        Recorded metric to draw.
    group_by : list of str, optional
        Columns whose values get a line each, within each rule (e.g. ``["p_solver_lr"]``).
        Default: every ``p_solver_*`` column that takes more than one value within a rule.
    by : str, optional
        Column telling rules apart (default ``rule_index`` when present, else ``solver_name``).
    label : str
        Column giving each rule's name in the legend; RECON rules (column ``fidelity``) are
        dashed and labelled "(RECON)".
    ax : Axes, optional
        Draw into this Axes (default: a new figure of width ``width`` in the paper style).
    logx : bool
        Log x-axis.  Step 0 is then drawn at its true place by plotting against ``k + 1``
        (the axis says so); on a linear axis x is ``k``.
    logy : bool, optional
        Log y-axis (default: when at least 90% of the records are positive or round-off, i.e.
        within ``ROUND_OFF_ULPS`` ulp of zero relative to the metric's scale; those are not drawn).
    width : "single" | "double" | float
        Width of a new figure (3.25 in, 6.75 in, or inches).
    quantiles : (float, float)
        Band between these quantiles over runs (default the inter-quartile range).
    dtype, floor :
        The y-axis starts at the dtype's round-off floor (see :func:`round_off_floor`) when the
        data go below it; ``floor=<number>`` sets it, ``floor=None`` does not cut.
    title : str, optional

    Returns
    -------
    Axes
        Diverged runs are drawn as crosses at the top of the axes at their divergence step (x) and
        counted in the legend; they rank as +inf in medians and bands, so one diverged run among
        several moves the median, never removes it, and never sets the axis limits.
    """
    col = f"objective_{metric}"
    if not isinstance(metric, str) or col not in table.columns:
        known = sorted(c[len("objective_"):] for c in table.columns if c.startswith("objective_"))
        raise ValueError(f"metric {metric!r} is not in the table; recorded metrics: {known}")
    for need in ("stop_val", "run"):
        if need not in table.columns:
            raise ValueError(f"table has no {need!r} column (pass Trace.to_frame() or a sweep table)")
    if by is None:
        by = "rule_index" if "rule_index" in table.columns else "solver_name"
    if by not in table.columns:
        raise ValueError(f"by={by!r} is not a column of the table")
    if label not in table.columns:
        raise ValueError(f"label={label!r} is not a column of the table")
    if group_by is None:
        group_by = _swept_columns(table, by)
    else:
        if isinstance(group_by, str) or not all(isinstance(c, str) for c in group_by):
            raise TypeError(f"group_by must be a list of column names; got {group_by!r}")
        missing = [c for c in group_by if c not in table.columns]
        if missing:
            raise ValueError(f"group_by columns {missing} are not in the table; columns: {list(table.columns)}")
        group_by = list(group_by)
    q = tuple(float(v) for v in quantiles)
    if len(q) != 2 or not 0 <= q[0] < q[1] <= 1:
        raise ValueError(f"quantiles must be two numbers 0 <= lo < hi <= 1; got {quantiles!r}")
    with paper_style():
        own = ax is None
        if own:
            _, ax = paper_figure(width=width)
        _draw(ax, table, col, metric, [by, *group_by], group_by, label, logx, logy, q, dtype, floor, own, title)
    return ax


#: values within this many ulp of the metric's scale (:func:`.style.metric_scale`) count as
#: round-off when choosing the y-axis: a gap f - f* that reached f* in floating point is 0 or a
#: tiny negative number
ROUND_OFF_ULPS = 64


def _draw(ax, table, col, metric, keys, group_by, label, logx, logy, q, dtype, floor, own, title) -> None:
    handles, labels = [], []
    all_y, finite_y, div_total = [], [], 0
    varies = {c: set(table.loc[table.groupby(keys[0], dropna=False)[c].transform("nunique") > 1, keys[0]])
              for c in group_by}
    for i, (vals, g) in enumerate(table.groupby(keys, sort=True, dropna=False)):
        vals = vals if isinstance(vals, tuple) else (vals,)
        fid = str(g["fidelity"].iloc[0]) if "fidelity" in g.columns else None
        st = line_style(i, fid)
        k, y, d = run_matrix(g, col)
        x = k + 1 if logx else k
        med, lo, hi = median_band(y, q)
        name = str(g[label].iloc[0])
        extra = ", ".join(f"{c.removeprefix('p_solver_')} = {_fmt(v)}" for c, v in zip(group_by, vals[1:])
                          if vals[0] in varies[c])
        text = fidelity_label(name + (f", {extra}" if extra else ""), fid)
        n_runs = y.shape[1]
        if n_runs > 1:
            ax.fill_between(x, lo, hi, color=st["color"], alpha=0.2, lw=0)
        every = max(1, len(x) // 6)
        (h,) = ax.plot(x, med, color=st["color"], ls=st["ls"], marker=st["marker"], markevery=(i % every, every),
                       lw=1.2, label=text, gid=f"median-{i}")
        n_div = int(np.sum(d >= 0))
        if n_div:
            div_total += n_div
            mark_diverged(ax, [v + 1 if logx else v for v in d[d >= 0]], st["color"])
            text += f" [{n_div}/{n_runs} diverged]"
        handles.append(h)
        labels.append(text)
        all_y.append(y)
        ok = d < 0
        if ok.any():
            finite_y.append(y[:, ok])
    if div_total:
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], ls="none", marker="x", ms=5, mew=1.2, color="0.2"))
        labels.append("diverged (step)")
    data = np.concatenate([a.reshape(-1) for a in (finite_y or all_y)]) if all_y else np.zeros(0)
    data = data[np.isfinite(data)]
    if logy is None:  # zeros and tiny negatives at round-off (a gap at f*) do not vote for a linear axis
        tol = ROUND_OFF_ULPS * machine_eps(dtype) * metric_scale(all_y)
        logy = data.size > 0 and float(np.mean((data > 0) | (np.abs(data) <= tol))) >= 0.9
    if logy:
        pos = data[data > 0]
        if pos.size:
            fl = round_off_floor(all_y, dtype) if floor == "auto" else floor
            if fl is not None and not isinstance(fl, (int, float)):
                raise ValueError(f"floor must be 'auto', a number or None; got {fl!r}")
            bottom = float(pos.min())
            if fl:
                bottom = max(bottom, float(fl))
            top = float(pos.max())
            if top <= bottom:
                top = bottom * 10
            ax.set_ylim(bottom / 2, top * 2)
        ax.set_yscale("log")  # after the limits: autoscaling over a diverging run would overflow
    elif data.size:
        pad = 0.05 * (float(data.max() - data.min()) or 1.0)
        ax.set_ylim(float(data.min()) - pad, float(data.max()) + pad)
    if logx:
        ax.set_xscale("log")
        ax.set_xlabel("$k + 1$ (step $k$ = 0, 1, ...)")
    else:
        ax.set_xlabel("step $k$")
    ax.set_ylabel(metric_label(metric))
    if title:
        ax.set_title(title)
    place_legend(ax, handles, labels, own_figure=own)

"""Per-configuration summaries of a sweep table: one row per (rule, swept hyperparameter values)."""

from __future__ import annotations

import math
from typing import Any

from .config import SweepConfig, swept_keys
from .plan import configurations

__all__ = ["summarize", "configuration_labels", "describe_sweep", "plot_sweep", "grouping"]


def _fmt(v: Any) -> str:
    from ..plotting.style import format_value

    return format_value(v)


def grouping(cfg: SweepConfig) -> list[str]:
    """The columns that tell a sweep's configurations apart: ``rule_index`` and ``p_solver_<k>``
    for every hyperparameter ``k`` swept by any rule (config order).

    The console summary (:func:`summarize`) and the figure (:func:`plot_sweep`) both group the
    table by these columns, so each has one row / one line per configuration of swept values.
    """
    keys: list[str] = []
    for spec in cfg.rules:
        keys += [k for k in swept_keys(spec) if k not in keys]
    return ["rule_index", *(f"p_solver_{k}" for k in keys)]


def _labels(cfg: SweepConfig) -> dict[tuple[int, int], str]:
    out = {}
    for i, spec in enumerate(cfg.rules):
        for c, vals in enumerate(configurations(spec)):
            swept = " ".join(f"{k}={_fmt(v)}" for k, v in vals.items())
            out[(i, c)] = f"{spec['name']} {swept}".strip()
    return out


def configuration_labels(table: Any, cfg: SweepConfig) -> Any:
    """A label per row, ``"adam lr=0.01"`` (rule name and its swept values), as a Series."""
    import pandas as pd

    labels = _labels(cfg)
    keys = zip(table["rule_index"].to_numpy().tolist(), table["config"].to_numpy().tolist())
    return pd.Series([labels[k] for k in keys], index=table.index, name="configuration")


def describe_sweep(cfg: SweepConfig) -> str:
    """``"2 rules, 4 configurations, 8 runs (adam: lr x3; heavy_ball: 1) x 2 seeds"``: runs counted per axis."""
    n_seeds = len(cfg.seeds)
    per_rule, total = [], 0
    for spec in cfg.rules:
        keys = swept_keys(spec)
        n = math.prod(len(spec[k]) for k in keys)
        total += n
        per_rule.append(f"{spec['name']}: " + (" x ".join(f"{k} x{len(spec[k])}" for k in keys) if keys else "1"))
    return (f"{len(cfg.rules)} rules, {total} configurations x {n_seeds} seeds = {total * n_seeds} runs "
            f"({'; '.join(per_rule)})")


def summarize(table: Any, cfg: SweepConfig, metric: str) -> Any:
    """One row per configuration: the final ``metric`` over seeds (median, 25% and 75% quantiles),
    the number of runs and of diverged runs.

    Columns: ``rule_index``, ``config``, ``rule``, ``configuration`` (swept values), ``fidelity``,
    ``runs``, ``step``, ``median``, ``q25``, ``q75``, ``diverged``.
    """
    import pandas as pd

    col = f"objective_{metric}"
    if col not in table.columns:
        known = sorted(c[len("objective_"):] for c in table.columns if c.startswith("objective_"))
        raise ValueError(f"metric {metric!r} is not in the table; recorded metrics: {known}")
    labels = _labels(cfg)
    keys = grouping(cfg)
    missing = [k for k in keys if k not in table.columns]
    if missing:
        raise ValueError(f"the table has no columns {missing} of the swept hyperparameters of {cfg.name!r}; "
                         "is it this sweep's table?")
    last = table[table.stop_val == table.stop_val.max()]
    rows = []
    for _, g in last.groupby(keys, sort=False, dropna=False):
        i, c = int(g.rule_index.iloc[0]), int(g.config.iloc[0])
        if g.config.nunique() != 1:
            raise ValueError(f"rows of configurations {sorted(set(g.config))} of rules[{i}] share their swept "
                             "values; the table does not match the sweep config")
        y = g[col].astype(float)
        rows.append({"rule_index": int(i), "config": int(c), "rule": str(g.solver_name.iloc[0]),
                     "configuration": labels[(int(i), int(c))].partition(" ")[2],
                     "fidelity": str(g.fidelity.iloc[0]).upper(), "runs": len(g),
                     "step": int(g.stop_val.iloc[0]), "median": y.median(), "q25": y.quantile(0.25),
                     "q75": y.quantile(0.75), "diverged": int((g.diverged_at >= 0).sum())})
    return pd.DataFrame(rows).sort_values(["rule_index", "config"], kind="stable").reset_index(drop=True)


def plot_sweep(table: Any, cfg: SweepConfig, metric: str, **kw: Any) -> Any:
    """Convergence figure of a sweep: one line (median over seeds, inter-quartile band) per
    configuration, grouped like :func:`summarize` (by :func:`grouping`): rule and the values of
    every swept hyperparameter, which the legend names (``"heavy_ball, lr = 0.02, momentum = 0.3"``).

    Further keywords go to :func:`precond_theory.plotting.plot_convergence` (``ax``, ``width``,
    ``logx``, ``logy``, ``quantiles``, ``dtype``, ``floor``, ``title``); its grouping arguments
    ``by``, ``label`` and ``group_by`` are fixed by the sweep and refused.
    """
    from ..plotting import plot_convergence

    fixed = sorted(set(kw) & {"by", "label", "group_by"})
    if fixed:
        raise TypeError(f"plot_sweep does not take {', '.join(fixed)}: a sweep's lines are its configurations "
                        f"(grouped by {grouping(cfg)}, as in the summary); use plot_convergence to group otherwise")
    keys = grouping(cfg)
    missing = [k for k in keys if k not in table.columns]
    if missing:
        raise ValueError(f"the table has no columns {missing} of the swept hyperparameters of {cfg.name!r}; "
                         "is it this sweep's table?")
    return plot_convergence(table, metric=metric, by=keys[0], label="solver_name", group_by=keys[1:], **kw)

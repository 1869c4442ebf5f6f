"""Per-configuration summaries of a sweep table: one row per (rule, swept hyperparameter values)."""

from __future__ import annotations

import math
from typing import Any

from .config import SweepConfig, swept_keys
from .plan import configurations

__all__ = ["summarize", "configuration_labels", "describe_sweep", "plot_sweep"]


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


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
    last = table[table.stop_val == table.stop_val.max()]
    rows = []
    for (i, c), g in last.groupby(["rule_index", "config"], sort=True):
        y = g[col].astype(float)
        rows.append({"rule_index": int(i), "config": int(c), "rule": str(g.solver_name.iloc[0]),
                     "configuration": labels[(int(i), int(c))].partition(" ")[2],
                     "fidelity": str(g.fidelity.iloc[0]).upper(), "runs": len(g),
                     "step": int(g.stop_val.iloc[0]), "median": y.median(), "q25": y.quantile(0.25),
                     "q75": y.quantile(0.75), "diverged": int((g.diverged_at >= 0).sum())})
    return pd.DataFrame(rows)


def plot_sweep(table: Any, cfg: SweepConfig, metric: str) -> Any:
    """Convergence figure of a sweep with one line (median over seeds) per configuration."""
    from ..plotting import plot_convergence

    plot_table = table.assign(configuration=configuration_labels(table, cfg),
                              config_id=table.rule_index * 1_000_000 + table.config)
    return plot_convergence(plot_table, metric=metric, by="config_id", label="configuration")

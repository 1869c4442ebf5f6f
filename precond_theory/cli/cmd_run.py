"""``precond-theory run`` (sweeps) and ``precond-theory rules``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from ._app import app, console, fail


@app.command("run")
def run_cmd(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="Sweep config (TOML); default: the built-in experiment."),
    out: Path = typer.Option(Path("results"), "--out", "-o", help="Output folder; the sweep writes to OUT/<name>/."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Override the number of steps."),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Reuse finished parts of an earlier run."),
) -> None:
    """Run a sweep (default: several rules on an ill-conditioned quadratic, 5 seeds) and write
    a tidy Parquet table and a convergence figure."""
    import dataclasses

    from ..plotting import plot_convergence, save_figure
    from ..sweep import load_config, run_sweep

    try:
        cfg = load_config(config)
        if steps is not None:
            if steps < 1:
                raise ValueError(f"--steps must be >= 1; got {steps}")
            cfg = dataclasses.replace(cfg, steps=steps)
        folder = out / cfg.name
        console.print(f"[bold]{cfg.name}[/]: {len(cfg.rules)} rules x {len(cfg.seeds)} seeds, "
                      f"{cfg.steps} steps on {cfg.problem['name']} ({cfg.source})")
        table = run_sweep(cfg, folder, resume=resume,
                          progress=lambda name, status: console.print(f"  {name:<12} {status}"))
    except (ValueError, TypeError) as exc:
        fail(str(exc))
    metric = "f_gap" if "objective_f_gap" in table.columns else "grad_norm_sq"
    fig = save_figure(plot_convergence(table, metric=metric), folder / "convergence.png")
    last = table[table.stop_val == table.stop_val.max()]
    summary = Table(title=f"{metric} at step {int(table.stop_val.max())} (median over seeds)")
    summary.add_column("rule")
    summary.add_column("fidelity")
    summary.add_column(metric, justify="right")
    summary.add_column("diverged", justify="right")
    for _, g in last.groupby("rule_index", sort=True):
        summary.add_row(str(g.solver_name.iloc[0]), str(g.fidelity.iloc[0]).upper(),
                        f"{g[f'objective_{metric}'].median():.3e}", str(int((g.diverged_at >= 0).sum())))
    console.print(summary)
    console.print(f"table:  {folder / 'table.parquet'}")
    console.print(f"figure: {fig}")

"""``precond-theory run``: a sweep (locally or on Dask), its table, figure and per-configuration summary."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from ._app import app, console, escape, fail


@app.command("run")
def run_cmd(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="Sweep config (TOML); default: the built-in experiment."),
    out: Path = typer.Option(Path("results"), "--out", "-o", help="Output folder; the sweep writes to OUT/<name>/."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Override the number of steps."),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Reuse finished parts whose cache key and content verify."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Run chunks on Dask: 'local', 'local:N' (N worker processes on 127.0.0.1) or 'tcp://HOST:PORT'."),
    chunk_size: Optional[int] = typer.Option(None, "--chunk-size", help="Runs per chunk (default: the config's chunk_size, else one chunk per rule)."),
    timeout: float = typer.Option(10.0, "--timeout", help="Seconds to wait for a Dask scheduler."),
) -> None:
    """Run a sweep (default: several rules on an ill-conditioned quadratic, 5 seeds) and write
    a tidy Parquet table, a convergence figure (one line per configuration) and a summary."""
    from .._progress import progress_bar
    from ..plotting import save_figure
    from ..sweep import SweepError, load_config, run_sweep
    from ..sweep.summary import describe_sweep, plot_sweep, summarize

    try:
        cfg = load_config(config)
        if steps is not None:
            if steps < 1:
                raise ValueError(f"--steps must be >= 1; got {steps}")
            cfg = cfg.replace(steps=steps)
        if chunk_size is not None:
            if chunk_size < 1:
                raise ValueError(f"--chunk-size must be >= 1; got {chunk_size}")
            cfg = cfg.replace(chunk_size=chunk_size)
        if timeout <= 0:
            raise ValueError(f"--timeout must be > 0 seconds; got {timeout}")
        folder = out / cfg.name
        console.print(f"[bold]{escape(cfg.name)}[/]: " + escape(
            f"{describe_sweep(cfg)}, {cfg.steps} steps on {cfg.problem['name']} ({cfg.source})"
            + (f", scheduler {scheduler}" if scheduler else "")), highlight=False)
        total = sum(len(cfg.seeds) * _n_configs(r) for r in cfg.rules)
        with progress_bar(f"sweep {cfg.name}", total=total) as advance:
            table = run_sweep(cfg, folder, resume=resume, scheduler=scheduler, timeout=timeout, progress=advance,
                              log=lambda line: console.print(f"  {escape(str(line))}", highlight=False, soft_wrap=True))
        done = table.attrs["sweep"]
        console.print(f"  parts: {done['computed']} computed, {done['cached']} reused", highlight=False)
        metric = "f_gap" if "objective_f_gap" in table.columns else "grad_norm_sq"
        fig = save_figure(plot_sweep(table, cfg, metric), folder / "convergence.png")
        summary = summarize(table, cfg, metric)
    except (ValueError, TypeError, OSError, SweepError) as exc:
        fail(str(exc))
    view = Table(title=f"{metric} at step {int(summary.step.max())} over seeds, per configuration")
    for name, justify in [("rule", "left"), ("swept", "left"), ("runs", "right"), ("median", "right"),
                          ("q25..q75", "right"), ("diverged", "right")]:
        view.add_column(name, justify=justify, no_wrap=name != "swept")
    for r in summary.itertuples():
        rule = r.rule if r.fidelity == "EXACT" else f"{r.rule} ({r.fidelity})"
        view.add_row(escape(rule), escape(r.configuration or "-"), str(r.runs), f"{r.median:.2e}",
                     f"{r.q25:.1e}..{r.q75:.1e}", str(r.diverged))
    console.print(view)
    console.print(f"table:  {escape(str(folder / 'table.parquet'))}", highlight=False, soft_wrap=True)
    console.print(f"figure: {escape(str(fig))}", highlight=False, soft_wrap=True)


def _n_configs(spec: dict) -> int:
    from ..sweep import swept_keys

    n = 1
    for k in swept_keys(spec):
        n *= len(spec[k])
    return n

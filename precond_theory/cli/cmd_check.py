"""``precond-theory check``: check a convergence claim (from the catalog or a TOML file) on its setup.


"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from ._app import app, console, fail

__all__ = ["check"]


_STYLE = {"consistent": "green", "violated": "red", "inconclusive": "yellow"}


def _parse_horizons(text: str | None) -> list[int] | None:
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        return [int(p) for p in parts]
    except ValueError:
        raise ValueError(f"--horizons must be a comma-separated list of positive integers; got {text!r}") from None


def _list_catalog() -> None:
    from ..claims import catalog

    t = Table(title="claims catalog")
    t.add_column("name", no_wrap=True)
    t.add_column("law")
    t.add_column("fidelity", no_wrap=True)
    t.add_column("setup", no_wrap=True)
    t.add_column("source", overflow="fold")
    for name, c in catalog().items():
        t.add_row(name, c.law(), c.fidelity.upper(), "yes" if c.setup else "-", c.source)
    console.print(t)


@app.command("check")
def check(
    name: Optional[str] = typer.Argument(None, help="Catalog claim name (see --list)."),
    file: Optional[Path] = typer.Option(None, "--file", "-f", help="TOML file with one claim or one table per claim."),
    seeds: Optional[int] = typer.Option(None, "--seeds", help="Replicate runs (default: the claim's setup)."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Steps of a trajectory claim (default: the setup's)."),
    horizons: Optional[str] = typer.Option(None, "--horizons",
                                           help="Comma-separated horizons T of a per-horizon claim."),
    level: float = typer.Option(0.95, "--level", help="Confidence level of the intervals."),
    out: Path = typer.Option(Path("results/check"), "--out", "-o", help="Folder for the figures."),
    list_claims: bool = typer.Option(False, "--list", help="List the catalog and exit."),
) -> None:
    """Check a convergence claim on its setup: fitted order or rate, interval, verdict, figure."""
    if list_claims:
        _list_catalog()
        return
    from ..claims import get_claim, load_claims
    from ..plotting import plot_rate_check, save_figure
    from ..rates import check_claim

    try:
        if (name is None) == (file is None):
            raise ValueError("give either a catalog claim NAME or --file claim.toml (see --list for names)")
        claims = {name: get_claim(name)} if name is not None else load_claims(file)
        hz = _parse_horizons(horizons)
        if seeds is not None and seeds < 1:
            raise ValueError(f"--seeds must be a positive integer; got {seeds}")
        if steps is not None and steps < 1:
            raise ValueError(f"--steps must be a positive integer; got {steps}")
        for cname, c in claims.items():
            if c.setup is None:
                raise ValueError(f"claim {cname!r} has no setup, so there is nothing to run: add a [{cname}.setup] "
                                 "table (rule, rule_params, problem, oracle, steps or horizons, seeds), or check it "
                                 "from Python with rates.check_claim(claim, rule, problem, ...)")
        results = []
        for cname, c in claims.items():
            console.print(f"[bold]{cname}[/]: {c.law()} ({c.fidelity}) - running {c.setup.rule} on "
                          f"{c.setup.problem.get('name')}")
            results.append((cname, check_claim(c, seeds=seeds, steps=steps, horizons=hz, level=level)))
    except (ValueError, TypeError) as exc:
        fail(str(exc))
    t = Table(title="convergence claims")
    for col, kw in (("claim", {}), ("law", {}), ("fitted", {"justify": "right"}), ("interval", {"justify": "right"}),
                    ("claimed", {"justify": "right"}), ("verdict", {})):
        t.add_column(col, **kw)
    for cname, rc in results:
        fitted = rc.order if rc.claim.shape == "power" else rc.rate
        fitted_text = "-" if math.isnan(fitted) else f"{fitted:.4g}"
        claimed = "-" if rc.claimed is None else f"{rc.claimed:.4g}"
        style = _STYLE[rc.verdict]
        t.add_row(cname, rc.claim.law(), fitted_text, rc.interval_text, claimed, f"[{style}]{rc.verdict}[/]")
    console.print(t)
    for cname, rc in results:
        console.print(f"[bold]{cname}[/] [{_STYLE[rc.verdict]}]{rc.verdict}[/]: {rc.reason}", highlight=False,
                      soft_wrap=True)
    for cname, rc in results:
        path = save_figure(plot_rate_check(rc), Path(out) / f"{cname}.png")
        console.print(f"figure: {path}")

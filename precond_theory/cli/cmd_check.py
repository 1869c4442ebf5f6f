"""``precond-theory check``: check a convergence claim (from the catalog or a TOML file) on its setup,
optionally its power against rule mutants; a thin layer over :mod:`precond_theory.verify`."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from .._provenance import machine, table, write_table
from ._app import app, console, escape, fail

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
    from ..verify.claims import catalog

    t = Table(title="claims catalog")
    t.add_column("name", no_wrap=True)
    t.add_column("law")
    t.add_column("fidelity", no_wrap=True)
    t.add_column("covers", overflow="fold")
    t.add_column("mutants", overflow="fold")
    t.add_column("source", overflow="fold")
    for name, c in catalog().items():
        t.add_row(*(escape(str(v)) for v in (name, c.law(), c.fidelity.upper(), c.covers,
                                              ", ".join(c.mutants) or "-", c.source)))
    console.print(t)


def _write_json(path: Path, command: str, columns: list[str], rows: list[list[Any]], notes: str = "") -> None:
    write_table(path, table(command, columns, rows, notes=notes or None, machine_line=machine(load=False)))
    console.print(f"wrote {escape(str(path))}", highlight=False, soft_wrap=True)


def _fitted(rc: Any) -> str:
    fitted = rc.order if rc.claim.shape == "power" else rc.rate
    return "-" if math.isnan(fitted) else f"{fitted:.4g}"


@app.command("check")
def check(
    name: Optional[str] = typer.Argument(None, help="Catalog claim name (see --list)."),
    file: Optional[Path] = typer.Option(None, "--file", "-f", help="TOML file with one claim or one table per claim."),
    all_claims: bool = typer.Option(False, "--all", help="Every catalog claim with a setup."),
    seeds: Optional[int] = typer.Option(None, "--seeds", help="Replicate runs (default: the claim's setup)."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Steps of a trajectory claim (default: the setup's)."),
    horizons: Optional[str] = typer.Option(None, "--horizons",
                                           help="Comma-separated horizons T of a per-horizon claim."),
    level: float = typer.Option(0.95, "--level", help="Confidence level of the intervals."),
    mutant: Optional[str] = typer.Option(None, "--mutant", help="Check a mutant of the setup's rule instead."),
    power: bool = typer.Option(False, "--power", help="Rejection rate of each declared mutant and acceptance rate "
                               "of the unmutated rule over --replicates replicates."),
    replicates: int = typer.Option(20, "--replicates", help="Replicates of the experiment for --power."),
    jobs: int = typer.Option(1, "--jobs", help="Claims measured in parallel worker processes for --power (the rows "
                             "do not depend on it)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the table as docs-table JSON."),
    pep: bool = typer.Option(False, "--pep", help="Theory bound, exact worst case by performance estimation and "
                             "empirical worst, side by side, at N = --horizons (default 1,2,4,8); fixed-step claims."),
    out: Path = typer.Option(Path("results/check"), "--out", "-o", help="Folder for the figures."),
    list_claims: bool = typer.Option(False, "--list", help="List the catalog and exit."),
) -> None:
    """Check a convergence claim on its setup: assumptions, fitted order or rate, interval, verdict, figure."""
    if list_claims:
        _list_catalog()
        return
    from ..verify.claims import catalog, get_claim, load_claims

    if pep:
        _pep(name, file, all_claims, _parse_or_fail(horizons), json_out, seeds=seeds, steps=steps, mutant=mutant,
             power=power, replicates=replicates != 20, level=level != 0.95, out=out != Path("results/check"))
        return
    try:
        if sum((name is not None, file is not None, all_claims)) != 1:
            raise ValueError("give exactly one of a catalog claim NAME, --file claim.toml or --all (see --list)")
        if all_claims:
            claims = {n: c for n, c in catalog().items() if c.setup is not None}
        else:
            claims = {name: get_claim(name)} if name is not None else load_claims(file)
        hz = _parse_horizons(horizons)
        for opt, v in (("--seeds", seeds), ("--steps", steps)):
            if v is not None and v < 1:
                raise ValueError(f"{opt} must be a positive integer; got {v}")
        if replicates < 1:
            raise ValueError(f"--replicates must be a positive integer; got {replicates}")
        if power and mutant is not None:
            raise ValueError("--power measures the declared mutants; --mutant checks one: give one of them")
        if not power and replicates != 20:
            raise ValueError("--replicates applies to --power only")
        if isinstance(jobs, bool) or jobs < 1:
            raise ValueError(f"--jobs must be a positive integer; got {jobs}")
        if not power and jobs != 1:
            raise ValueError("--jobs applies to --power only")
        for cname, c in claims.items():
            if c.setup is None:
                raise ValueError(f"claim {cname!r} has no setup, so there is nothing to run: add a [{cname}.setup] "
                                 "table (rule, rule_params, problem, oracle, steps or horizons, seeds), or check it "
                                 "from Python with verify.check_claim(claim, rule, problem, ...)")
        kw = {k: v for k, v in (("seeds", seeds), ("steps", steps), ("horizons", hz)) if v is not None}
        target = "--all" if all_claims else (name if name is not None else f"--file {file}")
        opts = "".join(f" --{k} {v if k != 'horizons' else horizons}" for k, v in kw.items())
        command = f"precond-theory check {target}{opts}" + (f" --json {json_out}" if json_out else "")
        if power:
            jobs_opt = f"--jobs {jobs} " if jobs != 1 else ""
            _power(claims, kw, replicates, level, json_out, command.replace("check ", f"check --power --replicates "
                                                                              f"{replicates} {jobs_opt}", 1), jobs)
            return
        from .._progress import progress_bar
        from ..verify.runner import check_claim

        results = []
        with progress_bar("check", total=len(claims), unit="claims") as advance:
            for cname, c in claims.items():
                what = f" (mutant {mutant})" if mutant else ""
                console.print(f"[bold]{escape(cname)}[/]: {escape(c.law())} ({c.fidelity}) - running "
                              + escape(f"{c.setup.rule}{what} on {c.setup.problem.get('name')}"), highlight=False)
                results.append((cname, check_claim(c, level=level, mutant=mutant, **kw)))
                advance(1)
    except (ValueError, TypeError) as exc:
        fail(str(exc))
    _print_results(results)
    if json_out is not None:
        rows = [[f"`{n}`", escape(rc.claim.law()), rc.claim.fidelity, rc.claim.covers or "-", _fitted(rc),
                 rc.interval_text, rc.verdict] for n, rc in results]
        columns = ["claim", "law", "fidelity", "theorem covers", "fitted", "interval", "verdict"]
        _write_json(json_out, command, columns, rows)
    from ..plotting import plot_rate_check, save_figure

    for cname, rc in results:
        if len(rc.k) == 0:  # decided before running (an assumption failed): nothing to draw
            console.print(f"figure: none for {escape(cname)} (nothing was run)", highlight=False)
            continue
        path = save_figure(plot_rate_check(rc), Path(out) / f"{cname}.png")
        console.print(f"figure: {escape(str(path))}", highlight=False, soft_wrap=True)


def _print_results(results: list[tuple[str, Any]]) -> None:
    t = Table(title="convergence claims")
    for col, kw in (("claim", {}), ("law", {}), ("fitted", {"justify": "right"}), ("interval", {"justify": "right"}),
                    ("claimed", {"justify": "right"}), ("verdict", {})):
        t.add_column(col, **kw)
    for cname, rc in results:
        claimed = "-" if rc.claimed is None else f"{rc.claimed:.4g}"
        style = _STYLE[rc.verdict]
        t.add_row(escape(cname), escape(rc.claim.law()), _fitted(rc), escape(rc.interval_text), claimed,
                  f"[{style}]{rc.verdict}[/]")
    console.print(t)
    for cname, rc in results:
        console.print(f"[bold]{escape(cname)}[/] [{_STYLE[rc.verdict]}]{rc.verdict}[/]: {escape(rc.reason)}",
                      highlight=False, soft_wrap=True)


def _power_rows(claim: Any, replicates: int, level: float, kw: dict[str, Any]) -> list[Any]:
    from ..verify.power import power

    return power(claim, replicates=replicates, level=level, **kw)


def _power(claims: dict[str, Any], kw: dict[str, Any], replicates: int, level: float, json_out: Path | None,
           command: str, jobs: int = 1) -> None:
    columns = ["claim", "rule", "replicates", "rate", f"{100 * level:g}% interval",
               f"one-sided {100 * level:g}% lower bound", "target", "verdicts", "first miss / reason"]
    t = Table(title=f"power over {replicates} replicates (rejection of each mutant, acceptance of the rule)")
    for col in columns:
        t.add_column(col, overflow="fold")
    rows = []
    pool = None
    if jobs > 1:  # one claim per task; each claim's runs keep their own seeds, so the rows do not depend on jobs
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(max_workers=min(jobs, len(claims)))
        futures = {n: pool.submit(_power_rows, c, replicates, level, kw) for n, c in claims.items()}
    for cname, c in claims.items():
        console.print(f"[bold]{escape(cname)}[/]: unmutated + {', '.join(c.mutants) or 'no declared mutants'}"
                      + (f"; outside: {', '.join(c.outside)}" if c.outside else "")
                      + (f"; insensitive (not run): {', '.join(c.insensitive)}" if c.insensitive else ""),
                      highlight=False)
        got = futures[cname].result() if pool is not None else _power_rows(c, replicates, level, kw)
        for r in got:
            cells = r.cells()
            rows.append([f"`{cells[0]}`", *cells[1:8], cells[8][:160]])
            t.add_row(*[escape(x) for x in cells])
    if pool is not None:
        pool.shutdown()
    console.print(t)
    if json_out is not None:
        _write_json(json_out, command, columns, rows,
                    notes="rate: fraction of replicates whose verdict is 'violated' (declared mutants; the "
                    "unmutated rule of a known-false claim), 'inconclusive: assumption ...' (mutants outside the "
                    "theorem) or 'consistent' (unmutated rule); two-sided Clopper-Pearson interval and one-sided "
                    "exact lower bound; target: the one run hits (deterministic) or the one-sided lower bound is "
                    ">= 0.95 (needs >= 59 replicates); exact runs without an oracle, and mutants refused from the "
                    "rule's fields before running, are deterministic; 'insensitive': a mutant the claim declares it "
                    "cannot detect (reason given), not run.")


def _parse_or_fail(horizons: str | None) -> list[int] | None:
    try:
        return _parse_horizons(horizons)
    except ValueError as exc:
        fail(str(exc))


def _pep(name: str | None, file: Path | None, all_claims: bool, horizons: list[int] | None, json_out: Path | None,
         **unused: Any) -> None:
    """``check NAME --pep``: :func:`precond_theory.verify.pep.compare` as a table."""
    from ..verify import pep as vp

    given = [f"--{k}" for k, v in unused.items() if v not in (None, False)]
    try:
        if given:
            raise ValueError(f"--pep does not read {', '.join(given)}: it compares theory, performance estimation "
                             "and the adversarial search (give NAME or --all, optionally --horizons and --json)")
        if file is not None or (name is None) == (not all_claims):
            raise ValueError("--pep takes a catalog claim NAME or --all (claims about fixed-step methods: "
                             f"{', '.join(vp.COMPARED_CLAIMS)})")
        names = list(vp.COMPARED_CLAIMS) if all_claims else [name]
        rows = [r for n in names for r in vp.compare(n, N=horizons)]
    except (ValueError, TypeError, LookupError, ImportError) as exc:
        fail(str(exc))
    columns = ["claim", "class", "quantity", "N", "theory.py", "PEP (exact)", "empirical worst"]
    t = Table(title="worst cases: theory bound, performance estimation, adversarial search (initial quantity = 1)")
    for col in columns:
        t.add_column(col, overflow="fold")
    fmt = lambda v: "-" if v is None else f"{v:.6g}"  # noqa: E731
    cells = [[r.claim, r.function_class, r.quantity, str(r.N), fmt(r.theory), fmt(r.pep), fmt(r.empirical)]
             for r in rows]
    for c in cells:
        t.add_row(*[escape(x) for x in c])
    console.print(t)
    for note in dict.fromkeys(r.note for r in rows if r.note):
        console.print(f"note: {escape(note)}", highlight=False)
    if json_out is not None:
        target = "--all" if all_claims else name
        hz = f" --horizons {','.join(map(str, horizons))}" if horizons else ""
        _write_json(json_out, f"precond-theory check {target} --pep{hz} --json {json_out}", columns, cells)


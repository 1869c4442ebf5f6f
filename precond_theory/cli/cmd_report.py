"""``precond-theory report``: one self-contained HTML page of every experiment and verdict."""

from __future__ import annotations

from pathlib import Path

import typer

from ._app import app, console, fail

__all__ = ["report"]


@app.command("report")
def report(
    results: Path = typer.Option(Path("results/experiments"), "--results", "-r",
                                 help="Folder the experiments wrote (precond-theory experiment --out)."),
    out: Path = typer.Option(Path("results/report"), "--out", "-o", help="Folder for report.html and the tables."),
) -> None:
    """Gather every experiment's claim, verdict, figure and table into report.html (+ LaTeX and CSV)."""
    from .._progress import progress_bar
    from ..report import NoResultsError, build_report, find_results
    from .cmd_experiment import check_writable

    try:
        n = len(find_results(results))
        check_writable(out)
        with progress_bar("report", total=n, unit="experiments") as advance:
            page = build_report(results, out, advance=advance,
                                command=f"precond-theory report --results {results} --out {out}")
    except NoResultsError as exc:
        fail(f"{exc}: run `precond-theory experiment --all --size ci --out {results}` (or --size full) first")
    except ValueError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write the report to {str(out)!r}: {exc.strerror or exc}")
    console.print(f"report: {page}")
    console.print(f"tables: {out / 'verdicts.tex'}, {out / 'verdicts.csv'}, {out / 'tables'}/")

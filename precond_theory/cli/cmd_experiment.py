"""``precond-theory experiment``: run the claim experiments (one, or all) with a progress bar."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from ._app import app, console, escape, fail

__all__ = ["experiment", "check_writable"]

_STYLE = {"consistent": "green", "violated": "red", "inconclusive": "yellow"}


def check_writable(folder: Path, option: str = "--out") -> None:
    """Raise ValueError naming ``option`` unless ``folder`` can be created and written to."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".write-test-", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise ValueError(f"{option} {str(folder)!r} is not a writable folder ({exc.strerror or exc})") from None


def _save_traceback(out: Path, name: str, exc: BaseException) -> Path | None:
    """Write the traceback of a failed experiment to ``out/<name>.failed.txt`` (None if it cannot)."""
    import traceback

    path = out / f"{name}.failed.txt"
    try:
        path.write_text("".join(traceback.format_exception(exc)))
    except OSError:
        return None
    return path


def _report(done: list, failed: list, size: str, out: Path) -> None:
    t = Table(title=f"experiments ({size})")
    for col in ("experiment", "fidelity", "verdict", "status"):
        t.add_column(col, no_wrap=col == "experiment")
    for rec, status in done:
        v = rec["verdict"]
        t.add_row(rec["name"], rec["fidelity"], f"[{_STYLE[v]}]{v}[/]", status)
    for n, exc, tb in failed:
        t.add_row(n, "", "[red]error[/]", escape(f"failed: {type(exc).__name__}" + (f" (traceback: {tb})" if tb else "")))
    console.print(t)
    console.print(f"results: {out}")


def _list() -> None:
    from ..experiments import available, get

    t = Table(title="experiments")
    for col in ("name", "paper", "kind", "fidelity", "claim"):
        t.add_column(col, overflow="fold", no_wrap=col == "name")
    for n in available():
        e = get(n)
        t.add_row(n, e.paper, e.kind, e.fidelity, e.title)
    console.print(t)


@app.command("experiment")
def experiment(
    name: Optional[str] = typer.Argument(None, help="Experiment name (see --list)."),
    list_: bool = typer.Option(False, "--list", help="List the experiments and exit."),
    all_: bool = typer.Option(False, "--all", help="Run every experiment."),
    size: str = typer.Option("full", "--size", help="ci (reduced: fewer steps and seeds) or full."),
    out: Path = typer.Option(Path("results/experiments"), "--out", "-o", help="Results folder (OUT/<name>/)."),
    reuse: bool = typer.Option(True, "--reuse/--force",
                               help="Reuse finished results whose cache key matches (default) or recompute."),
    gallery: Optional[Path] = typer.Option(None, "--gallery",
                                           help="Also write the gallery page into this docs folder."),
) -> None:
    """Run claim experiments: each writes a figure (PDF, SVG, PNG), a table (CSV, LaTeX) and a verdict."""
    if list_:
        if name is not None or all_:
            fail("--list takes no NAME and no --all")
        _list()
        return
    from .._progress import progress_bar
    from ..experiments import SIZES, available, get, run_experiment
    from ..experiments._base import unknown_name_message

    try:
        if (name is None) == (not all_):
            raise ValueError("give one experiment NAME or --all (see --list)")
        if size not in SIZES:
            raise ValueError(f"--size must be one of {', '.join(SIZES)}; got {size!r}")
        if name is not None and name not in available():
            raise ValueError(unknown_name_message(name))
        check_writable(out)
        if gallery is not None:
            check_writable(gallery, "--gallery")
        names = available() if all_ else [name]
        total = sum(get(n).units(get(n).sizes[size]) for n in names)
        target = "--all" if all_ else name
        command = f"precond-theory experiment {target} --size {size} --out {out}"
        console.print(f"[bold]{len(names)} experiment{'s' * (len(names) > 1)}[/], size {size}, {total} runs -> {out}")
        done, failed = [], []
        with progress_bar("experiments", total=total, unit="runs") as advance:
            for n in names:
                try:
                    rec, status = run_experiment(n, size=size, out=out, reuse=reuse, advance=advance,
                                                 command=command,
                                                 log=lambda line: console.print(line, markup=False, highlight=False))
                except Exception as exc:  # noqa: BLE001 - one failing experiment must not lose the others
                    failed.append((n, exc, _save_traceback(out, n, exc)))
                    console.print(f"[red]{escape(n)} failed:[/] {escape(f'{type(exc).__name__}: {exc}')}",
                                  soft_wrap=True, highlight=False)
                    continue
                (out / f"{n}.failed.txt").unlink(missing_ok=True)
                done.append((rec, status))
        if failed:
            _report(done, failed, size, out)
            fail(f"{len(failed)} of {len(names)} experiments failed ({', '.join(n for n, _, _ in failed)}); "
                 "the others' results are kept in " + str(out)
                 + ("; the gallery was not written (it would miss them)" if gallery is not None else ""), code=1)
        if gallery is not None:
            from ..report.gallery import write_gallery

            page = write_gallery(out, gallery, names=names, command=f"{command} --gallery {gallery}")
    except (ValueError, TypeError) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write the results to {str(out)!r}: {exc.strerror or exc}")
    _report(done, [], size, out)
    if gallery is not None:
        console.print(f"gallery: {page}")

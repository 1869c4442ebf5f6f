"""The Typer app, the one console, and the helpers every command shares."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

__all__ = ["app", "console", "fail", "escape", "plain_table"]

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Convergence verification of preconditioned and adaptive gradient methods.")


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"precond-theory {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Convergence verification of preconditioned and adaptive gradient methods."""

# Not a terminal (a pipe, a file, CI): never wrap lines, never colour.  Rich lays tables out
# for 80 columns when it cannot measure a terminal; a very wide virtual console keeps every row
# of a table on one line instead (tables are only as wide as their content).
_TTY = sys.stdout.isatty()
console = Console(soft_wrap=not _TTY, width=None if _TTY else 100_000)


def plain_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Print rows as aligned plain-text columns (two spaces apart), one row per line, no markup.

    For output that is not a terminal: ``precond-theory rules | cat`` gives one rule per line.
    """
    rows = [[str(c) for c in r] for r in rows]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]
    for r in [list(header), *rows]:
        line = "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: <message>`` as one line (Rich markup in ``message`` is escaped) and exit."""
    console.print(f"[red]error:[/] {escape(str(message))}", soft_wrap=True, highlight=False)
    raise typer.Exit(code=code)

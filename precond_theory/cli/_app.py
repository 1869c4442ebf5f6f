"""The Typer app, the one console, and the helpers every command shares."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

__all__ = ["app", "console", "fail", "escape"]

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

# Not a terminal (a pipe, a file, CI): never wrap lines, never colour.
console = Console(soft_wrap=not sys.stdout.isatty())


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: <message>`` as one line (Rich markup in ``message`` is escaped) and exit."""
    console.print(f"[red]error:[/] {escape(str(message))}", soft_wrap=True, highlight=False)
    raise typer.Exit(code=code)

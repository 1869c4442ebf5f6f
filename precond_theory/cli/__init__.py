"""The ``precond-theory`` command line: one module per command, registered on one Typer app."""

from __future__ import annotations

from ._app import app, console  # noqa: F401
from . import (cmd_check, cmd_derive, cmd_experiment, cmd_problems, cmd_report, cmd_rules,  # noqa: E402,F401
               cmd_run)  # (each registers its command)

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover
    app()

"""``precond-theory derive``: SymPy derivations (the implementation lives in :mod:`proofs_checks.cli`)."""

from __future__ import annotations

from proofs_checks.cli import derive_command

from ._app import app

app.command("derive")(derive_command)

"""``python -m precond_theory`` is the ``precond-theory`` command."""

from .cli import app

app(prog_name="precond-theory")

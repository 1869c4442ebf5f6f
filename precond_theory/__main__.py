"""``python -m precond_theory`` is the ``precond-theory`` command."""

from .cli import app

if __name__ == "__main__":  # importing the module (e.g. an API-doc generator) runs nothing
    app(prog_name="precond-theory")

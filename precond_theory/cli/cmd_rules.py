"""``precond-theory rules``: the registered update rules with their fidelity labels."""

from __future__ import annotations

from rich.table import Table

from ._app import app, console


@app.command("rules")
def rules_cmd() -> None:
    """List the registered update rules with their fidelity labels and references."""
    from .. import rules

    t = Table(title="update rules")
    for col in ("name", "class", "fidelity", "reference"):
        t.add_column(col)
    for name in rules.available():
        cls = rules.get(name)
        t.add_row(name, cls.__name__, cls.fidelity.upper(), cls.reference)
    console.print(t)

"""``precond-theory rules``: the registered update rules with their fidelity labels."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from ._app import app, console, plain_table

HEADER = ("name", "class", "fidelity", "reference")


@app.command("rules")
def rules_cmd() -> None:
    """List the registered update rules with their fidelity labels and references.

    On a terminal a table; otherwise (a pipe, a file) one rule per line in aligned columns.
    The equations and the meaning of the labels are in docs/spec/index.md.
    """
    from .. import rules

    rows = [(n, rules.get(n).__name__, rules.get(n).fidelity.upper(), rules.get(n).reference)
            for n in rules.available()]
    if not console.is_terminal:
        plain_table(HEADER, rows)
        return
    t = Table(title="update rules")
    for col in HEADER:
        t.add_column(col)
    for row in rows:
        t.add_row(*map(escape, row))
    console.print(t)

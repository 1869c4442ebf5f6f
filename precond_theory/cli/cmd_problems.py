"""``precond-theory problems``: the registered problems, their parameters and known constants."""

from __future__ import annotations

import difflib
import inspect
from typing import Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from ._app import app, console, fail, plain_table

HEADER = ("name", "parameters (defaults)", "dim", "L", "mu", "f*", "x*")
_BACKEND = ("xp", "dtype")


def _num(v: Any) -> str:
    if v is None:
        return "-"
    try:
        return f"{float(v):.6g}"
    except (TypeError, ValueError):
        return str(v)


def _x_star(p: Any, full: bool) -> str:
    import numpy as np

    xs = getattr(p, "x_star", None)
    if xs is None:
        return "-"
    a = np.asarray(xs.get() if hasattr(xs, "get") else xs, dtype=float).ravel()
    if full or a.size <= 3:
        return "[" + ", ".join(f"{v:.6g}" for v in a) + "]"
    if np.all(a == a[0]):
        return f"[{a[0]:.6g}] * {a.size}"
    return f"known, shape ({a.size},)"


def parameters(name: str) -> list[tuple[str, Any]]:
    """``(parameter, default)`` of problem ``name``'s factory (backend arguments left out)."""
    from ..problems.registry import FACTORIES

    sig = inspect.signature(FACTORIES[name])
    return [(k, v.default) for k, v in sig.parameters.items() if k not in _BACKEND]


def describe(name: str, full: bool = False) -> tuple[str, ...]:
    """One row of the listing: name, parameters, and the constants at the default parameters.

    A problem that cannot be built from its defaults shows why in the constants' place.
    """
    from .. import problems

    params = ", ".join(f"{k}={'required' if v is inspect.Parameter.empty else repr(v)}" for k, v in parameters(name))
    try:
        p = problems.make(name)
    except (TypeError, ValueError) as exc:
        return (name, params or "-", "-", "-", "-", "-", f"(not built from defaults: {exc})")
    return (name, params or "-", str(p.dim), _num(p.L), _num(p.mu), _num(p.f_star), _x_star(p, full))


@app.command("problems")
def problems_cmd(
    name: Optional[str] = typer.Argument(None, help="Show one problem (all of x*); default: list them all."),
) -> None:
    """List the registered problems with their parameters and known constants (L, mu, f*, x*).

    Constants are those of the problem built with its default parameters ("-": not known in
    closed form). On a terminal a table; otherwise one problem per line in aligned columns.
    """
    from .. import problems

    names = problems.available()
    if name is not None and name not in names:
        close = difflib.get_close_matches(name.replace("-", "_"), names, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        fail(f"unknown problem {name!r}{hint} (precond-theory problems lists them)")
    rows = [describe(n, full=name is not None) for n in ([name] if name else names)]
    if not console.is_terminal:
        plain_table(HEADER, rows)
        return
    t = Table(title="problems (constants at the default parameters; - = not known)")
    for col in HEADER:
        t.add_column(col, overflow="fold")
    for row in rows:
        t.add_row(*map(escape, row))
    console.print(t)

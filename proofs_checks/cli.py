r"""``precond-theory derive NAME``: print a derivation (Unicode in the terminal, LaTeX with ``--latex``).

NAME is a check (``adam-bias-correction``, ``heavy-ball-quadratic``, ...) or a registered rule
(``adam``, ``soaa``, ...; shows its symbolic twin's update and the comparison with the numeric
rule).  An unknown NAME prints the known ones on stderr and exits with status 2.
"""

from __future__ import annotations

import shutil
import sys
from typing import Any

import typer

__all__ = ["derive", "derive_command", "render"]


def _pretty(expr: Any, width: int) -> str:
    import sympy as sp

    return sp.pretty(expr, use_unicode=True, num_columns=width)


def _latex(expr: Any) -> str:
    import sympy as sp

    return sp.latex(expr)


def render(name: str, latex: bool = False) -> str:
    """The derivation ``name`` as text (Unicode pretty print, or LaTeX/Markdown with ``latex``).

    Raises
    ------
    LookupError
        If ``name`` is neither a check nor a registered rule; the message lists the known names.
    """
    import proofs_checks as pc
    from precond_theory.rules import available

    if name in pc.available_checks():
        d = pc.get_check(name)
    elif name in available():
        d = pc.rule_derivation(name)
    else:
        raise LookupError(
            f"unknown derivation {name!r}. Known checks: {', '.join(pc.available_checks())}. "
            f"Known rules: {', '.join(available())}."
        )
    from ._core import residual_ok

    width = max(60, shutil.get_terminal_size((100, 20)).columns)
    out: list[str] = []
    if latex:
        out.append(f"## {d.name}: {d.title}\n")
        if d.reference:
            out.append(f"*Reference:* {d.reference}\n")
        for i, st in enumerate(d.steps, 1):
            out.append(f"{i}. {st.text}")
            if st.expr is not None:
                out.append(f"$$\n{_latex(st.expr)}\n$$")
        out.append("\n**Residuals** (each must simplify to 0 or be True):\n")
        for label, r in d.residuals:
            mark = "holds" if residual_ok(r) else "FAILS"
            out.append(f"- {label}: $${_latex(r)}$$ ({mark})")
        return "\n".join(out) + "\n"
    out.append(f"{d.name}: {d.title}")
    if d.reference:
        out.append(f"reference: {d.reference}")
    out.append("")
    for i, st in enumerate(d.steps, 1):
        out.append(f"{i}. {st.text}")
        if st.expr is not None:
            out.append("\n".join("    " + line for line in _pretty(st.expr, width - 4).splitlines()))
    out.append("")
    out.append("residuals (each must simplify to 0 or be True):")
    for label, r in d.residuals:
        mark = "✓" if residual_ok(r) else "✗ FAILS"
        shown = _pretty(r, width - 8)
        shown = shown if "\n" not in shown else "(see above)"
        out.append(f"  {mark} {label}: {shown}")
    return "\n".join(out) + "\n"


def derive(name: str, latex: bool = False) -> None:
    """Print the derivation ``name``; an unknown name lists the known ones and exits with status 2.

    Parameters
    ----------
    name : str
        A check name (see :func:`proofs_checks.available_checks`) or a registered rule name.
    latex : bool
        Print LaTeX (Markdown with ``$$`` blocks) instead of the Unicode pretty print.
    """
    try:
        text = render(name, latex=latex)
    except LookupError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        raise SystemExit(2) from None
    sys.stdout.write(text)


def derive_command(
    name: str = typer.Argument(..., help="A check (e.g. adam-bias-correction) or a rule (e.g. adam)."),
    latex: bool = typer.Option(False, "--latex", help="Print LaTeX instead of Unicode."),
) -> None:
    """Print a symbolic derivation: a check, or a rule's update from its symbolic twin."""
    derive(name, latex=latex)

r"""``precond-theory derive NAME``: print a derivation.

NAME is a check (``adam_bias_correction``, ``heavy_ball_quadratic``, ...; ``derive --list``
lists them) or a registered rule (``adam``, ``soaa``, ...: its symbolic twin's update and the
comparison with the numeric rule).  Output formats:

* the default, a Unicode pretty print for the terminal;
* ``--latex``: a complete LaTeX document in ASCII (``\hat{m}``, ``\Delta``), which pdflatex
  compiles;
* ``--markdown``: Markdown with ``$$`` blocks in ASCII LaTeX, as on the docs' rule pages.

The old kebab-case check names (``heavy-ball-quadratic``) are accepted with a note on stderr;
an unknown NAME prints one line with the closest known names and exits with status 2.
"""

from __future__ import annotations

import difflib
import re
import shutil
import sys
from typing import Any, Literal, Optional

import typer

__all__ = ["derive", "derive_command", "list_names", "render", "resolve"]

Format = Literal["text", "markdown", "latex"]


def resolve(name: str) -> tuple[str, str | None]:
    """The canonical derivation name for ``name`` and, for an old kebab-case name, a note.

    Raises
    ------
    LookupError
        If ``name`` is neither a check nor a registered rule (nor an old spelling of one); the
        message suggests the closest names and points at ``derive --list``.
    """
    import proofs_checks as pc

    known = pc.known_names()
    if name in known:
        return name, None
    snake = name.replace("-", "_")
    if snake in known:
        return snake, f"{name!r} is the old name of {snake!r}; derivation names are snake_case now"
    close = difflib.get_close_matches(snake, known, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    raise LookupError(f"unknown derivation {name!r}{hint} (precond-theory derive --list shows every name)")


def _summary(fn: Any) -> str:
    doc = (fn.__doc__ or "").strip().split("\n\n")[0]
    doc = re.sub(r":math:`([^`]*)`", r"\1", " ".join(doc.split()))
    return doc.replace("``", "")


def list_names() -> list[tuple[str, str, str]]:
    """``(name, kind, summary)`` for every check (kind: its topic) and every registered rule."""
    import proofs_checks as pc
    from precond_theory import rules

    from . import _core

    pc.available_checks()  # registers the checks
    out = [(n, f"check ({topic})", _summary(fn)) for n, (topic, fn) in sorted(_core.CHECKS.items())]
    for n in rules.available():
        cls = rules.get(n)
        out.append((n, f"rule ({cls.fidelity.upper()})", f"one update of {cls.__name__}, from its symbolic twin"))
    return out


def _derivation(name: str):
    import proofs_checks as pc

    return pc.get_check(name) if name in pc.available_checks() else pc.rule_derivation(name)


def _pretty(expr: Any, width: int) -> str:
    import sympy as sp

    return sp.pretty(expr, use_unicode=True, num_columns=width)


def _latex(expr: Any) -> str:
    import sympy as sp

    from ._tex import tex_math

    return tex_math(sp.latex(expr))


def _render_text(d: Any) -> str:
    from ._core import residual_ok

    width = max(60, shutil.get_terminal_size((100, 20)).columns)
    out = [f"{d.name}: {d.title}"]
    if d.reference:
        out.append(f"reference: {d.reference}")
    out.append("")
    for i, st in enumerate(d.steps, 1):
        out.append(f"{i}. {st.text}")
        if st.expr is not None:
            out.append("\n".join("    " + line for line in _pretty(st.expr, width - 4).splitlines()))
    out += ["", "residuals (each must simplify to 0 or be True):"]
    for label, r in d.residuals:
        mark = "✓" if residual_ok(r) else "✗ FAILS"
        shown = _pretty(r, width - 8)
        if "\n" in shown:  # a multi-line form goes under its label, indented
            out.append(f"  {mark} {label}:")
            out.append("\n".join("      " + line for line in shown.splitlines()))
        else:
            out.append(f"  {mark} {label}: {shown}")
    return "\n".join(out) + "\n"


def _render_markdown(d: Any) -> str:
    from ._core import residual_ok

    out = [f"## {d.name}: {d.title}", ""]
    if d.reference:
        out += [f"*Reference:* {d.reference}", ""]
    for i, st in enumerate(d.steps, 1):
        out.append(f"{i}. {st.text}")
        if st.expr is not None:  # indented: the block belongs to the list item
            out += ["", "    $$", f"    {_latex(st.expr)}", "    $$", ""]
    out += ["", "**Residuals** (each must simplify to 0 or be True):", ""]
    for label, r in d.residuals:
        mark = "holds" if residual_ok(r) else "FAILS"
        out += [f"- {label} ({mark}):", "", "    $$", f"    {_latex(r)}", "    $$", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _render_latex(d: Any) -> str:
    from ._core import residual_ok
    from ._tex import tex_text

    out = [r"\documentclass{article}", r"\usepackage{amsmath,amssymb}",
           r"\allowdisplaybreaks", r"\begin{document}", "",
           rf"\section*{{{tex_text(d.name)}: {tex_text(d.title)}}}"]
    if d.reference:
        out.append(rf"\noindent\emph{{Reference:}} {tex_text(d.reference)}")
    out += ["", r"\begin{enumerate}"]
    for st in d.steps:
        out.append(rf"\item {tex_text(st.text)}")
        if st.expr is not None:
            out += [r"\[", _latex(st.expr), r"\]"]
    out += [r"\end{enumerate}", "", r"\subsection*{Residuals (each must simplify to 0 or be True)}",
            r"\begin{itemize}"]
    for label, r in d.residuals:
        mark = "holds" if residual_ok(r) else "FAILS"
        out += [rf"\item {tex_text(label)} ({mark}):", r"\[", _latex(r), r"\]"]
    out += [r"\end{itemize}", "", r"\end{document}"]
    return "\n".join(out) + "\n"


def render(name: str, fmt: Format = "text") -> str:
    """The derivation ``name`` as text: ``"text"`` (Unicode), ``"markdown"`` or ``"latex"``.

    Raises
    ------
    LookupError
        If ``name`` is unknown (see :func:`resolve`).
    ValueError
        If ``fmt`` is not one of the three formats.
    """
    renderers = {"text": _render_text, "markdown": _render_markdown, "latex": _render_latex}
    if fmt not in renderers:
        raise ValueError(f"fmt must be one of {sorted(renderers)}; got {fmt!r}")
    canonical, _ = resolve(name)
    return renderers[fmt](_derivation(canonical))


def derive(name: str, fmt: Format = "text") -> None:
    """Print the derivation ``name``; an unknown name prints one error line and exits with status 2.

    Parameters
    ----------
    name : str
        A check name (see :func:`proofs_checks.available_checks`) or a registered rule name;
        an old kebab-case check name is accepted with a note on stderr.
    fmt : {"text", "markdown", "latex"}
        Unicode pretty print, Markdown with ``$$`` blocks, or a LaTeX document.
    """
    try:
        canonical, note = resolve(name)
    except LookupError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        raise SystemExit(2) from None
    if note:
        print(f"note: {note}", file=sys.stderr)
    sys.stdout.write(render(canonical, fmt))


def derive_command(
    name: Optional[str] = typer.Argument(None, help="A check (e.g. adam_bias_correction) or a rule (e.g. adam)."),
    latex: bool = typer.Option(False, "--latex", help="Print a LaTeX document (ASCII; compiles with pdflatex)."),
    markdown: bool = typer.Option(False, "--markdown", help="Print Markdown with $$ blocks (as on the docs pages)."),
    list_names_: bool = typer.Option(False, "--list", help="List every derivation name and exit."),
) -> None:
    """Print a symbolic derivation: a check, or a rule's update from its symbolic twin."""
    from precond_theory.cli._app import fail

    if list_names_:
        if name is not None or latex or markdown:
            fail("--list takes no NAME, --latex or --markdown")
        rows = list_names()
        w0 = max(len(r[0]) for r in rows)
        w1 = max(len(r[1]) for r in rows)
        for n, kind, summary in rows:
            typer.echo(f"{n:<{w0}}  {kind:<{w1}}  {summary}".rstrip())
        return
    if name is None:
        fail("give a derivation NAME (precond-theory derive --list shows them)")
    if latex and markdown:
        fail("--latex and --markdown exclude each other")
    try:
        resolve(name)
    except LookupError as exc:
        fail(exc.args[0])
    derive(name, fmt="latex" if latex else "markdown" if markdown else "text")

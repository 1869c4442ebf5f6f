r"""Unicode to ASCII LaTeX, for ``derive --latex`` (pdflatex) and the docs (MathJax).

SymPy's LaTeX printer copies a symbol's name verbatim, so a symbol called ``m̂`` or ``Δx``
prints as Unicode, which pdflatex rejects.  :func:`tex_math` rewrites such output into ASCII
commands (``\hat{m}``, ``{\Delta}x``); :func:`tex_text` escapes prose for text mode and puts
its Unicode symbols into inline math.  Both raise ``ValueError`` on a character they do not
know, so new Unicode never reaches a LaTeX file silently.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["tex_math", "tex_text"]

_GREEK_FIX = {"lamda": "lambda", "final sigma": "varsigma"}
#: math-mode replacements for single characters other than Greek letters
_SYMBOLS = {
    "ℓ": r"\ell", "∇": r"\nabla", "√": r"\surd", "‖": r"\|", "≤": r"\leq", "≥": r"\geq", "≠": r"\neq",
    "→": r"\to", "←": r"\leftarrow", "↦": r"\mapsto", "⇔": r"\Leftrightarrow", "⇒": r"\Rightarrow",
    "≡": r"\equiv", "≈": r"\approx", "·": r"\cdot", "×": r"\times", "∞": r"\infty", "∈": r"\in",
    "∑": r"\sum", "∏": r"\prod", "∂": r"\partial", "⊙": r"\odot", "±": r"\pm", "∓": r"\mp", "′": "'",
    "−": "-", "–": "-", "—": "-", "§": r"\S", "°": r"^{\circ}", "∅": r"\emptyset", "∩": r"\cap",
    "∪": r"\cup", "⊂": r"\subset", "⊆": r"\subseteq", "∀": r"\forall", "∃": r"\exists", "¬": r"\neg",
    "∧": r"\wedge", "∨": r"\vee", "⟨": r"\langle", "⟩": r"\rangle", "…": r"\dots", "∗": "*",
    "ϵ": r"\epsilon", "ε": r"\varepsilon", "ϕ": r"\phi", "φ": r"\varphi", "ϑ": r"\vartheta",
    "ℝ": r"\mathbb{R}", "𝔼": r"\mathbb{E}",
}
_SUPER = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱᵀᵏ", "0123456789+-=()niTk"))
_SUB = dict(zip("₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₒₓₖₗₘₙₚₛₜᵢⱼ", "0123456789+-=()aeoxklmnpstij"))
#: combining accents (after their base character)
_ACCENTS = {"\u0302": r"\hat", "\u0303": r"\tilde", "\u0304": r"\bar", "\u0307": r"\dot", "\u0308": r"\ddot",
            "\u20d7": r"\vec"}
_TEXT_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                 "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}"}


def _char(ch: str) -> str:
    """Math-mode LaTeX for one non-ASCII character (without sub/superscripts or accents)."""
    if ch in _SYMBOLS:
        return _SYMBOLS[ch]
    name = unicodedata.name(ch, "")
    m = re.fullmatch(r"GREEK (SMALL|CAPITAL) LETTER ([A-Z ]+)", name)
    if m:
        word = _GREEK_FIX.get(m[2].lower(), m[2].lower())
        if m[1] == "CAPITAL":
            # capitals that look like Latin letters have no command: use the Latin letter
            latin = {"alpha": "A", "beta": "B", "epsilon": "E", "zeta": "Z", "eta": "H", "iota": "I",
                     "kappa": "K", "mu": "M", "nu": "N", "omicron": "O", "rho": "P", "tau": "T", "chi": "X"}
            return latin.get(word, "\\" + word.capitalize())
        return "\\" + word
    decomposed = unicodedata.normalize("NFD", ch)
    if decomposed != ch and len(decomposed) == 2 and decomposed[1] in _ACCENTS:  # precomposed ĥ, ã, ...
        return f"{_ACCENTS[decomposed[1]]}{{{_char(decomposed[0]) if ord(decomposed[0]) > 127 else decomposed[0]}}}"
    raise ValueError(f"no LaTeX form for the character {ch!r} (U+{ord(ch):04X} {name})")


def _tokens(s: str) -> list[tuple[str, str]]:
    """Split into ('ascii', text) and ('math', latex) tokens; accents bind to the previous char."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(s):
        ch = s[i]
        nxt = s[i + 1] if i + 1 < len(s) else ""
        if nxt in _ACCENTS:
            base = ch if ord(ch) < 128 else _char(ch)
            out.append(("math", f"{_ACCENTS[nxt]}{{{base}}}"))
            i += 2
            continue
        if ch in _SUPER or ch in _SUB:
            table, mark = (_SUPER, "^") if ch in _SUPER else (_SUB, "_")
            j = i
            while j < len(s) and s[j] in table:
                j += 1
            out.append(("math", f"{mark}{{{''.join(table[c] for c in s[i:j])}}}"))
            i = j
            continue
        if ord(ch) < 128:
            out.append(("ascii", ch))
        else:
            cmd = _char(ch)
            out.append(("math", cmd + " " if re.search(r"\\[A-Za-z]+$", cmd) else cmd))  # "\beta x", not "\betax"
        i += 1
    return out


def tex_math(s: str) -> str:
    r"""ASCII LaTeX for math-mode text that may contain Unicode (``m̂`` -> ``\hat{m}``).

    Raises
    ------
    ValueError
        If ``s`` holds a character without a known LaTeX form.
    """
    return "".join(t for _, t in _tokens(s))


def tex_text(s: str) -> str:
    r"""ASCII LaTeX for prose: special characters escaped, Unicode symbols in inline math.

    An ASCII letter directly followed by a subscript or an accent joins the math group
    (``β₁`` -> ``$\beta_{1}$``, ``m̂`` -> ``$\hat{m}$``).
    """
    toks = _tokens(s)
    out: list[str] = []
    math: list[str] = []

    def flush() -> None:
        if math:
            out.append("$" + "".join(math) + "$")
            math.clear()

    for k, (kind, t) in enumerate(toks):
        if kind == "math":
            if t[0] in "^_" and not math and out and re.fullmatch(r"[A-Za-z0-9]", out[-1]):
                math.append(out.pop())  # x₁: the base letter goes into math too
            math.append(t)
        else:
            flush()
            out.append(_TEXT_ESCAPES.get(t, t))
    flush()
    return "".join(out)

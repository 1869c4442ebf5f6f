r"""The :class:`Derivation` record and the registry of symbolic checks.

Every check in :mod:`proofs_checks` is a function without arguments, registered with
:func:`check`, that returns a :class:`Derivation`: a list of steps (a sentence and a SymPy
object each) and one or more *residuals*.  A residual is either a SymPy expression that must
simplify to ``0`` or a SymPy boolean that must be ``True``; :meth:`Derivation.holds` verifies
them and the tests assert it.  Derivations are built lazily and cached, since some of them
call :func:`sympy.solve` or :func:`sympy.limit`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import sympy as sp

__all__ = ["CHECKS", "Derivation", "Step", "check", "get_check", "is_zero", "residual_ok"]


@dataclasses.dataclass(frozen=True)
class Step:
    """One line of a derivation: a sentence and the SymPy object it states."""

    text: str
    expr: Any = None


@dataclasses.dataclass(frozen=True)
class Derivation:
    r"""A symbolic derivation: its steps and the residuals that prove it.

    Parameters
    ----------
    name : str
        Registry name (``precond-theory derive NAME``).
    title : str
        One-line statement of what is derived.
    steps : tuple of Step
        The derivation, in order; each step is a sentence and a SymPy object (equation,
        expression, set or boolean) shown by the CLI.
    residuals : tuple of (str, sympy object)
        Labelled residuals: an expression that must simplify to ``0`` or a boolean that must
        be ``True``.
    reference : str
        Where the statement comes from (paper and equation, or the spec section).
    """

    name: str
    title: str
    steps: tuple[Step, ...]
    residuals: tuple[tuple[str, Any], ...]
    reference: str = ""

    @property
    def residual(self) -> Any:
        """The first residual (most checks have exactly one)."""
        return self.residuals[0][1]

    def failures(self) -> list[str]:
        """Labels of the residuals that do not simplify to 0 / True (empty when it holds)."""
        return [label for label, r in self.residuals if not residual_ok(r)]

    def holds(self) -> bool:
        """True when every residual simplifies to 0 (expressions) or is True (booleans)."""
        return not self.failures()


def is_zero(expr: Any) -> bool:
    """True when ``expr`` simplifies to exactly 0 (matrices and tuples: every entry)."""
    if isinstance(expr, (sp.MatrixBase, list, tuple, sp.Tuple)):
        return all(is_zero(e) for e in expr)
    e = sp.sympify(expr)
    if e == 0:
        return True
    return sp.simplify(e) == 0


def residual_ok(r: Any) -> bool:
    """Residual test: booleans must be ``True``, everything else must simplify to 0."""
    if isinstance(r, bool):
        return r
    if isinstance(r, sp.logic.boolalg.Boolean) and not isinstance(r, sp.Expr):
        return r is sp.true or bool(sp.simplify(r) is sp.true)
    return is_zero(r)


#: name -> (topic, builder); filled by :func:`check`.
CHECKS: dict[str, tuple[str, Callable[[], Derivation]]] = {}


def check(name: str, topic: str) -> Callable[[Callable[[], Derivation]], Callable[[], Derivation]]:
    """Register a derivation builder under ``name`` (cached: each is built once)."""

    def deco(fn: Callable[[], Derivation]) -> Callable[[], Derivation]:
        if name in CHECKS:
            raise TypeError(f"check name {name!r} is registered twice")
        cached = functools.cache(fn)
        CHECKS[name] = (topic, cached)
        return cached

    return deco


def get_check(name: str) -> Derivation:
    """Build (or fetch from cache) the derivation registered as ``name``.

    An old kebab-case name (``heavy-ball-quadratic``) is accepted with a ``DeprecationWarning``.
    """
    if name not in CHECKS and name.replace("-", "_") in CHECKS:
        import warnings

        new = name.replace("-", "_")
        warnings.warn(f"check name {name!r} is deprecated; use {new!r}", DeprecationWarning, stacklevel=2)
        name = new
    try:
        return CHECKS[name][1]()
    except KeyError:
        raise ValueError(f"unknown check {name!r}; known checks: {', '.join(sorted(CHECKS))}") from None

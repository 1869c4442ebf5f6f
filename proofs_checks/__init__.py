r"""SymPy derivations of the update rules and of classical rate results, cross-checked against
the numeric rules of :mod:`precond_theory`.

Two kinds of derivation, both shown by ``precond-theory derive NAME``:

* **checks** (:func:`available_checks`): a statement derived symbolically, one module per topic
  (:mod:`.moments`, :mod:`.ravine`, :mod:`.decay`, :mod:`.soaa`, :mod:`.lion`, :mod:`.adamrag`,
  :mod:`.hadapgradm`, :mod:`.quadratic`), each a :class:`Derivation` whose residuals must
  simplify to 0 (or be True);
* **rules** (:func:`precond_theory.rules.available`): the one-step update of the rule's symbolic
  twin (:mod:`.twins`), an independent implementation from ``docs/spec/index.md`` that is
  compared with the numeric rule to round-off.

The package is imported lazily: ``import proofs_checks`` is cheap; the modules (and SymPy) load
on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "CHECK_MODULES",
    "RELATED",
    "Derivation",
    "available_checks",
    "get_check",
    "known_names",
    "rule_derivation",
]

#: modules that register checks, in display order
CHECK_MODULES = ("moments", "ravine", "decay", "soaa", "lion", "adamrag", "hadapgradm", "quadratic")

#: rule name -> names of the checks that derive something about it
RELATED: dict[str, tuple[str, ...]] = {
    "sgd": ("torch_nesterov_ravine", "gd_quadratic"),
    "heavy_ball": ("heavy_ball_quadratic",),
    "nesterov": ("ravine_nesterov", "nesterov_quadratic"),
    "ravine": ("ravine_nesterov", "torch_nesterov_ravine", "ravine_quadratic"),
    "adam": ("adam_bias_correction", "adam_efficient_epsilon"),
    "amsgrad": ("amsgrad_orderings", "adam_bias_correction"),
    "adamw": ("decoupled_decay_intrinsic",),
    "preconditioned": ("decoupled_decay_intrinsic", "l1_intrinsic", "gradient_regularization_intrinsic"),
    "lion": ("lion_box_fixed_point",),
    "soaa": ("soaa_min_form",),
    "adamrag": ("adamrag_zero_extrapolation",),
    "hadapgradm": ("hadapgradm_switch_limits",),
    "adabound": ("hadapgradm_switch_limits",),
}


def _load() -> Any:
    from . import _core

    for mod in CHECK_MODULES:
        importlib.import_module(f".{mod}", __name__)
    return _core


def available_checks() -> list[str]:
    """Names of every registered check, sorted."""
    return sorted(_load().CHECKS)


def get_check(name: str):
    """The :class:`Derivation` of check ``name`` (built once, then cached)."""
    return _load().get_check(name)


def known_names() -> list[str]:
    """Everything ``derive`` accepts: check names and registered rule names."""
    from precond_theory.rules import available

    return sorted(set(available_checks()) | set(available()))


def rule_derivation(name: str, case_index: int = 0, *, verify: bool = True):
    """A :class:`Derivation` showing the one-step update of rule ``name`` (its symbolic twin).

    With ``verify`` its residuals are the results of comparing the twin with the numeric rule
    (one step from reached states, k steps on a quadratic, the composed k-step map), as booleans.
    """
    import sympy as sp

    from . import twins
    from ._core import Derivation, Step

    twin = twins.get_twin(name)
    from precond_theory.rules import get

    cls = get(name)
    case = twin.cases[case_index]
    steps = [Step(f"{cls.__name__} ({cls.fidelity.upper()}): {cls.reference}", None),
             Step(f"written from: {twin.source}", None)]
    try:
        rows = twins.display_equations(name, case_index)
    except ValueError:  # a case whose fixed vectors need more coordinates
        rows = twins.display_equations(name, case_index, n=3)
    steps += [Step(text, expr) for text, expr in rows]
    residuals: list[tuple[str, Any]] = []
    if verify:
        for label, fn in (("one step from reached states = numeric rule", twins.compare_one_step),
                          ("k steps on a diagonal quadratic = numeric rule", twins.compare_quadratic_run),
                          ("composed 3-step map = numeric rule", twins.compare_composed)):
            try:
                fn(name, case_index)
                ok = sp.true
            except twins.Mismatch as exc:
                ok = sp.false
                steps.append(Step(f"MISMATCH: {exc}", None))
            residuals.append((label, ok))
    related = RELATED.get(name, ())
    if related:
        steps.append(Step("related derivations: " + ", ".join(related), None))
    return Derivation(name=name, title=f"one update of {name!r} ({case.label or 'default case'}), symbolic twin",
                      steps=tuple(steps), residuals=tuple(residuals), reference=cls.reference)


def __getattr__(name: str) -> Any:
    if name == "Derivation":
        from ._core import Derivation

        return Derivation
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

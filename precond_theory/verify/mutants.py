"""Rule mutants: deliberately broken variants of a rule, derived from its fields through the
public API (``dataclasses.replace`` on the rule's hyperparameters, re-validated by the rule;
``rules.with_schedule``; ``rules.make``), to measure whether a claim's check can fail.

Each catalog claim that names a rule lists the mutants it must reject (``mutants = [...]`` in
``claims.toml``); :mod:`~precond_theory.verify.power` measures the rejection rates.  A mutant
that does not apply to a rule (no such field, or already the mutated value) raises
:class:`MutantNotApplicable`; one that the rule's validation refuses raises
:class:`MutantRefused` with the rule's message: both are reported, never skipped silently.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._checks import check_names as _check_names

__all__ = ["Mutant", "MUTANTS", "MutantNotApplicable", "MutantRefused", "apply_mutant", "check_names",
           "applicable_mutants"]


class MutantNotApplicable(ValueError):
    """The mutant has nothing to change in this rule."""


class MutantRefused(ValueError):
    """The rule's own validation refuses the mutated configuration."""


@dataclass(frozen=True)
class Mutant:
    """``name``, what it breaks (``text``), and ``transform(base_rule) -> replacement`` on the
    innermost rule (``outer`` mutants act on the whole wrapped rule instead)."""

    name: str
    text: str
    transform: Callable[[Any], Any]
    outer: bool = False


def _replace(rule: Any, **changes: Any) -> Any:
    names = {f.name for f in dataclasses.fields(rule)}
    missing = sorted(set(changes) - names)
    if missing:
        raise MutantNotApplicable(f"rule {rule.name!r} has no field {', '.join(missing)}")
    try:
        from ..rules.base import rebuild

        return rebuild(rule, **changes)  # amsgrad with amsgrad=False is adam (the preset refuses it)
    except (TypeError, ValueError) as exc:
        raise MutantRefused(f"rule {rule.name!r} refuses {changes}: {exc}") from None


def _get(rule: Any, name: str) -> Any:
    if not any(f.name == name for f in dataclasses.fields(rule)):
        raise MutantNotApplicable(f"rule {rule.name!r} has no field {name!r}")
    return getattr(rule, name)


def _unchanged(r: Any, field: str, new: Any) -> None:
    import numpy as np

    cur = _get(r, field)
    if np.array_equal(np.asarray(cur), np.asarray(new)):
        raise MutantNotApplicable(f"rule {r.name!r} has {field} = {cur!r}: the mutant would leave it unchanged")


def _scale(field: str, factor: float) -> Callable[[Any], Any]:
    def t(r: Any) -> Any:
        new = _get(r, field) * factor
        _unchanged(r, field, new)
        return _replace(r, **{field: new})
    return t


def _flip(field: str) -> Callable[[Any], Any]:
    def t(r: Any) -> Any:
        new = -_get(r, field)
        _unchanged(r, field, new)
        return _replace(r, **{field: new})
    return t


def _set(field: str, value: Any, *, unless: Callable[[Any], bool] | None = None) -> Callable[[Any], Any]:
    def t(r: Any) -> Any:
        cur = _get(r, field)
        if (unless is not None and unless(cur)) or (unless is None and cur == value):
            raise MutantNotApplicable(f"rule {r.name!r} already has {field} = {cur!r}")
        return _replace(r, **{field: value})
    return t


def _neg(k: int) -> float:
    return -1.0


def _sign_flip(rule: Any) -> Any:
    from ..rules import with_schedule

    return with_schedule(rule, _neg)


def _drop_schedule(rule: Any) -> Any:
    from ..rules.wrappers import WithSchedule

    found = []

    def strip(r: Any) -> Any:
        if isinstance(r, WithSchedule):
            found.append(r)
            return strip(r.inner)
        if hasattr(r, "inner"):
            return dataclasses.replace(r, inner=strip(r.inner))
        return r
    out = strip(rule)
    if not found:  # (a projection wrapper is rebuilt, but nothing changed)
        raise MutantNotApplicable(f"rule {rule.name!r} has no schedule to drop")
    return out


def _replace_by(name: str) -> Callable[[Any], Any]:
    def t(r: Any) -> Any:
        from .. import rules

        if r.name == name:
            raise MutantNotApplicable(f"rule is already {name!r}")
        return rules.make(name, lr=_get(r, "lr"))
    return t


def _ema_for_sum(r: Any) -> Any:
    from .. import rules

    if r.name != "adagrad":
        raise MutantNotApplicable(f"rule {r.name!r} has no accumulated sum of squared gradients (AdaGrad's)")
    return rules.make("adam", lr=_get(r, "lr"), b1=0.0, b2=0.1, eps=_get(r, "eps"))


def _drop_preconditioner(r: Any) -> Any:
    if _get(r, "diag") is None and _get(r, "matrix") is None:
        raise MutantNotApplicable(f"rule {r.name!r} has no fixed preconditioner to drop")
    return _replace(r, diag=None, matrix=None)


def _unbounded(r: Any) -> Any:
    _get(r, "cap")
    return _replace(r, cap=float("inf"), delta=None)


MUTANTS: dict[str, Mutant] = {m.name: m for m in (
    Mutant("lr_x0.5", "step size halved", _scale("lr", 0.5)),
    Mutant("lr_x1.5", "step size times 1.5", _scale("lr", 1.5)),
    Mutant("lr_x2", "step size doubled", _scale("lr", 2.0)),
    Mutant("lr_x4", "step size times 4", _scale("lr", 4.0)),
    Mutant("sign_flip", "update direction flipped (ascent)", _sign_flip, outer=True),
    Mutant("schedule_dropped", "the decaying step schedule removed (constant step)", _drop_schedule, outer=True),
    Mutant("momentum_add", "heavy-ball momentum 0.5 added", _set("momentum", 0.5, unless=lambda v: v != 0)),
    Mutant("momentum_x0.5", "momentum halved", _scale("momentum", 0.5)),
    Mutant("b1_zero", "first moment dropped (b1 = 0)", _set("b1", 0.0)),
    Mutant("b2_0.999", "second-moment EMA b2 = 0.999", _set("b2", 0.999)),
    Mutant("b2_0.5", "second-moment EMA b2 = 0.5", _set("b2", 0.5)),
    Mutant("no_bias_correction", "bias correction dropped", _set("bias_correction", False)),
    Mutant("ema_for_max", "AMSGrad's max replaced by the plain EMA (Adam)", _set("amsgrad", False)),
    Mutant("max_for_ema", "the EMA replaced by AMSGrad's max", _set("amsgrad", True)),
    Mutant("no_extrapolation", "the extrapolation (momentum on the iterates) removed", _set("momentum", 0.0)),
    Mutant("extrapolation_flipped", "the extrapolation's sign flipped", _flip("momentum")),
    Mutant("ema_for_sum", "AdaGrad's sum of squared gradients replaced by an EMA (RMSprop: Adam with b1 = 0, "
           "b2 = 0.1, Reddi et al.'s 1/(1+C^2) at C = 3)", _ema_for_sum),
    Mutant("unbounded_preconditioner", "the preconditioner bounds removed (cap = inf, delta = None)", _unbounded),
    Mutant("preconditioner_dropped", "the fixed preconditioner M replaced by the identity (plain GD at the same "
           "step)", _drop_preconditioner),
    Mutant("replace_sgd", "the rule replaced by plain SGD with the same lr", _replace_by("sgd")),
    Mutant("replace_signsgd", "the rule replaced by signSGD with the same lr", _replace_by("signsgd")),
)}


def check_names(names: Any, where: str = "mutants") -> tuple[str, ...]:
    """Validate mutant names against :data:`MUTANTS`; raise ``ValueError`` naming ``where``."""
    return _check_names(names, MUTANTS, "mutant", where)


def _apply_one(m: Mutant, rule: Any) -> Any:
    if m.outer:
        return m.transform(rule)
    if hasattr(rule, "inner"):
        return dataclasses.replace(rule, inner=_apply_one(m, rule.inner))
    return m.transform(rule)


def apply_mutant(name: str, rule: Any) -> Any:
    """The mutant ``name`` of ``rule`` (a rule, or a callable ``T -> rule`` for per-horizon claims)."""
    m = MUTANTS[check_names(name, "mutant")[0]]
    from ..rules.base import AbstractRule

    if isinstance(rule, AbstractRule):
        return _apply_one(m, rule)
    if callable(rule):
        return lambda T: _apply_one(m, rule(T))
    raise TypeError(f"mutant {name!r}: rule must be a rule or a callable T -> rule; got {type(rule).__name__}")


def applicable_mutants(rule: Any) -> dict[str, str]:
    """Every registered mutant against ``rule``: name -> "ok" or why it does not apply / is refused."""
    out = {}
    for name in MUTANTS:
        try:
            apply_mutant(name, rule)
            out[name] = "ok"
        except (MutantNotApplicable, MutantRefused) as exc:
            out[name] = str(exc)
    return out

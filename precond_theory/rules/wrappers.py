r"""Wrappers around any rule: weight decay (coupled or decoupled), learning-rate schedules,
projection onto a box or a ball.

A wrapper is itself a rule: it delegates ``init``/``query``/``preconditioner`` to the rule it
wraps and changes one thing in ``_step``.  Schedules multiply the learning rate that is passed
down to the inner rule (so decoupled decay scaled by lr sees the scheduled lr, as torch's
AdamW under a scheduler does).

Wrapping never renames the rule: ``name`` is the wrapped rule's name, ``hyperparameters()``
has the wrapped rule's keys unchanged plus the wrapper's own under its prefix
(``schedule``; ``weight_decay``, ``weight_decay_coupled``, ``weight_decay_scale_by_lr``;
``projection_box_lo``, ``projection_box_hi``, ``projection_ball``), and the chain of wrappers,
innermost first, is :attr:`~precond_theory.rules.AbstractRule.wrappers`
(e.g. ``("schedule", "projection")``).  So wrapped and plain runs share their table columns.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

from .._checks import check_choice, check_int, check_range, host_values
from .base import AbstractRule, Hyper, hp, nonzero, option, rule_dataclass

__all__ = [
    "WithWeightDecay", "WithSchedule", "WithProjection", "ScheduleState",
    "with_weight_decay", "with_schedule", "with_projection", "make_schedule", "SCHEDULES",
]

Array = Any


@rule_dataclass
class _Wrapper(AbstractRule):
    inner: AbstractRule

    def __post_init__(self) -> None:
        if not isinstance(self.inner, AbstractRule):
            raise TypeError(f"inner must be a rule (an AbstractRule instance); got {type(self.inner).__name__}")
        super().__post_init__()

    #: the wrapper's label in :attr:`wrappers` and the prefix of its hyperparameter keys
    label: ClassVar[str] = "wrapper"
    #: own field -> hyperparameter key (default ``f"{label}_{field}"``)
    columns: ClassVar[dict[str, str]] = {}

    # the name and capabilities are the wrapped rule's
    @property
    def name(self) -> str:  # type: ignore[override]
        return self.inner.name

    @property
    def wrappers(self) -> tuple[str, ...]:
        return (*self.inner.wrappers, self.label)

    def _what(self) -> str:
        return f"the {self.label} wrapper of {self.inner.name!r}"

    def hyperparameters(self) -> dict[str, Any]:
        """The wrapped rule's hyperparameters under their own names, plus this wrapper's fields
        under its prefix (a second wrapper of the same kind gets ``_2``, ``_3``, ...)."""
        out = self.inner.hyperparameters()
        own = super().hyperparameters()
        own.pop("inner.name", None)
        for k in [k for k in own if k.startswith("inner.")]:
            del own[k]
        for field, value in self._own_columns(own).items():
            key, i = field, 2
            while key in out:
                key, i = f"{field}_{i}", i + 1
            out[key] = value
        return out

    def _own_columns(self, own: dict[str, Any]) -> dict[str, Any]:
        return {self.columns.get(k, f"{self.label}_{k}"): v for k, v in own.items()}

    @property
    def needs_value(self) -> bool:  # type: ignore[override]
        return self.inner.needs_value

    @property
    def needs_hvp(self) -> bool:  # type: ignore[override]
        return self.inner.needs_hvp

    @property
    def has_preconditioner(self) -> bool:  # type: ignore[override]
        return self.inner.has_preconditioner

    @property
    def fidelity(self) -> str:  # type: ignore[override]
        return self.inner.fidelity

    @property
    def lr(self) -> Any:
        return self.inner.lr

    def init(self, x: Array) -> Any:
        return self.inner.init(x)

    def query(self, x: Array, state: Any) -> Array:
        return self.inner.query(x, state)

    def preconditioner(self, state: Any) -> Array | None:
        return self.inner.preconditioner(state)


@rule_dataclass
class WithWeightDecay(_Wrapper):
    r"""Weight decay around any rule.

    * ``coupled=True`` (L2): the inner rule sees :math:`g + \lambda x` (so an adaptive rule
      preconditions the decay too).
    * ``coupled=False`` (decoupled): :math:`dx = dx_{inner} - c\,\lambda x` with
      :math:`c = \gamma_k` (``scale_by_lr=True``, torch AdamW) or :math:`c = 1` (fixed decay).

    ``scale_by_lr`` is read only by decoupled decay with ``wd != 0``, ``coupled`` only with
    ``wd != 0``: explicit values otherwise are refused.
    """

    wd: Hyper = 0.0
    coupled: bool = False
    scale_by_lr: bool = True
    label: ClassVar[str] = "weight_decay"
    columns: ClassVar[dict[str, str]] = {"wd": "weight_decay", "coupled": "weight_decay_coupled",
                                         "scale_by_lr": "weight_decay_scale_by_lr"}
    reads: ClassVar = {"scale_by_lr": option("coupled", False) & nonzero("wd"), "coupled": nonzero("wd")}

    def _validate(self) -> None:
        check_range("wd", self.wd, 0.0)

    def _step(self, xp, g, state, x, *, lr, value=None, hvp=None):
        wd = hp(self.wd, x, xp)
        if self.coupled:
            return self.inner._step(xp, g + wd * x, state, x, lr=lr, value=value, hvp=hvp)
        dx, state = self.inner._step(xp, g, state, x, lr=lr, value=value, hvp=hvp)
        return dx - (lr if self.scale_by_lr else 1.0) * wd * x, state


class ScheduleState(NamedTuple):
    k: int
    inner: Any


SCHEDULES = ("constant", "inverse_sqrt", "step", "cosine", "warmup")


def make_schedule(kind: str, *, total_steps: int | None = None, step_size: int | None = None,
                  gamma: float = 0.1, warmup_steps: int | None = None, final: float = 0.0) -> Callable[[int], float]:
    r"""Learning-rate factor :math:`s(k)` for update k = 0, 1, ...

    ============== ====================================================== ====================
    kind           factor                                                  parameters
    ============== ====================================================== ====================
    constant       1
    inverse_sqrt   :math:`1/\sqrt{k+1}`
    step           :math:`\gamma^{\lfloor k/\text{step\_size}\rfloor}`   step_size, gamma
    cosine         final + (1-final)(1+cos(πk/T))/2, k ≤ T                total_steps, final
    warmup         :math:`\min(1, (k+1)/\text{warmup\_steps})`            warmup_steps
    ============== ====================================================== ====================
    """
    check_choice("schedule", kind, SCHEDULES)
    if kind == "constant":
        return _named(lambda k: 1.0, "constant")
    if kind == "inverse_sqrt":
        return _named(lambda k: 1.0 / math.sqrt(k + 1), "inverse_sqrt")
    if kind == "step":
        if step_size is None:
            raise ValueError("schedule 'step' needs step_size=<int >= 1>")
        n = check_int("step_size", step_size, 1)
        check_range("gamma", gamma, 0.0, 1.0, lo_open=True)
        return _named(lambda k: gamma ** (k // n), f"step({n},{gamma:g})")
    if kind == "cosine":
        if total_steps is None:
            raise ValueError("schedule 'cosine' needs total_steps=<int >= 1>")
        t = check_int("total_steps", total_steps, 1)
        check_range("final", final, 0.0, 1.0)
        return _named(lambda k: final + (1 - final) * 0.5 * (1 + math.cos(math.pi * min(k, t) / t)), f"cosine({t})")
    if warmup_steps is None:
        raise ValueError("schedule 'warmup' needs warmup_steps=<int >= 1>")
    w = check_int("warmup_steps", warmup_steps, 1)
    return _named(lambda k: min(1.0, (k + 1) / w), f"warmup({w})")


def _named(f: Callable[[int], float], name: str) -> Callable[[int], float]:
    f.__name__ = name
    return f


@rule_dataclass
class WithSchedule(_Wrapper):
    r"""Multiply the learning rate of update k (k = 0, 1, ...) by ``schedule(k)``."""

    schedule: Callable[[int], Any] = make_schedule("constant")
    label: ClassVar[str] = "schedule"
    columns: ClassVar[dict[str, str]] = {"schedule": "schedule"}

    def _validate(self) -> None:
        if not callable(self.schedule):
            raise TypeError(f"schedule must be a callable k -> factor or one of {SCHEDULES}; got {self.schedule!r}")

    def init(self, x: Array) -> ScheduleState:
        return ScheduleState(k=0, inner=self.inner.init(x))

    def query(self, x, state):
        return self.inner.query(x, state.inner)

    def preconditioner(self, state):
        return self.inner.preconditioner(state.inner)

    def _step(self, xp, g, state, x, *, lr, value=None, hvp=None):
        factor = self.schedule(state.k)
        dx, inner = self.inner._step(xp, g, state.inner, x, lr=lr * hp(factor, x, xp), value=value, hvp=hvp)
        return dx, ScheduleState(k=state.k + 1, inner=inner)


@rule_dataclass
class WithProjection(_Wrapper):
    r"""Projected steps: :math:`x_{k+1} = \Pi_C(x_k + dx)` onto a box :math:`[lo, hi]^n` or a
    Euclidean ball :math:`\{\|x\|_2 \le r\}` (give exactly one of ``box`` and ``ball``)."""

    box: tuple[Any, Any] | None = None
    ball: Hyper = None
    label: ClassVar[str] = "projection"

    def _own_columns(self, own: dict[str, Any]) -> dict[str, Any]:
        lo, hi = (None, None) if self.box is None else self.box
        return {"projection_box_lo": _column(lo), "projection_box_hi": _column(hi), "projection_ball": own["ball"]}

    def _validate(self) -> None:
        if (self.box is None) == (self.ball is None):
            raise ValueError("give exactly one of box=(lo, hi) and ball=radius")
        if self.box is not None:
            if not (isinstance(self.box, tuple) and len(self.box) == 2):
                raise ValueError(f"box must be a pair (lo, hi); got {self.box!r}")
            lo, hi = self.box
            check_range("box lo", lo)
            check_range("box hi", hi)
            if not bool((host_values("box hi", hi) >= host_values("box lo", lo)).all()):
                raise ValueError(f"box needs lo <= hi; got box={self.box!r}")
        else:
            check_range("ball", self.ball, 0.0, lo_open=True)

    def project(self, x: Array, xp: Any) -> Array:
        """Euclidean projection onto the set."""
        if self.box is not None:
            lo, hi = (hp(b, x, xp) for b in self.box)
            return xp.minimum(xp.maximum(x, lo), hi)
        r = hp(self.ball, x, xp)
        norm = xp.sqrt(xp.sum(x * x, axis=-1, keepdims=True))
        return x * xp.minimum(1.0, r / xp.maximum(norm, xp.finfo(x.dtype).tiny))

    def _step(self, xp, g, state, x, *, lr, value=None, hvp=None):
        dx, state = self.inner._step(xp, g, state, x, lr=lr, value=value, hvp=hvp)
        return self.project(x + dx, xp) - x, state


def _column(v: Any) -> Any:
    return v if v is None or isinstance(v, (int, float)) else host_values("box", v)


_UNSET: Any = object()


def with_weight_decay(rule: AbstractRule, wd: Any, coupled: bool = _UNSET, scale_by_lr: bool = _UNSET) -> AbstractRule:
    """Wrap ``rule`` with weight decay (see :class:`WithWeightDecay`): ``coupled`` (default
    False) and ``scale_by_lr`` (default True) count as given only when passed, so that one the
    configuration does not read is refused rather than ignored.

    A schedule wrapper is kept outermost, so that decoupled decay sees the scheduled lr.
    """
    if isinstance(rule, WithSchedule):
        return dataclasses.replace(rule, inner=with_weight_decay(rule.inner, wd, coupled, scale_by_lr))
    options = {k: v for k, v in (("coupled", coupled), ("scale_by_lr", scale_by_lr)) if v is not _UNSET}
    return WithWeightDecay(inner=rule, wd=wd, **options)


def with_schedule(rule: AbstractRule, schedule: str | Callable[[int], Any], **params: Any) -> AbstractRule:
    """Wrap ``rule`` with a learning-rate schedule: a callable ``k -> factor`` or a name in
    :data:`SCHEDULES` with its parameters (see :func:`make_schedule`)."""
    if isinstance(schedule, str):
        schedule = make_schedule(schedule, **params)
    elif params:
        raise TypeError("schedule parameters are only accepted with a named schedule")
    return WithSchedule(inner=rule, schedule=schedule)


def with_projection(rule: AbstractRule, *, box: tuple[Any, Any] | None = None, ball: Any = None) -> AbstractRule:
    """Wrap ``rule`` with a Euclidean projection onto ``box=(lo, hi)`` or ``ball=radius``."""
    return WithProjection(inner=rule, box=box, ball=ball)

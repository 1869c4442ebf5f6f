"""Compiled CPU steps (numba): one fused pass over x, g and the state per update.

:func:`compile_step` returns a :class:`CompiledStep` for a covered rule and NumPy float32/float64
iterates when numba is installed (the ``fast`` extra), and ``None`` otherwise (``kernel="auto"``),
so :func:`precond_theory.run` falls back to the rule's reference ``_step`` (the array-API path,
which is also what CuPy and every other namespace use).  The compiled arithmetic is the
reference's, operation for operation and in the same order, so the two agree to a few ulp per
step; ``tests/test_fast.py`` checks this for every covered rule and option, batched
hyperparameters included.

:func:`compile_segment` goes further for runs on a quadratic with the exact oracle: every
step between two record points (gradient, update, norm, divergence scan) in one compiled call
(:mod:`._segments`, ``run(kernel="numba")``).

Covered: ``sgd``, ``heavy_ball``, ``nesterov``, ``ravine``, ``adagrad``, ``rmsprop``, ``adam``,
``amsgrad``, ``adamw``, ``nadam``, ``lion``, ``signsgd``, ``rprop``, ``adarem``, ``adamrag``, ``soaa``, each
with every option, and ``adapgradm``/``hadapgradm`` with every option but ``curvature="hutchinson"``
and ``switch="swats"`` (refused naming the option: :meth:`._plan_base.Plan.refusal`).  Not covered
(reference path): ``preconditioned``, ``apollo``, ``agd``, ``adabelief``, ``adabound``, ``swats``
and every wrapped rule (schedules, projections, weight-decay wrappers).  Compiled segments cover
the rules that query at x and have a segment driver (not ``soaa``, ``adapgradm``, ``hadapgradm``:
their compiled update runs with the loop in Python).
"""

from __future__ import annotations

import dataclasses
import importlib.util
from typing import Any, Literal

import numpy as np

from ..rules.base import AbstractRule

__all__ = ["compile_step", "CompiledStep", "covered_rules", "numba_available", "not_covered_reason", "compile_segment",
           "segment_reason"]

Kernel = Literal["auto", "numba", "reference"]


_NO_NUMBA = "numba is not installed (pip install 'precond-theory[fast]')"


def numba_available() -> bool:
    """True when numba can be imported (the ``fast`` extra)."""
    return importlib.util.find_spec("numba") is not None


def covered_rules() -> tuple[str, ...]:
    """Registry names of the rules that have a compiled step."""
    from ._plans import PLANS

    return tuple(sorted({cls.name for cls in PLANS}))


def not_covered_reason(rule: Any, x: Any) -> str | None:
    """Why ``rule`` on ``x`` has no compiled step (None when it has one)."""
    if not numba_available():
        return _NO_NUMBA
    if not isinstance(x, np.ndarray):
        return f"x is a {type(x).__module__}.{type(x).__name__}, not a NumPy array (compiled steps are CPU/NumPy only)"
    if x.dtype not in (np.float32, np.float64):
        return f"x has dtype {x.dtype}; compiled steps cover float32 and float64"
    if x.ndim == 0 or x.shape[-1] == 0:
        return f"x must have shape (*batch, n) with n >= 1; got {x.shape}"
    from ._plans import PLANS

    if type(rule) not in PLANS:
        return (f"rule {getattr(rule, 'name', type(rule).__name__)!r} ({type(rule).__name__}) has no compiled step; "
                f"covered: {', '.join(covered_rules())}")
    why = PLANS[type(rule)].refusal(rule)
    if why:
        return f"rule {rule.name!r}: {why}"
    for f in dataclasses.fields(rule):
        v = getattr(rule, f.name)
        if isinstance(v, (bool, int, float, str, type(None))):
            continue
        if isinstance(v, tuple) and all(isinstance(e, int) for e in v):  # e.g. SOAA's blocks
            continue
        if not isinstance(v, (np.ndarray, np.generic)):
            return f"hyperparameter {f.name} is a {type(v).__name__}; compiled steps take Python numbers or NumPy arrays"
    return None


class CompiledStep:
    """One fused update of a covered rule: ``step(x, g, state, k, value=None) -> state``.

    ``x`` (shape ``(*batch, n)``, C-contiguous, writable) is updated in place, ``x <- x + dx``;
    the state arrays are buffers this object owns (the initial ones are copied at the first
    call), updated in place and returned in a new state of the rule's type, so that
    ``rule.preconditioner(state)`` and the reference ``rule._step`` accept it afterwards.
    """

    name = "numba-step"

    def __init__(self, rule: AbstractRule, x: np.ndarray) -> None:
        from ._plans import PLANS

        self.rule = rule
        self.shape = tuple(x.shape)
        self.dtype = x.dtype
        self._plan = PLANS[type(rule)](rule, x)
        self._R, self._n = self._plan.R, self._plan.n

    def __call__(self, x: np.ndarray, g: Any, state: Any, k: int, value: Any = None) -> Any:
        if not isinstance(x, np.ndarray) or tuple(x.shape) != self.shape or x.dtype != self.dtype:
            raise ValueError(f"x must be the NumPy array of shape {self.shape} and dtype {self.dtype} this step was "
                             f"compiled for; got {type(x).__name__} {getattr(x, 'shape', '')} {getattr(x, 'dtype', '')}")
        if not (x.flags.c_contiguous and x.flags.writeable):
            raise ValueError("x must be C-contiguous and writable: the compiled step updates it in place")
        if k != state.k:
            raise ValueError(f"k={k} but the state has applied {state.k} updates; pass the state of step k")
        g2 = np.ascontiguousarray(g, dtype=self.dtype)
        if tuple(g2.shape) != self.shape:
            raise ValueError(f"g has shape {tuple(g2.shape)} but x has shape {self.shape}; they must match")
        return self._plan.step(x.reshape(self._R, self._n), g2.reshape(self._R, self._n), state, value)

    def __repr__(self) -> str:
        return f"CompiledStep({self.rule.name!r}, shape={self.shape}, dtype={self.dtype})"


def compile_step(rule: AbstractRule, x: Any, state: Any = None, *, kernel: Kernel = "auto") -> CompiledStep | None:
    """The compiled step of ``rule`` for iterates like ``x``, or None.

    Parameters
    ----------
    rule : AbstractRule
    x : array, shape ``(*batch, n)``
        The run's iterate (only its type, dtype and shape are used).
    state : NamedTuple, optional
        The rule's initial state (not needed by the current plans; accepted for the run loop).
    kernel : {"auto", "numba", "reference"}
        ``"auto"``: a compiled step when one exists, else None; ``"numba"``: a compiled step or a
        ``ValueError`` saying why there is none; ``"reference"``: None (use ``rule._step``).

    Returns
    -------
    CompiledStep or None
    """
    if kernel not in ("auto", "numba", "reference"):
        raise ValueError(f"kernel must be 'auto', 'numba' or 'reference'; got {kernel!r}")
    if not isinstance(rule, AbstractRule):
        raise TypeError(f"rule must be a precond_theory rule; got {type(rule).__name__}")
    if kernel == "reference":
        return None
    why = not_covered_reason(rule, x)
    if why is not None:
        if kernel == "numba":
            raise ValueError(f"kernel='numba' is not available: {why}")
        return None
    rule._check_hp_shapes(x)
    return CompiledStep(rule, x)


def compile_segment(rule: AbstractRule, problem: Any, oracle: Any, x: Any, *, min_grad_norm: str | None = "every_step",
                    every_step_scan: bool = True, steps: int = 0) -> Any:
    """Compiled segments for a run of ``rule`` on ``problem`` (:mod:`._segments`), or the reason
    (a string) why the run's steps cannot be compiled whole."""
    if not numba_available():
        return _NO_NUMBA
    from ._segments import compile_segment as _compile

    return _compile(rule, problem, oracle, x, min_grad_norm=min_grad_norm, every_step_scan=every_step_scan,
                    steps=steps)


def segment_reason(rule: AbstractRule, problem: Any, oracle: Any, x: Any) -> str | None:
    """Why ``rule`` on ``problem`` with ``oracle`` has no compiled segments (None when it has)."""
    if not numba_available():
        return _NO_NUMBA
    from ._segments import segment_reason as _reason

    return _reason(rule, problem, oracle, x)

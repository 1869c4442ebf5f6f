"""Validation helpers shared by rules, problems, oracles and wrappers.

Every check raises ``ValueError``/``TypeError`` naming the field, the value received and
what is allowed, so that bad input never reaches NumPy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["check_range", "check_choice", "check_int", "host_values", "check_shapes_match"]


def host_values(name: str, value: Any) -> np.ndarray:
    """Host float64 view of a scalar-or-array hyperparameter, for validation only."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number or an array of numbers, got bool {value!r}")
    from ._xp import to_numpy

    try:
        a = np.asarray(to_numpy(value), dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array of numbers, got {value!r}") from None
    return a


def check_range(
    name: str,
    value: Any,
    lo: float = -math.inf,
    hi: float = math.inf,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> None:
    """Raise ``ValueError`` unless every entry of ``value`` lies in the interval.

    ``lo_open``/``hi_open`` make the corresponding end exclusive.  NaN is always rejected.
    """
    a = host_values(name, value)
    ok = np.isfinite(a) | (np.isinf(a) & ((a > 0) & (hi == math.inf) & (not hi_open)))
    if lo > -math.inf:
        ok &= (a > lo) if lo_open else (a >= lo)
    if hi < math.inf:
        ok &= (a < hi) if hi_open else (a <= hi)
    if not bool(np.all(ok)):
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        bad = a[~ok] if a.ndim else a
        shown = bad.flat[0] if a.ndim else float(a)
        raise ValueError(
            f"{name} must lie in {left}{lo:g}, {hi:g}{right}; got {name}={shown!r}"
            + (f" (and {bad.size - 1} more entries outside)" if a.ndim and bad.size > 1 else "")
        )


def check_choice(name: str, value: Any, allowed: Sequence[Any]) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)!r}; got {value!r}")


def check_names(names: Any, registry: Any, kind: str, where: str) -> tuple[str, ...]:
    """``names`` (one name or a sequence) as a tuple, each a key of ``registry``.

    Raises ``ValueError`` ``"<where>: unknown <kind> <name>; known: ..."`` otherwise.
    """
    names = (names,) if isinstance(names, str) else tuple(names)
    for n in names:
        if not isinstance(n, str) or n not in registry:
            raise ValueError(f"{where}: unknown {kind} {n!r}; known: {', '.join(sorted(registry))}")
    return names


def check_int(name: str, value: Any, lo: int = 0) -> int:
    """Return ``value`` as int, raising unless it is an integer ``>= lo``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= {lo}; got {value!r}")
    if value < lo:
        raise ValueError(f"{name} must be an integer >= {lo}; got {name}={value!r}")
    return int(value)


def check_shapes_match(name_a: str, a: Any, name_b: str, b: Any) -> None:
    """Raise ``ValueError`` unless arrays ``a`` and ``b`` have equal shapes and dtypes."""
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"{name_a} has shape {tuple(a.shape)} but {name_b} has shape {tuple(b.shape)}; they must match")
    if a.dtype != b.dtype:
        raise TypeError(f"{name_a} has dtype {a.dtype} but {name_b} has dtype {b.dtype}; they must match")


def broadcast_shapes(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    """Host-side ``numpy.broadcast_shapes`` returning a plain tuple (raises ValueError)."""
    return tuple(int(s) for s in np.broadcast_shapes(*shapes))

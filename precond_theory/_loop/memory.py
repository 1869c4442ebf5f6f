"""Memory estimate of a run, checked before anything is allocated; record-point work on slices of runs."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .. import _xp

__all__ = ["available_memory", "estimate_bytes", "check_memory", "fmt_bytes", "row_slices", "row_sum", "row_apply",
           "square", "runs_of", "NotSliceable"]


#: arrays of the iterate's size alive during one step besides the rule's state: x, y, g, dx
#: and about two temporaries of the arithmetic
WORK_ARRAYS = 6


def fmt_bytes(b: float) -> str:
    """``b`` bytes in the largest unit that keeps the number >= 1 (B, KiB, MiB, GiB, TiB)."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(b) < 1024:
            return f"{b:.3g} {unit}"
        b /= 1024
    return f"{b:.3g} TiB"


def available_memory(xp: Any = None) -> int | None:
    """Bytes available for new allocations: the device's free memory for CuPy, else the host's
    ``MemAvailable`` (Linux ``/proc/meminfo``) or free physical pages; None if unknown."""
    if xp is not None:
        from .._xp import is_cupy

        if is_cupy(xp):
            import cupy

            return int(cupy.cuda.Device().mem_info[0])
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def estimate_bytes(*, n_runs: int, n: int, itemsize: int, state_arrays: int, n_records: int, n_metrics: int,
                   keep_iterates: bool) -> dict[str, int]:
    """Estimated peak bytes of a run, by part.

    ``state``: the iterate-sized arrays of one step (:data:`WORK_ARRAYS`) plus the rule's
    ``state_arrays`` per run; ``metrics``: ``n_metrics`` values per run and record point (the
    recording buffers, plus one host copy on device backends); ``iterates``: ``x`` at every
    record point when kept.
    """
    state = (WORK_ARRAYS + state_arrays) * n_runs * n * itemsize
    metrics = n_records * n_runs * n_metrics * max(itemsize, 8)
    iterates = n_records * n_runs * n * itemsize if keep_iterates else 0
    return {"state": state, "metrics": metrics, "iterates": iterates, "total": state + metrics + iterates}


def check_memory(est: dict[str, int], xp: Any) -> int | None:
    """Raise ValueError quoting the estimate when it exceeds the available memory."""
    avail = available_memory(xp)
    if avail is not None and est["total"] > avail:
        raise ValueError(
            f"this run needs about {fmt_bytes(est['total'])} (rule state and work arrays {fmt_bytes(est['state'])}, "
            f"recorded metrics {fmt_bytes(est['metrics'])}, iterates {fmt_bytes(est['iterates'])}) but only "
            f"{fmt_bytes(avail)} are available: reduce batch, record fewer steps (record=...) or drop keep_iterates")
    return avail


def row_slices(x: Any) -> list[slice] | None:
    """Slices of runs (along axis 0) of about :data:`precond_theory._xp.SLICE_BYTES` each when
    ``x`` is a NumPy array with batch axes larger than that, else None (the whole array)."""
    if not isinstance(x, np.ndarray) or x.nbytes <= _xp.SLICE_BYTES:  # the common case, asked every step
        return None
    return _xp.row_slices(x.shape, x.itemsize)


def row_sum(xp: Any, fn: Any, x: Any, *others: Any) -> Any:
    """``xp.sum(fn(x, *others), axis=-1)``, one value per run, without temporaries of x's size.

    For a NumPy ``x`` larger than :data:`precond_theory._xp.SLICE_BYTES` with batch axes, ``fn`` runs on slices
    along axis 0 (:func:`row_slices`; an array of ``others`` with x's number of axes and x's
    length on axis 0 is sliced with it; the others broadcast as they are), so its temporaries
    are one slice's.  The numbers are those of the whole-array expression: each run's sum over
    its own last axis is NumPy's pairwise sum of the same values whatever the other runs
    (``tests/test_run_memory.py``).  Other namespaces evaluate the expression once.
    """
    return _by_slices(xp, fn, x, others, reduce=True)


def row_apply(fn: Any, x: Any, *others: Any) -> Any:
    """``fn(x, *others)`` (an array of x's shape, computed row by row), on the slices of
    :func:`row_sum` when x is that large: no temporaries of x's size but the result."""
    return _by_slices(None, fn, x, others, reduce=False)


def square(g: Any) -> Any:
    """``g * g``: with :func:`row_sum`, the squared norm per run (the loop's and the segments')."""
    return g * g


def _by_slices(xp: Any, fn: Any, x: Any, others: tuple, *, reduce: bool) -> Any:
    slices = row_slices(x)
    rows = x.shape[0] if slices else 0
    if not slices or not all(getattr(o, "ndim", 0) < x.ndim or (o.ndim == x.ndim and o.shape[0] in (1, rows))
                             for o in others):
        v = fn(x, *others)
        return xp.sum(v, axis=-1) if reduce else v
    out = None
    for sl in slices:
        parts = [o[sl] if (getattr(o, "ndim", 0) == x.ndim and o.shape[0] == rows) else o for o in others]
        s = fn(x[sl], *parts)
        if reduce:
            s = np.sum(s, axis=-1)
        if out is None:
            out = np.empty((rows, *s.shape[1:]), dtype=s.dtype)
        out[sl] = s
    return out


class NotSliceable(Exception):
    """Raised by :func:`runs_of` for a value it cannot cut into runs with certainty."""


def runs_of(value: Any, sl: slice, x: np.ndarray) -> Any:
    """The runs ``sl`` (along axis 0 of x's batch) of a rule, a rule's state or a value in them.

    Arrays with x's number of axes are per-run along axis 0 (length x.shape[0]: sliced) or
    broadcast (length 1: kept); 0-d arrays, numbers, strings and None are kept; tuples
    (NamedTuple states) and the project's rules (their dataclass fields, through
    ``dataclasses.replace``) are cut field by field.  Anything else (an array with fewer axes, a
    callable, a rule class defined outside :mod:`precond_theory.rules`, an unknown object)
    raises :class:`NotSliceable`: the caller then works on the whole runs.
    """
    import dataclasses

    from ..rules.base import AbstractRule

    if isinstance(value, np.ndarray):
        if value.ndim == 0 or (value.ndim == x.ndim and value.shape[0] == 1):
            return value
        if value.ndim == x.ndim and value.shape[0] == x.shape[0]:
            return value[sl]
        raise NotSliceable(f"array of shape {value.shape} for x of shape {x.shape}")
    if value is None or isinstance(value, (bool, int, float, str, np.generic)):
        return value
    if isinstance(value, tuple):
        parts = [runs_of(v, sl, x) for v in value]
        return type(value)(*parts) if hasattr(value, "_fields") else tuple(parts)
    if isinstance(value, AbstractRule) and dataclasses.is_dataclass(value):
        if not type(value).__module__.startswith("precond_theory.rules."):
            # a rule defined elsewhere may hold arrays whose axis 0 is not the runs' (an (n, n)
            # matrix when n equals the number of runs): only the project's rules, whose state and
            # array fields are per run by construction, are cut
            raise NotSliceable(f"rule class {type(value).__qualname__} is not one of precond_theory.rules")
        changes = {}
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            cut = runs_of(v, sl, x)
            if cut is not v:
                changes[f.name] = cut
        return dataclasses.replace(value, **changes) if changes else value
    raise NotSliceable(f"{type(value).__name__}")

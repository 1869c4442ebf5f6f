"""Memory estimate of a run, checked before anything is allocated."""

from __future__ import annotations

import os
from typing import Any

__all__ = ["available_memory", "estimate_bytes", "check_memory", "fmt_bytes"]

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

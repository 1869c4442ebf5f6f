"""What is recorded at record points, written once for every stepping path.

Values go into buffers of shape ``(n_records, *batch)`` allocated at the first record point in
the run's namespace (so nothing is copied to the host until the run ends; on NumPy the buffers
are the host arrays of the trace).  Namespaces without item assignment fall back to lists.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .._xp import asarray, to_numpy
from . import memory
from .memory import row_sum

__all__ = ["Recorder"]

Array = Any


class _Buffer:
    def __init__(self, xp: Any, n_records: int) -> None:
        self.xp, self.n = xp, n_records
        self.buf: Any = None
        self.items: list[Any] | None = None

    def put(self, i: int, v: Array) -> None:
        xp = self.xp
        if self.items is None and self.buf is None:
            try:
                self.buf = xp.empty((self.n, *tuple(v.shape)), dtype=v.dtype)
                self.buf[i, ...] = v
                return
            except (TypeError, ValueError, NotImplementedError, AttributeError):
                self.buf, self.items = None, []
        if self.items is not None:
            self.items.append(v * 1)  # a copy: a compiled step updates x in place
        else:
            self.buf[i, ...] = v

    def host(self) -> np.ndarray:
        if self.items is not None:
            return np.stack([np.asarray(to_numpy(v)) for v in self.items])
        return np.asarray(to_numpy(self.buf))


class Recorder:
    """Records metrics (and iterates) at the record points ``steps``."""

    def __init__(self, xp: Any, steps: np.ndarray, batch_shape: tuple[int, ...], *, rule: Any, problem: Any,
                 extra: Mapping[str, Callable[..., Array]], keep_iterates: bool, f_star: Any, x_star: Any,
                 min_grad_norm: str | None) -> None:
        self.xp, self.steps, self.batch_shape = xp, steps, batch_shape
        self.rule, self.problem, self.extra = rule, problem, dict(extra)
        self.keep_iterates, self.f_star, self.x_star = keep_iterates, f_star, x_star
        self.min_grad_norm = min_grad_norm
        self.online = bool(problem.online)
        self.bufs: dict[str, _Buffer] = {}
        self.iterates = _Buffer(xp, len(steps)) if keep_iterates else None
        self.record_min: Array = None

    def _put(self, i: int, name: str, v: Array) -> None:
        if name not in self.bufs:
            self.bufs[name] = _Buffer(self.xp, len(self.steps))
        self.bufs[name].put(i, v)

    def record(self, i: int, k: int, x: Array, state: Any, *, fx: Array, gn: Array, running_min: Array,
               loss_sum: Array) -> None:
        """Record point i (step k): x = x_k, state after k updates."""
        xp = self.xp
        if self.online:
            self._put(i, "loss_sum", loss_sum)
            self._put(i, "regret", loss_sum - asarray(self.problem.comparator_loss(k), xp, loss_sum.dtype)
                      if k > 0 else loss_sum)
        else:
            self._put(i, "f", fx)
            if self.f_star is not None:
                self._put(i, "f_gap", fx - self.f_star)
            self._put(i, "grad_norm_sq", gn)
            if self.min_grad_norm == "every_step":
                self._put(i, "min_grad_norm_sq", running_min)
            elif self.min_grad_norm == "record_points":
                m = gn if self.record_min is None else xp.where(gn < self.record_min, gn, self.record_min)
                self.record_min = m
                self._put(i, "min_grad_norm_sq", m)
        if self.x_star is not None:
            self._put(i, "dist_sq", row_sum(xp, _dist_sq, x, self.x_star))
        if self.rule.has_preconditioner:
            self._preconditioner(i, k, x, state)
        for name, fn in self.extra.items():
            self._put(i, name, self._user_metric(name, fn, k, x, state))
        if self.iterates is not None:
            self.iterates.put(i, x)

    def _user_metric(self, name: str, fn: Callable[..., Array], k: int, x: Array, state: Any) -> Array:
        xp = self.xp
        try:
            v = fn(x, state, self.rule, self.problem)
        except Exception as exc:
            exc.add_note(f"raised by metric {name!r} of run(..., metrics=) at step {k}")
            raise
        label = f"metric {name!r} ({getattr(fn, '__name__', type(fn).__name__)})"
        try:
            v = asarray(v, xp)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{label} returned {type(v).__name__}, not numbers: {exc}") from None
        kind = str(v.dtype)
        if not any(t in kind for t in ("float", "int", "bool")) or "complex" in kind:
            raise ValueError(f"{label} returned dtype {kind}; expected real numbers, one per run")
        shape = tuple(v.shape)
        if not _broadcasts(shape, self.batch_shape):
            raise ValueError(f"{label} returned shape {shape}; expected one value per run, shape "
                             f"{self.batch_shape} (the batch shape) or a scalar")
        if not ("float" in kind):
            v = xp.astype(v, xp.float64)
        return xp.broadcast_to(v, self.batch_shape)

    def _preconditioner(self, i: int, k: int, x: Array, state: Any) -> None:
        """min, max and spread (max/min) of diag P_k per run; NaN before the first update."""
        xp = self.xp
        if k == 0:
            nan = xp.full(tuple(x.shape[:-1]), float("nan"), dtype=x.dtype)
            for name in ("precond_min", "precond_max", "precond_spread"):
                self._put(i, name, nan)
            return
        pmin, pmax = _preconditioner_range(xp, self.rule, state, x)
        self._put(i, "precond_min", pmin)
        self._put(i, "precond_max", pmax)
        self._put(i, "precond_spread", pmax / pmin)

    def finish(self, n_done: int) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        """Host metrics ``(n_records, *batch)`` and iterates (first ``n_done`` records)."""
        host = {name: b.host()[:n_done] for name, b in self.bufs.items()}
        its = self.iterates.host()[:n_done] if self.iterates is not None else None
        return host, its


def _preconditioner_range(xp: Any, rule: Any, state: Any, x: Array) -> tuple[Array, Array]:
    """min and max of diag P_k per run; on slices of runs (:mod:`.memory`) when x is a large
    NumPy array and the rule and its state can be cut into runs (P of a slice is the slice of P,
    elementwise, so the numbers are the same), else on the whole array."""
    slices = memory.row_slices(x)
    if slices:
        try:
            parts = [(sl, memory.runs_of(rule, sl, x), memory.runs_of(state, sl, x)) for sl in slices]
        except memory.NotSliceable:
            parts = None
        if parts:
            pmin = pmax = None
            for sl, r, s in parts:
                p = np.broadcast_to(r.preconditioner(s), x[sl].shape)
                if pmin is None:
                    pmin = np.empty(x.shape[:-1], dtype=p.dtype)
                    pmax = np.empty(x.shape[:-1], dtype=p.dtype)
                pmin[sl], pmax[sl] = np.min(p, axis=-1), np.max(p, axis=-1)
            return pmin, pmax
    p = xp.broadcast_to(rule.preconditioner(state), x.shape)
    return xp.min(p, axis=-1), xp.max(p, axis=-1)


def _dist_sq(x: Array, x_star: Array) -> Array:
    r = x - x_star
    return r * r


def _broadcasts(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    if len(shape) > len(target):
        return False
    return all(s in (1, t) for s, t in zip(shape[::-1], target[::-1], strict=False))

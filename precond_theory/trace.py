"""Trace: the host-side record of a (batched) run, and its tidy-table export."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Trace", "DivergenceWarning", "ZeroDivisionNaNWarning", "write_parquet_atomic"]


class DivergenceWarning(RuntimeWarning):
    """Some runs of a batch diverged (non-finite values or a blow-up); see ``Trace.diverged``."""


class ZeroDivisionNaNWarning(RuntimeWarning):
    """Some runs produced NaN from 0/0 at an exactly zero gradient (not a divergence); see
    ``Trace.status``."""


@dataclass(frozen=True, eq=False)
class Trace:
    """Record of :func:`precond_theory.run`.

    Attributes
    ----------
    steps : ndarray, shape ``(n_records,)``
        Recorded step indices k (number of updates applied).
    metrics : dict of str -> ndarray, shape ``(n_records, *batch)``
        ``f``, ``f_gap``, ``grad_norm_sq``, ``min_grad_norm_sq`` (min over every step t <= k),
        ``dist_sq``, ``precond_min``/``precond_max``/``precond_spread`` for rules with a
        preconditioner, ``loss_sum``/``regret`` for online problems, and user metrics.
    diverged : ndarray of int, shape ``batch``
        Step at which the run diverged (status "non_finite" or "blow_up"); -1 if it did not.
    meta : dict
        Rule name, fidelity and hyperparameters; problem name, parameters and constants;
        oracle; ``seed`` (as given) and ``seeds`` (per run, shape ``batch``); ``x0`` (how the
        starts were chosen); ``projection``; backend; dtype; oracle call counts and
        ``extra_evaluations`` (exact f and gradients for the metrics); ``min_grad_norm``;
        ``divergence``; ``kernel`` ("reference" or the compiled step's name);
        ``memory_estimate_bytes``; package versions.
    x_final : ndarray, shape ``(*batch, n)``
    iterates : ndarray ``(n_records, *batch, n)`` or None
        Only with ``run(..., keep_iterates=True)``.
    status : ndarray of str, shape ``batch``, or None
        "ok", "non_finite", "blow_up" (both diverged) or "zero_division" (NaN from 0/0 at an
        exactly zero gradient); see :mod:`precond_theory._loop.health`.
    status_step : ndarray of int, shape ``batch``, or None
        Step of the status (-1 for "ok").
    """

    steps: np.ndarray
    metrics: dict[str, np.ndarray]
    diverged: np.ndarray
    meta: dict[str, Any]
    x_final: np.ndarray
    iterates: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    status: np.ndarray | None = None
    status_step: np.ndarray | None = None

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.diverged.shape)

    @property
    def n_runs(self) -> int:
        return int(np.prod(self.batch_shape, dtype=int))

    def metric(self, name: str) -> np.ndarray:
        """``metrics[name]`` reshaped to ``(n_records, n_runs)``; unknown names list the known ones."""
        if name not in self.metrics:
            raise KeyError(f"metric {name!r} was not recorded; recorded: {sorted(self.metrics)}")
        return self.metrics[name].reshape(len(self.steps), self.n_runs)

    def to_frame(self):
        """Tidy long table, one row per (run, recorded step), benchopt-style column names.

        Columns: ``solver_name``, ``fidelity``, ``p_solver_<hp>``, ``data_name``,
        ``p_data_<param>``, ``oracle_name``, ``p_oracle_<param>``, ``seed`` (the run's seed),
        ``run``, ``batch_<axis>``, ``stop_val`` (the step), ``objective_<metric>``,
        ``diverged_at``, ``status``.  Columns are built as whole arrays (per-run values are
        indexed, constants are filled), never row by row; the frame holds about
        ``n_rows * 8`` bytes per column.
        """
        import pandas as pd

        n_rec, n_runs = len(self.steps), self.n_runs
        N = n_rec * n_runs
        idx_dtype = np.int64
        run_idx = np.tile(np.arange(n_runs, dtype=idx_dtype), n_rec)

        def const(value: Any) -> np.ndarray:
            return np.full(N, value, dtype=object if isinstance(value, str) or value is None else None)

        def per_run(values: np.ndarray) -> np.ndarray:
            values = np.asarray(values).reshape(-1)
            return values if n_rec == 1 else values[run_idx]

        cols: dict[str, Any] = {}
        cols["solver_name"] = const(self.meta.get("rule", ""))
        cols["fidelity"] = const(self.meta.get("fidelity", ""))
        for name, v in self.meta.get("hyperparameters", {}).items():
            cols[f"p_solver_{name}"] = per_run(_per_run(v, self.batch_shape))
        problem = self.meta.get("problem", {})
        cols["data_name"] = const(problem.get("name", ""))
        for name, v in problem.get("params", {}).items():
            cols[f"p_data_{name}"] = per_run(_per_run(v, self.batch_shape))
        oracle = self.meta.get("oracle", {})
        cols["oracle_name"] = const(oracle.get("name", "exact"))
        for name, v in oracle.get("params", {}).items():
            cols[f"p_oracle_{name}"] = per_run(_per_run(v, self.batch_shape))
        seeds = self.meta.get("seeds")
        if seeds is None:
            cols["seed"] = np.full(N, self.meta.get("seed", 0))
        else:
            cols["seed"] = per_run(np.broadcast_to(np.asarray(seeds, dtype=np.int64), self.batch_shape))
        cols["run"] = run_idx
        if len(self.batch_shape) > 1:
            for axis, idx in enumerate(np.unravel_index(np.arange(n_runs, dtype=idx_dtype), self.batch_shape)):
                cols[f"batch_{axis}"] = per_run(idx.astype(idx_dtype))
        cols["stop_val"] = np.repeat(self.steps, n_runs)
        for name in self.metrics:
            cols[f"objective_{name}"] = self.metric(name).reshape(-1)
        cols["diverged_at"] = per_run(self.diverged)
        if self.status is not None:
            cats, inv = np.unique(np.asarray(self.status).reshape(-1), return_inverse=True)
            cols["status"] = np.asarray([str(c) for c in cats], dtype=object)[per_run(inv)]
        return pd.DataFrame(cols, copy=False)

    def to_parquet(self, path: str | os.PathLike) -> Path:
        """Write :meth:`to_frame` to ``path`` atomically (temporary file, then rename)."""
        return write_parquet_atomic(self.to_frame(), path)


def _per_run(value: Any, batch_shape: tuple[int, ...]) -> np.ndarray:
    """A hyperparameter or parameter as one entry per run (arrays broadcast to the batch)."""
    n = int(np.prod(batch_shape, dtype=int))
    if isinstance(value, np.ndarray) and value.ndim > 0:
        v = value[..., 0] if value.shape[-1] == 1 else value
        try:
            return np.broadcast_to(v, batch_shape).reshape(n)
        except ValueError:
            return np.full(n, str(value.tolist()), dtype=object)
    if isinstance(value, (list, tuple, dict)):
        return np.full(n, str(value), dtype=object)
    return np.full(n, value, dtype=object if isinstance(value, str) or value is None else None)


def write_parquet_atomic(frame: Any, path: str | os.PathLike) -> Path:
    """Write a DataFrame to Parquet through a temporary file in the same folder, then rename,
    so that an interrupted write never leaves a truncated table."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path

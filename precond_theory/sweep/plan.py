"""Cutting a sweep into chunks, and computing one chunk (one batched :func:`precond_theory.run`).

The configurations of a rule are the product of its list-valued hyperparameters (first list
slowest), numbered ``config = 0, 1, ...``.  A chunk is a contiguous range of configurations of
one rule with **all** seeds: one batched call over ``(configurations in the chunk) x seeds``.
Its rows get sweep-wide indices (``rule_index``, ``config``, ``run = config * n_seeds + seed
position``), so a table does not depend on which process or executor computed which chunk.
Each run gets its seed through ``run(..., seed=...)`` (an integer array over the batch): its start
is ``problem.sample_x0(seed)`` and its oracle streams are keyed by the seed, so a sweep row is
the single run ``run(rule, problem, steps=..., record=..., seed=s)`` of its configuration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .config import SweepConfig, problem_from_spec, rule_from_spec, swept_keys

__all__ = ["Chunk", "plan_chunks", "compute_chunk", "configurations"]


@dataclass(frozen=True)
class Chunk:
    """One unit of work and of storage: configurations ``[start, stop)`` of ``rules[rule_index]``."""

    rule_index: int
    index: int  # chunk number within its rule
    start: int
    stop: int
    n_configs: int  # configurations of the whole rule
    spec: dict[str, Any]
    problem: dict[str, Any]
    seeds: tuple[int, ...]
    steps: int
    record: Any

    @property
    def runs(self) -> int:
        return (self.stop - self.start) * len(self.seeds)

    @property
    def part_name(self) -> str:
        return f"{self.rule_index:02d}_{self.spec['name']}_{self.index:04d}.parquet"

    def describe(self) -> str:
        """``rules[1] adam lr=0.01..0.3 (configurations 0-2 of 3)``: names the chunk's configuration."""
        vals = configurations(self.spec)
        swept = ", ".join(f"{k}={_span([vals[c][k] for c in range(self.start, self.stop)])}"
                          for k in swept_keys(self.spec))
        return (f"rules[{self.rule_index}] {self.spec['name']}" + (f" {swept}" if swept else "")
                + f" (configurations {self.start}-{self.stop - 1} of {self.n_configs}, seeds {list(self.seeds)})")

    def identity(self) -> dict[str, Any]:
        """What the chunk computes (the config part of its cache key)."""
        return {"rule_index": self.rule_index, "chunk": self.index, "configs": [self.start, self.stop],
                "rule": self.spec, "problem": self.problem, "seeds": list(self.seeds), "steps": self.steps,
                "record": self.record}


def _span(values: list[Any]) -> str:
    return repr(values[0]) if len(values) == 1 else f"{values[0]!r}..{values[-1]!r}"


def configurations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Swept-hyperparameter values of each configuration of a rule, in config order."""
    keys = swept_keys(spec)
    if not keys:
        return [{}]
    grids = np.meshgrid(*[np.arange(len(spec[k])) for k in keys], indexing="ij")
    idx = [g.reshape(-1) for g in grids]
    return [{k: spec[k][int(ix[c])] for k, ix in zip(keys, idx)} for c in range(idx[0].size)]


def plan_chunks(cfg: SweepConfig, chunk_size: int | None = None) -> list[Chunk]:
    """Chunks of ``cfg`` (``chunk_size`` runs at most, but at least one configuration each)."""
    size = chunk_size if chunk_size is not None else cfg.chunk_size
    out = []
    for i, spec in enumerate(cfg.rules):
        n_conf = math.prod(len(spec[k]) for k in swept_keys(spec))
        per = n_conf if size is None else max(1, size // len(cfg.seeds))
        for j, a in enumerate(range(0, n_conf, per)):
            out.append(Chunk(i, j, a, min(a + per, n_conf), n_conf, dict(spec), dict(cfg.problem), cfg.seeds,
                             cfg.steps, cfg.record))
    return out


def compute_chunk(chunk: Chunk) -> Any:
    """Run one chunk (one batched ``run`` call) and return its rows as a DataFrame."""
    from ..run import run

    problem = problem_from_spec(chunk.problem)
    confs = configurations(chunk.spec)[chunk.start:chunk.stop]
    spec = {k: v for k, v in chunk.spec.items() if not isinstance(v, list)}
    keys = swept_keys(chunk.spec)
    for k in keys:
        spec[k] = [c[k] for c in confs]
    # one batch axis over the chunk's configurations (not one per list): shape (m, n_seeds)
    n_seeds, m = len(chunk.seeds), len(confs)
    flat = {k: v for k, v in spec.items() if not isinstance(v, list)}
    if keys:
        from .. import rules

        hps = {k: v for k, v in flat.items() if k != "name"}
        for k in keys:
            hps[k] = np.asarray(spec[k], dtype=np.float64).reshape(m, 1, 1)
        rule = rules.make(chunk.spec["name"], **hps)
    else:
        rule, _ = rule_from_spec(flat, n_seeds)
    # the seed of run (configuration c, seed position j) is seeds[j]: start and oracle streams as a single run
    seeds = np.asarray(chunk.seeds, dtype=np.int64)
    trace = run(rule, problem, steps=chunk.steps, record=chunk.record, seed=seeds[None, :] if keys else seeds)
    frame = trace.to_frame()
    frame = frame.drop(columns=[c for c in frame.columns if c.startswith("batch_")])
    local = frame["run"].to_numpy()  # index into the (m, n_seeds) batch
    frame["seed"] = np.asarray(chunk.seeds, dtype=np.int64)[local % n_seeds]
    frame["rule_index"] = np.int64(chunk.rule_index)
    frame["config"] = (chunk.start + local // n_seeds).astype(np.int64)
    frame["run"] = (frame["config"].to_numpy() * n_seeds + local % n_seeds).astype(np.int64)
    return frame

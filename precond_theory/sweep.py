"""Sweeps: a declared grid of rules x hyperparameters x seeds on a problem, run batched,
stored as tidy Parquet, resumable.

A sweep config (TOML or dict) has ``name``, ``steps``, ``seeds``, ``record``, one
``[problem]`` table (``name`` plus the problem's parameters) and a list of ``[[rules]]``
tables (``name`` plus hyperparameters).  A hyperparameter given as a list becomes a batch
axis: each rule is **one** batched call of :func:`precond_theory.run` over
(hyperparameter values x seeds), never a Python loop over runs.  Seeds pick the starting
points ``x0 = x_star + N(0, I)`` drawn on the host (so every backend starts from the same
points).  Each rule's table is written atomically to ``<out>/parts/``; a re-run skips parts
whose configuration is unchanged, so an interrupted sweep loses nothing already finished.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._checks import check_int
from .trace import write_parquet_atomic

__all__ = ["SweepConfig", "load_config", "default_config_path", "run_sweep", "rule_from_spec", "problem_from_spec"]

_TOP_KEYS = {"name", "steps", "seeds", "record", "problem", "rules"}


@dataclass(frozen=True)
class SweepConfig:
    """A validated sweep configuration (see the module docstring)."""

    name: str
    steps: int
    seeds: tuple[int, ...]
    problem: dict[str, Any]
    rules: tuple[dict[str, Any], ...]
    record: Any = "log"
    source: str = "<dict>"
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "<dict>") -> SweepConfig:
        if not isinstance(d, dict):
            raise ValueError(f"{source}: a sweep config must be a table; got {type(d).__name__}")
        unknown = sorted(set(d) - _TOP_KEYS)
        if unknown:
            raise ValueError(f"{source}: unknown key(s) {unknown}; allowed: {sorted(_TOP_KEYS)}")
        for key in ("steps", "problem", "rules"):
            if key not in d:
                raise ValueError(f"{source}: missing required key {key!r}")
        steps = check_int("steps", d["steps"], 1)
        seeds = d.get("seeds", [0])
        if not isinstance(seeds, list) or not seeds:
            raise ValueError(f"{source}: seeds must be a non-empty list of integers; got {seeds!r}")
        seeds = tuple(check_int("seeds entry", s, 0) for s in seeds)
        problem = d["problem"]
        if not isinstance(problem, dict) or "name" not in problem:
            raise ValueError(f"{source}: [problem] must be a table with a 'name'; got {problem!r}")
        rules = d["rules"]
        if not isinstance(rules, list) or not rules or not all(isinstance(r, dict) and "name" in r for r in rules):
            raise ValueError(f"{source}: [[rules]] must be a non-empty list of tables, each with a 'name'")
        return cls(name=str(d.get("name", "sweep")), steps=steps, seeds=seeds, problem=dict(problem),
                   rules=tuple(dict(r) for r in rules), record=d.get("record", "log"), source=source, raw=d)


def default_config_path() -> Path:
    """Path of the built-in experiment (``precond_theory/data/default.toml``)."""
    return Path(__file__).parent / "data" / "default.toml"


def load_config(path: str | Path | None = None) -> SweepConfig:
    """Read and validate a sweep config from TOML (the built-in one when ``path`` is None)."""
    p = default_config_path() if path is None else Path(path)
    if not p.is_file():
        raise ValueError(f"config file {str(p)!r} does not exist")
    try:
        data = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{p}: malformed TOML: {exc}") from None
    return SweepConfig.from_dict(data, source=str(p))


def problem_from_spec(spec: dict[str, Any], xp: Any = np, dtype: Any = None) -> Any:
    """Build the problem named in ``spec`` (``problems.make``)."""
    from . import problems

    params = {k: v for k, v in spec.items() if k != "name"}
    return problems.make(spec["name"], xp=xp, dtype=dtype, **params)


def rule_from_spec(spec: dict[str, Any], n_seeds: int, xp: Any = np) -> tuple[Any, tuple[int, ...]]:
    """Build a rule; list-valued hyperparameters become leading batch axes before the seed axis.

    Returns the rule and its batch shape ``(*hyperparameter axes, n_seeds)``.
    """
    from . import rules

    hps = {k: v for k, v in spec.items() if k != "name"}
    list_keys = [k for k, v in hps.items() if isinstance(v, list)]
    shape = tuple(len(hps[k]) for k in list_keys) + (n_seeds,)
    for axis, key in enumerate(list_keys):
        values = np.asarray(hps[key], dtype=np.float64)
        view = [1] * (len(shape) + 1)
        view[axis] = values.size
        hps[key] = xp.asarray(values.reshape(view))
    return rules.make(spec["name"], **hps), shape


def _spec_hash(cfg: SweepConfig, spec: dict[str, Any]) -> str:
    blob = json.dumps({"problem": cfg.problem, "rule": spec, "seeds": cfg.seeds, "steps": cfg.steps,
                       "record": cfg.record}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def run_sweep(cfg: SweepConfig, out_dir: str | Path, *, resume: bool = True, progress: Any = None) -> Any:
    """Run every rule of ``cfg`` (one batched call each), write parts and the merged table.

    Returns the merged tidy DataFrame (also written to ``<out_dir>/table.parquet``).
    ``progress``, if given, is called as ``progress(rule_name, status)`` with status
    ``"done"`` or ``"cached"``.
    """
    import pandas as pd

    from .run import run

    out = Path(out_dir)
    parts_dir = out / "parts"
    problem = problem_from_spec(cfg.problem)
    host_star = np.asarray(problem.x_star) if problem.x_star is not None else np.zeros(problem.dim)
    x0 = np.stack([host_star + np.random.default_rng(s).standard_normal(problem.dim) for s in cfg.seeds])
    frames = []
    for i, spec in enumerate(cfg.rules):
        part = parts_dir / f"{i:02d}_{spec['name']}_{_spec_hash(cfg, spec)}.parquet"
        if resume and part.exists():
            frames.append(pd.read_parquet(part))
            if progress:
                progress(spec["name"], "cached")
            continue
        rule, shape = rule_from_spec(spec, len(cfg.seeds))
        x0_b = x0.reshape((1,) * (len(shape) - 1) + x0.shape)
        trace = run(rule, problem, steps=cfg.steps, x0=x0_b, record=cfg.record)
        frame = trace.to_frame()
        seed_of_run = np.broadcast_to(np.asarray(cfg.seeds), trace.batch_shape).reshape(-1)
        frame["seed"] = seed_of_run[frame["run"].to_numpy()]
        frame["rule_index"] = i
        write_parquet_atomic(frame, part)
        frames.append(frame)
        if progress:
            progress(spec["name"], "done")
    table = pd.concat(frames, ignore_index=True)
    write_parquet_atomic(table, out / "table.parquet")
    return table

"""Sweep configurations: reading, validating (before any work) and building rules and problems.

A sweep config (TOML or dict) has ``name``, ``steps``, ``seeds``, ``record``, an optional
``chunk_size``, one ``[problem]`` table (``name`` plus the problem's parameters) and a list of
``[[rules]]`` tables (``name`` plus hyperparameters).  A hyperparameter given as a list of
numbers becomes a batch axis; the configurations of a rule are the product of its lists.
Everything is checked here, each error naming the key (``rules[2].lr``), so a bad config
fails before anything is computed or written.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import check_int

__all__ = ["SweepConfig", "load_config", "default_config_path", "rule_from_spec", "problem_from_spec",
           "swept_keys"]

_TOP_KEYS = {"name", "steps", "seeds", "record", "chunk_size", "problem", "rules"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_value(where: str, v: Any, default: Any) -> None:
    """A TOML value: a scalar, or a non-empty list of distinct finite numbers (a batch axis)."""
    if isinstance(v, list):
        if not v:
            raise ValueError(f"{where} is an empty list; a list is a batch axis and needs at least one value")
        bad = [e for e in v if not _is_number(e)]
        if bad:
            kind = "nested lists" if any(isinstance(e, list) for e in bad) else f"{type(bad[0]).__name__} {bad[0]!r}"
            raise TypeError(f"{where}: a list is a batch axis of numbers; got {kind} in {v!r}")
        if any(isinstance(e, float) and not math.isfinite(e) for e in v):
            raise ValueError(f"{where}: batch-axis values must be finite; got {v!r}")
        if len(set(v)) != len(v):
            raise ValueError(f"{where} has duplicate values {v!r}; each configuration must be distinct")
        if default is not None and not _is_number(default):
            raise TypeError(f"{where}: a list makes a batch axis of numbers, but this hyperparameter takes "
                            f"{type(default).__name__} values like {default!r}")
        return
    if isinstance(v, dict):
        raise TypeError(f"{where}: a table is not a hyperparameter value; got {v!r}")
    if default is None or isinstance(default, dataclasses._MISSING_TYPE):
        return
    if isinstance(default, bool):
        ok = isinstance(v, bool)
    elif _is_number(default):
        ok = _is_number(v)
    elif isinstance(default, str):
        ok = isinstance(v, str)
    else:
        return
    if not ok:
        want = "true/false" if isinstance(default, bool) else "a string" if isinstance(default, str) else "a number"
        raise TypeError(f"{where} must be {want} like the default {default!r}; got {type(v).__name__} {v!r}")


def swept_keys(spec: dict[str, Any]) -> list[str]:
    """Hyperparameters of a rule spec given as lists (its batch axes), in config order."""
    return [k for k, v in spec.items() if k != "name" and isinstance(v, list)]


def _field_defaults(name: str) -> dict[str, Any]:
    from .. import rules

    cls = rules.get(name)
    out = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            out[f.name] = None
        else:
            out[f.name] = None
    return out


@dataclass(frozen=True)
class SweepConfig:
    """A validated sweep configuration (see the module docstring).

    ``chunk_size`` is the number of runs per chunk (whole configurations, all seeds of each);
    ``None`` makes each rule one chunk.  Chunks are the unit of caching and of distribution.
    """

    name: str
    steps: int
    seeds: tuple[int, ...]
    problem: dict[str, Any]
    rules: tuple[dict[str, Any], ...]
    record: Any = "log"
    chunk_size: int | None = None
    source: str = "<dict>"
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "<dict>") -> SweepConfig:
        """Validate ``d`` (every key, and every rule and the problem are built once)."""
        if not isinstance(d, dict):
            raise ValueError(f"{source}: a sweep config must be a table; got {type(d).__name__}")
        unknown = sorted(set(d) - _TOP_KEYS)
        if unknown:
            raise ValueError(f"{source}: unknown key(s) {unknown}; allowed: {sorted(_TOP_KEYS)}")
        for key in ("steps", "problem", "rules"):
            if key not in d:
                raise ValueError(f"{source}: missing required key {key!r}")
        name = d.get("name", "sweep")
        if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
            raise ValueError(f"{source}: name must be a plain folder name (letters, digits, '.', '_', '-', "
                             f"no '..' or '/'), since the sweep writes to OUT/<name>/; got {name!r}")
        steps = check_int("steps", d["steps"], 1)
        seeds = d.get("seeds", [0])
        if not isinstance(seeds, list) or not seeds:
            raise ValueError(f"{source}: seeds must be a non-empty list of integers; got {seeds!r}")
        seeds = tuple(check_int("seeds entry", s, 0) for s in seeds)
        if len(set(seeds)) != len(seeds):
            dup = sorted({s for s in seeds if seeds.count(s) > 1})
            raise ValueError(f"{source}: seeds has duplicates {dup}; each seed must appear once")
        record = d.get("record", "log")
        from ..run import record_steps

        if isinstance(record, list) and not all(_is_number(r) and float(r).is_integer() for r in record):
            raise TypeError(f"{source}: record must be 'log', 'all', a positive int or a list of integer steps; "
                            f"got {record!r}")
        record_steps(record, steps)  # raises naming 'record'
        chunk_size = d.get("chunk_size")
        if chunk_size is not None:
            chunk_size = check_int("chunk_size", chunk_size, 1)
        problem = d["problem"]
        if not isinstance(problem, dict) or not isinstance(problem.get("name"), str):
            raise ValueError(f"{source}: [problem] must be a table with a 'name'; got {problem!r}")
        _check_problem_types(problem, source)
        try:
            problem_from_spec(problem)
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"{source}: [problem] ({problem['name']}): {exc}") from None
        rules = d["rules"]
        if not isinstance(rules, list) or not rules or not all(isinstance(r, dict) for r in rules):
            raise ValueError(f"{source}: [[rules]] must be a non-empty list of tables, each with a 'name'")
        for i, spec in enumerate(rules):
            _validate_rule(spec, i, len(seeds), source)
        return cls(name=name, steps=steps, seeds=seeds, problem=dict(problem), rules=tuple(dict(r) for r in rules),
                   record=record, chunk_size=chunk_size, source=source, raw=d)

    def replace(self, **changes: Any) -> SweepConfig:
        """A copy with top-level keys changed (``steps``, ``chunk_size``, ...), validated again."""
        d = dict(self.raw) if self.raw else self.to_dict()
        d.update({k: v for k, v in changes.items()})
        d = {k: v for k, v in d.items() if v is not None or k not in ("chunk_size",)}
        return SweepConfig.from_dict(d, source=self.source)

    def to_dict(self) -> dict[str, Any]:
        """The config as a plain dict (the TOML structure)."""
        d = {"name": self.name, "steps": self.steps, "seeds": list(self.seeds), "record": self.record,
             "problem": dict(self.problem), "rules": [dict(r) for r in self.rules]}
        if self.chunk_size is not None:
            d["chunk_size"] = self.chunk_size
        return d


def _check_problem_types(problem: dict[str, Any], source: str) -> None:
    """Problem parameters: no nested lists, and the type of the factory's default where it has one."""
    import inspect

    from ..problems.registry import FACTORIES

    factory = FACTORIES.get(problem["name"])
    params = inspect.signature(factory).parameters if factory is not None else {}
    for k, v in problem.items():
        if k == "name":
            continue
        if isinstance(v, list) and any(isinstance(e, list) for e in v):
            raise TypeError(f"{source}: problem.{k}: nested lists are not accepted; got {v!r}")
        default = params[k].default if k in params else None
        if default is inspect.Parameter.empty:
            default = None
        if not isinstance(v, list):
            _check_value(f"{source}: problem.{k}", v, default)


def _validate_rule(spec: dict[str, Any], i: int, n_seeds: int, source: str) -> None:
    name = spec.get("name")
    if not isinstance(name, str):
        raise ValueError(f"{source}: rules[{i}] needs a 'name' (a rule name, see `precond-theory rules`)")
    where = f"{source}: rules[{i}] ({name})"
    try:
        defaults = _field_defaults(name)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    for k, v in spec.items():
        if k == "name":
            continue
        if k not in defaults:
            raise ValueError(f"{where}: unknown hyperparameter {k!r}; its hyperparameters are {sorted(defaults)}")
        _check_value(f"{where}.{k}", v, defaults[k])
    try:
        rule_from_spec(spec, n_seeds)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"{where}: {exc}") from None


def default_config_path() -> Path:
    """Path of the built-in experiment (``precond_theory/data/default.toml``)."""
    return Path(__file__).resolve().parent.parent / "data" / "default.toml"


def load_config(path: str | Path | None = None) -> SweepConfig:
    """Read and validate a sweep config from TOML (the built-in one when ``path`` is None)."""
    p = default_config_path() if path is None else Path(path)
    if not p.is_file():
        raise ValueError(f"config file {str(p)!r} does not exist")
    try:
        data = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{p}: malformed TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read config file {str(p)!r}: {exc}") from None
    return SweepConfig.from_dict(data, source=str(p))


def problem_from_spec(spec: dict[str, Any], xp: Any = np, dtype: Any = None) -> Any:
    """Build the problem named in ``spec`` (``problems.make``)."""
    from .. import problems

    params = {k: v for k, v in spec.items() if k != "name"}
    return problems.make(spec["name"], xp=xp, dtype=dtype, **params)


def rule_from_spec(spec: dict[str, Any], n_seeds: int, xp: Any = np) -> tuple[Any, tuple[int, ...]]:
    """Build a rule; list-valued hyperparameters become leading batch axes before the seed axis.

    Returns the rule and its batch shape ``(*hyperparameter axes, n_seeds)``.
    """
    from .. import rules

    hps = {k: v for k, v in spec.items() if k != "name"}
    list_keys = swept_keys(spec)
    shape = tuple(len(hps[k]) for k in list_keys) + (n_seeds,)
    for axis, key in enumerate(list_keys):
        values = np.asarray(hps[key], dtype=np.float64)
        view = [1] * (len(shape) + 1)
        view[axis] = values.size
        hps[key] = xp.asarray(values.reshape(view))
    return rules.make(spec["name"], **hps), shape

"""Experiments: a stated claim, its setup, its expected outcome, and a run that produces a figure,
a table and a verdict; the registry; running one with caching and atomic output."""

from __future__ import annotations

import difflib
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._store import (cache_key, code_hash, dependency_versions, json_safe, replace_folder, to_booktabs,
                     write_text_atomic)

__all__ = ["Experiment", "Result", "register", "available", "get", "run_experiment", "SIZES", "KINDS",
           "FIDELITIES", "load_record", "unknown_name_message"]

SIZES = ("ci", "full")
KINDS = ("rate", "regret", "stability", "conditioning", "regularization", "comparison", "cost", "counterexample")
FIDELITIES = ("EXACT", "CONCORDANT", "RECON", "TEMPLATE", "FALSE")
VERDICT_FILE = "verdict.json"


@dataclass
class Result:
    """What an experiment's run returns.

    ``figure``: a matplotlib Figure (saved as PDF + SVG + PNG); ``table``: a DataFrame (CSV and
    booktabs LaTeX); ``verdict``: ``consistent`` / ``violated`` / ``inconclusive``; ``reason``: the
    verdict in words; ``interval``: the interval the verdict rests on, as text; ``measured``: the
    numbers behind it; ``rules``: rule name -> fidelity (EXACT / CONCORDANT / RECON) of every
    rule run; ``extra_figures``/``extra_tables``: further artifacts by file stem.
    """

    figure: Any
    table: Any
    verdict: str
    reason: str
    interval: str = "-"
    measured: dict[str, Any] = field(default_factory=dict)
    rules: dict[str, str] = field(default_factory=dict)
    extra_figures: dict[str, Any] = field(default_factory=dict)
    extra_tables: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.verdict not in ("consistent", "violated", "inconclusive"):
            raise ValueError(f"verdict must be consistent, violated or inconclusive; got {self.verdict!r}")


@dataclass(frozen=True)
class Experiment:
    """One claim turned into an experiment.

    ``run(params, advance) -> Result`` does the work; ``advance(n)`` reports n finished runs.
    ``sizes`` maps ``"ci"`` and ``"full"`` to parameter dicts; ``units(params)`` is the number of
    runs (for progress bars).  ``claim`` says what the paper (or the classical theorem) states,
    ``expected`` the outcome that statement predicts on ``setup``; ``fidelity`` is the claim's
    status (EXACT theorem, CONCORDANT, RECON reconstruction, TEMPLATE rate for a method without
    one, FALSE claim kept to be refuted).
    """

    name: str
    title: str
    paper: str
    claim: str
    expected: str
    setup: str
    kind: str
    fidelity: str
    sizes: dict[str, dict[str, Any]]
    run: Callable[[dict[str, Any], Callable[[int], None]], Result]
    units: Callable[[dict[str, Any]], int]

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"experiment {self.name!r}: kind must be one of {KINDS}; got {self.kind!r}")
        if self.fidelity not in FIDELITIES:
            raise ValueError(f"experiment {self.name!r}: fidelity must be one of {FIDELITIES}; got {self.fidelity!r}")
        if set(self.sizes) != set(SIZES):
            raise ValueError(f"experiment {self.name!r}: sizes must be exactly {SIZES}")

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "paper": self.paper, "claim": self.claim,
                "expected": self.expected, "setup": self.setup, "kind": self.kind, "fidelity": self.fidelity}


_REGISTRY: dict[str, Experiment] = {}


def register(exp: Experiment) -> Experiment:
    if exp.name in _REGISTRY:
        raise ValueError(f"experiment {exp.name!r} is registered twice")
    _REGISTRY[exp.name] = exp
    return exp


def _load() -> None:
    from . import catalog_claims, conditioning, regularization, seed_claims, seed_special  # noqa: F401  (they register)


def available() -> list[str]:
    """Names of every registered experiment, in registration order (papers, then classical)."""
    _load()
    return list(_REGISTRY)


def unknown_name_message(name: str) -> str:
    names = available()
    close = difflib.get_close_matches(str(name), names, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown experiment {name!r}{hint} (precond-theory experiment --list shows all {len(names)})"


def get(name: str) -> Experiment:
    """The experiment called ``name``; an unknown name is a ValueError suggesting the closest."""
    _load()
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(unknown_name_message(name))
    return _REGISTRY[name]


def load_record(folder: Path) -> dict[str, Any] | None:
    """The verdict record of a finished result in ``folder`` (None if absent or unreadable)."""
    p = Path(folder) / VERDICT_FILE
    if not p.is_file():
        return None
    try:
        return json.loads(p.read_text())
    except (OSError, json.JSONDecodeError):
        return None


DEPS_FILE = "deps.json"


def _reusable(target: Path, key: str) -> tuple[dict[str, Any] | None, str | None]:
    """``(record, None)`` when the result in ``target`` can be reused for ``key``; else
    ``(None, reason)`` (``None`` reason: there is no result)."""
    from ._deps import verify

    rec = load_record(target)
    if rec is None:
        return None, None
    if rec.get("request_key") != key:
        return None, "stale (request changed: size, parameters, definition or versions)"
    missing = [f for f in rec.get("files", []) if not (target / f).is_file()]
    if missing:
        return None, f"incomplete (missing {', '.join(missing[:3])})"
    try:
        deps = json.loads((target / DEPS_FILE).read_text())
    except (OSError, json.JSONDecodeError):
        return None, "no readable dependency record"
    changed = verify(deps)
    if changed:
        more = f" and {len(changed) - 4} more" if len(changed) > 4 else ""
        return None, f"stale (code or data it used changed: {', '.join(changed[:4])}{more})"
    return rec, None


def _clean_staging(out: Path, name: str) -> None:
    """Remove staging folders of ``name`` left by killed runs (their process is gone)."""
    import shutil

    for p in out.glob(f".{name}.staging-*"):
        pid = p.name[len(f".{name}.staging-"):].split("-")[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


def run_experiment(name: str, *, size: str = "full", out: str | Path = "results/experiments",
                   reuse: bool = True, advance: Callable[[int], None] | None = None,
                   command: str | None = None, log: Callable[[str], None] | None = None,
                   track: bool | None = None) -> tuple[dict[str, Any], str]:
    """Run (or reuse) one experiment; write its artifacts to ``out/<name>/``.

    Returns ``(record, status)`` with status ``"ran"`` or ``"cached"``.  A finished result is
    reused when its request key (name, size, parameters, the experiment's definition,
    dependency versions) equals the current one, its files are all present, and the package code
    and data its run used are unchanged (``deps.json``, see :mod:`._deps`); ``log`` receives one
    line saying why a stored result was not reused.  ``track`` (default: ``size == "full"``)
    records the code the run uses, at the cost of a profiler during the run (roughly 1.5-2x
    for the Python-bound CI sizes); untracked results (CI size) are reused only while no file of
    the package changed, which costs less than tracking them.  Artifacts are written to a staging folder
    and moved into place at the end, so an interrupted run leaves the previous result (or
    nothing), never a partial one, and every finished experiment stays finished.
    """
    from ._deps import Tracker, closure_values, collect, definition, digest

    exp = get(name)
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}; got {size!r}")
    if track is None:
        track = size == "full"
    if not isinstance(track, bool):
        raise TypeError(f"track must be True, False or None (track full-size runs); got {track!r}")
    params = exp.sizes[size]
    key = cache_key(name, size, params, definition(exp.run))
    out = Path(out)
    target = out / name
    advance = advance or (lambda n=1: None)
    if reuse:
        rec, why = _reusable(target, key)
        if rec is not None:
            advance(exp.units(params))
            return rec, "cached"
        if why is not None and log is not None:
            log(f"recomputing {name}: {why}")
    out.mkdir(parents=True, exist_ok=True)
    _clean_staging(out, name)
    t0 = time.perf_counter()
    staged = None
    try:
        with Tracker(enabled=track) as tracker:  # records the package code the run uses
            result = exp.run(dict(params), advance)
        seconds = time.perf_counter() - t0
        staged = Path(tempfile.mkdtemp(prefix=f".{name}.staging-{os.getpid()}-", dir=out))
        files = _write(staged, exp, result)
        # the writers of the artifacts count as code the result depends on (named, not traced)
        from ..plotting.style import save_figure

        named = [*closure_values(exp.run), _write, save_figure, to_booktabs]
        if not track:
            deps, why = {"package": code_hash()}, ""
        else:
            deps, why = collect(tracker.codes, named) if tracker.ok else (None, tracker.why)
        if deps is None and log is not None:
            log(f"{name}: result will not be reused ({why})")
        rec = {**exp.describe(), "size": size, "params": json_safe(params), "verdict": result.verdict,
               "reason": result.reason, "interval": result.interval, "measured": json_safe(result.measured),
               "rules": dict(sorted(result.rules.items())), "files": files,
               "request_key": key if deps is not None else None,
               "cache_key": (key + digest(deps)) if deps is not None else None,
               "code_hash": code_hash(), "versions": dependency_versions(),
               "command": command or f"precond-theory experiment {name} --size {size} --out {out}",
               "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "seconds": round(seconds, 2)}
        if deps is not None and "code" in deps:
            rec["dependencies"] = {"files": len(deps["code"]), "units": sum(map(len, deps["code"].values())),
                                   "globals": len(deps["globals"]), "data": sorted(deps["data"])}
        elif deps is not None:
            rec["dependencies"] = "the whole package (code hash); untracked run"
        if deps is not None:
            write_text_atomic(staged / DEPS_FILE, json.dumps(deps, indent=0, sort_keys=True) + "\n")
            files.append(DEPS_FILE)
        write_text_atomic(staged / VERDICT_FILE, json.dumps(rec, indent=1, sort_keys=False) + "\n")
        files.append(VERDICT_FILE)
        replace_folder(staged, target)
    finally:
        if staged is not None and staged.exists():
            import shutil

            shutil.rmtree(staged, ignore_errors=True)
    return rec, "ran"


def _write(folder: Path, exp: Experiment, result: Result) -> list[str]:
    from ..plotting import save_figure

    files = []
    figs = {"figure": result.figure, **result.extra_figures}
    for stem, fig in figs.items():
        save_figure(fig, folder / f"{stem}.png")
        files += [f"{stem}.pdf", f"{stem}.svg", f"{stem}.png"]
    tables = {"table": result.table, **result.extra_tables}
    for stem, frame in tables.items():
        write_text_atomic(folder / f"{stem}.csv", frame.to_csv(index=False))
        caption = f"{exp.title} ({exp.name}, {stem})"
        write_text_atomic(folder / f"{stem}.tex", to_booktabs(frame, caption=caption, label=f"tab:{exp.name}-{stem}"))
        files += [f"{stem}.csv", f"{stem}.tex"]
    return files

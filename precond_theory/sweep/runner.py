"""``run_sweep``: plan chunks, reuse verified parts, compute the rest on an executor, merge."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any, Callable

import numbers

from ..executors import Outcome, get_executor
from .config import SweepConfig, problem_from_spec
from .plan import Chunk, compute_chunk, plan_chunks
from .store import clean_orphans, code_hash, dependency_versions, live_fingerprint, part_key, read_verified, \
    write_frame

__all__ = ["run_sweep", "SweepError", "SweepWriteError"]


class SweepError(RuntimeError):
    """Some chunks raised; the others were computed and kept.  ``failures``: ``[(chunk, error)]``."""

    def __init__(self, message: str, failures: list[tuple[Chunk, BaseException]]):
        super().__init__(message)
        self.failures = failures


class SweepWriteError(OSError):
    """A sweep output could not be written (message names the path; finished parts are kept)."""

    def __str__(self) -> str:
        return str(self.strerror)


def _writable_folder(out: Path) -> None:
    p = out
    while not p.exists() and p != p.parent:
        p = p.parent
    if not p.is_dir():
        raise SweepWriteError(errno.ENOTDIR, f"cannot write the sweep to {out}: {p} is a file, not a folder")
    if not os.access(p, os.W_OK | os.X_OK):
        raise SweepWriteError(errno.EACCES, f"cannot write the sweep to {out}: folder {p} is not writable")


def _write_error(what: str, path: Path, exc: OSError, kept: int, parts: Path) -> SweepWriteError:
    why = exc.strerror or type(exc).__name__
    return SweepWriteError(exc.errno or errno.EIO,
                           f"cannot write {what}: {why} ({path}); {kept} finished parts kept in {parts}")


class _PartStore:
    """The executor's store: verified Parquet parts in ``<out>/parts`` (see ``store.py``)."""

    def __init__(self, folder: Path, chunks: list[Chunk], fingerprints: list[str], resume: bool):
        self.folder, self.resume, self.written = folder, resume, 0
        self.expect = {}
        for c in chunks:
            key, fields = part_key(c.identity(), fingerprints[c.rule_index])
            self.expect[c.part_name] = (key, fields)

    def load(self, name: str, chunk: Chunk) -> tuple[Any, str | None]:
        if not self.resume:
            return None, "missing"
        key, fields = self.expect[name]
        return read_verified(self.folder / name, key, fields)

    def save(self, name: str, chunk: Chunk, frame: Any) -> None:
        from .store import provenance

        key, fields = self.expect[name]
        path = self.folder / name
        try:
            write_frame(frame, path, {"key": key, "fields": fields, "provenance": provenance(),
                                      "chunk": chunk.describe()})
        except OSError as exc:
            raise _write_error(f"part {name}", path, exc, self.written, self.folder) from exc
        self.written += 1


def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, numbers.Real):
        return "num"
    return "str" if isinstance(v, str) else "other"


def _normalize_types(table: Any) -> Any:
    """Make every object column one Parquet type: NaN -> None; mixed types -> strings."""
    for c in table.columns:
        col = table[c]
        if col.dtype != object:
            continue
        mask = col.isna()
        kinds = {_kind(v) for v in col[~mask]}
        if mask.any():
            col = col.astype(object).where(~mask, None)
        if len(kinds) > 1 or "other" in kinds:
            col = col.map(lambda v: None if v is None else str(v))
        table[c] = col
    return table


def merge_frames(frames: list[Any]) -> Any:
    """One table from the parts, sorted by (rule_index, run, stop_val) and of stable types."""
    import pandas as pd

    table = pd.concat(frames, ignore_index=True)
    table = table.sort_values(["rule_index", "run", "stop_val"], kind="stable").reset_index(drop=True)
    return _normalize_types(table)


def run_sweep(cfg: SweepConfig, out_dir: str | Path, *, resume: bool = True, scheduler: str | None = None,
              chunk_size: int | None = None, timeout: float = 10.0, retries: int = 2,
              progress: Callable[[int], None] | None = None, log: Callable[[str], None] | None = None) -> Any:
    """Run every chunk of ``cfg`` not already stored, then write ``<out_dir>/table.parquet``.

    Parameters
    ----------
    cfg : SweepConfig
    out_dir : path
        The sweep's folder (parts in ``parts/``, the merged table in ``table.parquet``).
    resume : bool
        Reuse parts whose cache key and content verify (see :mod:`precond_theory.sweep.store`).
    scheduler : None, ``"local[:N]"`` or ``"tcp://HOST:PORT"``
        Where chunks run (:func:`precond_theory.executors.get_executor`); the table is
        identical for every scheduler.
    chunk_size : int, optional
        Runs per chunk (overrides ``cfg.chunk_size``; ``None`` there too: one chunk per rule).
    timeout, retries
        Dask connection timeout (s) and retries of a chunk that raised.
    progress : callable(n_runs), optional
        Called as chunks finish (or are found cached) with their number of runs.
    log : callable(str), optional
        Receives one line per part that was stored but had to be recomputed, with the reason.

    Returns
    -------
    DataFrame
        The merged table; ``table.attrs["sweep"]`` counts computed / cached / recomputed parts.

    Raises
    ------
    ValueError, TypeError
        Bad arguments (before any work).
    SweepWriteError
        An output could not be written (names the path; finished parts are kept).
    SweepError
        Some chunks raised (each named by its configuration); the others are kept and no table
        is written.
    ConnectionError
        The scheduler could not be reached within ``timeout`` (nothing is written).
    """
    from .. import rules

    if not isinstance(cfg, SweepConfig):
        raise TypeError(f"cfg must be a SweepConfig (see load_config); got {type(cfg).__name__}")
    if chunk_size is not None:
        cfg = cfg.replace(chunk_size=chunk_size)
    chunks = plan_chunks(cfg)
    problem = problem_from_spec(cfg.problem)
    fps = [live_fingerprint(rules.get(s["name"]), type(problem)) for s in cfg.rules]
    out = Path(out_dir)
    _writable_folder(out)
    parts = out / "parts"
    store = _PartStore(parts, chunks, fps, resume)
    log = log or (lambda line: None)
    with get_executor(scheduler, timeout=timeout, retries=retries) as ex:  # connect before writing anything
        try:
            parts.mkdir(parents=True, exist_ok=True)
            clean_orphans(out)
            clean_orphans(parts)
            (out / "table.parquet").unlink(missing_ok=True)  # never leave an old table looking current
        except OSError as exc:
            raise _write_error("the sweep folder", out, exc, 0, parts) from exc

        def on_outcome(o: Outcome) -> None:
            if o.reason is not None:
                log(f"recomputed parts/{o.key}: {o.reason}")
            if progress is not None and o.status != "failed":
                progress(o.item.runs)

        outcomes = ex.map(compute_chunk, chunks, keys=[c.part_name for c in chunks], store=store,
                          on_outcome=on_outcome)
    failed = [(o.item, o.error) for o in outcomes if o.status == "failed"]
    if failed:
        kept = sum(o.status != "failed" for o in outcomes)
        detail = "; ".join(f"{c.describe()}: {type(e).__name__}: {' '.join(str(e).split())}" for c, e in failed)
        raise SweepError(f"{len(failed)} of {len(chunks)} chunks failed: {detail}. {kept} finished parts kept in "
                         f"{parts}; a re-run computes only the missing ones", failed)
    table = merge_frames([o.value for o in outcomes])
    meta = {"sweep": cfg.name, "config": cfg.to_dict(), "parts": [store.expect[c.part_name][0] for c in chunks],
            "code_hash": code_hash(), "versions": dependency_versions()}
    try:
        write_frame(table, out / "table.parquet", meta)
    except OSError as exc:
        raise _write_error("the merged table", out / "table.parquet", exc, len(chunks), parts) from exc
    table.attrs["sweep"] = {
        "computed": sum(o.status == "done" for o in outcomes),
        "cached": sum(o.status == "cached" for o in outcomes),
        "recomputed": [(o.key, o.reason) for o in outcomes if o.reason is not None],
        "chunks": len(chunks), "runs": int(sum(c.runs for c in chunks)),
    }
    return table

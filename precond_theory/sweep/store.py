"""The sweep's cache: keys, provenance, atomic Parquet parts verified on reuse, and the merge.

A part's **key** is the SHA-256 of what made its numbers: the chunk's identity (rule spec and
configuration range, problem, seeds, steps, record), the package version, a hash of the
package's source code (every ``precond_theory/**/*.py``, computed once per process), a
fingerprint of the live code of the rule and problem classes (so a monkeypatched method counts
as a code change), and the Python and dependency versions that change numbers.  Each part
stores its key, the key's fields and its provenance (command, date, host) in the Parquet
schema metadata, plus a digest of its rows.  On reuse a part is read in full and accepted only
if its key, row count and digest match; otherwise it is recomputed and the reason is reported
(``corrupt``, ``foreign`` = written for another chunk or config, ``stale`` = code or versions
changed).  Writes go to a temporary file created with the user's umask, then ``os.replace``.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import importlib.metadata
import json
import os
import platform
import secrets
import socket
import sys
import time
import types
from pathlib import Path
from typing import Any, Callable

__all__ = ["code_hash", "dependency_versions", "live_fingerprint", "part_key", "write_atomic",
           "write_frame", "read_verified", "clean_orphans", "META_KEY"]

META_KEY = b"precond_theory"
#: What a part's numbers mean, beyond its config: bumped when the same chunk would compute different
#: numbers.  2: runs get their seeds through ``run(seed=...)`` (start ``sample_x0(seed)`` and seeded
#: oracle streams); format-1 parts started at ``x_star + N(0, I)`` with seeds 0, 1, ... of the batch.
FORMAT = 2
_NUMERIC_DEPS = ("numpy", "scipy", "array-api-compat", "numba", "pandas", "pyarrow")


@functools.lru_cache(maxsize=1)
def code_hash() -> str:
    """SHA-256 over the path and bytes of every ``precond_theory/**/*.py`` (once per process)."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        h.update(p.relative_to(root).as_posix().encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def dependency_versions() -> dict[str, str]:
    """Python and the installed versions of the dependencies that change numbers."""
    from .. import __version__

    out = {"precond-theory": __version__, "python": platform.python_version()}
    for pkg in _NUMERIC_DEPS:
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def _code_digest(h: Any, code: types.CodeType) -> None:
    h.update(code.co_code)
    h.update(repr(code.co_names).encode())
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            _code_digest(h, c)
        else:
            h.update(repr(c).encode())


def live_fingerprint(*classes: type) -> str:
    """Digest of the bytecode of every function defined on ``classes`` and their bases."""
    h = hashlib.sha256()
    seen = set()
    for cls in classes:
        for klass in cls.__mro__:
            if klass in seen or klass.__module__ in ("builtins", "abc"):
                continue
            seen.add(klass)
            h.update(f"{klass.__module__}.{klass.__qualname__}".encode())
            for name in sorted(vars(klass)):
                obj = vars(klass)[name]
                fn = getattr(obj, "__func__", obj)
                fn = getattr(fn, "fget", fn)
                code = getattr(fn, "__code__", None)
                if isinstance(code, types.CodeType):
                    h.update(name.encode())
                    _code_digest(h, code)
    return h.hexdigest()


def part_key(identity: dict[str, Any], fingerprint: str) -> tuple[str, dict[str, Any]]:
    """The key of a part and the fields it covers."""
    fields = {"format": FORMAT, "chunk": identity, "code_hash": code_hash(), "live_code": fingerprint,
              "versions": dependency_versions()}
    blob = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest(), fields


def provenance() -> dict[str, Any]:
    """Who wrote a part: command line, UTC date, host, process id (not part of the key)."""
    return {"command": " ".join(sys.argv), "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec="seconds"), "host": socket.gethostname(), "pid": os.getpid()}


# ------------------------------------------------------------------------------------- writing
def _tmp_name(path: Path) -> Path:
    host = socket.gethostname().replace("~", "-")
    return path.parent / f".{path.name}~{host}~{os.getpid()}~{secrets.token_hex(4)}.tmp"


def write_atomic(path: Path, write: Callable[[Any], None]) -> Path:
    """Write ``path`` through ``write(file)`` into a temporary file in the same folder, then rename.

    The temporary file is created with mode 0666 minus the umask (``tempfile.mkstemp`` would
    give 0600), flushed and fsynced before ``os.replace``; on any error it is removed.
    """
    path = Path(path)
    tmp = _tmp_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename durable
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
    return path


def _digest(table: Any) -> str:
    import pandas as pd

    rows = pd.util.hash_pandas_object(table.to_pandas(), index=False).to_numpy()
    return hashlib.sha256(rows.tobytes() + ",".join(table.column_names).encode()).hexdigest()


def write_frame(frame: Any, path: Path, meta: dict[str, Any] | None = None) -> Path:
    """Write a DataFrame atomically as Parquet with ``meta`` (JSON) and a row digest in its metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    if meta is not None:
        info = dict(meta, rows=table.num_rows, digest=_digest(table))
        schema_meta = dict(table.schema.metadata or {})
        schema_meta[META_KEY] = json.dumps(info, sort_keys=True, default=str).encode()
        table = table.replace_schema_metadata(schema_meta)
    return write_atomic(path, lambda fh: pq.write_table(table, fh, write_page_checksum=True))


def read_meta(path: Path) -> dict[str, Any]:
    """The precond-theory metadata of a Parquet file (raises if unreadable or absent)."""
    import pyarrow.parquet as pq

    md = pq.read_schema(path).metadata or {}
    if META_KEY not in md:
        raise ValueError("no precond-theory metadata (not a sweep part)")
    return json.loads(md[META_KEY])


def read_verified(path: Path, key: str, fields: dict[str, Any]) -> tuple[Any, str | None]:
    """``(frame, None)`` if ``path`` is a valid part with ``key``; else ``(None, reason)``."""
    import pyarrow.parquet as pq

    if not path.exists():
        return None, "missing"
    try:
        meta = read_meta(path)
        table = pq.read_table(path, page_checksum_verification=True)
    except Exception as exc:  # any read failure means the file is not a usable part
        return None, f"corrupt ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"
    if meta.get("key") != key:
        return None, _why_different(meta.get("fields", {}), fields)
    if table.num_rows != meta.get("rows") or _digest(table) != meta.get("digest"):
        return None, "corrupt (rows do not match the digest recorded when the part was written)"
    return table.to_pandas(), None


def _why_different(got: dict[str, Any], want: dict[str, Any]) -> str:
    g, w = got.get("chunk", {}), want["chunk"]
    if not g:
        return "foreign (no cache key)"
    ident = ("rule_index", "chunk", "rule", "configs")
    if any(g.get(k) != w.get(k) for k in ident):
        rule = g.get("rule", {}).get("name", "?")
        return (f"foreign (written for rules[{g.get('rule_index')}] {rule}, chunk {g.get('chunk')}, "
                f"configurations {g.get('configs')})")
    changed = sorted(k for k in w if g.get(k) != w.get(k))
    if changed:
        return f"stale (config changed: {', '.join(changed)})"
    if got.get("code_hash") != want["code_hash"] or got.get("live_code") != want["live_code"]:
        return "stale (code changed)"
    gv, wv = got.get("versions", {}), want["versions"]
    diff = [f"{p} {gv.get(p)} -> {wv.get(p)}" for p in sorted(set(gv) | set(wv)) if gv.get(p) != wv.get(p)]
    if diff:
        return f"stale (versions changed: {', '.join(diff)})"
    return "stale (key format changed)"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_orphans(folder: Path, max_age_s: float = 86400.0) -> list[Path]:
    """Remove temporary files left by killed writers: ``.<name>~<host>~<pid>~<token>.tmp`` whose
    process is gone (same host), or older than ``max_age_s`` (another host).  Returns them."""
    removed = []
    if not folder.is_dir():
        return removed
    host = socket.gethostname().replace("~", "-")
    for p in folder.glob(".*.tmp"):
        parts = p.name[:-len(".tmp")].split("~")
        if len(parts) != 4 or not parts[2].isdigit():
            continue
        t_host, pid = parts[1], int(parts[2])
        try:
            dead = (not _pid_alive(pid)) if t_host == host else (time.time() - p.stat().st_mtime > max_age_s)
            if dead and pid != os.getpid():
                p.unlink()
                removed.append(p)
        except FileNotFoundError:
            continue
    return removed

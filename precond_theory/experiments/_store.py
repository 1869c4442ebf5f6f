"""Writing experiment artifacts: atomic text files and folders, LaTeX booktabs tables, cache keys.

A result is reused when (1) its **key** equals the key of the request: the experiment's name,
size and parameters, its definition (the run function and the values it closes over: problems,
rules, criteria) and the versions of the dependencies that change numbers or figures (the
sweep's numeric list plus :data:`ARTIFACT_DEPENDENCIES`); and (2) the package code and data its
run used are unchanged: the dependency record of :mod:`precond_theory.experiments._deps`
(executed and named functions, import-time code, plain-data globals, data files), verified
against the source on disk.  Editing code a result did not use keeps it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import math
import os
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["code_hash", "dependency_versions", "cache_key", "write_text_atomic", "replace_folder",
           "to_booktabs", "json_safe"]

#: Dependencies that change artifacts beyond the numbers (figures, math text), added to the sweep's list.
ARTIFACT_DEPENDENCIES = ("matplotlib", "SciencePlots", "sympy")
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent


@lru_cache(maxsize=1)
def code_hash() -> str:
    """Hash of the package's source (the sweep's :func:`precond_theory.sweep.store.code_hash`, every
    ``.py``) and of its data files (``data/*.toml``: the claims catalog and the default sweep)."""
    from ..sweep.store import code_hash as source_hash

    h = hashlib.sha256(source_hash().encode())
    for p in sorted((_PACKAGE_ROOT / "data").rglob("*")):
        if p.is_file():
            h.update(p.relative_to(_PACKAGE_ROOT).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def dependency_versions() -> dict[str, str]:
    """The sweep's numerically relevant versions (package, Python, numpy, scipy, ...) plus
    :data:`ARTIFACT_DEPENDENCIES` (``"absent"`` if not installed)."""
    from ..sweep.store import dependency_versions as numeric

    out = dict(numeric())
    for pkg in ARTIFACT_DEPENDENCIES:
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = "absent"
    return out


def cache_key(name: str, size: str, params: dict[str, Any], definition: Any = None) -> str:
    """Key of one experiment request (name, size, parameters, definition, versions); the code
    the result used is checked separately (see the module docstring)."""
    blob = json.dumps({"name": name, "size": size, "params": json_safe(params), "definition": json_safe(definition),
                       "versions": dependency_versions()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def json_safe(v: Any) -> Any:
    """Plain JSON values: NumPy scalars and arrays to Python, non-finite floats to strings."""
    import numpy as np

    if isinstance(v, dict):
        return {str(k): json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_safe(x) for x in v]
    if isinstance(v, np.ndarray):
        return json_safe(v.tolist())
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return str(v)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` through a temporary file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def replace_folder(staged: Path, target: Path) -> None:
    """Move a fully written folder ``staged`` to ``target``, replacing an older one.

    The old folder is first renamed aside, so at every moment ``target`` is either the old
    complete result or the new complete one.
    """
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.rmdir(old)
        os.replace(target, old)
    try:
        os.replace(staged, target)
    except OSError:
        if old is not None:
            os.replace(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _tex_escape(s: str) -> str:
    rep = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
           "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
    return "".join(rep.get(c, c) for c in s)


def _cell(v: Any) -> str:
    import numpy as np

    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if math.isnan(v):
            return "--"
        if math.isinf(v):
            return r"$\infty$" if v > 0 else r"$-\infty$"
        return f"{v:.4g}"
    return _tex_escape(str(v))


def to_booktabs(frame: Any, caption: str = "", label: str = "") -> str:
    """A DataFrame as a LaTeX ``table`` with booktabs rules (``\\toprule``/``\\midrule``/``\\bottomrule``).

    Numbers are shown with 4 significant digits, NaN as ``--``; text is escaped.  Needs
    ``\\usepackage{booktabs}`` in the document.
    """
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    cols = list(frame.columns)
    align = "".join("r" if is_numeric_dtype(frame[c]) and not is_bool_dtype(frame[c]) else "l" for c in cols)
    lines = [r"\begin{table}[t]", r"\centering"]
    if caption:
        lines.append(rf"\caption{{{_tex_escape(caption)}}}")
    if label:
        lines.append(rf"\label{{{label}}}")
    lines += [rf"\begin{{tabular}}{{{align}}}", r"\toprule", " & ".join(_tex_escape(str(c)) for c in cols) + r" \\",
              r"\midrule"]
    for row in frame.itertuples(index=False):
        lines.append(" & ".join(_cell(v) for v in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    return "\n".join(lines)

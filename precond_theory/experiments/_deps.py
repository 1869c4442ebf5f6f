"""What an experiment's result depends on in the package's code, found by running it.

An experiment's result is reused only while the code that made it is unchanged; "the code" is
not the whole package (then any edit anywhere, say to a claim-checking module the experiment
never calls, would throw away hours of full-size runs) but what the run used:

* every package function that **executed** during the run, recorded by a C-level profiler
  (:mod:`cProfile` with ``builtins=False``, installed only around the experiment's run);
* every package function such code **names** (a global it reads), transitively, whether or not
  it ran this time: a result served from an in-process cache was computed by code the run
  names but need not execute; compiled kernels count by their Python source (numba's
  ``py_func``) and cached functions by the function they wrap (``__wrapped__``);
* the **import-time code** (module and class bodies: constants, class attributes, dataclass
  defaults, decorators, default arguments) of every file holding such code, and of every package
  module such code names;
* the **values of plain-data globals** (numbers, strings and containers of them) such code
  reads, wherever they are defined (``from .x import CONST``);
* the **data files** of the package (``precond_theory/data/*``) named in a string literal of the
  code of any of those files (documentation does not count).

Code is compared as bytecode (instructions, constants, names, argument layout), not as text:
moving code or editing a function's docstring keeps a result; changing what any of it computes
does not.  Each executed function is also checked against the file on disk when the result is
recorded; a file edited while the run was going makes the result unkeyable (never reused).
"""

from __future__ import annotations

import cProfile
import hashlib
import inspect
import json
import sys
import types
from pathlib import Path
from typing import Any

__all__ = ["Tracker", "collect", "verify", "digest", "definition", "closure_values", "code_digest", "plain"]

_ROOT = Path(__file__).resolve().parent.parent  # the package folder precond_theory/
_DATA = _ROOT / "data"
_SELF = "experiments/_deps.py"
_COMPREHENSIONS = ("<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>")
_PLAIN_SCALARS = (bool, int, float, complex, str, bytes, type(None), type(Ellipsis))


# ------------------------------------------------------------------------------------- digests
def _const(c: Any) -> str:
    if isinstance(c, types.CodeType):
        return f"<code {c.co_qualname}>"  # nested code counts by its own digest where it matters
    if isinstance(c, (frozenset, set)):
        return "{" + ",".join(sorted(_const(x) for x in c)) + "}"  # set order depends on hash seeds
    if isinstance(c, tuple):
        return "(" + ",".join(_const(x) for x in c) + ")"
    return repr(c)


#: Flags that change what code means (others, e.g. CO_OPTIMIZED, differ between the compiler's
#: code object and the copy a JIT such as numba runs).
_FLAGS = (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS | inspect.CO_GENERATOR | inspect.CO_COROUTINE
          | inspect.CO_ITERABLE_COROUTINE | inspect.CO_ASYNC_GENERATOR)


def _is_function(code: types.CodeType) -> bool:
    """A function body (new locals), not a module or class body (import-time code)."""
    return bool(code.co_flags & inspect.CO_NEWLOCALS)


def code_digest(code: types.CodeType) -> str:
    """Digest of one code object: instructions, constants (a function's docstring left out),
    names, local and closure variables, argument layout and kind (generator, coroutine); not
    line numbers or the file name."""
    consts = code.co_consts
    if _is_function(code) and code.co_name not in _COMPREHENSIONS and consts:
        consts = consts[1:]  # a function's first constant is its docstring or None (CPython 3.11)
    h = hashlib.sha256()
    for part in (code.co_code, _const(consts).encode(), repr(code.co_names).encode(),
                 repr(code.co_varnames).encode(), repr(code.co_freevars).encode(), repr(code.co_cellvars).encode(),
                 repr((code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount, code.co_flags & _FLAGS)).encode()):
        h.update(part + b"\0")
    return h.hexdigest()[:20]


def _walk(code: types.CodeType):
    yield code
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            yield from _walk(c)


_INDEX: dict[str, tuple[tuple[int, int], dict[str, list[str]], set[str], set[str]]] = {}


def _index(rel: str) -> tuple[dict[str, list[str]], set[str], set[str]] | None:
    """``({qualname: sorted digests}, {qualnames of import-time bodies}, {string literals other
    than docstrings})`` of a package file as it is on disk now (None if gone or not compilable)."""
    import ast

    path = _ROOT / rel
    try:
        st = path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
        hit = _INDEX.get(rel)
        if hit is not None and hit[0] == stamp:
            return hit[1], hit[2], hit[3]
        src = path.read_bytes()
        code = compile(src, str(path), "exec", dont_inherit=True)
        tree = ast.parse(src)
    except (OSError, SyntaxError, ValueError):
        return None
    digests: dict[str, list[str]] = {}
    bodies: set[str] = set()
    for c in _walk(code):
        digests.setdefault(c.co_qualname, []).append(code_digest(c))
        if not _is_function(c):
            bodies.add(c.co_qualname)
    digests = {k: sorted(v) for k, v in digests.items()}
    docs = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docs.add(id(first.value))
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
               and id(n) not in docs}
    _INDEX[rel] = (stamp, digests, bodies, strings)
    return digests, bodies, strings


def _combined(digests: list[str]) -> str:
    return hashlib.sha256(",".join(digests).encode()).hexdigest()[:20]


def plain(v: Any, depth: int = 0) -> Any:
    """``v`` as JSON-able data when it is plain data (numbers, strings, containers of them,
    small NumPy arrays); None-like sentinel ``...`` otherwise."""
    import numpy as np

    if depth > 6:
        return ...
    if isinstance(v, float) and v != v:
        return "nan"
    if isinstance(v, _PLAIN_SCALARS):
        return v if isinstance(v, (bool, int, float, str, type(None))) else repr(v)
    if isinstance(v, np.generic):
        return plain(v.item(), depth + 1)
    if isinstance(v, np.ndarray):
        return ["ndarray", str(v.dtype), list(v.shape), v.tolist()] if v.size <= 10_000 else ...
    if isinstance(v, (list, tuple, frozenset, set)):
        items = [plain(x, depth + 1) for x in v]
        if any(x is ... for x in items):
            return ...
        if isinstance(v, (set, frozenset)):
            items = sorted(items, key=lambda x: json.dumps(x, sort_keys=True, default=str))
        return [type(v).__name__, items]
    if isinstance(v, dict):
        items = [[plain(k, depth + 1), plain(x, depth + 1)] for k, x in v.items()]
        if any(k is ... or x is ... for k, x in items):
            return ...
        return ["dict", items]
    return ...


def _value_digest(v: Any) -> str | None:
    p = plain(v)
    if p is ...:
        return None
    return hashlib.sha256(json.dumps(p, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _data_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:20]
    except OSError:
        return None


# ------------------------------------------------------------------------------------ tracking
def _rel(filename: str) -> str | None:
    try:
        p = Path(filename).resolve()
    except (OSError, ValueError):
        return None
    if p.suffix != ".py" or _ROOT not in p.parents:
        return None
    return p.relative_to(_ROOT).as_posix()


class Tracker:
    """Context manager recording the package code objects that execute inside it.

    ``codes`` (after exit) lists them; ``ok`` is False (and ``why`` says why) when tracking was
    not possible, e.g. another profiler was active (it is left alone).
    """

    def __init__(self) -> None:
        self.codes: list[types.CodeType] = []
        self.ok, self.why = True, ""
        self._prof: cProfile.Profile | None = None

    def __enter__(self) -> Tracker:
        if sys.getprofile() is not None:
            self.ok, self.why = False, "another profiler was active during the run"
            return self
        self._prof = cProfile.Profile(builtins=False)
        self._prof.enable()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._prof is None:
            return
        self._prof.disable()
        self.codes = [s.code for s in self._prof.getstats()
                      if isinstance(s.code, types.CodeType) and _rel(s.code.co_filename) is not None]
        self._prof = None


def _modules_by_file() -> dict[str, types.ModuleType]:
    out = {}
    for m in list(sys.modules.values()):
        f = getattr(m, "__file__", None)
        rel = _rel(f) if f else None
        if rel is not None:
            out[rel] = m
    return out


def _inner(v: Any) -> Any:
    """The Python function behind a compiled kernel (numba ``py_func``) or a cache (``__wrapped__``)."""
    for attr in ("py_func", "__wrapped__", "__func__"):
        w = getattr(v, attr, None)
        if w is not None and w is not v:
            return w
    return None


def collect(codes: list[types.CodeType], extra: list[Any] = ()) -> tuple[dict[str, Any] | None, str]:
    """The dependency record of a run that executed ``codes`` (plus the objects ``extra``, e.g.
    the values an experiment's definition closes over).  Returns ``(deps, "")`` or
    ``(None, why)`` when the result cannot be keyed (a file changed on disk during the run)."""
    mods = _modules_by_file()
    code_deps: dict[str, dict[str, str]] = {}
    ran: dict[str, dict[str, str]] = {}
    glob: dict[str, str] = {}
    files: set[str] = set()
    seen: set[int] = set()
    queue = [(c, True) for c in codes if _rel(c.co_filename) != _SELF]  # not the tracking itself

    def name(v: Any, holder: str, key: str, depth: int = 0) -> None:
        if depth > 3:
            return
        if isinstance(v, types.ModuleType):
            f = getattr(v, "__file__", None)
            rel = _rel(f) if f else None
            if rel is not None:
                files.add(rel)
            return
        code = getattr(v, "__code__", None)
        if isinstance(code, types.CodeType) and _rel(code.co_filename) is not None:
            queue.append((code, False))
            for cell in getattr(v, "__closure__", None) or ():
                try:
                    name(cell.cell_contents, holder, key + ".<cell>", depth + 1)
                except ValueError:  # an empty cell
                    pass
            return
        inner = _inner(v)
        if inner is not None:
            name(inner, holder, key, depth + 1)
            return
        if isinstance(v, type):
            rel = _rel(getattr(sys.modules.get(v.__module__), "__file__", "") or "")
            if rel is not None:
                files.add(rel)
            return
        if holder == "<definition>":
            return  # the definition's values are part of the key itself (definition())
        d = _value_digest(v)
        if d is not None:
            glob[f"{holder}:{key}"] = d

    for i, obj in enumerate(extra):
        name(obj, "<definition>", str(i))
    while queue:
        code, executed = queue.pop()
        if id(code) in seen:
            continue
        seen.add(id(code))
        rel = _rel(code.co_filename)
        idx = _index(rel)
        if idx is None:
            return None, f"{rel} cannot be read or compiled now"
        digests = idx[0]
        if code.co_qualname not in digests or code_digest(code) not in digests[code.co_qualname]:
            return None, f"{rel} ({code.co_qualname}) changed on disk after it was imported"
        files.add(rel)
        code_deps.setdefault(rel, {})[code.co_qualname] = _combined(digests[code.co_qualname])
        if executed:
            ran.setdefault(rel, {})[code.co_qualname] = code_deps[rel][code.co_qualname]
        mod = mods.get(rel)
        if mod is None:
            continue
        g = vars(mod)
        for n in code.co_names:
            if n in g and not n.startswith("__"):
                name(g[n], mod.__name__, n)
    data: dict[str, str] = {}
    data_files = [p for p in _DATA.rglob("*") if p.is_file()] if _DATA.is_dir() else []
    for rel in sorted(files):
        idx = _index(rel)
        if idx is None:
            return None, f"{rel} cannot be read or compiled now"
        digests, bodies, strings = idx
        for q in bodies:
            code_deps.setdefault(rel, {})[q] = _combined(digests[q])
        for p in data_files:  # named in a string literal of the code (not in documentation)
            if any(p.name in t for t in strings):
                data[p.relative_to(_ROOT).as_posix()] = _data_digest(p)
    deps = {"code": {k: dict(sorted(v.items())) for k, v in sorted(code_deps.items())},
            "globals": dict(sorted(glob.items())), "data": dict(sorted(data.items())),
            "executed": {k: dict(sorted(v.items())) for k, v in sorted(ran.items())}}
    return deps, ""


def digest(deps: dict[str, Any]) -> str:
    """One digest of a dependency record (part of the cache key)."""
    return hashlib.sha256(json.dumps(deps, sort_keys=True).encode()).hexdigest()[:16]


def verify(deps: Any) -> list[str]:
    """What changed since ``deps`` was recorded (empty when nothing did), e.g.
    ``["run.py:run", "data/claims.toml", "plotting/style.py:_RC (value)"]``."""
    import importlib

    if not isinstance(deps, dict) or not {"code", "globals", "data"} <= set(deps):
        return ["no dependency record"]
    changed = []
    for rel, entries in deps["code"].items():
        idx = _index(rel)
        for q, d in entries.items():
            if idx is None or q not in idx[0] or _combined(idx[0][q]) != d:
                changed.append(f"{rel}:{q}")
    for key, d in deps["globals"].items():
        holder, _, attr = key.partition(":")
        try:
            mod = importlib.import_module(holder)
        except Exception:  # noqa: BLE001  (a module that no longer imports is a change)
            changed.append(f"{key} (module)")
            continue
        if not hasattr(mod, attr) or _value_digest(getattr(mod, attr)) != d:
            changed.append(f"{key} (value)")
    for rel, d in deps["data"].items():
        if _data_digest(_ROOT / rel) != d:
            changed.append(rel)
    return changed


def closure_values(fn: Any) -> list[Any]:
    """The values a function closes over (an experiment's definition: problems, rules, criteria)."""
    out = []
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            out.append(cell.cell_contents)
        except ValueError:
            pass
    return out


def _describe_value(v: Any, depth: int = 0) -> Any:
    p = plain(v)
    if p is not ...:
        return p
    code = getattr(v, "__code__", None)
    if isinstance(code, types.CodeType):
        inner = [_describe_value(c, depth + 1) for c in closure_values(v)] if depth < 3 else []
        return ["function", f"{getattr(v, '__module__', '?')}.{code.co_qualname}", inner]
    if isinstance(v, type):
        return ["class", f"{v.__module__}.{v.__qualname__}"]
    return ["object", type(v).__module__ + "." + type(v).__qualname__]


def definition(run: Any) -> Any:
    """What an experiment's run function is (module and qualified name) and the plain values it
    closes over, as JSON-able data (part of the cache key)."""
    return _describe_value(run)

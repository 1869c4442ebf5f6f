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
* the **import-time statements** those need, one statement at a time: the ``def`` and ``class``
  statements of the functions and classes (decorators, default arguments, bases), every
  statement of a used class's body (class attributes, dataclass defaults), the module-level
  statements binding a name such code reads (constants, imports), the statements those read in
  turn, and every module-level statement that binds no name (registrations, loops), so adding
  or changing an unrelated function or constant beside them keeps a result;
* the **values of immutable globals** (numbers, strings, tuples of them) such code reads,
  wherever they are defined (``from .x import CONST``); a mutable global (a dict, list or set:
  a table, a registry, or a cache filled while running) counts by the statements that define it
  in every package module that binds it, never by its contents;
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


class _FileIndex:
    """A package file as it is on disk: digests of its functions (by qualified name), of its
    import-time statements (by scope and bound name), and its string literals."""

    def __init__(self, functions: dict[str, list[str]], units: dict[str, dict[str, str]],
                 loads: dict[str, dict[str, set[str]]], strings: set[str]):
        self.functions, self.units, self.loads, self.strings = functions, units, loads, strings


_INDEX: dict[str, tuple[tuple[int, int], _FileIndex]] = {}
_DEFS = ("FunctionDef", "AsyncFunctionDef", "ClassDef")


def _bound(stmt: Any) -> list[str]:
    """Names a simple statement binds (empty for statements kept as effects)."""
    import ast

    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [stmt.name]
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in stmt.names]
    targets = stmt.targets if isinstance(stmt, ast.Assign) else \
        [stmt.target] if isinstance(stmt, (ast.AnnAssign, ast.AugAssign)) else []
    out = []
    for t in targets:
        for n in ast.walk(t):
            if isinstance(n, ast.Name):
                out.append(n.id)
    return out


def _is_doc(stmt: Any) -> bool:
    import ast

    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _scope_units(body: list, scope: str, units: dict, loads: dict) -> None:
    """Units of one scope (module or class body): per bound name the digest of every statement
    binding it (a def or class statement without its body: decorators, defaults, bases);
    statements binding nothing (calls, loops, conditionals) together as ``<effects>``."""
    import ast
    import copy

    per: dict[str, list[str]] = {}
    names: dict[str, set[str]] = {}
    effects: list[str] = []
    for i, stmt in enumerate(body):
        if i == 0 and _is_doc(stmt):
            continue
        head = stmt
        if type(stmt).__name__ in _DEFS:
            head = copy.copy(stmt)
            head.body = []
            if isinstance(stmt, ast.ClassDef):
                _scope_units(stmt.body, stmt.name if scope == "<module>" else f"{scope}.{stmt.name}", units, loads)
        text = ast.dump(head, include_attributes=False)
        bound = _bound(stmt)
        if not bound:
            effects.append(text)
            continue
        used = {n.id for n in ast.walk(head) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        for b in bound:
            per.setdefault(b, []).append(text)
            names.setdefault(b, set()).update(used)
    out = {k: hashlib.sha256("\n".join(v).encode()).hexdigest()[:20] for k, v in per.items()}
    out["<effects>"] = hashlib.sha256("\n".join(effects).encode()).hexdigest()[:20]
    units[scope] = out
    loads[scope] = names


def _index(rel: str) -> _FileIndex | None:
    """The index of a package file as it is on disk now (None if gone or not compilable)."""
    import ast

    path = _ROOT / rel
    try:
        st = path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
        hit = _INDEX.get(rel)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        src = path.read_bytes()
        code = compile(src, str(path), "exec", dont_inherit=True)
        tree = ast.parse(src)
    except (OSError, SyntaxError, ValueError):
        return None
    functions: dict[str, list[str]] = {}
    for c in _walk(code):
        if _is_function(c):
            functions.setdefault(c.co_qualname, []).append(code_digest(c))
    functions = {k: sorted(v) for k, v in functions.items()}
    units: dict[str, dict[str, str]] = {}
    loads: dict[str, dict[str, set[str]]] = {}
    _scope_units(tree.body, "<module>", units, loads)
    docs = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            if _is_doc(node.body[0]):
                docs.add(id(node.body[0].value))
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
               and id(n) not in docs}
    idx = _FileIndex(functions, units, loads, strings)
    _INDEX[rel] = (stamp, idx)
    return idx


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


def _immutable(v: Any, depth: int = 0) -> bool:
    """Numbers, strings, None and tuples / frozensets of them (a value that cannot change at run time)."""
    if depth > 6:
        return False
    if isinstance(v, _PLAIN_SCALARS):
        return True
    import numpy as np

    if isinstance(v, np.generic):
        return True
    if isinstance(v, (tuple, frozenset)):
        return all(_immutable(x, depth + 1) for x in v)
    return False


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

    def __init__(self, enabled: bool = True) -> None:
        self.codes: list[types.CodeType] = []
        self.ok, self.why = True, ""
        self.enabled = enabled
        self._prof: cProfile.Profile | None = None

    def __enter__(self) -> Tracker:
        if not self.enabled:
            self.ok, self.why = False, "tracking was off"
            return self
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
    the values an experiment's definition closes over and the writers of its artifacts).

    Returns ``(deps, "")`` or ``(None, why)`` when the result cannot be keyed (a file changed on
    disk during the run).  ``deps["code"][file]`` maps function qualnames and import-time units
    (``"@<module>:NAME"``, ``"@Class:NAME"``, ``"@<module>:<effects>"``) to digests."""
    mods = _modules_by_file()
    code_deps: dict[str, dict[str, str]] = {}
    ran: dict[str, dict[str, str]] = {}
    glob: dict[str, str] = {}
    wanted: dict[str, set[tuple[str, str]]] = {}  # file -> {(scope, name)}; name "*" = the whole scope
    seen: set[int] = set()
    queue = [(c, True) for c in codes if _rel(c.co_filename) != _SELF]  # not the tracking itself

    def want(rel: str, qualname: str) -> None:
        """The import-time units a definition needs: its def statement, and for a method or a
        class the class statements and every class attribute."""
        top = qualname.split(".<locals>")[0].split(".")
        w = wanted.setdefault(rel, set())
        w.add(("<module>", top[0]))
        for k in range(1, len(top)):
            w.add((".".join(top[:k]), "*"))

    def name(v: Any, holder: str, key: str, names: tuple[str, ...] = (), depth: int = 0) -> None:
        if depth > 3:
            return
        if isinstance(v, types.ModuleType):  # a package module: the names used through it
            f = getattr(v, "__file__", None)
            rel = _rel(f) if f else None
            if rel is not None:
                g = vars(v)
                for n in names:
                    if n in g and not n.startswith("__") and not isinstance(g[n], types.ModuleType):
                        wanted.setdefault(rel, set()).add(("<module>", n))
                        name(g[n], v.__name__, n, (), depth + 1)
            return
        code = getattr(v, "__code__", None)
        if isinstance(code, types.CodeType) and _rel(code.co_filename) is not None:
            queue.append((code, False))
            for cell in getattr(v, "__closure__", None) or ():
                try:
                    name(cell.cell_contents, holder, key + ".<cell>", (), depth + 1)
                except ValueError:  # an empty cell
                    pass
            return
        inner = _inner(v)
        if inner is not None:
            name(inner, holder, key, names, depth + 1)
            return
        if isinstance(v, type):
            rel = _rel(getattr(sys.modules.get(v.__module__), "__file__", "") or "")
            if rel is not None:
                want(rel, v.__qualname__ + ".x")
            return
        if holder == "<definition>" and plain(v) is not ...:
            return  # the definition's values are part of the key itself
        if _immutable(v):
            d = _value_digest(v)
            if d is not None:
                glob[f"{holder}:{key}"] = d
            return
        # a mutable global (a dict, list or set: a table, a registry or a cache filled while running)
        # counts by the statements that define it, wherever it is defined, never by its contents
        if not isinstance(v, (dict, list, set, bytearray)):
            return  # another library's object (typing constructs, NumPy functions, ...)
        for m_rel, m in mods.items():
            if holder != "<definition>" and vars(m).get(key) is v:
                wanted.setdefault(m_rel, set()).add(("<module>", key))
        # a registry's entries are not followed: what a run looks up in it executes (and is recorded),
        # and following every entry would make each result depend on every registered rule and problem

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
        wanted.setdefault(rel, set())
        mod = mods.get(rel)
        if _is_function(code):
            q = code.co_qualname
            if q not in idx.functions or code_digest(code) not in idx.functions[q]:
                return None, f"{rel} ({q}) changed on disk after it was imported"
            code_deps.setdefault(rel, {})[q] = _combined(idx.functions[q])
            if executed:
                ran.setdefault(rel, {})[q] = code_deps[rel][q]
            want(rel, q)
        # module and class bodies that ran (a first import during the run) count by the units used
        if mod is None:
            continue
        g = vars(mod)
        module_names = idx.units.get("<module>", {})
        for n in code.co_names:
            if n in module_names:
                wanted[rel].add(("<module>", n))
            if n in g and not n.startswith("__"):
                name(g[n], mod.__name__, n, code.co_names)
    data: dict[str, str] = {}
    data_files = [p for p in _DATA.rglob("*") if p.is_file()] if _DATA.is_dir() else []
    for rel in sorted(wanted):
        idx = _index(rel)
        if idx is None:
            return None, f"{rel} cannot be read or compiled now"
        todo = list(wanted[rel]) + [("<module>", "<effects>")]
        done: set[tuple[str, str]] = set()
        while todo:  # the statements a needed statement reads, transitively (same scope or module)
            scope, n = todo.pop()
            if (scope, n) in done:
                continue
            done.add((scope, n))
            units = idx.units.get(scope, {})
            if n == "*":
                todo += [(scope, m) for m in units]
                continue
            if n not in units:
                continue
            code_deps.setdefault(rel, {})[f"@{scope}:{n}"] = units[n]
            for m in idx.loads.get(scope, {}).get(n, ()):
                todo += [(scope, m), ("<module>", m)]
            if scope != "<module>":
                todo.append((scope, "<effects>"))
        for p in data_files:  # named in a string literal of the code (not in documentation)
            if any(p.name in t for t in idx.strings):
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

    if isinstance(deps, dict) and set(deps) == {"package"}:  # an untracked run: the whole package
        from ._store import code_hash

        return [] if deps["package"] == code_hash() else ["the package (an untracked result is reused only while "
                                                          "no file of the package changed)"]
    if not isinstance(deps, dict) or not {"code", "globals", "data"} <= set(deps):
        return ["no dependency record"]
    changed = []
    for rel, entries in deps["code"].items():
        idx = _index(rel)
        for q, d in entries.items():
            if idx is None:
                now = None
            elif q.startswith("@"):
                scope, _, n = q[1:].rpartition(":")
                now = idx.units.get(scope, {}).get(n)
            else:
                now = _combined(idx.functions[q]) if q in idx.functions else None
            if now != d:
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

"""An experiment's result is keyed by the package code and data its run used: changing that code
(executed or named functions, import-time code, plain constants, data files) makes the result
stale; changing code it did not use, moving code or editing docstrings keeps it."""

from __future__ import annotations

import importlib
import json
import os
import sys
import textwrap

import pytest

from precond_theory.experiments import _deps, run_experiment

MOD = '''
"""A module; its docstring names other.toml, which does not make it a dependency."""
import pathlib

from .consts import LIMIT

CONST = 3.0
TABLE = pathlib.Path(__file__).parent / "data" / "table.toml"
_CACHE = {}
WEIGHTS = {"a": 1.0}


def f(x):
    """Executed by the run."""
    _CACHE[x] = x  # a cache filled while running
    return g(x) if x < 0 else min(x * CONST * WEIGHTS["a"] + len(TABLE.read_text()), LIMIT)


def g(x):
    return -x


def h(x):
    return x + 1


class K:
    scale = 2.0

    def go(self, x):
        return self.scale * f(x)
'''


@pytest.fixture()
def fake_package(tmp_path, monkeypatch):
    """A package folder ``fakepkg`` standing in for precond_theory (its root, its data folder)."""
    root = tmp_path / "fakepkg"
    (root / "data").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "mod.py").write_text(MOD)
    (root / "consts.py").write_text("LIMIT = 50.0\n")
    (root / "data" / "table.toml").write_text("a = 1\n")
    (root / "data" / "other.toml").write_text("b = 2\n")
    monkeypatch.setattr(_deps, "_ROOT", root.resolve())
    monkeypatch.setattr(_deps, "_DATA", (root / "data").resolve())
    monkeypatch.setattr(_deps, "_INDEX", {})
    monkeypatch.syspath_prepend(str(tmp_path))
    _forget()
    mod = importlib.import_module("fakepkg.mod")
    yield root, mod
    _forget()


def _forget():
    for name in ("fakepkg", "fakepkg.mod", "fakepkg.consts"):
        sys.modules.pop(name, None)


def _edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000))  # a new stamp even within one tick


def _record(mod):
    with _deps.Tracker() as t:
        mod.K().go(2.0)
    assert t.ok
    deps, why = _deps.collect(t.codes)
    assert deps is not None, why
    return deps


def test_dependencies_are_what_the_run_executed_and_named(fake_package):
    root, mod = fake_package
    deps = _record(mod)
    code = deps["code"]["mod.py"]
    assert {"f", "g", "K.go"} <= set(code)  # g is named by f (not executed this time)
    assert {"@<module>:K", "@K:scale", "@K:go", "@<module>:CONST", "@<module>:TABLE", "@<module>:pathlib",
            "@<module>:LIMIT", "@<module>:<effects>"} <= set(code)  # the import-time statements they use
    assert "h" not in code and "@<module>:h" not in code  # neither executed nor named
    assert {"fakepkg.mod:CONST", "fakepkg.mod:LIMIT"} <= set(deps["globals"])
    # mutable globals count by their defining statements, never by their (run-time) contents
    assert {"@<module>:_CACHE", "@<module>:WEIGHTS"} <= set(code) and "fakepkg.mod:_CACHE" not in deps["globals"]
    assert "consts.py" not in deps["code"]  # its code never ran and is not named: only LIMIT's value counts
    assert list(deps["data"]) == ["data/table.toml"]  # other.toml is only named in documentation
    assert _deps.verify(deps) == []


@pytest.mark.parametrize("old,new", [
    ("    return x + 1", "    return x + 2"),  # code the run did not use
    ('"""Executed by the run."""', '"""Executed by the run, reworded."""'),  # a function's docstring
    ("def f(x):", "\n\n\ndef f(x):"),  # code moved down
    ("class K:", "UNUSED = 1\n\n\ndef new(x):\n    return x\n\n\nclass K:"),  # code added beside
])
def test_unused_code_docstrings_and_moves_keep_the_result(fake_package, old, new):
    root, mod = fake_package
    deps = _record(mod)
    _edit(root / "mod.py", old, new)
    assert _deps.verify(deps) == []


@pytest.mark.parametrize("path,old,new,changed", [
    ("mod.py", "x * CONST", "x / CONST", "mod.py:f"),  # an executed function
    ("mod.py", "return -x", "return x", "mod.py:g"),  # a function named by executed code
    ("mod.py", "scale = 2.0", "scale = 2.5", "mod.py:@K:scale"),  # a class attribute (import-time code)
    ("mod.py", "class K:", "class K(dict):", "mod.py:@<module>:K"),  # a class statement
    ("mod.py", "def g(x):", "def g(x=1):", "mod.py:@<module>:g"),  # a def statement (defaults)
    ("mod.py", "CONST = 3.0", "CONST = 4.0", "mod.py:@<module>:CONST"),  # a constant of the file
    ("mod.py", 'WEIGHTS = {"a": 1.0}', 'WEIGHTS = {"a": 2.0}', "mod.py:@<module>:WEIGHTS"),  # a table
    ("mod.py", "import pathlib", "import pathlib\nprint('side effect')", "mod.py:@<module>:<effects>"),
    ("consts.py", "LIMIT = 50.0", "LIMIT = 40.0", "fakepkg.mod:LIMIT (value)"),  # one imported from a file
    ("data/table.toml", "a = 1", "a = 5", "data/table.toml"),  # a data file the code names
])
def test_a_change_to_what_the_run_used_makes_the_result_stale(fake_package, path, old, new, changed):
    root, mod = fake_package
    deps = _record(mod)
    _edit(root / path, old, new)
    _forget()  # values are read from the modules as a new process imports them
    assert changed in _deps.verify(deps)


def test_a_cache_filled_while_running_is_not_a_change(fake_package):
    root, mod = fake_package
    deps = _record(mod)
    _forget()  # a new process: the cache is empty again
    assert _deps.verify(deps) == []


def test_a_data_file_named_only_in_documentation_is_not_a_dependency(fake_package):
    root, mod = fake_package
    deps = _record(mod)
    _edit(root / "data" / "other.toml", "b = 2", "b = 3")
    assert _deps.verify(deps) == []


def test_a_file_edited_during_the_run_makes_the_result_unkeyable(fake_package):
    root, mod = fake_package
    with _deps.Tracker() as t:
        mod.f(1.0)
    _edit(root / "mod.py", "x * CONST", "x * CONST * 2")
    deps, why = _deps.collect(t.codes)
    assert deps is None and "mod.py (f) changed on disk after it was imported" in why


def test_code_digest_ignores_lines_and_docstrings_but_not_code():
    def digest(src):
        ns = {}
        exec(compile(textwrap.dedent(src), "x.py", "exec"), ns)
        return _deps.code_digest(ns["f"].__code__)

    base = digest("def f(a):\n    return a * 2.0\n")
    assert digest("\n\n\ndef f(a):\n    '''doc'''\n    return a * 2.0\n") == base
    for other in ("def f(a):\n    return a * 2.5\n", "def f(a):\n    return a + 2.0\n",
                  "def f(b):\n    return b * 2.0\n", "def f(a, *c):\n    return a * 2.0\n",
                  "def f(a):\n    return [a * 2.0 for _ in ()]\n"):
        assert digest(other) != base, other


def test_an_experiment_is_recomputed_only_when_code_it_used_changed(tmp_path):
    lines = []
    rec, status = run_experiment("soaa_linear_cost", size="ci", out=tmp_path, log=lines.append, track=True)
    assert status == "ran" and not lines
    deps = json.loads((tmp_path / "soaa_linear_cost" / "deps.json").read_text())
    assert "run" in deps["code"]["run.py"] and "_AdamFamily.init" in deps["code"]["rules/adaptive.py"]
    assert "run" in deps["executed"]["run.py"] and "save_figure" in deps["code"]["plotting/style.py"]
    assert not [f for f in deps["code"] if f.startswith(("verify/", "sweep/"))]  # code it never uses
    assert "deps.json" in rec["files"] and rec["dependencies"]["units"] > 50
    assert run_experiment("soaa_linear_cost", size="ci", out=tmp_path, log=lines.append, track=True)[1] == "cached"
    # and in a new process (its caches empty, its modules freshly imported): still reused
    import subprocess
    from pathlib import Path

    code = ("import sys; from precond_theory.experiments import run_experiment; "
            "print(run_experiment('soaa_linear_cost', size='ci', out=sys.argv[1], track=True, log=print)[1])")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.stdout.strip().splitlines()[-1:] == ["cached"], proc.stdout + proc.stderr[-2000:]
    deps["code"]["run.py"]["run"] = "0" * 20  # as if run() had changed since the result was made
    (tmp_path / "soaa_linear_cost" / "deps.json").write_text(json.dumps(deps))
    assert run_experiment("soaa_linear_cost", size="ci", out=tmp_path, log=lines.append, track=True)[1] == "ran"
    assert lines == ["recomputing soaa_linear_cost: stale (code or data it used changed: run.py:run)"]


def test_untracked_results_are_keyed_by_the_whole_package(tmp_path, monkeypatch):
    from precond_theory.experiments import _store

    rec, status = run_experiment("soaa_linear_cost", size="ci", out=tmp_path)  # CI size: not tracked
    deps = json.loads((tmp_path / "soaa_linear_cost" / "deps.json").read_text())
    assert status == "ran" and deps == {"package": _store.code_hash()}
    assert run_experiment("soaa_linear_cost", size="ci", out=tmp_path)[1] == "cached"
    monkeypatch.setattr(_store, "code_hash", lambda: "0" * 16)  # any file of the package changed
    lines = []
    assert run_experiment("soaa_linear_cost", size="ci", out=tmp_path, log=lines.append)[1] == "ran"
    assert lines and "untracked result is reused only while no file of the package changed" in lines[0]
    with pytest.raises(TypeError, match="track must be"):
        run_experiment("soaa_linear_cost", size="ci", out=tmp_path, track="yes")

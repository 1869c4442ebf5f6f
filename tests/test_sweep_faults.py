"""Faults during a sweep: CLI failures are one line with exit code 2 and keep finished parts;
kill -9 during a part write or during the merge, then a re-run, gives the uninterrupted table
bit for bit."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from precond_theory.cli import app
from precond_theory.sweep import load_config, run_sweep
from precond_theory.sweep import store as store_mod

ROOT = Path(__file__).resolve().parent.parent

CFG = """
name = "f"
steps = 30
seeds = [0, 1]
record = 10
chunk_size = 2
[problem]
name = "quadratic"
dim = 4
kappa = 10.0
seed = 1
[[rules]]
name = "sgd"
lr = [0.02, 0.05, 0.1]
[[rules]]
name = "adam"
lr = 0.1
"""
N_PARTS = 4  # sgd: 3 configurations x 2 seeds in chunks of 2 runs -> 3 parts; adam: 1


@pytest.fixture()
def cfg_file(tmp_path):
    p = tmp_path / "f.toml"
    p.write_text(CFG)
    return p


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    d = tmp_path_factory.mktemp("ref")
    (d / "f.toml").write_text(CFG)
    run_sweep(load_config(d / "f.toml"), d / "out")
    return (d / "out" / "table.parquet").read_bytes()


def invoke(*args):
    r = CliRunner().invoke(app, ["run", *map(str, args)])
    errors = [ln for ln in r.output.splitlines() if ln.startswith("error:")]
    return r, errors


def test_out_that_is_a_file(tmp_path, cfg_file):
    target = tmp_path / "file"
    target.write_text("x")
    r, errors = invoke("--config", cfg_file, "--out", target)
    assert r.exit_code == 2 and len(errors) == 1, r.output
    assert errors[0] == f"error: cannot write the sweep to {target / 'f'}: {target} is a file, not a folder"
    assert "Traceback" not in r.output and target.read_text() == "x"


def test_out_not_writable(tmp_path, cfg_file, monkeypatch):
    out = tmp_path / "ro"
    out.mkdir()
    if os.geteuid() != 0:  # a real read-only folder
        out.chmod(0o500)
    else:  # root writes anywhere: the access check is what a user would hit
        real = os.access
        monkeypatch.setattr(os, "access",
                            lambda p, m, **k: False if Path(p) == out and m & os.W_OK else real(p, m, **k))
    try:
        r, errors = invoke("--config", cfg_file, "--out", out)
    finally:
        out.chmod(0o700)
    assert r.exit_code == 2 and errors == [f"error: cannot write the sweep to {out / 'f'}: folder {out} is not "
                                           f"writable"], r.output
    assert not any(out.iterdir())


def test_permission_error_while_writing_is_one_line(tmp_path, cfg_file, monkeypatch):
    real = store_mod.write_atomic

    def denied(path, write):
        if path.name == "01_adam_0000.parquet":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path, write)

    monkeypatch.setattr(store_mod, "write_atomic", denied)
    r, errors = invoke("--config", cfg_file, "--out", tmp_path)
    parts = tmp_path / "f" / "parts"
    assert r.exit_code == 2 and errors == [f"error: cannot write part 01_adam_0000.parquet: Permission denied "
                                           f"({parts / '01_adam_0000.parquet'}); 3 finished parts kept in {parts}"]


def test_disk_full_keeps_finished_parts_and_leaves_no_temporary_file(tmp_path, cfg_file, monkeypatch, reference):
    real = store_mod.write_atomic
    calls = []

    def full(path, write):
        calls.append(path.name)
        if len(calls) == 3:  # the third part: half written, then the disk is full
            def half(fh):
                fh.write(b"PAR1" + b"\0" * 100)
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(path, half)
        return real(path, write)

    monkeypatch.setattr(store_mod, "write_atomic", full)
    r, errors = invoke("--config", cfg_file, "--out", tmp_path)
    parts = tmp_path / "f" / "parts"
    assert r.exit_code == 2 and len(errors) == 1 and "Traceback" not in r.output, r.output
    assert errors[0] == (f"error: cannot write part {calls[2]}: No space left on device ({parts / calls[2]}); "
                         f"2 finished parts kept in {parts}")
    assert sorted(p.name for p in parts.iterdir()) == sorted(calls[:2])  # no .tmp, nothing half written
    assert not (tmp_path / "f" / "table.parquet").exists()
    monkeypatch.undo()
    r, _ = invoke("--config", cfg_file, "--out", tmp_path)
    assert r.exit_code == 0 and "parts: 2 computed, 2 reused" in r.output, r.output
    assert (tmp_path / "f" / "table.parquet").read_bytes() == reference


def test_bad_scheduler_and_chunk_size_are_one_line(tmp_path, cfg_file):
    r, errors = invoke("--config", cfg_file, "--out", tmp_path, "--scheduler", "lokal")
    assert r.exit_code == 2 and errors == ["error: scheduler must be 'local', 'local:N' or 'tcp://HOST:PORT'; got "
                                           "'lokal'"]
    r, errors = invoke("--config", cfg_file, "--out", tmp_path, "--chunk-size", "0")
    assert r.exit_code == 2 and errors == ["error: --chunk-size must be >= 1; got 0"]
    assert not any(tmp_path.glob("f*/"))


KILL_SCRIPT = """
import os, signal, sys
from precond_theory.sweep import load_config, run_sweep, store
real, when = store.write_atomic, sys.argv[3]
written = []
def dying(path, write):
    if (when == "part" and len(written) == 2) or (when == "merge" and path.name == "table.parquet"):
        tmp = store._tmp_name(path)           # what a writer leaves when killed mid-write
        tmp.write_bytes(b"PAR1 half a file")
        os.kill(os.getpid(), signal.SIGKILL)
    written.append(path.name)
    return real(path, write)
store.write_atomic = dying
run_sweep(load_config(sys.argv[1]), sys.argv[2])
"""


@pytest.mark.parametrize("when", ["part", "merge"])
def test_kill_9_then_rerun_gives_the_uninterrupted_table(tmp_path, cfg_file, reference, when):
    out = tmp_path / "out"
    if when == "merge":  # an earlier, different table must not survive a merge that dies
        run_sweep(load_config(cfg_file).replace(steps=20), out)
    r = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(cfg_file), str(out), when], capture_output=True,
                       text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    assert r.returncode == -signal.SIGKILL, r.stderr
    assert not (out / "table.parquet").exists()
    orphans = list(out.glob("**/.*.tmp"))
    assert len(orphans) == 1
    table = run_sweep(load_config(cfg_file), out)
    assert table.attrs["sweep"]["computed"] == (N_PARTS - 2 if when == "part" else 0)
    assert (out / "table.parquet").read_bytes() == reference
    assert not list(out.glob("**/.*.tmp"))

"""Sweeps on Dask (a LocalCluster of 2 processes on 127.0.0.1, closed at the end): the same table
as a local sweep bit for bit, a SIGKILLed worker loses only its chunk, a killed client's re-run
computes only the missing chunks, a failing chunk is named and the others kept, an unreachable
scheduler is a clear error with nothing written; and the executor API on its own."""

from __future__ import annotations

import importlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")

from typer.testing import CliRunner  # noqa: E402

from precond_theory.cli import app  # noqa: E402
from precond_theory.executors import get_executor, parse_scheduler  # noqa: E402
from precond_theory.sweep import SweepConfig, SweepError, run_sweep  # noqa: E402
from precond_theory.sweep import store as store_mod  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this test module

CFG = """
name = "d"
steps = {steps}
seeds = [0, 1]
record = "log"
chunk_size = 2
[problem]
name = "quadratic"
dim = {dim}
kappa = 50.0
rotate = true
seed = 4
[[rules]]
name = "sgd"
lr = [0.002, 0.005, 0.01, 0.015, 0.02, 0.03]
[[rules]]
name = "adam"
lr = [0.01, 0.05]
b1 = 0.8
"""
N_CHUNKS = 8  # 6 + 2 configurations, one per chunk (2 seeds each)


def cfg_text(steps=200, dim=8):
    return CFG.format(steps=steps, dim=dim)


def config(steps=200, dim=8) -> SweepConfig:
    return SweepConfig.from_dict(tomllib.loads(cfg_text(steps, dim)))


@pytest.fixture(scope="module")
def cluster():
    """``get_executor("local:2")``: the cluster behind ``--scheduler local:2``, shared by the tests
    through its address (``tcp://127.0.0.1:PORT``); its processes stop when the module ends."""
    from distributed import Client

    with get_executor("local:2") as ex:
        assert ex.cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        assert len(ex.cluster.workers) == 2
        with Client(ex.cluster.scheduler_address) as client:
            yield ex.cluster.scheduler_address, client


@pytest.fixture(scope="module")
def local_table(tmp_path_factory):
    out = tmp_path_factory.mktemp("local")
    run_sweep(config(), out)
    return (out / "table.parquet").read_bytes()


def test_parse_scheduler():
    assert parse_scheduler(None) == ("inline", None)
    assert parse_scheduler("local:3") == ("local", 3)
    assert parse_scheduler("tcp://10.0.0.2:8786") == ("address", "tcp://10.0.0.2:8786")
    for bad in ("local:0", "local:x", "tcp://host", "http://h:1", "tcp://h:1/x"):
        with pytest.raises(ValueError, match="scheduler"):
            parse_scheduler(bad)


def test_dask_table_is_bitwise_the_local_table(tmp_path, cluster, local_table):
    address, _ = cluster
    table = run_sweep(config(), tmp_path, scheduler=address)
    assert table.attrs["sweep"]["computed"] == N_CHUNKS
    assert (tmp_path / "table.parquet").read_bytes() == local_table
    assert len(list((tmp_path / "parts").glob("*.parquet"))) == N_CHUNKS


def test_cli_scheduler_same_table(tmp_path, cluster, local_table):
    cfg = tmp_path / "d.toml"
    cfg.write_text(cfg_text())
    r = CliRunner().invoke(app, ["run", "--config", str(cfg), "--out", str(tmp_path), "--scheduler", cluster[0]])
    assert r.exit_code == 0, r.output
    assert f"scheduler {cluster[0]}" in r.output and f"parts: {N_CHUNKS} computed, 0 reused" in r.output
    assert (tmp_path / "d" / "table.parquet").read_bytes() == local_table


def _count_writes(monkeypatch) -> list[str]:
    names: list[str] = []
    real = store_mod.write_frame

    def counting(frame, path, meta=None):
        names.append(Path(path).name)
        return real(frame, path, meta)

    import precond_theory.sweep.runner as runner_mod

    monkeypatch.setattr(runner_mod, "write_frame", counting)
    return names


def _log_worker_runs(log):
    """In a worker: append 'start PID' / 'end PID' around each ``run`` call to ``log`` (None: undo)."""
    mod = importlib.import_module("precond_theory.run")
    real = getattr(mod, "_real_run", mod.run)
    mod._real_run = real

    def run(rule, problem, **kw):
        with open(log, "a") as fh:
            fh.write(f"start {os.getpid()}\n")
        tr = real(rule, problem, **kw)
        with open(log, "a") as fh:
            fh.write(f"end {os.getpid()}\n")
        return tr

    mod.run = real if log is None else run


def _busy_pids(log: Path) -> list[int]:
    open_ = {}
    words = log.read_text().split()
    for what, pid in zip(words[::2], words[1::2]):
        open_[int(pid)] = open_.get(int(pid), 0) + (1 if what == "start" else -1)
    return [pid for pid, n in open_.items() if n > 0]


@pytest.mark.slow
def test_worker_killed_mid_chunk_loses_only_that_chunk(tmp_path, cluster, monkeypatch):
    address, client = cluster
    cfg = config(steps=1500, dim=30)
    ref = tmp_path / "ref"
    run_sweep(cfg, ref)
    log = tmp_path / "runs.log"
    log.touch()
    client.run(_log_worker_runs, str(log))
    writes = _count_writes(monkeypatch)
    killed: list[int] = []
    stop = threading.Event()

    def killer():  # once a chunk has finished, SIGKILL a worker that is inside a chunk
        while not stop.is_set():
            text = log.read_text()
            busy = _busy_pids(log)
            if "end" in text and busy:
                os.kill(busy[0], signal.SIGKILL)
                killed.append(busy[0])
                return
            time.sleep(0.005)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        table = run_sweep(cfg, tmp_path / "dask", scheduler=address)
    finally:
        stop.set()
        thread.join()
        client.run(_log_worker_runs, None)
    assert killed, "no worker was caught inside a chunk"
    with pytest.raises(ProcessLookupError):
        os.kill(killed[0], 0)
    assert killed[0] in _busy_pids(log)  # it died inside a chunk, which another worker then ran
    parts = sorted(n for n in writes if n != "table.parquet")
    assert len(parts) == N_CHUNKS and len(set(parts)) == N_CHUNKS  # every chunk written exactly once
    assert table.attrs["sweep"]["computed"] == N_CHUNKS
    assert (tmp_path / "dask" / "table.parquet").read_bytes() == (ref / "table.parquet").read_bytes()
    client.wait_for_workers(2, timeout=60)  # the nanny restarts the worker


CLIENT_SCRIPT = """
import sys, tomllib
from precond_theory.sweep import SweepConfig, run_sweep
run_sweep(SweepConfig.from_dict(tomllib.loads(sys.argv[1])), sys.argv[2], scheduler=sys.argv[3])
"""


@pytest.mark.slow
def test_rerun_after_killed_client_computes_only_missing_chunks(tmp_path, cluster, monkeypatch):
    address, client = cluster
    text = cfg_text(steps=1500, dim=30)
    ref = tmp_path / "ref"
    run_sweep(SweepConfig.from_dict(tomllib.loads(text)), ref)
    out = tmp_path / "dask"
    log = tmp_path / "client.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen([sys.executable, "-c", CLIENT_SCRIPT, text, str(out), address],
                                env=dict(os.environ, PYTHONPATH=str(ROOT)), stderr=fh)
    deadline = time.monotonic() + 120
    while len(list((out / "parts").glob("*.parquet"))) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, log.read_text()[-2000:]
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (out / "parts").glob("*.parquet")}
    assert 2 <= len(before) < N_CHUNKS and not (out / "table.parquet").exists()
    writes = _count_writes(monkeypatch)
    table = run_sweep(SweepConfig.from_dict(tomllib.loads(text)), out, scheduler=address)
    assert table.attrs["sweep"]["cached"] == len(before)
    assert sorted(n for n in writes if n != "table.parquet") == sorted(
        f"{c}" for c in {p.name for p in (out / "parts").glob("*.parquet")} - set(before))
    after = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (out / "parts").glob("*.parquet")}
    assert all(after[n] == before[n] for n in before)  # finished parts were not rewritten
    assert (out / "table.parquet").read_bytes() == (ref / "table.parquet").read_bytes()


def _patch_worker_run(fail_on_lr):
    """In a worker: make ``run`` raise for a rule with this learning rate (None: undo)."""
    import numpy as np

    mod = importlib.import_module("precond_theory.run")
    real = getattr(mod, "_real_run", mod.run)
    mod._real_run = real

    def run(rule, problem, **kw):
        if np.any(np.asarray(rule.lr) == fail_on_lr):
            raise FloatingPointError(f"injected failure at lr={fail_on_lr}")
        return real(rule, problem, **kw)

    mod.run = real if fail_on_lr is None else run


def test_a_failing_chunk_is_named_and_the_others_are_kept(tmp_path, cluster):
    address, client = cluster
    client.run(_patch_worker_run, 0.015)
    try:
        with pytest.raises(SweepError) as info:
            run_sweep(config(), tmp_path, scheduler=address, retries=1)
    finally:
        client.run(_patch_worker_run, None)
    msg = str(info.value)
    assert msg.startswith("1 of 8 chunks failed: rules[0] sgd lr=0.015 (configurations 3-3 of 6, seeds [0, 1]): "
                          "FloatingPointError: injected failure at lr=0.015. 7 finished parts kept in "), msg
    assert len(list((tmp_path / "parts").glob("*.parquet"))) == N_CHUNKS - 1
    assert not (tmp_path / "table.parquet").exists()
    table = run_sweep(config(), tmp_path, scheduler=address)  # the re-run computes the missing chunk only
    assert table.attrs["sweep"]["computed"] == 1 and table.attrs["sweep"]["cached"] == N_CHUNKS - 1


def test_unreachable_scheduler_is_a_clear_error_and_nothing_is_written(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "never"
    with pytest.raises(ConnectionError, match=rf"cannot reach the Dask scheduler at tcp://127.0.0.1:{port} within 1 s"):
        run_sweep(config(), out, scheduler=f"tcp://127.0.0.1:{port}", timeout=1.0)
    assert not out.exists()
    cfg = tmp_path / "d.toml"
    cfg.write_text(cfg_text())
    r = CliRunner().invoke(app, ["run", "--config", str(cfg), "--out", str(out), "--scheduler",
                                 f"tcp://127.0.0.1:{port}", "--timeout", "1"])
    errors = [ln for ln in r.output.splitlines() if ln.startswith("error:")]
    assert r.exit_code == 2 and len(errors) == 1 and "cannot reach the Dask scheduler" in errors[0], r.output
    assert not out.exists()


def square_or_fail(x):
    if x == 3:
        raise ValueError("three")
    return x * x


class DictStore:
    def __init__(self, data=None):
        self.data, self.saved = dict(data or {}), []

    def load(self, key, item):
        return (self.data[key], None) if key in self.data else (None, "missing")

    def save(self, key, item, value):
        self.saved.append(key)
        self.data[key] = value


@pytest.mark.parametrize("where", ["inline", "dask"])
def test_executor_map_with_store(where, cluster):
    store = DictStore({"k1": 100})  # a cached (deliberately different) value is reused, not recomputed
    ex = get_executor(None) if where == "inline" else get_executor(cluster[0])
    with ex:
        outs = ex.map(square_or_fail, [0, 1, 2, 3], keys=["k0", "k1", "k2", "k3"], store=store)
    assert [o.status for o in outs] == ["done", "cached", "done", "failed"]
    assert [o.value for o in outs[:3]] == [0, 100, 4]
    assert isinstance(outs[3].error, ValueError) and str(outs[3].error) == "three"
    assert sorted(store.saved) == ["k0", "k2"]
    with pytest.raises(ValueError, match="keys must be unique"):
        get_executor(None).map(square_or_fail, [1, 2], keys=["a", "a"])

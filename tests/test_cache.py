"""The sweep cache: keys cover what made the numbers, parts are verified on reuse (foreign,
corrupt and stale parts are recomputed and named), files follow the umask, orphans are cleaned,
and a bad config fails before any work, naming its key."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from precond_theory.sweep import SweepConfig, SweepError, load_config, plan_chunks, run_sweep
from precond_theory.sweep import store as store_mod

ROOT = Path(__file__).resolve().parent.parent

SMALL = """
name = "small"
steps = 30
seeds = [0, 1]
record = 10
[problem]
name = "quadratic"
dim = 4
kappa = 10.0
rotate = true
seed = 3
[[rules]]
name = "adam"
lr = [0.01, 0.1, 0.3]
[[rules]]
name = "heavy_ball"
lr = 0.05
momentum = 0.5
"""


def small(**changes) -> SweepConfig:
    d = tomllib.loads(SMALL)
    d.update(changes)
    return SweepConfig.from_dict(d)


def sweep(out, cfg=None, **kw):
    lines = []
    table = run_sweep(cfg or small(), out, log=lines.append, **kw)
    return table, lines


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted sweep: its folder and the bytes of its table."""
    out = tmp_path_factory.mktemp("ref") / "small"
    run_sweep(small(), out)
    return out, (out / "table.parquet").read_bytes()


def test_rerun_reuses_every_part_and_rewrites_the_same_table(tmp_path, reference):
    _, ref_bytes = reference
    t1, lines1 = sweep(tmp_path)
    assert t1.attrs["sweep"]["computed"] == 2 and not lines1
    assert (tmp_path / "table.parquet").read_bytes() == ref_bytes  # bitwise: metadata holds no dates
    advanced = []
    t2, lines2 = sweep(tmp_path, progress=advanced.append)
    assert t2.attrs["sweep"]["computed"] == 0 and t2.attrs["sweep"]["cached"] == 2 and not lines2
    assert sorted(advanced) == [2, 6]  # progress counts runs per part: heavy_ball 1 x 2 seeds, adam 3 x 2
    assert (tmp_path / "table.parquet").read_bytes() == ref_bytes


def test_a_part_copied_over_another_is_foreign_and_recomputed(tmp_path, reference):
    _, ref_bytes = reference
    sweep(tmp_path)
    parts = tmp_path / "parts"
    shutil.copy(parts / "01_heavy_ball_0000.parquet", parts / "00_adam_0000.parquet")
    table, lines = sweep(tmp_path)
    assert lines == ["recomputed parts/00_adam_0000.parquet: foreign (written for rules[1] heavy_ball, chunk 0, "
                     "configurations [0, 1])"]
    assert table.attrs["sweep"]["computed"] == 1
    assert (tmp_path / "table.parquet").read_bytes() == ref_bytes
    assert not table.duplicated(["rule_index", "run", "stop_val"]).any()


@pytest.mark.parametrize("damage", ["truncate", "garbage", "flip"])
def test_a_corrupt_part_is_recomputed_and_named(tmp_path, reference, damage):
    _, ref_bytes = reference
    sweep(tmp_path)
    part = tmp_path / "parts" / "01_heavy_ball_0000.parquet"
    data = bytearray(part.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "garbage":
        data = bytearray(b"not parquet at all")
    else:  # one flipped byte inside the first data page (footer intact)
        data[200] ^= 0xFF
    part.write_bytes(bytes(data))
    table, lines = sweep(tmp_path)
    assert len(lines) == 1 and lines[0].startswith("recomputed parts/01_heavy_ball_0000.parquet: corrupt ("), lines
    assert (tmp_path / "table.parquet").read_bytes() == ref_bytes


def test_rows_changed_under_a_valid_footer_are_caught_by_the_digest(tmp_path, reference):
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    _, ref_bytes = reference
    sweep(tmp_path)
    part = tmp_path / "parts" / "01_heavy_ball_0000.parquet"
    tab = pq.read_table(part)
    meta = tab.schema.metadata
    df = tab.to_pandas()
    df.loc[3, "objective_f_gap"] *= 1.5
    forged = pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(meta)
    pq.write_table(forged, part)
    assert json.loads(pq.read_schema(part).metadata[b"precond_theory"])["key"]  # key still there and right
    _, lines = sweep(tmp_path)
    assert lines == ["recomputed parts/01_heavy_ball_0000.parquet: corrupt (rows do not match the digest recorded "
                     "when the part was written)"]
    assert (tmp_path / "table.parquet").read_bytes() == ref_bytes


def test_stale_keys_code_versions_and_config(tmp_path, monkeypatch):
    sweep(tmp_path)
    monkeypatch.setattr(store_mod, "code_hash", lambda: "0" * 64)
    _, lines = sweep(tmp_path)
    assert lines == [f"recomputed parts/{n}: stale (code changed)" for n in ("00_adam_0000.parquet",
                                                                            "01_heavy_ball_0000.parquet")]
    monkeypatch.undo()
    _, lines = sweep(tmp_path)  # the real code hash again: recomputed once more
    assert len(lines) == 2
    real = store_mod.dependency_versions()
    monkeypatch.setattr(store_mod, "dependency_versions", lambda: dict(real, numpy="0.0.1"))
    _, lines = sweep(tmp_path)
    assert lines[0] == ("recomputed parts/00_adam_0000.parquet: stale (versions changed: "
                        f"numpy {real['numpy']} -> 0.0.1)")
    monkeypatch.undo()
    _, lines = sweep(tmp_path)  # back to the real versions: stale again, then current
    assert len(lines) == 2
    _, lines = sweep(tmp_path, small(steps=31))
    assert lines == [f"recomputed parts/{n}: stale (config changed: steps)" for n in ("00_adam_0000.parquet",
                                                                                     "01_heavy_ball_0000.parquet")]


def test_parts_of_an_older_format_are_not_reused(tmp_path, monkeypatch):
    # format 2: the runs take their seeds from run(seed=...); parts written under format 1 (same
    # config, code and versions) hold runs from other starts and must not be reused
    monkeypatch.setattr(store_mod, "FORMAT", store_mod.FORMAT - 1)
    sweep(tmp_path)
    monkeypatch.undo()
    table, lines = sweep(tmp_path)
    assert lines == [f"recomputed parts/{n}: stale (key format changed)" for n in ("00_adam_0000.parquet",
                                                                                  "01_heavy_ball_0000.parquet")]
    assert table.attrs["sweep"]["computed"] == 2 and table.attrs["sweep"]["cached"] == 0
    _, lines = sweep(tmp_path)
    assert not lines


def test_key_covers_each_field():
    cfg = small()
    chunk = plan_chunks(cfg)[1]
    base, _ = store_mod.part_key(chunk.identity(), "fp")
    variants = [small(steps=31), small(seeds=[0, 2]), small(record=5),
                small(problem={"name": "quadratic", "dim": 4, "kappa": 11.0, "rotate": True, "seed": 3}),
                small(rules=[{"name": "adam", "lr": [0.01, 0.1, 0.3]},
                             {"name": "heavy_ball", "lr": 0.05, "momentum": 0.6}])]
    keys = {store_mod.part_key(plan_chunks(v)[1].identity(), "fp")[0] for v in variants}
    assert len(keys) == len(variants) and base not in keys
    assert store_mod.part_key(chunk.identity(), "other")[0] != base  # live code fingerprint
    assert store_mod.part_key(chunk.identity(), "fp")[0] == base  # and the key is a function of these


def test_live_fingerprint_sees_a_monkeypatched_method(monkeypatch):
    from precond_theory import rules

    cls = type(rules.make("heavy_ball", lr=0.1, momentum=0.5))
    before = store_mod.live_fingerprint(cls)
    method = next(n for n in ("_step", "update") if n in vars(cls))
    orig = vars(cls)[method]
    monkeypatch.setattr(cls, method, lambda self, *a, **k: orig(self, *a, **k))
    assert store_mod.live_fingerprint(cls) != before


PATCH_SCRIPT = """
import sys
from precond_theory import rules
from precond_theory.sweep import SweepConfig, run_sweep
import tomllib
cls = type(rules.make("heavy_ball", lr=0.1, momentum=0.5))
orig = cls._step
def _step(self, xp, g, state, x, **kw):          # a "code change": half the step
    dx, new = orig(self, xp, g, state, x, **kw)
    return dx * 0.5, new
cls._step = _step
import precond_theory.fast as fast                # the compiled heavy-ball step and segments would bypass _step
fast.compile_step = lambda *a, **k: None
fast.compile_segment = lambda *a, **k: "disabled by the test"
lines = []
run_sweep(SweepConfig.from_dict(tomllib.loads(sys.argv[1])), sys.argv[2], log=lines.append)
print("\\n".join(lines))
"""


def test_a_code_change_in_another_process_invalidates_the_cache(tmp_path, reference):
    ref_out, ref_bytes = reference
    sweep(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-c", PATCH_SCRIPT, SMALL, str(tmp_path)], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[0] == "recomputed parts/01_heavy_ball_0000.parquet: stale (code changed)"
    assert "adam" not in r.stdout
    patched = pd.read_parquet(tmp_path / "table.parquet")
    ref = pd.read_parquet(ref_out / "table.parquet")
    hb = patched.solver_name == "heavy_ball"
    assert not patched[hb].objective_f_gap.equals(ref[hb].objective_f_gap)  # the patch changed numbers
    _, lines = sweep(tmp_path)  # the unpatched code: recomputed again, table back to the reference
    assert lines == ["recomputed parts/01_heavy_ball_0000.parquet: stale (code changed)"]
    assert (tmp_path / "table.parquet").read_bytes() == ref_bytes


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_files_get_the_users_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        sweep(tmp_path)
    finally:
        os.umask(old)
    for f in [tmp_path / "table.parquet", *sorted((tmp_path / "parts").iterdir())]:
        assert f.stat().st_mode & 0o777 == 0o666 & ~umask, f


def test_orphan_temporary_files_of_dead_writers_are_removed(tmp_path):
    import socket

    sweep(tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    host = socket.gethostname().replace("~", "-")
    orphan = tmp_path / "parts" / f".00_adam_0000.parquet~{host}~{dead}~abcd1234.tmp"
    live = tmp_path / "parts" / f".00_adam_0000.parquet~{host}~{os.getppid()}~abcd1234.tmp"
    orphan_top = tmp_path / f".table.parquet~{host}~{dead}~00ff00ff.tmp"
    for p in (orphan, live, orphan_top):
        p.write_bytes(b"PAR1 half")
    sweep(tmp_path)
    assert not orphan.exists() and not orphan_top.exists()
    assert live.exists()  # its writer may still be running


def test_a_failed_sweep_leaves_no_previous_table(tmp_path):
    sweep(tmp_path)
    assert (tmp_path / "table.parquet").exists()
    bad = small(rules=[{"name": "heavy_ball", "lr": 0.05, "momentum": 0.5}, {"name": "adam", "lr": 0.1}])
    import precond_theory.sweep.runner as runner_mod
    from precond_theory.sweep.plan import compute_chunk

    def boom(chunk):
        if chunk.spec["name"] == "adam":
            raise FloatingPointError("injected")
        return compute_chunk(chunk)

    mp = pytest.MonkeyPatch()
    mp.setattr(runner_mod, "compute_chunk", boom)
    try:
        with pytest.raises(SweepError, match=r"1 of 2 chunks failed: rules\[1\] adam \(configurations 0-0 of 1, "
                                             r"seeds \[0, 1\]\): FloatingPointError: injected\. 1 finished parts kept"):
            sweep(tmp_path, bad)
    finally:
        mp.undo()
    assert not (tmp_path / "table.parquet").exists()
    assert (tmp_path / "parts" / "00_heavy_ball_0000.parquet").exists()
    table, _ = sweep(tmp_path, bad)  # the re-run computes only the missing chunk
    assert table.attrs["sweep"]["computed"] == 1 and table.attrs["sweep"]["cached"] == 1


def test_merge_never_fails_on_types(tmp_path):
    cfg = small(rules=[{"name": "adam", "lr": 0.1, "amsgrad": True}, {"name": "sgd", "lr": [0.05, 0.1]},
                       {"name": "nesterov", "lr": 0.05}])
    table, _ = sweep(tmp_path, cfg)
    back = pd.read_parquet(tmp_path / "table.parquet")
    assert len(back) == len(table) and set(back.solver_name) == {"adam", "sgd", "nesterov"}
    from precond_theory.sweep.runner import merge_frames

    mixed = merge_frames([pd.DataFrame({"rule_index": [0], "run": [0], "stop_val": [0], "p_solver_x": ["a"]}),
                          pd.DataFrame({"rule_index": [1], "run": [0], "stop_val": [0], "p_solver_x": [0.5]}),
                          pd.DataFrame({"rule_index": [2], "run": [0], "stop_val": [0], "p_solver_y": [True]})])
    store_mod.write_frame(mixed, tmp_path / "mixed.parquet")
    back = pd.read_parquet(tmp_path / "mixed.parquet")
    assert back.p_solver_x.tolist()[:2] == ["a", "0.5"] and back.p_solver_x.isna().tolist() == [False, False, True]


@pytest.mark.parametrize("change,match,exc", [
    ({"rules": [{"name": "adam", "lr": "0.001"}]}, r"rules\[0\] \(adam\)\.lr must be a number .* got str '0\.001'",
     TypeError),
    ({"rules": [{"name": "adam", "lr": []}]}, r"rules\[0\] \(adam\)\.lr is an empty list", ValueError),
    ({"rules": [{"name": "adam", "lr": [[0.1, 0.2]]}]}, r"rules\[0\] \(adam\)\.lr: .*nested lists", TypeError),
    ({"rules": [{"name": "adam", "lr": [0.1, "x"]}]}, r"rules\[0\] \(adam\)\.lr: .*str 'x'", TypeError),
    ({"rules": [{"name": "adam", "lr": [0.1, 0.1]}]}, r"rules\[0\] \(adam\)\.lr has duplicate values", ValueError),
    ({"rules": [{"name": "adam", "amsgrad": [1.0, 0.0]}]}, r"rules\[0\] \(adam\)\.amsgrad: a list makes a batch axis",
     TypeError),
    ({"rules": [{"name": "adam", "amsgrad": 1}]}, r"rules\[0\] \(adam\)\.amsgrad must be true/false", TypeError),
    ({"rules": [{"name": "adamm"}]}, r"rules\[0\] \(adamm\): unknown rule 'adamm'", ValueError),
    ({"rules": [{"name": "adam", "lrr": 0.1}]}, r"rules\[0\] \(adam\): unknown hyperparameter 'lrr'", ValueError),
    ({"seeds": [0, 0, 1]}, r"seeds has duplicates \[0\]", ValueError),
    ({"problem": {"name": "quadratc"}}, r"\[problem\] \(quadratc\): .*quadratc", ValueError),
    ({"problem": {"name": "quadratic", "dim": [[2]]}}, r"problem\.dim: nested lists", TypeError),
    ({"problem": {"name": "quadratic", "dim": 4, "kappa": "1000"}}, r"problem\.kappa must be a number .*got str",
     TypeError),
    ({"name": "../../x"}, r"name must be a plain folder name", ValueError),
    ({"name": "/tmp/abs"}, r"name must be a plain folder name", ValueError),
    ({"name": "a/b"}, r"name must be a plain folder name", ValueError),
    ({"chunk_size": 0}, r"chunk_size must be an integer >= 1", ValueError),
    ({"record": "sometimes"}, r"record must be", ValueError),
])
def test_bad_configs_fail_before_any_work_naming_the_key(tmp_path, change, match, exc):
    with pytest.raises(exc, match=match):
        small(**change)
    assert not any(tmp_path.iterdir())


def test_default_config_is_valid_and_its_keys_are_stable():
    cfg = load_config()
    a = [store_mod.part_key(c.identity(), "x")[0] for c in plan_chunks(cfg)]
    b = [store_mod.part_key(c.identity(), "x")[0] for c in plan_chunks(load_config())]
    assert a == b and len(set(a)) == len(a) == len(cfg.rules)

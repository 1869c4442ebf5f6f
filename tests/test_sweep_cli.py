"""Sweeps and the ``precond-theory run`` command: outputs, batching of list-valued
hyperparameters, resumption, and clear errors for malformed configs."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from precond_theory import DivergenceWarning, rules, run
from precond_theory.cli import app
from precond_theory.problems import make_quadratic
from precond_theory.sweep import SweepConfig, load_config, run_sweep

SMALL = """
name = "small"
steps = 40
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


def test_builtin_config_loads():
    cfg = load_config()
    assert cfg.name == "default" and len(cfg.rules) >= 5 and len(cfg.seeds) >= 3


def test_sweep_batches_lists_and_matches_direct_runs(tmp_path):
    cfg = SweepConfig.from_dict(__import__("tomllib").loads(SMALL))
    table = run_sweep(cfg, tmp_path)
    adam = table[table.solver_name == "adam"]
    assert adam.run.nunique() == 6 and sorted(adam.p_solver_lr.unique()) == [0.01, 0.1, 0.3]
    # the sweep's heavy-ball rows equal a direct run from the same start x0 = x* + N(0, I) (seed 1)
    p = make_quadratic(4, 10.0, rotate=True, seed=3)
    x0 = np.asarray(p.x_star) + np.random.default_rng(1).standard_normal(4)
    direct = run(rules.make("heavy_ball", lr=0.05, momentum=0.5), p, steps=40, x0=x0, record=10)
    hb = table[(table.solver_name == "heavy_ball") & (table.seed == 1)].sort_values("stop_val")
    np.testing.assert_allclose(hb.objective_f_gap.to_numpy(), direct.metrics["f_gap"], rtol=1e-12)
    assert (tmp_path / "table.parquet").is_file()
    back = pd.read_parquet(tmp_path / "table.parquet")
    assert list(back.columns) == list(table.columns) and len(back) == len(table)
    cols = [c for c in table.columns if c.startswith("objective_")] + ["stop_val", "run", "seed"]
    pd.testing.assert_frame_equal(back[cols], table[cols], check_dtype=False)


def test_cli_run_writes_table_and_figure_and_resumes(tmp_path):
    cfg = tmp_path / "small.toml"
    cfg.write_text(SMALL)
    out = tmp_path / "res"
    runner = CliRunner()
    r1 = runner.invoke(app, ["run", "--config", str(cfg), "--out", str(out)])
    assert r1.exit_code == 0, r1.output
    assert (out / "small" / "table.parquet").is_file() and (out / "small" / "convergence.png").is_file()
    assert "table:" in r1.output and "figure:" in r1.output
    r2 = runner.invoke(app, ["run", "--config", str(cfg), "--out", str(out)])
    assert r2.exit_code == 0 and "parts: 0 computed, 2 reused" in r2.output, r2.output
    assert "2 rules, 4 configurations x 2 seeds = 8 runs (adam: lr x3; heavy_ball: 1)" in r1.output


@pytest.mark.parametrize("text,match", [
    ("steps = [", "malformed TOML"),
    ("steps = 10\n[problem]\nname='quadratic'\n", "missing required key 'rules'"),
    ("steps = 10\nfoo = 1\n[problem]\nname='quadratic'\n[[rules]]\nname='adam'\n", r"unknown key\(s\) \['foo'\]"),
    ("steps = 0\n[problem]\nname='quadratic'\n[[rules]]\nname='adam'\n", "steps must be an integer >= 1"),
    ("steps = 5\nseeds = []\n[problem]\nname='quadratic'\n[[rules]]\nname='adam'\n", "seeds must be a non-empty list"),
    ("steps = 5\n[problem]\nname='quadratic'\n[[rules]]\nname='adamm'\n", "unknown rule 'adamm'"),
    ("steps = 5\n[problem]\nname='quadratic'\n[[rules]]\nname='adam'\nlr=-1.0\n", "lr must lie in"),
])
def test_cli_bad_config_is_a_clear_error(tmp_path, text, match):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    r = CliRunner().invoke(app, ["run", "--config", str(cfg), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2
    assert pytest.importorskip("re").search(match, " ".join(r.output.split())), r.output


def test_cli_rules_lists_fidelity():
    r = CliRunner().invoke(app, ["rules"])
    assert r.exit_code == 0 and "adam" in r.output and "EXACT" in r.output


LR_SWEEP = """
name = "lrs"
steps = 60
seeds = [0, 1, 2]
record = "log"
[problem]
name = "quadratic"
dim = 5
kappa = 20.0
seed = 2
[[rules]]
name = "sgd"
lr = [0.01, 0.02, 0.05, 0.1, 0.2]
[[rules]]
name = "heavy_ball"
lr = [0.02, 0.05]
momentum = [0.3, 0.6]
"""


def test_summary_is_per_configuration_and_matches_direct_runs(tmp_path):
    from precond_theory.sweep.summary import describe_sweep, plot_sweep, summarize

    cfg = SweepConfig.from_dict(__import__("tomllib").loads(LR_SWEEP))
    assert describe_sweep(cfg) == ("2 rules, 9 configurations x 3 seeds = 27 runs "
                                   "(sgd: lr x5; heavy_ball: lr x2 x momentum x2)")
    # lr = 0.2 > 2/L diverges: |1 - 0.2 L| = 3, the gap grows 9x a step (a blow-up, flagged)
    with pytest.warns(DivergenceWarning, match="blow_up"):
        table = run_sweep(cfg, tmp_path)
    s = summarize(table, cfg, "f_gap")
    assert len(s) == 9 and (s.runs == 3).all()
    assert s.configuration.tolist()[:5] == [f"lr={v:g}" for v in (0.01, 0.02, 0.05, 0.1, 0.2)]
    assert s.configuration.tolist()[5:] == ["lr=0.02 momentum=0.3", "lr=0.02 momentum=0.6",
                                            "lr=0.05 momentum=0.3", "lr=0.05 momentum=0.6"]
    # independent reference: single runs per configuration and seed from x* + N(0, I)
    p = make_quadratic(5, 20.0, seed=2)
    for row in s.itertuples():
        spec = dict(cfg.rules[row.rule_index])
        hps = {k: v for k, v in spec.items() if k != "name" and not isinstance(v, list)}
        for kv in row.configuration.split():
            k, v = kv.split("=")
            hps[k] = float(v)
        finals = []
        for seed in cfg.seeds:
            x0 = np.asarray(p.x_star) + np.random.default_rng(seed).standard_normal(5)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DivergenceWarning)
                tr = run(rules.make(spec["name"], **hps), p, steps=60, x0=x0, record=[60])
            finals.append(float(tr.metrics["f_gap"][-1]))
        np.testing.assert_allclose(row.median, np.median(finals), rtol=1e-9)
        np.testing.assert_allclose([row.q25, row.q75], np.quantile(finals, [0.25, 0.75]), rtol=1e-9)
        assert row.diverged == (3 if row.configuration == "lr=0.2" else 0)
    ax = plot_sweep(table, cfg, "f_gap")
    labels = ax.get_legend_handles_labels()[1]
    assert labels == [f"sgd lr={v:g}" for v in (0.01, 0.02, 0.05, 0.1, 0.2)] + [
        "heavy_ball lr=0.02 momentum=0.3", "heavy_ball lr=0.02 momentum=0.6", "heavy_ball lr=0.05 momentum=0.3",
        "heavy_ball lr=0.05 momentum=0.6"]
    import matplotlib.pyplot as plt

    plt.close(ax.figure)


def test_summary_counts_diverged_runs(tmp_path):
    from precond_theory.sweep.summary import summarize

    d = __import__("tomllib").loads(LR_SWEEP)
    d["rules"] = [{"name": "sgd", "lr": [0.05, 1e6]}]  # lr = 1e6 overflows to inf within 60 steps
    cfg = SweepConfig.from_dict(d)
    with pytest.warns(RuntimeWarning):
        table = run_sweep(cfg, tmp_path)
    s = summarize(table, cfg, "f_gap")
    assert s.diverged.tolist() == [0, 3]

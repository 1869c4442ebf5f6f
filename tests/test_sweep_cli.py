"""Sweeps and the ``precond-theory run`` command: outputs, batching of list-valued
hyperparameters, resumption, and clear errors for malformed configs."""

from __future__ import annotations

import re
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


def _assert_rows_are_single_runs(table, cfg, problem, equal):
    """Each (rule, configuration, seed) of a sweep table against ``run(rule, problem, seed=s)``."""
    from precond_theory.sweep import configurations

    n = 0
    for i, spec in enumerate(cfg.rules):
        fixed = {k: v for k, v in spec.items() if k != "name" and not isinstance(v, list)}
        for c, vals in enumerate(configurations(spec)):
            for seed in cfg.seeds:
                direct = run(rules.make(spec["name"], **fixed, **vals), problem, steps=cfg.steps, record=cfg.record,
                             seed=seed)
                rows = table[(table.rule_index == i) & (table.config == c) & (table.seed == seed)]
                rows = rows.sort_values("stop_val")
                for k, v in vals.items():
                    assert (rows[f"p_solver_{k}"] == v).all()
                np.testing.assert_array_equal(rows.stop_val.to_numpy(), direct.steps)
                for m in ("f_gap", "grad_norm_sq", "dist_sq"):
                    equal(rows[f"objective_{m}"].to_numpy(), direct.metrics[m])
                n += 1
    return n


def test_sweep_rows_are_single_runs_with_their_seed_bitwise(tmp_path):
    d = __import__("tomllib").loads(SMALL)
    d["problem"]["rotate"] = False  # elementwise arithmetic: batched and single runs agree bitwise
    d["seeds"] = [0, 5]  # not the batch positions 0, 1: the seed of a run is its seed, not its place
    d["rules"][1]["momentum"] = [0.5, 0.9]
    cfg = SweepConfig.from_dict(d)
    table = run_sweep(cfg, tmp_path)
    p = make_quadratic(4, 10.0, rotate=False, seed=3)
    assert _assert_rows_are_single_runs(table, cfg, p, np.testing.assert_array_equal) == 10
    first = table[table.stop_val == 0].groupby("seed").objective_dist_sq.first()
    assert first[0] != first[5]  # the seeds start apart
    # a sweep that drew its own starts (x* + N(0, I), format 1) is told apart by this comparison
    x0 = np.asarray(p.x_star) + np.random.default_rng(5).standard_normal(4)
    other = run(rules.make("adam", lr=0.01), p, steps=cfg.steps, record=cfg.record, x0=x0)
    rows = table[(table.rule_index == 0) & (table.config == 0) & (table.seed == 5)].sort_values("stop_val")
    assert not np.array_equal(rows.objective_f_gap.to_numpy(), other.metrics["f_gap"])


def test_sweep_batches_lists_and_matches_direct_runs(tmp_path):
    cfg = SweepConfig.from_dict(__import__("tomllib").loads(SMALL))
    table = run_sweep(cfg, tmp_path)
    adam = table[table.solver_name == "adam"]
    assert adam.run.nunique() == 6 and sorted(adam.p_solver_lr.unique()) == [0.01, 0.1, 0.3]
    # a rotated quadratic: batched matrix products may differ from single ones in the last bit
    p = make_quadratic(4, 10.0, rotate=True, seed=3)

    def close(a, b):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=0)

    assert _assert_rows_are_single_runs(table, cfg, p, close) == 8
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
    # independent reference: single runs per configuration and seed (run(seed=s))
    p = make_quadratic(5, 20.0, seed=2)
    for row in s.itertuples():
        spec = dict(cfg.rules[row.rule_index])
        hps = {k: v for k, v in spec.items() if k != "name" and not isinstance(v, list)}
        for kv in row.configuration.split():
            k, v = kv.split("=")
            hps[k] = float(v)
        finals = []
        for seed in cfg.seeds:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DivergenceWarning)
                tr = run(rules.make(spec["name"], **hps), p, steps=60, record=[60], seed=seed)
            finals.append(float(tr.metrics["f_gap"][-1]))
        np.testing.assert_allclose(row.median, np.median(finals), rtol=1e-9)
        np.testing.assert_allclose([row.q25, row.q75], np.quantile(finals, [0.25, 0.75]), rtol=1e-9)
        assert row.diverged == (3 if row.configuration == "lr=0.2" else 0)
    # the saved figure has one median line and one legend entry per row of the summary
    from precond_theory.plotting import save_figure

    save_figure(plot_sweep(table, cfg, "f_gap"), tmp_path / "fig.svg", formats=["svg"])
    svg = (tmp_path / "fig.svg").read_text()
    assert len(re.findall(r'<g id="median-\d+"', svg)) == len(s) == 9
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    want = [f"{r.rule}, " + ", ".join(kv.replace("=", " = ") for kv in r.configuration.split())
            + (f" [{r.diverged}/{r.runs} diverged]" if r.diverged else "") for r in s.itertuples()]
    assert want[:2] == ["sgd, lr = 0.01", "sgd, lr = 0.02"] and want[-1] == "heavy_ball, lr = 0.05, momentum = 0.6"
    assert [t for t in texts if t.startswith(("sgd", "heavy_ball"))] == want
    # the figure's grouping is the summary's; plot_convergence's grouping arguments are refused by name
    for bad in ({"by": "config"}, {"label": "configuration"}, {"group_by": ["p_solver_lr"]}):
        with pytest.raises(TypeError, match=f"plot_sweep does not take {next(iter(bad))}"):
            plot_sweep(table, cfg, "f_gap", **bad)


def test_summary_counts_diverged_runs(tmp_path):
    from precond_theory.sweep.summary import summarize

    d = __import__("tomllib").loads(LR_SWEEP)
    d["rules"] = [{"name": "sgd", "lr": [0.05, 1e6]}]  # lr = 1e6 overflows to inf within 60 steps
    cfg = SweepConfig.from_dict(d)
    with pytest.warns(RuntimeWarning):
        table = run_sweep(cfg, tmp_path)
    s = summarize(table, cfg, "f_gap")
    assert s.diverged.tolist() == [0, 3]

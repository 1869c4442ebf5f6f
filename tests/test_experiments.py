"""Every experiment runs at CI size through the CLI and writes its figure, table and verdict;
verdicts can fail; results are reused only under the same cache key; bad input is refused."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from precond_theory.cli import app
from precond_theory.experiments import available, get, run_experiment
from precond_theory.experiments import _base as base
from precond_theory.experiments._race import paired_verdict
from precond_theory.experiments.seed_special import linear_cost_verdict

runner = CliRunner()
PAPERS = ("SOAA", "AdaRem", "AdamRAG", "AdapGradm", "Ye")


@pytest.fixture(scope="module")
def ci_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("experiments")
    res = runner.invoke(app, ["experiment", "--all", "--size", "ci", "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out, res.output


def test_every_seed_paper_and_claim_kind_has_experiments():
    names = available()
    assert len(names) == len(set(names)) >= 30
    papers = [get(n).paper for n in names]
    for p in PAPERS:
        assert any(p in x for x in papers), p
    kinds = {get(n).kind for n in names}
    assert {"rate", "regret", "stability", "conditioning", "regularization", "comparison", "cost",
            "counterexample"} <= kinds
    for n in names:
        e = get(n)
        assert e.claim and e.expected and e.setup and set(e.sizes) == {"ci", "full"}
        for key in ("steps", "seeds"):  # CI is never larger than full
            if key in e.sizes["ci"]:
                assert e.sizes["ci"][key] <= e.sizes["full"][key], (n, key)
    assert sum(get(n).sizes["ci"] != get(n).sizes["full"] for n in names) >= len(names) - 5


def test_all_experiments_write_figure_table_and_verdict(ci_results):
    out, output = ci_results
    for name in available():
        d = out / name
        for f in ("figure.pdf", "figure.svg", "figure.png", "table.csv", "table.tex", "verdict.json"):
            assert (d / f).is_file() and (d / f).stat().st_size > 0, (name, f)
        rec = json.loads((d / "verdict.json").read_text())
        assert rec["name"] == name and rec["size"] == "ci"
        assert rec["verdict"] in ("consistent", "violated", "inconclusive") and rec["reason"]
        assert rec["fidelity"] in ("EXACT", "CONCORDANT", "RECON", "TEMPLATE", "FALSE")
        assert all(v in ("EXACT", "CONCORDANT", "RECON") for v in rec["rules"].values())
        assert rec["rules"] or name == "ye_normalization_conditioning"  # the only one that runs no rule
        assert rec["command"].startswith("precond-theory experiment") and "--size ci" in rec["command"]
        assert {"precond-theory", "numpy", "scipy", "matplotlib"} <= set(rec["versions"])
        assert set(rec["files"]) <= {p.name for p in d.iterdir()}
        tex = (d / "table.tex").read_text()
        assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex
    assert "experiments:" in output  # the progress display reported runs done / total
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no staging folder left behind


def test_known_outcomes_at_ci_size(ci_results):
    """Verdicts that must come out this way at CI size: refuted false claims, exact theorems."""
    out, _ = ci_results
    verdict = {n: json.loads((out / n / "verdict.json").read_text())["verdict"] for n in available()}
    assert verdict["claim_gd_linear_convex"] == "violated"  # GD is not linear on a convex, not strongly convex f
    assert verdict["claim_adam_regret_reddi"] == "violated"  # Reddi et al.'s counterexample
    for n in ("claim_gd_convex", "claim_gd_quadratic_linear", "claim_nesterov_convex", "soaa_linear_cost",
              "ye_preconditioned_local_rate", "ye_regularization"):
        assert verdict[n] == "consistent", n


def test_rerun_reuses_results_and_key_changes_recompute(ci_results, tmp_path):
    out, _ = ci_results
    res = runner.invoke(app, ["experiment", "--all", "--size", "ci", "--out", str(out)])
    assert res.exit_code == 0 and res.output.count("cached") == len(available()), res.output
    # a stored key that does not match (another code version) is recomputed, not trusted
    rec, status = run_experiment("soaa_linear_cost", size="ci", out=tmp_path)
    assert status == "ran"
    p = tmp_path / "soaa_linear_cost" / "verdict.json"
    stale = json.loads(p.read_text())
    stale["request_key"] = "0" * 16
    p.write_text(json.dumps(stale))
    assert run_experiment("soaa_linear_cost", size="ci", out=tmp_path)[1] == "ran"
    assert run_experiment("soaa_linear_cost", size="ci", out=tmp_path)[1] == "cached"
    (tmp_path / "soaa_linear_cost" / "figure.pdf").unlink()  # a missing artifact is recomputed
    assert run_experiment("soaa_linear_cost", size="ci", out=tmp_path)[1] == "ran"
    assert base.cache_key("soaa_linear_cost", "ci", {"a": 1}) != base.cache_key("soaa_linear_cost", "full", {"a": 1})


def test_interrupted_run_keeps_previous_result(tmp_path, monkeypatch):
    run_experiment("soaa_linear_cost", size="ci", out=tmp_path)
    before = (tmp_path / "soaa_linear_cost" / "verdict.json").read_text()
    exp = get("soaa_linear_cost")

    def boom(params, advance):
        raise RuntimeError("interrupted")

    monkeypatch.setitem(base._REGISTRY, "soaa_linear_cost", dataclasses.replace(exp, run=boom))
    with pytest.raises(RuntimeError):
        run_experiment("soaa_linear_cost", size="ci", out=tmp_path, reuse=False)
    assert (tmp_path / "soaa_linear_cost" / "verdict.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["soaa_linear_cost"]


def test_paired_verdict_rejects_the_opposite_and_ties():
    a = np.array([10.0, 12.0, 11.0, 9.0])
    b = 3 * a * np.array([1.0, 1.1, 0.9, 1.05])
    assert paired_verdict(a, b)["verdict"] == "consistent"
    assert paired_verdict(b, a)["verdict"] == "violated"  # swapped: the claim is wrong
    assert paired_verdict(a, a)["verdict"] == "inconclusive"
    assert paired_verdict(a, 1.01 * a)["verdict"] == "inconclusive"  # within the 5% margin
    assert paired_verdict(a, 1.01 * a, margin=0.0)["verdict"] == "consistent"
    assert paired_verdict(a, b, better="larger")["verdict"] == "violated"
    with pytest.raises(ValueError, match="positive"):
        paired_verdict(np.array([1.0, -1.0]), np.array([1.0, 1.0]))
    with pytest.raises(ValueError, match="better"):
        paired_verdict(a, b, better="faster")


def test_linear_cost_verdict_rejects_quadratic_state_and_growing_work():
    n = np.array([10, 100, 1000])
    assert linear_cost_verdict(n, 3 * n + 2, [2, 2, 2])[0] == "consistent"
    assert linear_cost_verdict(n, n ** 2, [2, 2, 2])[0] == "violated"  # a full-matrix state
    assert linear_cost_verdict(n, 3 * n, [1, 2, 4])[0] == "violated"  # work per step grows with n


def test_local_rate_experiment_rejects_the_wrong_condition_number():
    """The rate the experiment claims (from kappa(M^1/2 H M^1/2)) is accepted; the unpreconditioned
    kappa(H)'s rate on the same runs is rejected."""
    from precond_theory import problems, rules, theory
    from precond_theory.claims import Claim
    from precond_theory.experiments import _claims_api as api

    p = get("ye_preconditioned_local_rate").sizes["ci"]
    n = p["dim"]
    prob = problems.make("least_squares", n_samples=p["n_samples"], dim=n,
                         scale=np.geomspace(1.0, p["scale_max"], n).tolist(), corr=p["corr"], seed=0)
    H = np.asarray(prob.hessian(prob.x_star))
    M = 1.0 / np.diag(H)
    s = np.sqrt(M)
    lam = np.linalg.eigvalsh(s[:, None] * H * s[None, :])
    lr = 2.0 / (lam[0] + lam[-1])
    lam_h = np.linalg.eigvalsh(H)
    for rho, want in ((theory.preconditioned_gd_local_rate(lam[0], lam[-1], lr), "consistent"),
                      (theory.gd_quadratic_rate(lam_h[0], lam_h[-1]), "violated")):
        claim = Claim(metric="dist_sq", shape="linear", kind="rate", rate=float(rho) ** 2, name="t")
        rc, _ = api.check(claim, rule=rules.make("preconditioned", lr=lr, diag=M), problem=prob, steps=p["steps"],
                          x0=np.asarray(prob.x_star) + 1.0)
        assert api.record(rc)["verdict"] == want


def test_bad_input_is_one_line_exit_2(tmp_path):
    res = runner.invoke(app, ["experiment", "soaa_linear_cots", "--size", "ci", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "unknown experiment 'soaa_linear_cots'" in res.output
    assert "did you mean 'soaa_linear_cost'" in res.output and len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = runner.invoke(app, ["experiment", "soaa_linear_cost", "--size", "ci", "--out", str(blocker / "sub")])
    assert res.exit_code == 2 and "--out" in res.output and "not a writable folder" in res.output
    assert len(res.output.strip().splitlines()) == 1
    for args, msg in ((["experiment", "--size", "ci"], "NAME or --all"),
                      (["experiment", "soaa_linear_cost", "--size", "huge"], "--size must be one of"),
                      (["experiment", "soaa_linear_cost", "--all"], "NAME or --all"),
                      (["experiment", "--list", "--all"], "--list takes no NAME")):
        res = runner.invoke(app, args)
        assert res.exit_code == 2 and msg in res.output, (args, res.output)
    with pytest.raises(ValueError, match="did you mean 'ye_regularization'"):
        get("ye_regularisation")


def test_list_shows_every_experiment():
    res = runner.invoke(app, ["experiment", "--list"], terminal_width=250)
    assert res.exit_code == 0
    for n in available():
        assert n in res.output


KILLED = """
import os, sys
from precond_theory.experiments import _base, run_experiment
run_experiment("claim_gd_convex_tight", size="ci", out=sys.argv[1])
write = _base._write
def killed_while_writing(folder, exp, result):
    write(folder, exp, result)
    os.kill(os.getpid(), 9)  # SIGKILL: no cleanup, no exception handler runs
_base._write = killed_while_writing
run_experiment("claim_adam_regret_reddi", size="ci", out=sys.argv[1])
"""


def test_a_killed_run_loses_nothing_finished(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**__import__("os").environ, "PYTHONPATH": str(root)}
    proc = subprocess.run([sys.executable, "-c", KILLED, str(tmp_path)], env=env, capture_output=True, timeout=300)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    assert (tmp_path / "claim_gd_convex_tight" / "verdict.json").is_file()  # finished before the kill
    assert not (tmp_path / "claim_adam_regret_reddi").exists()  # killed: nothing half-written in place
    assert [p.name.split("-")[0] for p in tmp_path.glob(".*")] == [".claim_adam_regret_reddi.staging"]
    # the same command again: the finished result is reused, the killed one computed, its debris removed
    res = runner.invoke(app, ["experiment", "claim_gd_convex_tight", "--size", "ci", "--out", str(tmp_path)])
    assert res.exit_code == 0 and "cached" in res.output, res.output
    assert run_experiment("claim_adam_regret_reddi", size="ci", out=tmp_path)[1] == "ran"
    assert not list(tmp_path.glob(".*"))


def test_all_continues_past_a_failing_experiment_and_reports_it(tmp_path, monkeypatch):
    """One experiment raising does not lose the others: they run and are kept, the failure is named
    with its traceback saved, the exit code is 1, and no gallery is written that would miss it."""
    good = get("claim_gd_convex_tight")

    def boom(params, advance):
        raise RuntimeError("injected failure")

    broken = dataclasses.replace(good, name="broken_exp", run=boom)
    monkeypatch.setattr(base, "_REGISTRY", {"broken_exp": broken, good.name: good})
    out, docs = tmp_path / "o", tmp_path / "docs"
    res = runner.invoke(app, ["experiment", "--all", "--size", "ci", "--out", str(out), "--gallery", str(docs)],
                        terminal_width=250)
    assert res.exit_code == 1, res.output
    assert "broken_exp failed: RuntimeError: injected failure" in res.output
    assert "1 of 2 experiments failed (broken_exp)" in res.output and "gallery was not written" in res.output
    assert json.loads((out / good.name / "verdict.json").read_text())["verdict"] in ("consistent", "violated",
                                                                                      "inconclusive")
    assert "injected failure" in (out / "broken_exp.failed.txt").read_text()
    assert not list(docs.glob("*.md"))
    # fixed: the same command reuses the finished result, runs the other and drops the stale traceback
    monkeypatch.setattr(base, "_REGISTRY", {"broken_exp": dataclasses.replace(good, name="broken_exp"),
                                            good.name: good})
    res = runner.invoke(app, ["experiment", "--all", "--size", "ci", "--out", str(out)], terminal_width=250)
    assert res.exit_code == 0, res.output
    assert "cached" in res.output and not (out / "broken_exp.failed.txt").exists()
    assert (out / "broken_exp" / "verdict.json").is_file()


def test_a_steps_target_met_at_the_start_is_refused_and_the_saddle_start_is_below_it():
    """Steps to a target already met at step 0 are 0 for every rule: a comparison that cannot fail.
    Himmelblau's lowest saddle sits at f = 13.3, so the former target f <= 20 was met at the start."""
    from precond_theory.experiments import _compare
    from precond_theory.experiments.seed_claims import SADDLE

    p = {"steps": 40, "seeds": 4, "lrs": [0.01, 0.1]}
    rules_ = {"adamrag": {}, "adam": {}}
    with pytest.raises(ValueError, match="target 20 of f is met at the start by"):
        _compare._per_problem({**SADDLE, "target_abs": 20.0}, rules_, p, "steps", lambda n=1: None)
    res = _compare._per_problem(SADDLE, rules_, p, "steps", lambda n=1: None)
    saddles = [s for s in res["problem"].stationary_points if s.kind == "saddle"]
    assert len(saddles) == 4 and min(float(res["problem"].value(np.asarray(s.x))) for s in saddles) > 13.0
    assert (res["summary"]["first"] > SADDLE["target_abs"]).all()
    for name in rules_:  # every seed starts at its own saddle and needs steps to reach the target
        assert (res["per_rule"][name]["value"] > 0).all()


def test_steps_to_target_says_when_runs_never_reached_it(monkeypatch):
    """A run that never reaches the target counts as the horizon plus one: the comparison is
    censored, and the reason says by whom and in how many seeds (two such runs compare as equal)."""
    from precond_theory.experiments import _compare
    from precond_theory.experiments.seed_claims import QUAD_AXIS

    monkeypatch.setattr(base, "_REGISTRY", {})
    exp = _compare.comparison("censored_probe", title="t", paper="p", claim="c", expected="e", subject="adam",
                              baselines=["sgd"], criterion="steps", problems=[QUAD_AXIS],
                              sizes={k: {"steps": 5, "seeds": 3, "lrs": [0.01, 0.1]} for k in ("ci", "full")})
    res = exp.run(dict(exp.sizes["ci"]), lambda n=1: None)
    assert res.verdict == "inconclusive"  # 5 steps: nobody gets to 1e-6 of the start
    assert "target not reached within 5 steps by adam in 3/3 and by sgd in 3/3 seeds" in res.reason
    full = _compare.comparison("uncensored_probe", title="t", paper="p", claim="c", expected="e", subject="adam",
                               baselines=["sgd"], criterion="steps", problems=[{**QUAD_AXIS, "target": 0.5}],
                               sizes={k: {"steps": 200, "seeds": 3, "lrs": [0.01, 0.1]} for k in ("ci", "full")})
    assert "not reached" not in full.run(dict(full.sizes["ci"]), lambda n=1: None).reason

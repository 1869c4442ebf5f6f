"""Performance estimation: literature worst cases, the worst-case examples, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from precond_theory import rules, run, theory
from precond_theory.verify import pep
from precond_theory.verify.worst_case import huber, pep_instance

needs_sdp = pytest.mark.skipif(not pep.available(), reason=f"performance estimation unavailable: "
                               f"{pep.missing_reason()}; install the extra: {pep.EXTRA_HINT}")

SC_MOMENTUM = (1 - math.sqrt(0.1)) / (1 + math.sqrt(0.1))


def _ogm_closed_form(L: float, N: int) -> float:
    """Kim & Fessler (2016), Theorem 2: L ||x0 - x*||^2 / (2 theta_N^2)."""
    theta = 1.0
    for i in range(N):
        theta = (1 + math.sqrt((4 if i < N - 1 else 8) * theta**2 + 1)) / 2
    return L / (2 * theta**2)


# ------------------------------------------------------------------------- literature values
@needs_sdp
def test_gd_convex_is_drori_teboulle():
    r = pep.worst_case("gd", N=4, L=3.0, R=1.0)
    assert r.params == {"lr": pytest.approx(1 / 3)}  # step convention: h = 1 means lr = 1/L
    assert abs(r.value - 1 / 6) < 1e-5
    assert abs(r.value - theory.gd_convex_tight_bound(3.0, 1.0, 4)) < 1e-5
    assert r.status == "optimal" and r.solver == pep.solver_name()
    assert r.value >= r.primal - 1e-8 and r.value - r.primal < 1e-6  # dual upper bound, primal example


@needs_sdp
def test_ogm_literature_value():
    r = pep.worst_case("ogm", N=4, L=3.0)
    assert abs(r.value - 0.0767518) < 1e-5
    assert abs(r.value - _ogm_closed_form(3.0, 4)) < 1e-5


@needs_sdp
def test_gd_nonconvex_literature_value():
    r = pep.worst_case("gd", N=5, L=1.0, function_class="nonconvex", performance="min_grad_norm_sq",
                       initial="f0_minus_fN")
    assert abs(r.value - 0.266667) < 1e-5
    assert abs(r.value - 4 / (3 * 5)) < 1e-5  # 4L/(3N) at step 1/L (Taylor et al. 2017)


@needs_sdp
def test_nesterov_strongly_convex_tight_vs_bound():
    r = pep.worst_case("nesterov", N=2, L=1.0, mu=0.1, schedule="constant", momentum=SC_MOMENTUM, initial="lyapunov")
    bound = theory.nesterov_strongly_convex_bound(0.1, 1.0, 1.0, 0.0, 2)  # lyapunov = 1
    assert abs(r.value - 0.347602) < 1e-5
    assert abs(bound - 0.467544) < 1e-6
    assert r.value < bound


@needs_sdp
def test_heavy_ball_pepit_documentation_value():
    alpha = 0.5
    beta = math.sqrt((1 - alpha * 0.1) * (1 - alpha))
    r = pep.worst_case("heavy_ball", N=2, L=1.0, mu=0.1, lr=alpha, momentum=beta, initial="f_gap")
    assert abs(r.value - 0.753493) < 1e-5


@needs_sdp
@pytest.mark.parametrize("h", [0.5, 1.0, 1.5])
def test_gd_matches_closed_form_for_other_steps(h):
    # Drori-Teboulle for h <= 1; Taylor-Hendrickx-Glineur's max{1/(2Nh+1), (1-h)^(2N)} LR^2/2 for h < 2
    r = pep.worst_case("gd", N=3, L=2.0, h=h)
    expect = 0.5 * 2.0 * max(1 / (2 * 3 * h + 1), (1 - h) ** 6)
    assert abs(r.value - expect) < 1e-6


# --------------------------------------------------------------------- checks reject wrong input
@needs_sdp
def test_wrong_step_or_momentum_does_not_match_the_literature():
    assert abs(pep.worst_case("gd", N=4, L=3.0, h=1.5).value - 1 / 6) > 1e-3
    assert abs(pep.worst_case("gd", N=4, L=3.0, lr=1.0).value - 1 / 6) > 1e-3  # h = 3: no 1/L
    wrong = pep.worst_case("nesterov", N=2, L=1.0, mu=0.1, schedule="constant", momentum=0.9, initial="lyapunov")
    assert abs(wrong.value - 0.347602) > 1e-3
    fista = pep.worst_case("nesterov", N=3, L=1.0, schedule="fista").value
    convex = pep.worst_case("nesterov", N=3, L=1.0).value
    assert abs(fista - convex) > 1e-4  # the schedules differ and the PEP sees it


# -------------------------------------------------------------------- the worst-case examples
@needs_sdp
@pytest.mark.parametrize("case", ["gd", "nesterov_sc", "gd_nonconvex", "heavy_ball"])
def test_runs_on_the_pep_example_reach_the_pep_value(case):
    kw, rule, metric = {
        "gd": (dict(method="gd", N=4, L=3.0), rules.make("sgd", lr=1 / 3), "f_gap"),
        "nesterov_sc": (dict(method="nesterov", N=2, L=1.0, mu=0.1, schedule="constant", momentum=SC_MOMENTUM,
                             initial="lyapunov"),
                        rules.make("nesterov", lr=1.0, schedule="constant", momentum=SC_MOMENTUM), "f_gap"),
        "gd_nonconvex": (dict(method="gd", N=5, L=1.0, function_class="nonconvex", performance="min_grad_norm_sq",
                              initial="f0_minus_fN"), rules.make("sgd", lr=1.0), "min_grad_norm_sq"),
        "heavy_ball": (dict(method="heavy_ball", N=4, L=1.0, mu=0.1, lr=0.5, momentum=0.5, performance="dist_sq"),
                       rules.make("heavy_ball", lr=0.5, momentum=0.5), "dist_sq"),
    }[case]
    r = pep.worst_case(**kw)
    problem, x0, value = pep_instance(r)
    assert problem.L == r.L
    t = run(rule, problem, steps=r.N, record="all", x0=x0)
    measured = t.metrics[metric][-1]
    assert measured == pytest.approx(value, rel=1e-6)  # the run attains the worst case ...
    assert measured <= r.value * (1 + 1e-6)  # ... and respects it
    # the same function, a different step: the run leaves the example and does not attain the value
    mutant = rules.make(rule.name, **{**rule.hyperparameters(), "lr": rule.hyperparameters()["lr"] * 1.5})
    t2 = run(mutant, problem, steps=r.N, record="all", x0=x0)
    assert abs(t2.metrics[metric][-1] - value) > 1e-3 * value


@needs_sdp
def test_huber_function_attains_the_gd_pep_value():
    r = pep.worst_case("gd", N=6, L=2.0, R=1.5)
    problem, x0, value = huber(6, L=2.0, R=1.5)
    t = run(rules.make("sgd", lr=1 / 2.0), problem, steps=6, record="all")
    assert t.metrics["f_gap"][-1] == pytest.approx(value, rel=1e-12)
    assert abs(value - r.value) < 1e-6


# ------------------------------------------------------------------------------ bad input
@needs_sdp
@pytest.mark.parametrize("kwargs, exc, text", [
    (dict(method="adam", N=2), ValueError, "method"),
    (dict(method="gd", N=0), ValueError, "N"),
    (dict(method="gd", N=2, momentum=0.5), TypeError, "momentum"),
    (dict(method="gd", N=2, lr=0.5, h=1.0), ValueError, "not both"),
    (dict(method="heavy_ball", N=2, lr=0.5), TypeError, "momentum"),
    (dict(method="nesterov", N=2, momentum=0.5), ValueError, "schedule='constant'"),
    (dict(method="ogm", N=2, lr=0.5), TypeError, "no parameter"),
    (dict(method="gd", N=2, mu=2.0, L=1.0), ValueError, "mu"),
    (dict(method="gd", N=2, function_class="nonconvex"), ValueError, "minimiser"),
    (dict(method="gd", N=2, function_class="nonconvex", mu=0.1, performance="grad_norm_sq",
          initial="f0_minus_fN"), ValueError, "mu"),
    (dict(method="gd", N=2, performance="regret"), ValueError, "performance"),
    (dict(method="gd", N=2, R=0.0), ValueError, "R"),
])
def test_bad_input_is_refused_naming_the_argument(kwargs, exc, text):
    with pytest.raises(exc, match=text):
        pep.worst_case(**kwargs)


def test_missing_extra_names_it(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "PEPit" else real(name, *a))
    assert not pep.available()
    with pytest.raises(pep.PepUnavailableError, match=r'pip install "precond-theory\[pep\]"'):
        pep.worst_case("gd", N=2)


def test_from_rule_maps_the_fixed_step_rules():
    assert pep.from_rule(rules.make("sgd", lr=0.5), 1.0) == ("gd", {"lr": 0.5})
    assert pep.from_rule(rules.make("sgd", lr=0.5, momentum=0.3), 1.0) == ("heavy_ball", {"lr": 0.5, "momentum": 0.3})
    assert pep.from_rule(rules.make("heavy_ball", lr=0.5, momentum=0.3), 1.0)[0] == "heavy_ball"
    assert pep.from_rule(rules.make("nesterov", lr=1.0), 1.0) == ("nesterov", {"lr": 1.0, "schedule": "convex",
                                                                              "a": 3.0})
    with pytest.raises(ValueError, match="fixed-step"):
        pep.from_rule(rules.make("adam"), 1.0)
    with pytest.raises(ValueError, match="scalar"):
        pep.from_rule(rules.make("sgd", lr=np.array([[0.1], [0.2]])), 1.0)
    with pytest.raises(ValueError, match="dampening"):
        pep.from_rule(rules.make("sgd", lr=0.1, momentum=0.5, dampening=0.5), 1.0)


# --------------------------------------------------------------------- the catalog side by side
@needs_sdp
def test_compare_tight_claim_matches_pep_and_runs_stay_below():
    rows = pep.compare("gd_convex_tight", N=(1, 3), budget=600)
    assert [r.N for r in rows] == [1, 3]
    for r in rows:
        assert r.theory == pytest.approx(r.pep, abs=1e-6)  # Drori-Teboulle is tight
        assert 0.95 * r.pep <= r.empirical <= r.pep * (1 + 1e-6)  # the search approaches it from below
    loose = pep.compare("gd_convex", N=2, empirical=False)[0]
    assert loose.theory > 1.5 * loose.pep and loose.empirical is None  # the classical bound is valid, not tight


@needs_sdp
def test_compare_shows_heavy_ball_beyond_quadratics():
    rows = pep.compare("heavy_ball_quadratic", N=4, empirical=False)
    by_class = {r.function_class: r.pep for r in rows}
    assert by_class["strongly convex"] > 2 * by_class["quadratic"]  # the claim's class is quadratics only


@needs_sdp
def test_pep_refutes_a_bound_used_outside_its_theorem():
    # GD at h = 1.9 (lr = 1.9/L): the exact worst case is (1 - h)^2 L R^2 / 2 = 0.405 after one step (a quadratic);
    # a "tight bound" L R^2 / (4 N h + 2) = 0.104 evaluated there is below it, so the PEP refutes it
    r = pep.worst_case("gd", N=1, L=1.0, h=1.9)
    assert r.value == pytest.approx(0.405, abs=1e-6)
    try:
        bound = theory.gd_convex_tight_bound(1.0, 1.0, 1, lr=1.9)
    except ValueError:
        return  # the bound refuses a step outside its theorem: also right
    assert bound < r.value - 0.1


def test_compare_unknown_claim_lists_the_supported_ones():
    with pytest.raises(LookupError, match="gd_convex_tight"):
        pep.compare("adam_type_nonconvex")


# --------------------------------------------------------------------------------------- CLI
@needs_sdp
def test_cli_check_pep_prints_the_side_by_side_table(tmp_path):
    import json

    from typer.testing import CliRunner

    from precond_theory.cli import app

    out = tmp_path / "t.json"
    r = CliRunner().invoke(app, ["check", "gd_convex", "--pep", "--horizons", "2", "--json", str(out)])
    assert r.exit_code == 0, r.output
    row = json.loads(out.read_text())["rows"][0]
    assert row[:4] == ["gd_convex", "convex", "(f(x_N) - f*) / ||x0 - x*||^2", "2"]
    assert float(row[4]) == pytest.approx(0.25) and float(row[5]) == pytest.approx(0.1, abs=1e-6)
    assert float(row[6]) <= 0.1 + 1e-9


@pytest.mark.parametrize("args, text", [
    (["check", "adam_type_nonconvex", "--pep"], "supported claims"),
    (["check", "gd_convex", "--pep", "--seeds", "3"], "--seeds"),
    (["check", "--pep"], "NAME or --all"),
    (["check", "gd_convex", "--pep", "--horizons", "a"], "horizons"),
])
def test_cli_check_pep_refuses_what_it_does_not_read(args, text):
    from typer.testing import CliRunner

    from precond_theory.cli import app

    r = CliRunner().invoke(app, args)
    assert r.exit_code == 2 and text in r.output and r.output.startswith("error:")

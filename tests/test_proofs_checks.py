"""Tests of proofs_checks: every symbolic check holds, every registered rule has a symbolic twin
that agrees with the numeric rule to round-off, the derived optimal parameters equal
precond_theory.theory exactly, and the ``derive`` command works.

The twin comparisons use rtol 1e-9 (float64 round-off after a few steps is ~1e-15; see
proofs_checks/twins/base.py); mutation tests below show that they fail on a wrong twin.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

import proofs_checks as pc
from precond_theory import rules
from proofs_checks import twins
from proofs_checks._core import residual_ok
from proofs_checks.twins import base as twin_base
from proofs_checks.twins import compare as twin_compare

CHECKS = pc.available_checks()
RULES = rules.available()

#: the derivations issue 8 asks for, by topic
REQUIRED_CHECKS = {
    "adam_bias_correction", "adam_efficient_epsilon", "amsgrad_orderings",  # moments
    "ravine_nesterov", "torch_nesterov_ravine",  # ravine
    "decoupled_decay_intrinsic",  # decay
    "soaa_min_form", "lion_box_fixed_point", "adamrag_zero_extrapolation", "hadapgradm_switch_limits",
    "gd_quadratic", "heavy_ball_quadratic", "nesterov_quadratic", "ravine_quadratic",  # quadratic
}


# ------------------------------------------------------------------------------------- checks
def test_required_checks_are_registered():
    missing = REQUIRED_CHECKS - set(CHECKS)
    assert not missing, f"checks missing from proofs_checks: {sorted(missing)}"


@pytest.mark.parametrize("name", CHECKS)
def test_check_residuals_simplify_to_zero(name):
    d = pc.get_check(name)
    assert d.name == name
    assert d.residuals, f"check {name!r} has no residual"
    assert d.steps, f"check {name!r} has no steps"
    assert d.holds(), f"check {name!r}: residuals that do not simplify to 0 / True: {d.failures()}"


def test_residual_test_can_fail():
    x = sp.Symbol("x")
    assert not residual_ok(x - 1)
    assert not residual_ok(sp.false)
    assert not residual_ok(sp.Matrix([0, x]))
    assert residual_ok(sp.sin(x) ** 2 + sp.cos(x) ** 2 - 1)


def test_unknown_check_names_the_known_ones():
    with pytest.raises(ValueError, match="known checks: .*gd_quadratic"):
        pc.get_check("no-such-check")


# ---------------------------------------------------------------- optimal parameters vs theory
def _residual(name: str, label_start: str):
    for label, r in pc.get_check(name).residuals:
        if label.startswith(label_start):
            return r
    raise AssertionError(f"{name} has no residual labelled {label_start!r}")


@pytest.mark.parametrize(
    ("check", "label"),
    [
        ("gd_quadratic", "α* equals theory"),
        ("gd_quadratic", "rate equals theory"),
        ("heavy_ball_quadratic", "η* equals theory"),
        ("heavy_ball_quadratic", "β* equals theory"),
        ("heavy_ball_quadratic", "rate equals theory"),
        ("nesterov_quadratic", "β* equals theory"),
        ("nesterov_quadratic", "s = 1/L is theory's step"),
        ("nesterov_quadratic", "rate equals theory"),
        ("ravine_quadratic", "β* equals theory"),
        ("ravine_quadratic", "rate equals theory"),
    ],
)
def test_derived_optimal_parameters_equal_theory_exactly(check, label):
    # exact symbolic equality: simplify(derived - theory(...)) is the integer 0
    assert sp.simplify(_residual(check, label)) == 0


def test_derived_parameters_are_solved_not_typed():
    # the optimal heavy-ball parameters come out of sympy.solve on the tightness conditions
    from proofs_checks.quadratic import iteration_matrix

    T, (a, b) = iteration_matrix("heavy_ball")
    assert T.shape == (2, 2) and a.name == "alpha" and b.name == "beta"
    steps = pc.get_check("heavy_ball_quadratic").steps
    assert any("solve" in s.text for s in steps)


# ------------------------------------------------------------- iteration matrices vs numeric rules
@pytest.mark.parametrize(
    ("method", "rule_name", "kwargs", "state_field"),
    [
        ("gd", "sgd", {}, None),
        ("heavy_ball", "heavy_ball", {}, "x_prev"),
        ("nesterov", "nesterov", {"schedule": "constant"}, "x_prev"),
        ("ravine", "ravine", {"schedule": "constant"}, "w_prev"),
    ],
)
def test_iteration_matrix_matches_numeric_rule(method, rule_name, kwargs, state_field):
    from proofs_checks.quadratic import iteration_matrix, lam

    T, params = iteration_matrix(method)
    rng = np.random.default_rng(3)
    for _ in range(3):
        values = {p.name: float(rng.uniform(0.1, 0.9)) for p in params}
        lam_v = float(rng.uniform(0.2, 2.0))
        Tn = np.array(T.subs({lam: lam_v, **{p: values[p.name] for p in params}}), dtype=float)
        hp = {"lr": values.get("alpha", values.get("s"))}
        if "beta" in values:
            hp["momentum"] = values["beta"]
        rule = rules.make(rule_name, **kwargs, **hp)
        x = np.array([rng.standard_normal()])
        state = rule.init(x)
        for _k in range(4):
            vec = np.array([x[0]] + ([float(getattr(state, state_field)[0])] if state_field else []))
            y = rule.query(x, state)
            dx, state = rule.update(lam_v * y, state, x)
            x = x + dx
            nxt = np.array([x[0]] + ([float(getattr(state, state_field)[0])] if state_field else []))
            np.testing.assert_allclose(nxt, Tn @ vec, rtol=1e-12, atol=1e-14)


def test_heavy_ball_stability_region_matches_roots():
    # region from Routh-Hurwitz: 0 <= beta < 1 and 0 < alpha*lambda < 2(1 + beta)
    rng = np.random.default_rng(0)
    a = rng.uniform(0.0, 3.0, 4000)
    b = rng.uniform(0.0, 1.2, 4000)
    inside = (b < 1) & (a > 0) & (a < 2 * (1 + b))
    radius = np.array([max(abs(np.roots([1.0, -(1 + bi - ai), bi]))) for ai, bi in zip(a, b)])
    margin = np.abs(radius - 1) > 1e-6  # exclude the boundary itself
    assert np.array_equal(inside[margin], radius[margin] < 1)
    assert inside.any() and (~inside).any()


def test_gd_stability_bound_is_two_over_L():
    L = 3.0
    for alpha, stable in ((2 / L - 1e-3, True), (2 / L + 1e-3, False)):
        assert (abs(1 - alpha * L) < 1) is stable


# ----------------------------------------------------------------- numeric cross-checks of checks
def test_adam_efficient_form_numeric():
    # efficient eps-hat acts as eps-hat / sqrt(1 - b2^k): equal first steps (k = 1)
    b2, eps_hat = 0.9, 0.05
    g, x = np.array([0.3, -1.2, 2.0]), np.zeros(3)
    eff = rules.make("adam", lr=0.1, b2=b2, eps=eps_hat, efficient=True)
    std = rules.make("adam", lr=0.1, b2=b2, eps=eps_hat / math.sqrt(1 - b2))
    same_eps = rules.make("adam", lr=0.1, b2=b2, eps=eps_hat)
    d_eff = eff.update(g, eff.init(x), x)[0]
    np.testing.assert_allclose(d_eff, std.update(g, std.init(x), x)[0], rtol=1e-13)
    assert not np.allclose(d_eff, same_eps.update(g, same_eps.init(x), x)[0], rtol=1e-6)


def test_amsgrad_orderings_numeric():
    # g = (1, 0): Reddi v-hat = 1 - b, torch 1/(1 + b), debiased max 1 (amsgrad_orderings)
    b2 = 0.6
    x = np.zeros(1)
    vhat = {}
    for label, kw in (("reddi", {"bias_correction": False}), ("torch", {}), ("debiased", {"amsgrad_max": "debiased"})):
        r = rules.make("amsgrad", lr=0.1, b1=0.0, b2=b2, eps=0.0, **kw)
        st = r.init(x)
        for g in (1.0, 0.0):
            _, st = r.update(np.array([g]), st, x)
        p = float(r.preconditioner(st)[0])  # 1/sqrt(v-hat)
        vhat[label] = 1 / p**2
    assert vhat["reddi"] == pytest.approx(1 - b2)
    assert vhat["torch"] == pytest.approx(1 / (1 + b2))
    assert vhat["debiased"] == pytest.approx(1.0)
    assert vhat["reddi"] < vhat["torch"] < vhat["debiased"]


def test_torch_nesterov_is_ravine_numeric():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((4, 4))
    H = A @ A.T + np.eye(4)
    mu, lr = 0.7, 0.05
    sgd = rules.make("sgd", lr=lr, momentum=mu, nesterov=True)
    rav = rules.make("ravine", lr=lr, momentum=mu, schedule="constant")
    x0 = rng.standard_normal(4)
    xs, ys = x0.copy(), x0.copy()
    s1, s2 = sgd.init(xs), rav.init(ys)
    for _ in range(30):
        d1, s1 = sgd.update(H @ xs, s1, xs)
        d2, s2 = rav.update(H @ ys, s2, ys)
        xs, ys = xs + d1, ys + d2
        np.testing.assert_allclose(xs, ys, rtol=1e-11, atol=1e-13)


def test_lion_ends_in_the_box_numeric():
    lam, lr = 2.0, 0.01
    rule = rules.make("lion", lr=lr, b1=0.9, b2=0.99, wd=lam)
    c = np.array([3.0, -4.0, 0.1])  # minimiser of |x - c|^2/2 partly outside the box |x| <= 1/2
    x = np.array([2.0, -2.0, 0.0])
    st = rule.init(x)
    for _ in range(1500):
        dx, st = rule.update(x - c, st, x)
        x = x + dx
    assert np.max(np.abs(x)) <= 1 / lam + lr
    np.testing.assert_allclose(np.abs(x[:2]), 1 / lam, atol=2 * lr)


def test_soaa_step_is_min_of_two_steps_numeric():
    rng = np.random.default_rng(2)
    b1, b2, eps, lr, d0 = 0.9, 0.99, 1e-3, 0.1, 3.0
    rule = rules.make("soaa", lr=lr, b1=b1, b2=b2, eps=eps, d0=d0)
    g, x = rng.standard_normal(5), rng.standard_normal(5)
    dx, _ = rule.update(g, rule.init(x), x, value=np.float64(1.0))
    mh, vh = g, g * g  # first step: m-hat = g, v-hat = g^2
    F = (1 + np.sum(mh**2) / np.sum(vh + eps)) * vh
    expected = -lr * mh * np.minimum(1 / (F + eps / d0), d0 / (np.sqrt(vh) + eps))
    np.testing.assert_allclose(dx, expected, rtol=1e-12)


def test_hadapgradm_and_adabound_limits_are_sgd_momentum_numeric():
    # gamma = inf closes the bounds at once: x - eta* m_t = SGD(lr=(1-b1) eta*, momentum=b1)
    rng = np.random.default_rng(4)
    b1, final = 0.8, 0.3
    sgd = rules.make("sgd", lr=(1 - b1) * final, momentum=b1)
    for name, kw in (("hadapgradm", {"b1": b1}), ("adabound", {"b1": b1, "wd": 0.0})):
        rule = rules.make(name, lr=0.1, final_lr=final, gamma=math.inf, **kw)
        x1 = x2 = rng.standard_normal(3)
        s1, s2 = rule.init(x1), sgd.init(x2)
        for _ in range(6):
            g = rng.standard_normal(3)
            d1, s1 = rule.update(g, s1, x1)
            d2, s2 = sgd.update(g, s2, x2)
            x1, x2 = x1 + d1, x2 + d2
        np.testing.assert_allclose(x1, x2, rtol=1e-12)


def test_adamrag_zero_is_adam_numeric():
    rng = np.random.default_rng(5)
    rag = rules.make("adamrag", lr=0.1, schedule="zero")
    adam = rules.make("adam", lr=0.1)
    x1 = x2 = rng.standard_normal(3)
    s1, s2 = rag.init(x1), adam.init(x2)
    for _ in range(5):
        d1, s1 = rag.update(2 * rag.query(x1, s1), s1, x1)
        d2, s2 = adam.update(2 * x2, s2, x2)
        x1, x2 = x1 + d1, x2 + d2
    np.testing.assert_array_equal(x1, x2)


# ---------------------------------------------------------------------- twins: coverage, agreement
def _twin(name):
    try:
        return twins.get_twin(name)
    except LookupError as exc:
        pytest.fail(str(exc))


@pytest.mark.parametrize("name", RULES)
def test_every_registered_rule_has_a_complete_twin(name):
    _twin(name)
    problems = twin_base.coverage_problems(name)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", RULES)
def test_twin_one_step_matches_numeric_rule(name):
    for i in range(len(_twin(name).cases)):
        assert twins.compare_one_step(name, i) > 0


@pytest.mark.parametrize("name", RULES)
def test_twin_k_steps_on_quadratic_match_numeric_rule(name):
    for i in range(len(_twin(name).cases)):
        assert twins.compare_quadratic_run(name, i) > 0


@pytest.mark.parametrize("name", RULES)
def test_twin_composed_k_step_map_matches_numeric_rule(name):
    for i in range(len(_twin(name).cases)):
        assert twins.compare_composed(name, i) > 0


def test_missing_twin_is_named(monkeypatch):
    monkeypatch.delitem(twin_base.TWINS, "lion")
    with pytest.raises(LookupError, match="rule 'lion' is registered in precond_theory.rules but has no symbolic twin"):
        twins.get_twin("lion")


def test_coverage_reports_an_unexercised_option(monkeypatch):
    adam = twin_base.TWINS["adam"]
    thin = type("ThinAdamTwin", (type(adam),), {"cases": (twin_base.Case(),)})()
    monkeypatch.setitem(twin_base.TWINS, "adam", thin)
    problems = twin_base.coverage_problems("adam")
    assert any("eps_placement=['inside']" in p for p in problems)
    assert any("efficient=[True]" in p for p in problems)


def test_twin_that_ignores_a_rule_field_is_rejected(monkeypatch):
    lion = twin_base.TWINS["lion"]
    partial = type("PartialLion", (type(lion),), {"hyper": {"lr": (0.1, 0.2), "b1": (0.5, 0.9), "b2": (0.5, 0.9)}})()
    monkeypatch.setitem(twin_base.TWINS, "lion", partial)
    with pytest.raises(AssertionError, match=r"does not model the rule's field\(s\) \['wd'\]"):
        twin_base.coverage_problems("lion")


@pytest.fixture
def fresh_twin_caches():
    twin_compare.compile_twin.cache_clear()
    twin_compare.composed.cache_clear()
    yield
    twin_compare.compile_twin.cache_clear()
    twin_compare.composed.cache_clear()


def test_comparisons_fail_on_a_wrong_twin(monkeypatch, fresh_twin_caches):
    # swap Adam's eps placement in the twin: all three comparisons must notice
    from proofs_checks.twins import adaptive

    orig = adaptive._denominator
    monkeypatch.setattr(adaptive, "_denominator",
                        lambda v, eps, placement: orig(v, eps, "inside" if placement == "outside" else "outside"))
    for compare in (twins.compare_one_step, twins.compare_quadratic_run, twins.compare_composed):
        with pytest.raises(twins.Mismatch, match="adam case 0"):
            compare("adam", 0)


def test_comparisons_fail_on_a_wrong_query_point(monkeypatch, fresh_twin_caches):
    # a Nesterov twin that queries the gradient at x instead of the extrapolated point
    nest = twin_base.TWINS["nesterov"]
    wrong = type("WrongNesterov", (type(nest),), {"query": lambda self, x, state, P, t: x})()
    monkeypatch.setitem(twin_base.TWINS, "nesterov", wrong)
    with pytest.raises(twins.Mismatch, match="query point"):
        twins.compare_quadratic_run("nesterov", 2)


# ------------------------------------------------------------------------------------ derive CLI
def test_derive_prints_a_check(capsys):
    from proofs_checks.cli import derive

    derive("gd_quadratic")
    out = capsys.readouterr().out
    assert "gd_quadratic" in out and "✓" in out and "✗" not in out
    assert "α = " in out or "α =" in out


def test_derive_latex_is_an_ascii_document(capsys):
    from proofs_checks.cli import derive

    derive("adam_efficient_epsilon", fmt="latex")
    out = capsys.readouterr().out
    assert out.startswith("\\documentclass") and out.rstrip().endswith("\\end{document}")
    assert "\\frac" in out and "FAILS" not in out
    assert out.isascii(), [c for c in out if not c.isascii()]


def test_derive_a_rule_shows_its_twin_and_the_comparison(capsys):
    from proofs_checks.cli import derive

    derive("lion")
    out = capsys.readouterr().out
    assert "Δx" in out and "lion_box_fixed_point" in out
    assert out.count("✓") == 3


def test_derive_unknown_name_suggests_and_exits_2(capsys):
    from proofs_checks.cli import derive

    with pytest.raises(SystemExit) as exc:
        derive("heavy_ball_quadratik")
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: unknown derivation 'heavy_ball_quadratik'")
    assert "did you mean 'heavy_ball_quadratic'" in err and "derive --list" in err


def test_derive_accepts_an_old_kebab_name_with_a_note(capsys):
    from proofs_checks.cli import derive

    derive("ravine-nesterov")
    captured = capsys.readouterr()
    assert "'ravine-nesterov' is the old name of 'ravine_nesterov'" in captured.err
    assert captured.out.startswith("ravine_nesterov: ")
    with pytest.warns(DeprecationWarning, match="ravine_nesterov"):
        assert pc.get_check("ravine-nesterov").name == "ravine_nesterov"


def test_every_derivation_name_is_snake_case():
    assert all(n == n.lower() and "-" not in n for n in pc.known_names())


def test_derive_is_registered_in_the_cli():
    cli = pytest.importorskip("precond_theory.cli")
    from typer.testing import CliRunner

    runner = CliRunner()
    ok = runner.invoke(cli.app, ["derive", "ravine_nesterov"])
    assert ok.exit_code == 0, ok.output
    assert "ravine_nesterov" in ok.output
    bad = runner.invoke(cli.app, ["derive", "nope"])
    assert bad.exit_code == 2

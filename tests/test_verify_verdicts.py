"""Regression tests for verdicts that were wrong (issue 11): a claim outside its theorem's
assumptions is inconclusive with the measured value, explicit bounds use the rule's actual step
and decide before any fit, tight bounds are two-sided, and bound functions refuse parameters
outside their theorem."""

from __future__ import annotations

import numpy as np
import pytest

from precond_theory import problems, rules, theory
from precond_theory.rates import check_claim
from precond_theory.run import run
from precond_theory.verify.claims import Claim, claims_from_dict, get_claim


# ------------------------------------------------------------------ linear claims and the horizon
def test_linear_gd_is_not_refuted_by_a_horizon_shorter_than_kappa():
    # GD is linear on a strongly convex quadratic (kappa = 1e4), but 1e4 steps only see the transient
    p = problems.make_quadratic(dim=50, kappa=1e4, rotate=False)
    gd = rules.make("sgd", lr=1 / p.L)
    linear = Claim(metric="f_gap", shape="linear", kind="upper_bound", assumptions=["horizon_gg_kappa"],
                   name="gd_linear")
    rc = check_claim(linear, gd, p, steps=10_000)
    assert rc.verdict == "inconclusive"
    assert "assumption horizon_gg_kappa does not hold (measured horizon / kappa = 10000 / 1e+04 = 1" in rc.reason
    # the same claim is testable (and confirmed) once the horizon resolves kappa
    q = problems.make_quadratic(dim=50, kappa=100.0, rotate=False)
    assert check_claim(linear, rules.make("sgd", lr=1 / q.L), q, steps=3000).verdict == "consistent"


def test_false_linear_claim_is_inconclusive_on_a_strongly_convex_problem_and_refuted_where_testable():
    c = get_claim("gd_linear_convex")
    p = problems.make_quadratic(dim=50, kappa=1e4, rotate=False)
    rc = check_claim(c, rules.make("sgd", lr=1 / p.L), p, steps=10_000)
    assert rc.verdict == "inconclusive"
    assert "assumption not_strongly_convex does not hold (measured mu = 1)" in rc.reason
    rc = check_claim(c)  # its setup: the quartic, mu = 0, where GD is sublinear
    assert rc.verdict == "violated" and "decelerates" in rc.reason


# ------------------------------------------------------------------ explicit and tight bounds
def test_gd_on_the_drori_teboulle_function_attains_the_tight_bound_and_is_consistent():
    c = get_claim("gd_convex_tight")
    rc, tr = check_claim(c, return_trace=True)
    gap = tr.metric("f_gap")[-1].item()
    N = tr.steps[-1]
    assert gap == pytest.approx(theory.gd_convex_tight_bound(1.0, 1.0, N), rel=1e-10)
    assert rc.verdict == "consistent", rc.reason
    assert get_claim("gd_convex").tight is False


@pytest.mark.parametrize("claim", ["gd_convex_tight", "gd_convex"])
def test_the_bound_uses_the_rules_actual_step(claim):
    # lr x 1.5 leaves the theorem (h > 1): inconclusive, naming the assumption and the measured step
    rc = check_claim(claim, mutant="lr_x1.5")
    assert rc.verdict == "inconclusive"
    assert "assumption step_le_1_over_L does not hold (measured lr * L = 1.5)" in rc.reason


def test_half_step_gd_does_not_attain_the_tight_bound_of_the_worst_case_instance():
    rc = check_claim("gd_convex_tight", mutant="lr_x0.5")
    assert rc.verdict == "violated" and "not attained" in rc.reason
    # the loose bound R^2/(2 k lr) at the actual step still holds for half-step GD: consistent
    assert check_claim("gd_convex", mutant="lr_x0.5").verdict == "consistent"


def test_exceeding_a_bound_is_violated_whatever_the_fitted_order():
    # ascent: the gap grows, the explicit bound is exceeded
    rc = check_claim("gd_convex_tight", mutant="sign_flip")
    assert rc.verdict == "violated"


def test_bound_functions_refuse_parameters_outside_their_theorem():
    with pytest.raises(ValueError, match=r"gd_convex_tight_bound: lr \* L = 1.9 is outside the theorem's range"):
        theory.gd_convex_tight_bound(1.0, 1.0, 1, lr=1.9)
    # the refusal is needed: at h = 1.9 GD attains more than the formula would say
    wc = problems.make_gd_worst_case(N=1, h=1.9, kind="auto")
    tr = run(rules.make("sgd", lr=1.9), wc, steps=1, record=[1])
    assert tr.metric("f_gap")[-1].item() > 1.0 / (4 * 1.9 + 2)
    with pytest.raises(ValueError, match=r"gd_convex_bound: lr \* L = 1.5"):
        theory.gd_convex_bound(1.0, 1.0, 10, lr=1.5)
    with pytest.raises(ValueError, match=r"nesterov_convex_bound: lr \* L = 2"):
        theory.nesterov_convex_bound(1.0, 1.0, 10, lr=2.0)
    with pytest.raises(ValueError, match=r"nesterov_strongly_convex_bound: momentum = 0.5"):
        theory.nesterov_strongly_convex_bound(0.01, 1.0, 1.0, 1.0, 10, momentum=0.5)
    with pytest.raises(ValueError, match=r"gd_strongly_convex_bound: lr \* \(mu \+ L\) / 2"):
        theory.gd_strongly_convex_bound(0.1, 1.0, 1.0, 10, lr=2.0)
    with pytest.raises(ValueError, match=r"sgd_nonconvex_bound: lr \* L = 2"):
        theory.sgd_nonconvex_bound(100, 1.0, 1.0, 1.0, lr=2.0)
    with pytest.raises(ValueError, match="adagrad_regret_bound: lr = 0"):
        theory.adagrad_regret_bound(100, 1.0, 1.0, 1, lr=0.0)
    with pytest.raises(ValueError, match="gd_convex_bound: L = -1"):
        theory.gd_convex_bound(-1.0, 1.0, 10)
    # inside the range: the closed forms (h = 1/2: R^2/(2 k h) and R^2/(4 k h + 2))
    assert theory.gd_convex_bound(1.0, 1.0, 10, lr=0.5) == pytest.approx(1 / 10)
    assert theory.gd_convex_tight_bound(1.0, 1.0, 10, lr=0.5) == pytest.approx(1 / 22)


# ------------------------------------------------------------------ assumptions of seed claims
def test_unbounded_preconditioner_is_outside_the_theorem_not_a_violation():
    rc = check_claim("adapgradm_nonconvex", mutant="unbounded_preconditioner", steps=300, seeds=2)
    assert rc.verdict == "inconclusive"
    assert "assumption bounded_preconditioner does not hold (measured the rule bounds D_t to [delta, cap] = " \
           "[0.01, inf])" in rc.reason
    assert len(rc.k) == 0  # decided from the rule's fields, before running


def test_adam_is_outside_the_amsgrad_theorem():
    c = get_claim("adam_type_nonconvex")
    assert c.covers.startswith("AMSGrad and AdaFom") and c.setup.rule == "amsgrad"
    rc = check_claim(c, mutant="ema_for_max", steps=300, seeds=2)
    assert rc.verdict == "inconclusive" and "nonincreasing_effective_step does not hold (measured amsgrad = False" \
        in rc.reason
    assert get_claim("amsgrad_regret").log_power == 0.5  # O(sqrt(T log T)), as its theorem's bound


# ------------------------------------------------------------------ bad input names the field
@pytest.mark.parametrize("table, match", [
    ({"metric": "f_gap", "order": -1.0, "assumptions": ["convex", "lipschitz"]},
     r"claim 'c': .*assumptions: unknown assumption 'lipschitz'; known: .*bounded_gradients"),
    ({"metric": "f_gap", "order": -1.0, "mutants": ["lr_x3"]}, r"claim c: mutants: unknown mutant 'lr_x3'; known: "),
    ({"metric": "f_gap", "order": -1.0, "tight": True},
     "tight = true needs an upper_bound claim with an explicit bound"),
    ({"metric": "f_gap", "order": -1.0, "bound": "no_such"}, "bound 'no_such' is not a function"),
    ({"metric": "f_gap", "order": -1.0, "covers": 3}, "covers must be a string"),
])
def test_bad_claim_fields_are_named(table, match):
    with pytest.raises((ValueError, TypeError), match=match):
        claims_from_dict({"c": table}, where="c")


def test_a_setup_outside_the_bounds_domain_is_an_error_naming_the_bound():
    c = claims_from_dict({"c": {
        "metric": "f_gap", "shape": "linear", "kind": "upper_bound", "rate": "1 - 1/sqrt(kappa)",
        "bound": "nesterov_strongly_convex_bound",
        "setup": {"rule": "nesterov", "rule_params": {"lr": "0.5/L", "schedule": "constant",
                                                      "momentum": "(sqrt(kappa) - 1)/(sqrt(kappa) + 1)"},
                  "steps": 200, "problem": {"name": "quadratic", "dim": 5, "kappa": 10.0}}}})["c"]
    with pytest.raises(ValueError, match=r"bound 'nesterov_strongly_convex_bound' does not evaluate on this setup: "
                                         r"nesterov_strongly_convex_bound: lr = 0.05"):
        check_claim(c)


def test_every_catalog_claim_states_paper_theorem_and_covered_method():
    from precond_theory.verify.claims import catalog

    for name, c in catalog().items():
        assert c.paper and c.theorem and c.covers, name
        if c.setup is not None and c.fidelity != "false":
            assert c.mutants, f"{name} declares no mutant to reject"

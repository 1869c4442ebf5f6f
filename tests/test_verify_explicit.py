"""Explicit constants checked with Monte-Carlo confidence (docs/claims.md): Ghadimi-Lan's SGD
bound over 100 replicas on the instance where it is attained, AdaGrad's and AMSGrad's regret
bounds with their constants.  Each check accepts the right rule and constant and rejects a wrong
constant (the bound halved) and a mutated rule; the derived quantities are compared with direct
computations."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from precond_theory import problems, rules, theory
from precond_theory.oracles import make as make_oracle
from precond_theory.run import run
from precond_theory.verify.claims import Claim, get_claim
from precond_theory.verify.instances import oracle_env, problem_env, setup_instance
from precond_theory.verify.runner import check, check_claim

# claim -> (a mutant it rejects, a wrong constant factor it detects).  Reddi et al.'s AMSGrad bound
# has a slack of about 4 on every Reddi-type sequence tried (largest regret / bound: 0.24), so a
# halved constant is not detectable there; one too small by 5 is.
EXPLICIT = {"sgd_nonconvex_explicit": ("momentum_add", 0.5), "adagrad_regret_explicit": ("ema_for_sum", 0.5),
            "amsgrad_regret_explicit": ("sign_flip", 0.2)}


def _halved(monkeypatch, name, factor=0.5):
    fn = getattr(theory, name)

    def half(**kw):
        return factor * fn(**kw)
    half.__signature__ = __import__("inspect").signature(fn)
    monkeypatch.setattr(theory, name + "_halved", half, raising=False)
    return name + "_halved"


@pytest.mark.parametrize("name", sorted(EXPLICIT))
def test_explicit_bound_accepts_the_rule_and_rejects_a_wrong_constant_and_a_mutant(name, monkeypatch):
    c = get_claim(name)
    right = check_claim(c)
    assert right.verdict == "consistent", right.reason
    assert right.bound is not None and np.isfinite(right.bound).any()
    mutant_name, factor = EXPLICIT[name]
    wrong = check_claim(dataclasses.replace(c, bound=_halved(monkeypatch, c.bound, factor)))
    assert wrong.verdict == "violated" and "is exceeded" in wrong.reason, wrong.reason
    mutant = check_claim(c, mutant=mutant_name)
    assert mutant.verdict == "violated", mutant.reason


def test_ghadimi_lan_is_checked_over_100_replicas_and_attained_at_lr_1_over_L():
    c = get_claim("sgd_nonconvex_explicit")
    assert c.setup.seeds >= 100
    rc = check_claim(c)
    assert "mean of 100 replicas, one-sided 95% limits" in rc.reason
    ratio = rc.y.mean(axis=1)[rc.k >= 1] / rc.bound[rc.k >= 1]
    # at lr = 1/L the running average is (L^2 R^2 + (k-1) sigma^2)/k, the bound L^2 R^2/k + sigma^2
    assert ratio[-1] == pytest.approx(1.0, abs=0.02) and ratio.max() <= 1.0


def test_running_average_of_the_squared_gradient_matches_a_direct_sum():
    p = problems.make_quadratic(dim=3, kappa=4.0)
    o = make_oracle("gaussian", variance=1.0)
    tr = run(rules.make("sgd", lr=0.1), p, steps=30, batch=(4,), oracle=o, record="all", seed=3)
    claim = Claim(metric="avg_grad_norm_sq", order=0.0, name="avg")
    rc = check(claim, tr, window="all", n_boot=50)
    g = np.asarray(tr.metric("grad_norm_sq")).reshape(31, 4)
    for k, row in zip(rc.k.astype(int), rc.y, strict=True):
        assert row == pytest.approx([sum(g[t, r] for t in range(k)) / k for r in range(4)], rel=1e-12)
    sparse = run(rules.make("sgd", lr=0.1), p, steps=30, batch=(4,), oracle=o, record=[0, 1, 2, 4, 8, 30], seed=3)
    with pytest.raises(ValueError, match="needs grad_norm_sq recorded at every step"):
        check(claim, sparse)


def test_min_of_mean_bound_uses_confidence_limits_and_can_fail(monkeypatch):
    # min_t E||grad f||^2 <= Ghadimi-Lan's bound (min <= average): accepted; with the bound halved, the
    # lower limit of min_t E (about sigma^2) exceeds it: violated (before, the curve was taken as exact)
    base = get_claim("sgd_nonconvex_explicit")
    c = dataclasses.replace(base, metric="min_grad_norm_sq", name="min_form")
    rc = check_claim(c)
    assert rc.verdict == "consistent" and "min over t of the mean of 100 replicas" in rc.reason, rc.reason
    bad = check_claim(dataclasses.replace(c, bound=_halved(monkeypatch, c.bound)))
    assert bad.verdict == "violated", bad.reason


def test_constants_of_online_problems_and_oracles():
    env = problem_env(problems.make_reddi_periodic(3.0, scale=2.0))
    assert env["D_inf"] == 2.0 and env["G_inf"] == 6.0
    q = problems.make_quadratic(dim=5, kappa=2.0)
    assert oracle_env(make_oracle("gaussian", variance=4.0), q) == {"sigma": 2.0}
    assert oracle_env(make_oracle("gaussian", variance=4.0, scope="coordinate"), q)["sigma"] == pytest.approx(
        math.sqrt(20.0))
    assert oracle_env(None, q) == {"sigma": 0.0}


def test_amsgrad_regret_bound_formula_and_domain():
    T, D, G, d, a, b1, b2 = 100.0, 2.0, 3.0, 2, 0.5, 0.3, 0.5
    g = b1 / math.sqrt(b2)
    want = d * G * (D**2 * math.sqrt(T) / (a * (1 - b1)) + D**2 * b1 / (2 * a * (1 - b1)) * 2 * (T + 1) ** 1.5 / 3
                    + a * math.sqrt(1 + math.log(T)) * math.sqrt(T) / ((1 - b1) ** 2 * (1 - g) * math.sqrt(1 - b2)))
    assert theory.amsgrad_regret_bound(T, D, G, d, a, b1, b2) == pytest.approx(want, rel=1e-13)
    with pytest.raises(ValueError, match="beta1 < sqrt"):
        theory.amsgrad_regret_bound(T, D, G, d, a, 0.8, 0.5)
    with pytest.raises(ValueError, match="lr"):
        theory.amsgrad_regret_bound(T, D, G, d, 0.0)


def test_ye_preconditioned_local_has_a_setup_with_the_preconditioned_condition_number():
    c = get_claim("ye_preconditioned_local")
    inst = setup_instance(c)
    from precond_theory.verify.instances import preconditioner_env as preconditioned_env

    env = preconditioned_env(inst.problem, c.setup.rule_params)
    H = np.diag(np.asarray(c.setup.problem["eigenvalues"]))
    ev = np.linalg.eigvalsh(np.diag(np.sqrt(c.setup.rule_params["diag"])) @ H @ np.diag(np.sqrt(c.setup.rule_params["diag"])))
    assert env["kappa_M"] == pytest.approx(ev.max() / ev.min(), rel=1e-12)
    rc = check_claim(c)
    rho = (env["kappa_M"] - 1) / (env["kappa_M"] + 1)
    assert rc.verdict == "consistent" and rc.rate == pytest.approx(rho**2, rel=1e-4), rc.reason

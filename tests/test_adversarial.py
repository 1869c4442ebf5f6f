"""Adversarial search: it rediscovers Reddi's and Lessard's counterexamples from generic families,
finds none on benign ones, and agrees with the performance-estimation cycle search."""

from __future__ import annotations

import numpy as np
import pytest

from precond_theory import rules, run
from precond_theory.problems.families import make_piecewise_quadratic
from precond_theory.verify import adversarial as adv
from precond_theory.verify import pep

needs_sdp = pytest.mark.skipif(not pep.available(), reason=f"performance estimation unavailable: "
                               f"{pep.missing_reason()}; install the extra: {pep.EXTRA_HINT}")


def _online(name, **hp):
    return rules.with_schedule(rules.make(name, **hp), "inverse_sqrt")


# ---------------------------------------------------------------------------- the search itself
def test_search_finds_the_maximum_of_a_known_function_and_is_seeded():
    def objective(p):  # maximum 1 at (0.3, -0.7)
        x = p["x"]
        return 1 - np.sum((x - np.array([0.3, -0.7])) ** 2, axis=-1)

    space = {"x": adv.Param(-1.0, 1.0, (2,))}
    r = adv.search(objective, space, budget=1500, population=100, seed=4)
    assert r.worst_ratio > 1 - 1e-4
    np.testing.assert_allclose(r.where["x"], [0.3, -0.7], atol=1e-2)
    assert r.evaluations == 1500 and r.generations == 15
    assert np.all(np.diff(r.best_by_generation) >= 0)
    again = adv.search(objective, space, budget=1500, population=100, seed=4)
    assert again.worst_ratio == r.worst_ratio
    assert adv.search(objective, space, budget=1500, population=100, seed=5).worst_ratio != r.worst_ratio


def test_search_through_an_executor_equals_the_batched_search():
    class Loop:
        def map(self, fn, items):
            return [fn(i) for i in items]

    obj, space = adv.rate_objective(rules.make("heavy_ball", lr=0.1, momentum=0.5), mu=1.0, L=10.0, rate=1.0, T=60)
    a = adv.search(obj, space, budget=120, population=40, seed=1)
    b = adv.search(obj, space, budget=120, population=40, seed=1, executor=Loop(), chunks=3)
    assert a.worst_ratio == b.worst_ratio


@pytest.mark.parametrize("kwargs, exc, text", [
    (dict(budget=0), ValueError, "budget"),
    (dict(population=0), ValueError, "population"),
    (dict(elite=0.0), ValueError, "elite"),
    (dict(chunks=2), ValueError, "executor"),
    (dict(executor=object()), TypeError, "executor"),
])
def test_search_bad_input(kwargs, exc, text):
    with pytest.raises(exc, match=text):
        adv.search(lambda p: p["x"], {"x": adv.Param(0.0, 1.0)}, **kwargs)


def test_search_objective_of_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="one ratio per candidate"):
        adv.search(lambda p: np.zeros(3), {"x": adv.Param(0.0, 1.0)}, budget=10, population=10)


def test_measured_rate_of_known_sequences():
    k = np.arange(101)
    geo = (0.9 ** k) ** 2
    cyc = np.tile([1.0, 4.0, 9.0], 34)[:101]
    r = adv.measured_rate(np.stack([geo, cyc], axis=1), 100)
    assert r[0] == pytest.approx(0.9 ** (95 / 100), rel=1e-12)  # the window max lags 5 steps
    assert r[1] == pytest.approx(3 ** (1 / 100), rel=1e-12)
    floor = (np.maximum(0.5 ** k, 1e-12)) ** 2  # hits round-off: the rate is measured before it
    assert adv.measured_rate(floor[:, None], 100)[0] < 0.6


# --------------------------------------------------------------- (a) Reddi-type, Adam vs AMSGrad
def test_search_rediscovers_reddi_counterexample_for_adam():
    adam = _online("adam", lr=0.5, b1=0.0, b2=0.1)
    obj, space = adv.regret_objective(adam, period=3, T=500, c_max=4.0)
    r = adv.search(obj, space, budget=300, population=100, seed=0)
    c = r.where["pattern"]
    ratio, growth = adv.regret_growth(adam, c, T=500, factor=4)
    assert growth > 1.8  # ratio R_T / sqrt(T) doubles when T x 4: linear regret (sqrt(4) = 2)
    big = np.argmax(np.abs(c))  # Reddi's shape up to the mirror x -> -x: one large gradient, of the sign of the
    others = np.delete(c, big)  # average gradient, against smaller ones of the opposite sign, like (C, -1, -1)
    assert np.sign(c[big]) == np.sign(c.sum()) and np.all(np.sign(others) == -np.sign(c[big]))
    # the same pattern for AMSGrad, which has an O(sqrt T) theorem: no growth
    ams = _online("amsgrad", lr=0.5, b1=0.0, b2=0.1)
    assert adv.regret_growth(ams, c, T=500, factor=4)[1] < 1.2


def test_search_on_a_benign_method_reports_no_counterexample():
    ams = _online("amsgrad", lr=0.5, b1=0.0, b2=0.1)
    obj, space = adv.regret_objective(ams, period=3, T=500, c_max=4.0)
    r = adv.search(obj, space, budget=300, population=100, seed=0)
    assert adv.regret_growth(ams, r.where["pattern"], T=500, factor=4)[1] < 1.2


# ----------------------------------------------------------- (b) Lessard-type, heavy ball vs GD
MU, L = 1.0, 25.0
POLYAK = dict(lr=4 / (np.sqrt(L) + np.sqrt(MU)) ** 2, momentum=((np.sqrt(L) - 1) / (np.sqrt(L) + 1)) ** 2)
RHO = (np.sqrt(L) - 1) / (np.sqrt(L) + 1)


def test_search_rediscovers_a_lessard_cycle_for_heavy_ball():
    hb = rules.make("heavy_ball", **POLYAK)
    obj, space = adv.rate_objective(hb, mu=MU, L=L, rate=RHO, breakpoints=2, T=600)
    r = adv.search(obj, space, budget=2000, population=200, seed=0)
    assert r.worst_ratio > 1.45  # about 1/rho = 1.5: no contraction at all (quadratics: at most 1.10, below)
    w = r.where
    f = make_piecewise_quadratic(w["breakpoints"], w["curvatures"], x0=w["x0"])
    assert MU <= f.mu and f.L <= L
    t = run(hb, f, steps=5000, record="all")
    d = np.sqrt(t.metrics["dist_sq"])
    assert d[-10:].max() > 0.1 * d[0]  # still far from x* after 5000 steps: a non-convergent start


@pytest.mark.parametrize("rule, breakpoints, claimed", [
    (rules.make("heavy_ball", **POLYAK), 0, RHO),  # heavy ball on quadratics: Polyak's rate holds
    (rules.make("sgd", lr=2 / (MU + L)), 2, (L - MU) / (L + MU)),  # GD on the generic family: its rate holds
])
def test_search_on_benign_settings_finds_no_counterexample(rule, breakpoints, claimed):
    obj, space = adv.rate_objective(rule, mu=MU, L=L, rate=claimed, breakpoints=breakpoints, T=300)
    r = adv.search(obj, space, budget=1000, population=200, seed=0)
    # heavy ball on quadratics decays like C k rho^k (double roots at the ends of the spectrum), so its
    # measured rate is (C k)^(1/k) rho with k about 60 steps before round-off: ratio 1.10 measured; a cycle: 1.5
    assert r.worst_ratio < 1.2


# ------------------------------------------------------- heavy-ball region: PEP versus numeric
@needs_sdp
def test_pep_cycle_search_finds_lessard_cycle_and_none_for_a_safe_point():
    lessard = dict(lr=POLYAK["lr"], momentum=POLYAK["momentum"])
    assert adv.cycle_gap("heavy_ball", K=3, L=L, mu=MU, **lessard) < adv.CYCLE_TOL
    assert adv.cycle_gap("heavy_ball", K=2, L=L, mu=MU, **lessard) > 100 * adv.CYCLE_TOL
    assert adv.cycle_gap("heavy_ball", K=3, L=L, mu=MU, lr=1 / L, momentum=0.3) > 100 * adv.CYCLE_TOL


@needs_sdp
def test_pep_and_numeric_maps_agree_on_a_coarse_grid():
    lrs = np.array([0.5, 25 / 9])  # L = 1, mu = 0.04 (Lessard's problem scaled); 25/9 is Polyak's step
    moms = np.array([0.3, 4 / 9])
    c = adv.cycle_map("heavy_ball", lrs, moms, K_max=3, L=1.0, mu=0.04)
    n = adv.nonconvergence_map("heavy_ball", lrs, moms, mu=0.04, L=1.0, budget=1000, population=200, T=300)
    assert c["cycle"][1, 1] and n["nonconvergent"][1, 1]  # Polyak's parameters: both find non-convergence
    assert not c["cycle"][0].any() and not n["nonconvergent"][0].any()  # small step: both find none
    assert np.mean(c["cycle"] == n["nonconvergent"]) >= 0.75


def test_bad_family_arguments():
    with pytest.raises(ValueError, match="mu"):
        adv.rate_objective(rules.make("sgd", lr=0.1), mu=2.0, L=1.0, rate=0.5)
    with pytest.raises(ValueError, match="method"):
        adv.nonconvergence_map("adam", [0.1], [0.5], mu=0.1, L=1.0)
    with pytest.raises(ValueError, match="c_max"):
        adv.regret_objective(rules.make("adam"), c_max=0.0)


def test_maps_through_the_project_executor_equal_the_loop():
    from precond_theory.executors import get_executor

    kw = dict(mu=0.04, L=1.0, budget=60, population=30, T=60)
    plain = adv.nonconvergence_map("heavy_ball", [0.5, 2.0], [0.3], **kw)
    with get_executor(None) as ex:
        via = adv.nonconvergence_map("heavy_ball", [0.5, 2.0], [0.3], executor=ex, **kw)
    np.testing.assert_array_equal(plain["rate"], via["rate"])


def test_empirical_side_of_a_pep_setting_stays_below_the_pep_value():
    obj, space = adv.pep_objective(rules.make("sgd", lr=1 / 3), N=4, L=3.0)
    r = adv.search(obj, space, budget=600, population=200, seed=0)
    assert 0.95 / 6 < r.worst_ratio <= 1 / 6 * (1 + 1e-9)  # Drori-Teboulle: 1/6, attained by a Huber function
    # a wrong step for the class (2.5/L > 2/L) is refuted: runs exceed any convergent worst case
    bad, space = adv.pep_objective(rules.make("sgd", lr=2.5 / 3), N=4, L=3.0)
    assert adv.search(bad, space, budget=200, population=100, seed=0).worst_ratio > 1.0

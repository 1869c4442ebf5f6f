"""Each counterexample shows the failure it is known for, through ``precond_theory.run``.

* Reddi, Kale, Kumar (ICLR 2018): Adam ends at +1, the worst point of [-1, 1], on the periodic
  (Theorem 1 setting) and the stochastic problem; AMSGrad ends near the minimiser -1.
* Lessard, Recht, Packard (2016, §4.6): heavy ball with the quadratic-optimal parameters cycles
  from every start in [3.07, 3.46]; gradient descent converges.
* Nesterov's worst case and the Drori–Teboulle function: the closed-form lower bound / exact
  worst-case value is attained.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from precond_theory import rules
from precond_theory.problems import make
from precond_theory.run import run

ALPHA = 1e-3  # false-alarm rate of the statistical checks below


def reddi_rule(name, problem, *, lr, b1, b2):
    """Adam/AMSGrad with the paper's step alpha/sqrt(t) and projection onto the feasible set."""
    rule = rules.with_schedule(rules.make(name, lr=lr, b1=b1, b2=b2), "inverse_sqrt")
    return rules.with_projection(rule, **problem.feasible_set.projection_kwargs())


@pytest.mark.parametrize("backend", ["numpy", "array_api_strict"])
def test_adam_fails_and_amsgrad_converges_on_the_periodic_problem(backend):
    xp = np if backend == "numpy" else pytest.importorskip(backend)
    C = 3.0
    p = make("reddi_periodic", C=C, xp=xp)  # Theorem 1: C > 2, b1 = 0, b2 = 1/(1+C^2), lr < sqrt(1-b2)
    b2 = 1 / (1 + C * C)
    T = 3000
    out = {}
    for name in ("adam", "amsgrad"):
        tr = run(reddi_rule(name, p, lr=0.1, b1=0.0, b2=b2), p, steps=T, record=[T // 3, T])
        out[name] = (float(tr.x_final[0]), tr.metrics["regret"])
    x_adam, regret_adam = out["adam"]
    x_ams, regret_ams = out["amsgrad"]
    assert x_adam > 0.99  # the worst point of [-1, 1]
    assert x_ams < -0.99
    # regret from T/3 to T: Adam's grows linearly (average regret 2(C-2)/3 > 0 per step at x = +1),
    # AMSGrad's sublinearly (O(sqrt T): ratio about sqrt(3))
    assert regret_adam[1] / T > 0.5 and regret_adam[1] / regret_adam[0] > 2.8
    assert regret_ams[1] / regret_ams[0] < 2.0


def test_periodic_problem_sequence_and_comparator():
    p = make("reddi_periodic", C=5.0, period=4, scale=2.0)
    c = p.coefficients(9)
    np.testing.assert_array_equal(c, 2.0 * np.array([5, -1, -1, -1, 5, -1, -1, -1, 5.0]))
    assert p.mean_coefficient == 2.0 * (5 - 3) / 4 and p.f_star == -p.mean_coefficient
    for T in (0, 1, 5, 9, 100):
        grid = np.linspace(-1, 1, 201)
        assert p.comparator_loss(T) == pytest.approx(np.min(grid * np.sum(p.coefficients(T))), abs=1e-12)
    x = np.array([[0.5], [-0.25]])
    np.testing.assert_allclose(p.value(x, 4), 10.0 * x[:, 0])
    np.testing.assert_allclose(p.grad(x, 5), -2.0 * np.ones_like(x))
    assert p.online and p.feasible_set.kind == "box" and (p.feasible_set.lo, p.feasible_set.hi) == (-1.0, 1.0)
    with pytest.raises(TypeError, match="step"):
        p.grad(x, None)


def test_adam_fails_and_amsgrad_converges_on_the_stochastic_problem():
    C = 20.0
    p = make("reddi_stochastic", C=C, delta=1.0, seed=0)  # p = 2/21; E f = x
    b2 = 1 / (1 + C * C)
    ends = {name: float(run(reddi_rule(name, p, lr=1.0, b1=0.0, b2=b2), p, steps=5000, record=[5000]).x_final[0])
            for name in ("adam", "amsgrad")}
    assert ends["adam"] > 0.95 and ends["amsgrad"] < -0.95


def test_stochastic_problem_is_deterministic_given_its_seed_and_has_the_stated_law():
    a, b, c = (make("reddi_stochastic", C=20.0, delta=1.0, seed=s) for s in (4, 4, 5))
    T = 20000
    ca, cb, cc = a.coefficients(T), b.coefficients(T), c.coefficients(T)
    np.testing.assert_array_equal(ca, cb)
    assert not np.array_equal(ca, cc)
    assert [a.coefficient(k) for k in (0, 4095, 4096, 19999)] == [ca[0], ca[4095], ca[4096], ca[19999]]
    # the large loss occurs with probability p = (1+delta)/(C+1): binomial z-test at ALPHA
    hits = int(np.sum(ca == 20.0))
    z = (hits - T * a.p) / math.sqrt(T * a.p * (1 - a.p))
    assert abs(z) < stats.norm.ppf(1 - ALPHA / 2)
    assert a.comparator_loss(T) == pytest.approx(-abs(ca.sum()))


@pytest.mark.parametrize("backend", ["numpy", "array_api_strict"])
def test_heavy_ball_cycles_where_gradient_descent_converges(backend):
    xp = np if backend == "numpy" else pytest.importorskip(backend)
    p = make("lessard_piecewise", xp=xp)
    hb = rules.make("heavy_ball", **p.heavy_ball_parameters)
    assert p.heavy_ball_parameters == pytest.approx({"lr": 1 / 9, "momentum": 4 / 9})
    starts = np.linspace(3.08, 3.45, 16)[:, None]  # the failing region of [LRP16, §4.6]
    T = 600
    tr = run(hb, p, steps=T, x0=starts, record=[T - 3, T - 2, T - 1, T], keep_iterates=True)
    it = tr.iterates[..., 0]  # (4 records, 16 runs)
    assert np.all(tr.metrics["dist_sq"] > 0.4)  # the cycle (2.116, -1.802, 0.647) stays away from x_star = 0
    np.testing.assert_allclose(it[-1], it[0], rtol=1e-9)  # a period-3 limit cycle
    assert np.all(np.abs(it[-1] - it[-2]) > 1.0)
    gd = run(rules.make("sgd", lr=1 / p.L), p, steps=T, x0=starts, record=[T])
    assert np.all(gd.metrics["dist_sq"][-1] < 1e-20)
    # heavy ball with the same parameters converges from a start outside the region
    ok = run(hb, p, steps=T, x0=[1.5], record=[T])
    assert ok.metrics["dist_sq"][-1] < 1e-20


def test_nesterov_worst_case_lower_bound_holds_for_first_order_methods():
    t = 10
    p = make("nesterov_worst_case", dim=2 * t + 1, L=1.0)  # active = 2t + 1 coordinates
    bound = p.lower_bound(t)
    for rule in (rules.make("sgd", lr=1.0), rules.make("nesterov", lr=1.0),
                 rules.make("heavy_ball", lr=0.5, momentum=0.5)):
        tr = run(rule, p, steps=t, record=[t])
        assert tr.metrics["f_gap"][-1] >= bound
        assert np.all(tr.x_final[t:] == 0)  # x_t lies in the Krylov space span(e_1..e_t)
    # the bound is tight up to a constant: Nesterov's method is within a factor 20 of it
    tr = run(rules.make("nesterov", lr=1.0), p, steps=t, record=[t])
    assert tr.metrics["f_gap"][-1] <= 20 * bound


@pytest.mark.parametrize("kind, h", [("huber", 1.0), ("huber", 0.5), ("quadratic", 1.9), ("auto", 1.5)])
def test_gradient_descent_attains_the_drori_teboulle_worst_case(kind, h):
    N, L, R = 12, 2.0, 3.0
    p = make("gd_worst_case", dim=2, N=N, L=L, R=R, h=h, kind=kind)
    tr = run(rules.make("sgd", lr=h / L), p, steps=N, record=[N])
    assert tr.metrics["f_gap"][-1] == pytest.approx(p.worst_case_gap, rel=1e-12)
    expected = L * R**2 / 2 * max(1 / (2 * N * h + 1), (1 - h) ** (2 * N)) if kind == "auto" else None
    if kind == "huber":
        assert p.worst_case_gap == pytest.approx(L * R**2 / (4 * N * h + 2))
    if expected is not None:
        assert p.worst_case_gap == pytest.approx(expected)

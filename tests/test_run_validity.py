"""Divergence and validity: non-finite values, blow-up, 0/0 at a zero gradient, wrong f*,
constraints carried by the problem, and clear errors for malformed problems and metrics."""

from __future__ import annotations

import numpy as np
import pytest

from precond_theory import DivergenceWarning, ZeroDivisionNaNWarning, rules, run
from precond_theory._loop.health import BLOWUP_FACTOR
from precond_theory.problems import from_functions, make, make_quadratic


def quad():
    return make_quadratic(5, 20.0, seed=2)


def test_sgd_beyond_two_over_L_is_flagged_long_before_overflow():
    p = quad()
    with pytest.warns(DivergenceWarning, match="blow_up"):
        bad = run(rules.make("sgd", lr=2.5 / p.L), p, steps=1000)
    assert bad.status[()] == "blow_up"
    k = int(bad.diverged)
    gap = bad.metrics["f_gap"]
    i = int(np.searchsorted(bad.steps, k))
    assert gap[i] > BLOWUP_FACTOR * gap[0] and np.all(np.diff(gap[i:i + 3]) > 0)
    assert 0 < k < 100 and not np.all(np.isfinite(gap))  # overflow comes hundreds of steps later
    ok = run(rules.make("sgd", lr=1.9 / p.L), p, steps=1000)  # converges (slowly): not flagged
    assert ok.status[()] == "ok" and ok.diverged == -1


def test_ascent_is_flagged():
    p = quad()
    with pytest.warns(DivergenceWarning):
        asc = run(rules.make("preconditioned", lr=0.01, matrix=-np.eye(5)), p, steps=3000)
    assert asc.status[()] == "blow_up"
    with pytest.warns(DivergenceWarning):
        neg = run(rules.with_schedule(rules.make("sgd", lr=0.01), lambda k: -1.0), p, steps=3000)
    assert neg.diverged >= 0
    fine = run(rules.make("preconditioned", lr=0.01, matrix=np.eye(5)), p, steps=3000)
    assert fine.status[()] == "ok"


def test_non_finite_value_or_gradient_is_divergence_with_its_step():
    # f overflows where x is finite: f = exp(400 |x|^2) - 1 is inf for |x|^2 > 1.78
    p = from_functions(value=lambda x: np.expm1(400 * np.sum(x * x, axis=-1)),
                       grad=lambda x: 800 * x * np.exp(400 * np.sum(x * x, axis=-1, keepdims=True)), dim=2,
                       x_star=np.zeros(2), f_star=0.0)
    x0 = np.array([[0.01, 0.0], [1.0, 1.0]])
    with pytest.warns(DivergenceWarning, match="1 of 2"):
        tr = run(rules.make("sgd", lr=1e-6), p, steps=5, x0=x0, record="all")
    assert list(tr.status) == ["ok", "non_finite"] and list(tr.diverged) == [-1, 0]


def test_record_point_scan_finds_divergence_at_the_next_record_point():
    p = quad()
    with pytest.warns(DivergenceWarning):
        exact = run(rules.make("sgd", lr=50.0), p, steps=400, record=[400], x0=p.default_x0())
    with pytest.warns(DivergenceWarning):
        lazy = run(rules.make("sgd", lr=50.0), p, steps=400, record=[0, 200, 400], x0=p.default_x0(),
                   divergence="record_points", min_grad_norm="off")
    assert exact.status[()] == lazy.status[()] == "non_finite"
    k = int(exact.diverged)
    assert int(lazy.diverged) == (200 if k <= 200 else 400) and lazy.meta["divergence"] == "record_points"
    assert "min_grad_norm_sq" not in lazy.metrics


def test_eps_zero_at_a_zero_gradient_is_not_divergence():
    p = quad()
    rule = rules.make("adam", lr=0.01, eps=0.0)
    with pytest.warns(ZeroDivisionNaNWarning, match="0/0"):
        tr = run(rule, p, steps=10, x0=p.x_star, batch=2)
    assert list(tr.status) == ["zero_division"] * 2 and list(tr.diverged) == [-1, -1]
    assert list(tr.status_step) == [1, 1]
    # the same rule from a non-stationary start is fine, and a real overflow is still divergence
    assert run(rule, p, steps=10, x0=p.default_x0()).status[()] == "ok"
    df = tr.to_frame()
    assert set(df.status) == {"zero_division"} and set(df.diverged_at) == {-1}


def test_wrong_f_star_is_an_error_naming_it():
    good = from_functions(value=lambda x: 0.5 * np.sum(x * x, axis=-1) - 3.0, grad=lambda x: x, dim=3,
                          x_star=np.zeros(3), f_star=-3.0)
    run(rules.make("sgd", lr=0.5), good, steps=50)
    wrong = from_functions(value=good.value_fn, grad=good.grad_fn, dim=3, x_star=np.zeros(3), f_star=-2.9)
    with pytest.raises(ValueError, match=r"f_star=-2\.9 .* below f_star .*f_star is wrong"):
        run(rules.make("sgd", lr=0.5), wrong, steps=50)


def test_constrained_problem_runs_projected_unless_opted_out():
    p = make("reddi_periodic", C=3.0)
    rule = rules.with_schedule(rules.make("adam", lr=0.5, b1=0.0, b2=0.1), "inverse_sqrt")
    tr = run(rule, p, steps=300, record=[300], keep_iterates=True)
    assert tr.meta["projection"]["projected"] and tr.meta["projection"]["by"] == "run"
    assert np.all(np.abs(tr.x_final) <= 1.0)
    # the same as projecting by hand
    by_hand = run(rules.with_projection(rule, box=(-1.0, 1.0)), p, steps=300, record=[300])
    np.testing.assert_array_equal(tr.x_final, by_hand.x_final)
    np.testing.assert_array_equal(tr.metrics["regret"], by_hand.metrics["regret"])
    assert by_hand.meta["projection"]["by"] == "rule"
    free = run(rule, p, steps=300, record=[300], project=False)
    assert not free.meta["projection"]["projected"] and np.abs(free.x_final).max() > 1.0
    with pytest.raises(ValueError, match="project=False contradicts"):
        run(rules.with_projection(rule, box=(-1.0, 1.0)), p, steps=3, project=False)
    with pytest.raises(ValueError, match="outside the feasible set"):
        run(rule, p, steps=3, x0=np.array([2.0]))
    with pytest.raises(ValueError, match="no feasible set"):
        run(rules.make("sgd"), quad(), steps=3, project=True)
    with pytest.raises(TypeError, match="project must be"):
        run(rule, p, steps=3, project="yes")


def test_malformed_problem_and_metric_outputs_are_clear_errors():
    vec = from_functions(value=lambda x: 0.5 * x * x, grad=lambda x: x, dim=3, name="vec_value")
    with pytest.raises(ValueError, match=r"'vec_value': value\(x\) returned shape \(3,\)"):
        run(rules.make("sgd"), vec, steps=3)
    p = quad()
    with pytest.raises(ValueError, match=r"metric 'coords'.*shape \(5,\)"):
        run(rules.make("sgd"), p, steps=3, metrics={"coords": lambda x, *a: x})
    with pytest.raises(ValueError, match="metric 'c'.*complex"):
        run(rules.make("sgd"), p, steps=3, metrics={"c": lambda x, *a: np.sum(x, axis=-1) * 1j})
    with pytest.raises(TypeError, match="metrics must map names to callables"):
        run(rules.make("sgd"), p, steps=3, metrics={"c": 3})
    tr = run(rules.make("sgd"), p, steps=3, batch=2, metrics={"one": lambda *a: 1.0})
    assert tr.metrics["one"].shape == (len(tr.steps), 2)
    nan_hvp = from_functions(value=lambda x: 0.5 * np.sum(x * x, axis=-1), grad=lambda x: x,
                             hvp=lambda x, v: v * np.nan, dim=3, name="nan_hvp")
    with pytest.raises(ValueError, match=r"'nan_hvp': hvp\(x, v\) returned non-finite"):
        run(rules.make("adapgradm", curvature="hutchinson", lr=0.1), nan_hvp, steps=3, x0=np.ones(3))


def test_hvp_overflow_of_a_diverging_run_is_its_divergence():
    """f = a x^2 / 2 (a = 1e10) with gradient-norm regularization: H g = a^2 x overflows while the
    iterate and the gradient are still finite; the run that diverges is marked non_finite at the
    first step whose product overflowed, the stable run in the same batch is untouched, and a
    product that is non-finite at the start is still a ValueError naming the problem."""
    from precond_theory.regularization import with_gradient_norm

    a, lam = 1e10, 1e-12
    stiff = from_functions(value=lambda x: 0.5 * a * np.sum(x * x, axis=-1), grad=lambda x: a * x,
                           hvp=lambda x, v: a * v, dim=2, name="stiff")
    lrs = np.array([[1e-11], [1e-8]])  # lr a = 0.1 (contracts) and 100 (x grows about 100-fold a step)
    rule = with_gradient_norm(rules.make("sgd", lr=lrs), lam)
    with np.errstate(over="ignore", invalid="ignore"), pytest.warns(DivergenceWarning, match="1 of 2 runs"):
        tr = run(rule, stiff, steps=400, x0=np.ones((2, 2)), batch=2, min_grad_norm="off",
                 record=[0, 400])  # ||grad||^2 = a^2 |x|^2 would overflow first; here only x and H g are seen
    assert list(tr.status) == ["ok", "non_finite"]
    # the step at which H g first overflows, replayed by hand: x and g are still finite there
    x, k_over = np.ones(2), None
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(400):
            g = a * x
            hg = a * g
            if not np.all(np.isfinite(hg)):
                k_over = k
                break
            x = x - 1e-8 * (g + lam * hg)
    assert k_over is not None and np.all(np.isfinite(x)) and np.all(np.isfinite(a * x))
    assert int(tr.status_step[1]) == k_over
    assert np.all(np.isfinite(tr.x_final[0]))
    overflow_at_start = from_functions(value=lambda x: 0.5 * np.sum(x * x, axis=-1), grad=lambda x: x,
                                       hvp=lambda x, v: v * np.inf, dim=2, name="inf_hvp")
    with pytest.raises(ValueError, match=r"'inf_hvp': hvp\(x, v\) returned non-finite values at a finite point"):
        run(rule, overflow_at_start, steps=3, x0=np.ones(2))


@pytest.mark.parametrize("kw, exc, match", [
    (dict(min_grad_norm="sometimes"), ValueError, "min_grad_norm must be one of"),
    (dict(divergence="never"), ValueError, "divergence must be one of"),
    (dict(kernel="cuda"), ValueError, "kernel must be one of"),
    (dict(progress=3), TypeError, "progress must be a callable"),
    (dict(keep_iterates=1), TypeError, "keep_iterates must be True or False"),
    (dict(batch=True), TypeError, "batch must be"),
    (dict(x0="abc"), ValueError, "x0 must"),
])
def test_run_options_are_validated(kw, exc, match):
    with pytest.raises(exc, match=match):
        run(rules.make("sgd"), quad(), steps=2, **kw)
    with pytest.raises(ValueError, match="min_grad_norm='off' has no effect"):
        run(rules.make("sgd"), make("reddi_periodic"), steps=2, min_grad_norm="off")

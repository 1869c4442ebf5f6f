"""Worst-case instances and the generic families they belong to."""

from __future__ import annotations

import numpy as np
import pytest

from precond_theory import rules, run, theory
from precond_theory.problems import make_gd_worst_case, make_lessard_piecewise, make_reddi_periodic
from precond_theory.problems.families import make_periodic_linear, make_piecewise_quadratic
from precond_theory.verify import worst_case as wc


def _gd(lr):
    return rules.make("sgd", lr=lr)


# ------------------------------------------------------------------------------- instances
@pytest.mark.parametrize("h", [0.5, 1.0])
def test_huber_attains_drori_teboulle(h):
    p, x0, value = wc.huber(5, L=2.0, R=1.5, h=h)
    t = run(_gd(h / 2.0), p, steps=5, x0=x0, record="all")
    assert t.metrics["f_gap"][-1] == pytest.approx(value, rel=1e-12)
    assert value == pytest.approx(theory.gd_convex_tight_bound(2.0, 1.5**2, 5, lr=h / 2.0), rel=1e-12)
    # a different step on the same function does not attain it (the instance is step-specific)
    t2 = run(_gd(1.5 / 2.0), p, steps=5, x0=x0, record="all")
    assert abs(t2.metrics["f_gap"][-1] - value) > 1e-3 * value


def test_gd_worst_quadratic_is_the_maximiser_over_quadratics():
    n, lr, L = 4, 0.5, 1.0
    p, x0, value = wc.gd_worst_quadratic(n, lr=lr, L=L)
    t = run(_gd(lr), p, steps=n, x0=x0, record="all")
    assert t.metrics["f_gap"][-1] == pytest.approx(value, rel=1e-12)
    lam = np.linspace(1e-4, L, 200001)  # brute force over the eigenvalue
    brute = np.max(0.5 * lam * (1 - lr * lam) ** (2 * n))
    assert value == pytest.approx(brute, rel=1e-8)
    assert p.L == L and p.params["lam"] == pytest.approx(1 / (lr * (2 * n + 1)))
    # the eigenvalue for another step is not the worst for this one
    q, y0, _ = wc.gd_worst_quadratic(n, lr=0.8, L=L)
    t2 = run(_gd(lr), q, steps=n, x0=y0, record="all")
    assert t2.metrics["f_gap"][-1] < value * (1 - 1e-3)
    with pytest.raises(ValueError, match="lr"):
        wc.gd_worst_quadratic(n, lr=0.01, L=1.0)


@pytest.mark.parametrize("rule", [rules.make("sgd", lr=1.0), rules.make("nesterov", lr=1.0)])
def test_nesterov_function_bounds_krylov_methods_from_below(rule):
    t_steps = 5
    p, x0, lower = wc.nesterov_function(t_steps, L=1.0)
    t = run(rule, p, steps=t_steps, x0=x0, record="all", keep_iterates=True)
    assert t.metrics["f_gap"][-1] >= lower
    assert np.all(t.iterates[-1][t_steps:] == 0)  # the Krylov mechanism: coordinates > t untouched


def test_reddi_online_adam_reaches_the_worst_point():
    p, x0, value = wc.reddi_online(3.0)
    adam = rules.with_projection(rules.with_schedule(rules.make("adam", lr=0.5, b1=0.0, b2=0.1), "inverse_sqrt"),
                                 box=(-1.0, 1.0))
    ams = rules.with_projection(rules.with_schedule(rules.make("amsgrad", lr=0.5, b1=0.0, b2=0.1), "inverse_sqrt"),
                                box=(-1.0, 1.0))
    T = 6000
    avg_adam = run(adam, p, steps=T, record=[T]).metrics["regret"][-1] / T
    avg_ams = run(ams, p, steps=T, record=[T]).metrics["regret"][-1] / T
    assert avg_adam == pytest.approx(value, rel=0.05)  # 2 * mean gradient: it sits at +1
    assert avg_ams < 0.1 * value


def test_lessard_heavy_ball_does_not_contract():
    p, x0, rho = wc.lessard(3.3)
    t = run(rules.make("heavy_ball", **p.heavy_ball_parameters), p, steps=3000, record="all")
    d = np.sqrt(t.metrics["dist_sq"])
    assert (d[-3:].max() / d[-1003:-1000].max()) ** (1 / 1000) > 0.999 > rho
    gd = run(rules.make("sgd", lr=2 / 26), p, steps=300, record="all")
    assert gd.metrics["dist_sq"][-1] < 1e-20  # gradient descent converges on the same function


# ----------------------------------------------------------------------------- the families
def test_piecewise_quadratic_contains_lessard_and_huber():
    x = np.linspace(-5, 5, 41)[:, None]
    les = make_piecewise_quadratic([1.0, 2.0], [25.0, 1.0, 25.0], x0=3.3)
    ref = make_lessard_piecewise(x0=3.3)
    np.testing.assert_allclose(les.value(x), ref.value(x), rtol=1e-14, atol=1e-12)
    np.testing.assert_allclose(les.grad(x), ref.grad(x), rtol=1e-14, atol=1e-12)
    assert (les.L, les.mu) == (25.0, 1.0)
    hub = make_gd_worst_case(1, L=2.0, R=1.0, N=3)
    t = hub.threshold
    fam = make_piecewise_quadratic([-t, t], [0.0, 2.0, 0.0])
    np.testing.assert_allclose(fam.value(x), hub.value(x), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(fam.grad(x), hub.grad(x), rtol=1e-13, atol=1e-14)


def test_piecewise_quadratic_derivatives_and_batch():
    rng = np.random.default_rng(3)
    b = np.sort(rng.uniform(-2, 2, (4, 3)), axis=-1)
    s = rng.uniform(0.5, 3.0, (4, 4))
    fam = make_piecewise_quadratic(b, s, dim=2, x0=rng.uniform(-3, 3, (4, 2)))
    x = rng.uniform(-3, 3, (4, 2))
    h = 1e-6
    for i in range(2):
        e = np.zeros(2)
        e[i] = h
        fd = (fam.value(x + e) - fam.value(x - e)) / (2 * h)
        np.testing.assert_allclose(fd, fam.grad(x)[:, i], rtol=1e-7, atol=1e-8)
    v = rng.normal(size=(4, 2))
    fd = (fam.grad(x + 1e-7 * v) - fam.grad(x - 1e-7 * v)) / 2e-7
    np.testing.assert_allclose(fam.hvp(x, v), fd, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(fam.L, s.max(axis=1))
    one = make_piecewise_quadratic(b[2], s[2], dim=2, x0=fam.default_x0()[2])
    rule = rules.make("heavy_ball", lr=0.3, momentum=0.5)
    tb, t1 = run(rule, fam, steps=50), run(rule, one, steps=50)
    np.testing.assert_allclose(tb.metrics["dist_sq"][:, 2], t1.metrics["dist_sq"], rtol=1e-13, atol=1e-300)
    assert np.all(fam.value(np.zeros((4, 2))) == 0)


@pytest.mark.parametrize("kwargs, text", [
    (dict(breakpoints=[1.0, 0.5], slopes=[1.0, 2.0, 3.0]), "increasing"),
    (dict(breakpoints=[1.0], slopes=[1.0, 2.0, 3.0]), "one more"),
    (dict(breakpoints=[1.0], slopes=[1.0, -2.0]), "slopes"),
    (dict(breakpoints=[1.0], slopes=[1.0, 2.0], x0=[1.0, 2.0, 3.0]), "x0"),
])
def test_piecewise_quadratic_bad_input(kwargs, text):
    with pytest.raises(ValueError, match=text):
        make_piecewise_quadratic(**kwargs)


def test_periodic_linear_is_reddi_and_batches():
    fam = make_periodic_linear([[3.0, -1.0, -1.0], [1.0, 2.0, -4.0]])
    reddi = make_reddi_periodic(3.0)
    for T in (1, 2, 3, 7, 100):
        assert fam.comparator_loss(T)[0] == reddi.comparator_loss(T)
        brute = min(sum(np.array([1.0, 2.0, -4.0])[k % 3] * x for k in range(T)) for x in (-1.0, 1.0))
        assert fam.comparator_loss(T)[1] == pytest.approx(brute)
    rule = rules.with_projection(rules.make("adam", lr=0.1, b1=0.0, b2=0.1), box=(-1.0, 1.0))
    tb = run(rule, fam, steps=200)
    t0 = run(rule, reddi, steps=200)
    np.testing.assert_allclose(tb.metrics["regret"][:, 0], t0.metrics["regret"], rtol=1e-13)
    with pytest.raises(ValueError, match="pattern"):
        make_periodic_linear([])


def test_nonconvex_piecewise_quadratic():
    f = make_piecewise_quadratic([-1.0, 1.0], [2.0, -3.0, 1.0], nonconvex=True, x0=0.5)
    assert f.L == 3.0 and f.x_star is None and f.f_star is None and f.mu is None
    x = np.linspace(-3, 3, 25)[:, None] + 0.013  # off the breakpoints, where phi'' jumps
    fd = (f.value(x + 1e-6) - f.value(x - 1e-6)) / 2e-6
    np.testing.assert_allclose(fd, f.grad(x)[:, 0], rtol=1e-7, atol=1e-7)
    assert f.value(np.zeros(1)) == 0 and f.grad(np.zeros(1))[0] == 0  # 0 is stationary (a local maximum here)
    t = run(rules.make("sgd", lr=1 / 3), f, steps=20)
    assert "f_gap" not in t.metrics and "dist_sq" not in t.metrics and t.metrics["f"][-1] < t.metrics["f"][0]

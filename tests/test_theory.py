"""theory.py: closed forms agree with SymPy derivations, with runs on problems whose behaviour is
known exactly, and with each other; seed-paper statements carry their fidelity flags."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import sympy as sp

from precond_theory import rules, theory
from precond_theory.problems import make_gd_worst_case, make_quadratic
from precond_theory.run import run

MU, L = sp.symbols("mu L", positive=True)


def test_optimal_step_equalises_the_extreme_contractions():
    # gamma* = 2/(mu+L) solves 1 - gamma mu = gamma L - 1 (Nesterov 2004, Thm 2.1.15).
    a = sp.symbols("alpha", positive=True)
    a_star = sp.solve(sp.Eq(1 - a * MU, a * L - 1), a)[0]
    assert sp.simplify(theory.gd_quadratic_optimal_step(MU, L) - a_star) == 0
    rho = theory.gd_quadratic_rate(MU, L)
    assert sp.simplify(rho - (1 - a_star * MU)) == 0
    kappa = sp.symbols("kappa", positive=True)
    assert sp.simplify(rho.subs(L, kappa * MU) - (kappa - 1) / (kappa + 1)) == 0


def test_rate_for_a_given_step_is_the_spectral_radius():
    mu, big_l = 0.5, 20.0
    for lr in (0.01, 0.05, 2 / (mu + big_l), 0.09):
        lam = np.linspace(mu, big_l, 2001)
        assert theory.gd_quadratic_rate(mu, big_l, lr) == pytest.approx(np.max(np.abs(1 - lr * lam)), rel=1e-12)
    expr = theory.gd_quadratic_rate(MU, L, sp.Rational(1, 10))
    assert isinstance(expr, sp.Expr) and float(expr.subs({MU: 1, L: 30})) == pytest.approx(2.0)


def test_heavy_ball_parameters_give_a_double_root_at_both_ends_of_the_spectrum():
    # Characteristic polynomial of heavy ball on eigenvalue lam: z^2 - (1 + beta - eta lam) z + beta.
    # Polyak's parameters make its discriminant vanish at lam = mu and lam = L, so every root
    # has modulus sqrt(beta) = (sqrt(kappa)-1)/(sqrt(kappa)+1) (checked numerically over the spectrum).
    eta, beta = theory.heavy_ball_optimal_parameters(MU, L)
    for lam in (MU, L):
        disc = (1 + beta - eta * lam) ** 2 - 4 * beta
        assert sp.simplify(disc) == 0
    assert sp.simplify(beta - theory.heavy_ball_quadratic_rate(MU, L) ** 2) == 0
    eta_n, beta_n = theory.heavy_ball_optimal_parameters(1.0, 1000.0)
    zs = [np.roots([1, -(1 + beta_n - eta_n * lam), beta_n]) for lam in np.geomspace(1.0, 1000.0, 50)]
    assert max(np.max(np.abs(z)) for z in zs) == pytest.approx(theory.heavy_ball_quadratic_rate(1.0, 1000.0), rel=1e-6)


def test_nesterov_parameters_and_sympy_inputs():
    s, alpha = theory.nesterov_strongly_convex_parameters(MU, L)
    assert sp.simplify(s - 1 / L) == 0
    kappa = sp.symbols("kappa", positive=True)
    assert sp.simplify(alpha.subs(L, kappa * MU) - (sp.sqrt(kappa) - 1) / (sp.sqrt(kappa) + 1)) == 0
    k, R = sp.symbols("k R", positive=True)
    assert sp.simplify(theory.nesterov_convex_bound(L, R, k) - 2 * L * R / (k + 1) ** 2) == 0
    assert sp.simplify(theory.gd_convex_tight_bound(L, R, k) - L * R / (4 * k + 2)) == 0
    T, D, G, d = sp.symbols("T D G d", positive=True)
    assert sp.simplify(theory.adagrad_regret_bound(T, D, G, d) - sp.sqrt(2) * D * d * G * sp.sqrt(T)) == 0
    assert isinstance(theory.sgd_nonconvex_step(T, L, 1, 1), sp.Expr)


def test_sgd_default_step_minimises_the_bound():
    # d/dgamma [2D/(T gamma) + L gamma s^2] = 0 at gamma = sqrt(2D/(L s^2 T)), the default step
    # whenever it is below 1/L.
    T, D, s, g = sp.symbols("T D sigma gamma", positive=True)
    bound = theory.sgd_nonconvex_bound(T, L, D, s, lr=g)
    g_star = sp.solve(sp.diff(bound, g), g)[0]
    assert sp.simplify(g_star - sp.sqrt(2 * D / (L * s**2 * T))) == 0
    assert theory.sgd_nonconvex_step(1e6, 1.0, 1.0, 1.0) == pytest.approx(math.sqrt(2e-6))
    assert theory.sgd_nonconvex_step(1.0, 1.0, 1.0, 0.1) == 1.0


def test_gd_convex_bounds_hold_and_the_tight_one_is_attained():
    # The tight bound L R^2/(4kLh + 2) is attained on Drori-Teboulle's Huber worst case for the
    # horizon it is built for (problems.make_gd_worst_case); both bounds hold along the run.
    for N, h in ((5, 1.0), (20, 0.5)):
        p = make_gd_worst_case(N=N, h=h)
        tr = run(rules.make("sgd", lr=h / p.L), p, steps=N, record="all")
        r0 = float(tr.metrics["dist_sq"][0])
        gap = tr.metrics["f_gap"]
        tight = theory.gd_convex_tight_bound(p.L, r0, N, lr=h / p.L)
        assert gap[-1] == pytest.approx(tight, rel=1e-9)
        k = tr.steps[1:]
        assert np.all(gap[1:] <= theory.gd_convex_tight_bound(p.L, r0, k, lr=h / p.L) * (1 + 1e-9))
        if h == 1.0:
            assert np.all(gap[1:] <= theory.gd_convex_bound(p.L, r0, k) * (1 + 1e-9))


def test_linear_bounds_hold_along_runs():
    p = make_quadratic(dim=12, kappa=30.0, seed=2)
    lr = theory.gd_quadratic_optimal_step(p.mu, p.L)
    tr = run(rules.make("sgd", lr=lr), p, steps=60, record="all")
    d = tr.metrics["dist_sq"]
    assert np.all(d <= theory.gd_strongly_convex_bound(p.mu, p.L, d[0], tr.steps) * (1 + 1e-9))
    s, a = theory.nesterov_strongly_convex_parameters(p.mu, p.L)
    tr = run(rules.make("nesterov", lr=s, schedule="constant", momentum=a), p, steps=60, record="all")
    f0, d0 = tr.metrics["f_gap"][0], tr.metrics["dist_sq"][0]
    bound = theory.nesterov_strongly_convex_bound(p.mu, p.L, f0, d0, tr.steps)
    assert np.all(tr.metrics["f_gap"] <= bound * (1 + 1e-9))


def test_metric_rate_squares_for_squared_metrics():
    assert theory.linear_rate_of_metric(0.9, "f_gap") == pytest.approx(0.81)
    assert theory.linear_rate_of_metric(0.9, "regret") == 0.9


def test_seed_statements_are_flagged():
    rates = theory.seed_stated_rates()
    assert set(rates) == {"soaa", "adarem", "adamrag", "adapgradm", "hadapgradm", "preconditioned"}
    assert not rates["soaa"].has_rate and rates["soaa"].fidelity == "none"
    for name in ("adarem", "adamrag", "adapgradm", "hadapgradm", "preconditioned"):
        assert rates[name].is_reconstruction, name
        assert "RECON" in rates[name].statement or "RECON" in rates[name].reference
    assert theory.adapgradm_stated_rate("online_convex").metric == "regret"
    with pytest.raises(ValueError, match="setting"):
        theory.adapgradm_stated_rate("convex")
    for fn in (theory.adam_type_nonconvex, theory.amsgrad_nonconvex, theory.amsgrad_regret,
               theory.adam_regret_kingma_ba,
               theory.nesterov_min_grad_norm_rate):
        r = fn()
        assert r.fidelity == "exact" and r.reference


def test_preconditioned_local_rate_is_gd_rate_in_the_transformed_variables():
    # p <- p - eta M grad f on a quadratic with Hessian H equals GD in z = M^{-1/2} p with Hessian
    # M^{1/2} H M^{1/2}; its contraction factor is the GD rate of that spectrum.
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    H = (q * np.geomspace(1, 300, 6)) @ q.T
    m = np.geomspace(0.2, 5.0, 6)
    lam = np.linalg.eigvalsh(np.sqrt(m)[:, None] * H * np.sqrt(m)[None, :])
    rho = theory.preconditioned_gd_local_rate(lam[0], lam[-1])
    eta = 2 / (lam[0] + lam[-1])
    iteration = np.eye(6) - eta * (m[:, None] * H)
    assert np.max(np.abs(np.linalg.eigvals(iteration))) == pytest.approx(rho, rel=1e-10)


def test_functions_accept_arrays_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mu = np.array([1.0, 2.0])
        np.testing.assert_allclose(theory.gd_quadratic_rate(mu, 10.0, 0.1), [0.9, 0.8])
        np.testing.assert_allclose(theory.heavy_ball_quadratic_rate(mu, 100.0),
                                   (10 - np.sqrt(mu)) / (10 + np.sqrt(mu)))

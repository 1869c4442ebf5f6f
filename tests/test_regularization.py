"""Regularization under preconditioning (precond_theory.regularization).

References used here, each independent of the code under test:
* closed forms written out in the test with dense NumPy solves, e.g. coupled L2 -> (A + lam I)^{-1} A x*,
  decoupled / intrinsic L2 -> (A + lam M^{-1})^{-1} A x* (docs/regularization.md, eqs. (R2)-(R4));
* explicit scalar recursions for f = 0 (geometric decay, soft-threshold sequences);
* central finite differences of the penalised objective L + R computed from problem.value/grad.
"""

from __future__ import annotations

import math
import types

import numpy as np
import pytest

from precond_theory import regularization as R
from precond_theory import rules, run
from precond_theory.problems import make_quadratic
from precond_theory.problems.finite_sum import make_logistic_regression

N = 6
M_DIAG = np.geomspace(0.25, 4.0, N)  # frozen diagonal preconditioner, spread 16


@pytest.fixture(scope="module")
def quad():
    q = make_quadratic(N, 30.0, rotate=True, seed=1)
    return q, np.asarray(q.A), np.asarray(q.x_star)


@pytest.fixture(scope="module")
def diag_quad():
    q = make_quadratic(N, 30.0, rotate=False, seed=2)
    return q, np.asarray(q.A), np.asarray(q.x_star)


def frozen(lr, M=M_DIAG):
    return rules.make("preconditioned", lr=lr, diag=M)


def steps_for(rho: float, tol: float = 1e-13, cap: int = 40_000) -> int:
    """Steps after which rho^k <= tol (the frozen iteration contracts by rho per step in z)."""
    assert rho < 1
    return min(cap, int(math.ceil(math.log(tol) / math.log(rho))) + 10)


def expected_fixed_point(kind, A, xs, lam, M, lr):
    """Independent closed forms (docs/regularization.md): the derivations, not the library."""
    n = A.shape[0]
    b = A @ xs
    Minv = np.diag(1 / M)
    if kind == "none":
        return xs
    if kind == "l2_p":
        return np.linalg.solve(A + lam * np.eye(n), b)
    if kind in ("l2_z", "decoupled"):
        return np.linalg.solve(A + lam * Minv, b)
    if kind == "decoupled_fixed":
        return np.linalg.solve(A + lam / lr * Minv, b)
    if kind in ("gradnorm_p", "gradnorm_z"):
        return xs  # the penalty vanishes at the minimiser of L (A nonsingular)
    raise AssertionError(kind)


# ------------------------------------------------------------------------------------ fixed points
@pytest.mark.parametrize("kind", R.QUADRATIC_KINDS)
def test_runs_converge_to_closed_form_fixed_point(quad, kind):
    q, A, xs = quad
    lam = 0.7 if not kind.startswith("gradnorm") else 0.05
    # step 1/k_max of the effective preconditioned Hessian: the iteration contracts by rho < 1
    K = R.effective_objective(kind, A, x_star=xs, lam=lam, M=M_DIAG, lr=0.1).hessian
    lr = 1.0 / np.linalg.eigvalsh(np.sqrt(M_DIAG)[:, None] * K * np.sqrt(M_DIAG)[None, :])[-1]
    want = expected_fixed_point(kind, A, xs, lam, M_DIAG, lr)
    rho = R.linear_rate(kind, A, lam=lam, M=M_DIAG, lr=lr)
    T = steps_for(rho)
    rule = R.regularize(frozen(lr), kind, lam, problem=q)
    tr = run(rule, q, steps=T, record=[T])
    # tolerance: rho^T |z_0 - z*| (<= 1e-13 |.|) plus round-off amplified by 1/(1 - rho)
    tol = 1e-10 * max(1.0, np.abs(want).max())
    np.testing.assert_allclose(tr.x_final, want, rtol=0, atol=tol)
    closed = R.fixed_point(kind, A, x_star=xs, lam=lam, M=M_DIAG, lr=lr)
    np.testing.assert_allclose(closed, want, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("variables", ["p", "z"])
def test_l1_prox_converges_to_weighted_lasso(quad, diag_quad, variables):
    """Prox versions converge to argmin L + sum w_i |p_i|, w = lam (p) or lam M^{-1/2} (z)."""
    lam = 0.6
    w = lam * np.ones(N) if variables == "p" else lam / np.sqrt(M_DIAG)
    # diagonal A: closed form p_i = S_{w_i}(a_i x*_i) / a_i
    q, A, xs = diag_quad
    a = np.diag(A)
    want = np.sign(a * xs) * np.maximum(np.abs(a * xs) - w, 0) / a
    assert np.sum(want == 0) >= 1  # the threshold is active somewhere
    lr = 1.0 / np.max(M_DIAG * a)
    T = steps_for(R.linear_rate(f"l1_{variables}_prox", A, lam=lam, M=M_DIAG, lr=lr))
    tr = run(R.with_l1(frozen(lr), lam, variables=variables, method="prox"), q, steps=T, record=[T])
    np.testing.assert_allclose(tr.x_final, want, rtol=0, atol=1e-11)
    np.testing.assert_allclose(R.fixed_point(f"l1_{variables}_prox", A, x_star=xs, lam=lam, M=M_DIAG), want, atol=1e-15)
    # rotated A: reference from the KKT conditions of the weighted lasso (checked directly)
    q, A, xs = quad
    lr = 1.0 / np.linalg.eigvalsh(np.sqrt(M_DIAG)[:, None] * A * np.sqrt(M_DIAG)[None, :])[-1]
    T = steps_for(R.linear_rate(f"l1_{variables}_prox", A, lam=lam, M=M_DIAG, lr=lr))
    tr = run(R.with_l1(frozen(lr), lam, variables=variables, method="prox"), q, steps=T, record=[T])
    p = tr.x_final
    g = A @ (p - xs)
    on = p != 0
    np.testing.assert_allclose(g[on], -w[on] * np.sign(p[on]), atol=1e-10)  # KKT on the support
    assert np.all(np.abs(g[~on]) <= w[~on] + 1e-10)  # and off it
    np.testing.assert_allclose(R.fixed_point(f"l1_{variables}_prox", A, x_star=xs, lam=lam, M=M_DIAG), p, atol=1e-10)


@pytest.mark.parametrize("variables", ["p", "z"])
def test_l1_subgradient_reaches_the_stated_neighbourhood(diag_quad, variables):
    """Diagonal A: support coordinates converge exactly; zero coordinates oscillate within
    eta*lam*M_i (p) or eta*lam*M_i^{1/2} (z)."""
    q, A, xs = diag_quad
    lam = 0.6
    a = np.diag(A)
    w = lam * np.ones(N) if variables == "p" else lam / np.sqrt(M_DIAG)
    want = np.sign(a * xs) * np.maximum(np.abs(a * xs) - w, 0) / a
    lr = 0.5 / np.max(M_DIAG * a)
    T = steps_for(np.max(np.abs(1 - lr * M_DIAG * a)))  # support coordinates contract by |1 - lr M_i a_i|
    tr = run(R.with_l1(frozen(lr), lam, variables=variables), q, steps=T, record=[T])
    on = want != 0
    np.testing.assert_allclose(tr.x_final[on], want[on], rtol=0, atol=1e-11)
    amp = lr * lam * (M_DIAG if variables == "p" else np.sqrt(M_DIAG))
    assert np.all(np.abs(tr.x_final[~on]) <= amp[~on] * (1 + 1e-12))


# --------------------------------------------------------------------------- equivalences
@pytest.mark.parametrize("inner", ["frozen", "adam"])
def test_decoupled_equals_intrinsic_l2_and_coupled_does_not(quad, inner):
    q, A, xs = quad
    lam, T = 0.7, 400
    base = frozen(0.05) if inner == "frozen" else rules.make("adam", lr=0.02)
    dec = run(R.with_decoupled_decay(base, lam), q, steps=T, record="all", keep_iterates=True)
    intr = run(R.with_l2(base, lam, variables="z"), q, steps=T, record="all", keep_iterates=True)
    # same iteration; only the round-off of P (P^{-1} p) differs (a few ulp per step)
    scale = np.abs(dec.iterates).max()
    np.testing.assert_allclose(intr.iterates, dec.iterates, rtol=0, atol=1e3 * np.finfo(float).eps * scale)
    assert np.abs(intr.iterates - dec.iterates).max() <= 1e-12
    if inner == "frozen":
        # coupled L2 converges elsewhere: margin = |(A + lam I)^{-1} b - (A + lam M^{-1})^{-1} b|
        b = A @ xs
        x_c = np.linalg.solve(A + lam * np.eye(N), b)
        x_d = np.linalg.solve(A + lam * np.diag(1 / M_DIAG), b)
        margin = np.abs(x_c - x_d).max()
        assert margin > 0.1  # computed: 0.32 for this A, M, lam
        T2 = 4000
        cpl = run(R.with_l2(frozen(0.05), lam), q, steps=T2, record=[T2])
        de2 = run(R.with_decoupled_decay(frozen(0.05), lam), q, steps=T2, record=[T2])
        np.testing.assert_allclose(cpl.x_final, x_c, atol=1e-9)
        np.testing.assert_allclose(de2.x_final, x_d, atol=1e-9)
        assert np.abs(cpl.x_final - de2.x_final).max() >= margin - 2e-9


def test_coupled_equals_decoupled_when_M_is_identity(quad):
    """M = I: p - eta (grad + lam p) == p - eta grad - eta lam p (round-off)."""
    q, A, xs = quad
    a = run(R.with_l2(frozen(0.05, np.ones(N)), 0.7), q, steps=200, record="all", keep_iterates=True)
    b = run(R.with_decoupled_decay(frozen(0.05, np.ones(N)), 0.7), q, steps=200, record="all", keep_iterates=True)
    np.testing.assert_allclose(a.iterates, b.iterates, rtol=0, atol=1e-14)


# -------------------------------------------------------------------------- f = 0 trajectories
def _zero_loop(rule, p0, steps, xp):
    x = xp.asarray(p0)
    state = rule.init(x)
    g = x * 0
    out = [np.asarray(p0)]
    for _ in range(steps):
        dx, state = rule.update(g, state, x, hvp=lambda v: v * 0)
        x = x + dx
        out.append(np.asarray(x))
    return np.stack(out)


def _subgradient_sequence(p0, c, steps):
    """p_{k+1} = p_k - c sign(p_k), in closed form: linear descent for n = floor(|p0|/c) steps,
    then a 2-cycle between s r and s (r - c), r = |p0| - n c (s = sign p0; stays at 0 if r = 0)."""
    k = np.arange(steps + 1)[:, None]
    s, a = np.sign(p0), np.abs(p0)
    n = np.floor(a / c)
    r = a - n * c
    tail = np.where(r > 0, r - ((k - n) % 2) * c, 0.0)
    return s * np.where(k <= n, a - k * c, tail)


@pytest.mark.parametrize("kind", ["decoupled", "decoupled_fixed", "l2_z", "l2_p", "l1_p", "l1_p_prox", "l1_z",
                                  "l1_z_prox", "gradnorm_p", "gradnorm_z"])
def test_zero_objective_closed_form_trajectories(xp, kind):
    eta, lam, T = 0.1, 0.3, 60
    p0 = np.array([1.3, -0.45, 0.02, -2.0, 0.0, 0.7])
    rule = R.regularize(frozen(eta), kind, lam)
    got = _zero_loop(rule, p0, T, xp)
    k = np.arange(T + 1)[:, None]
    M, S = M_DIAG, np.sqrt(M_DIAG)
    want = {
        "decoupled": (1 - eta * lam) ** k * p0,
        "l2_z": (1 - eta * lam) ** k * p0,
        "decoupled_fixed": (1 - lam) ** k * p0,
        "l2_p": (1 - eta * lam * M) ** k * p0,
        "l1_p_prox": np.sign(p0) * np.maximum(np.abs(p0) - k * eta * lam * M, 0),
        "l1_z_prox": np.sign(p0) * np.maximum(np.abs(p0) - k * eta * lam * S, 0),
        "l1_p": _subgradient_sequence(p0, eta * lam * M, T),
        "l1_z": _subgradient_sequence(p0, eta * lam * S, T),
        "gradnorm_p": np.broadcast_to(p0, (T + 1, N)),
        "gradnorm_z": np.broadcast_to(p0, (T + 1, N)),
    }[kind]
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-14)


def test_intrinsic_l2_decays_geometrically_with_an_adaptive_preconditioner():
    """With Adam's M (here 1/eps, since v = 0 when f = 0), L2 in z is still (1 - eta lam)^k p0."""
    p0 = np.array([1.0, -3.0, 0.5])
    got = _zero_loop(R.with_l2(rules.make("adam", lr=0.1), 0.3, variables="z"), p0, 30, np)
    np.testing.assert_allclose(got, (1 - 0.03) ** np.arange(31)[:, None] * p0, rtol=1e-12)


# ------------------------------------------------------------------------- gradient-norm penalty
@pytest.mark.parametrize("variables", ["p", "z"])
@pytest.mark.parametrize("hvp", ["exact", "finite_difference"])
def test_gradient_norm_gradient_matches_finite_differences(variables, hvp):
    """With a frozen M, dx = -eta M grad(L + R); recover grad(L + R) and compare with central
    differences of F = L + lam/2 |grad L|^2 (p) or L + lam/2 grad L^T M grad L (z)."""
    prob = make_logistic_regression(n_samples=40, dim=5, lam=0.1, seed=3)
    M = np.geomspace(0.3, 3.0, 5)
    eta, lam = 0.2, 0.8
    rule = R.with_gradient_norm(frozen(eta, M), lam, variables=variables, hvp=hvp, problem=prob)
    x = np.random.default_rng(0).standard_normal(5)
    g = prob.grad(x)
    dx, _ = rule.update(g, rule.init(x), x, hvp=lambda v: prob.hvp(x, v))
    got = -dx / (eta * M)

    def F(p):
        gp = prob.grad(p)
        w = np.ones(5) if variables == "p" else M
        return prob.value(p) + 0.5 * lam * np.sum(w * gp * gp)

    h = 1e-4
    fd = np.array([(F(x + h * e) - F(x - h * e)) / (2 * h) for e in np.eye(5)])
    # central differences: truncation h^2 |F'''|/6 ~ 1e-9 here, round-off eps |F| / h ~ 1e-12
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8)


def test_finite_difference_hvp_schemes_agree_with_exact():
    prob = make_logistic_regression(n_samples=40, dim=5, lam=0.1, seed=3)
    rng = np.random.default_rng(1)
    x, v = rng.standard_normal((2, 3, 5))  # a batch of 3
    exact = prob.hvp(x, v)
    np.testing.assert_allclose(R.finite_difference_hvp(prob.grad, x, v, scheme="central"), exact, rtol=1e-8, atol=1e-9)
    # forward: error O(sqrt(eps)) ~ 1.5e-8 relative times curvature change
    np.testing.assert_allclose(R.finite_difference_hvp(prob.grad, x, v, scheme="forward"), exact, rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------------ adaptive preconditioners
def test_adam_decoupled_limit_is_the_ema_barrier_fixed_point(quad):
    """Adam + decoupled decay converges (lr -> 0 by a cosine schedule) to the minimiser of
    L + eps sum psi(p_i): here the box |p_i| <= 1/lam is active, unlike the frozen-M prediction."""
    q, A, xs = quad
    lam, T = 1.0, 5000
    base = rules.with_schedule(rules.make("adam", lr=0.03, b2=0.99), "cosine", total_steps=T)
    tr = run(R.with_decoupled_decay(base, lam), q, steps=T, record=[T])
    want = R.ema_fixed_point("decoupled", A, x_star=xs, lam=lam, eps=1e-8)
    assert np.abs(want).max() <= 1 / lam and np.sum(np.abs(want) > 0.999 / lam) >= 2
    ridge = np.linalg.solve(A + lam * np.eye(N), A @ xs)
    frozen_pred = np.linalg.solve(A + lam * np.diag(1 / M_DIAG), A @ xs)
    sep = min(np.abs(want - ridge).max(), np.abs(want - frozen_pred).max())
    assert sep > 0.15  # the predictions are far apart (computed: 0.46 from ridge, 0.18 from frozen M)
    # measured 1.1e-3: Adam only reaches the fixed point as the schedule sends lr -> 0
    np.testing.assert_allclose(tr.x_final, want, atol=5e-3)
    # and the ridge prediction holds for coupled L2 whatever M_t does
    tr2 = run(R.with_l2(base, lam), q, steps=T, record=[T])
    np.testing.assert_allclose(tr2.x_final, np.linalg.solve(A + lam * np.eye(N), A @ xs), atol=1e-10)


@pytest.mark.parametrize("name, hp", [("adam", {"lr": 0.03, "b2": 0.99}), ("rmsprop", {"lr": 0.01, "alpha": 0.9})])
def test_ema_l1_in_z_is_a_lasso_with_weight_about_lam_squared(quad, name, hp):
    """EMA preconditioner + L1 prox in z: on the support sqrt(M)|g| = lam with M = 1/(|g| + eps),
    so the limit is the lasso with weight u, u / sqrt(u + eps) = lam (about lam^2), not lam."""
    q, A, xs = quad
    lam, T, eps = 0.5, 5000, 1e-8
    base = rules.with_schedule(rules.make(name, **hp), "cosine", total_steps=T)
    tr = run(R.with_l1(base, lam, variables="z", method="prox"), q, steps=T, record=[T])
    p = tr.x_final
    u = (lam**2 + lam * math.sqrt(lam**2 + 4 * eps)) / 2
    g = A @ (p - xs)
    on = p != 0
    np.testing.assert_allclose(g[on], -u * np.sign(p[on]), atol=1e-6)  # measured: < 3e-10
    assert np.all(np.abs(g[~on]) <= u + 1e-6)
    np.testing.assert_allclose(p, R.ema_fixed_point("l1_z_prox", A, x_star=xs, lam=lam, eps=eps), atol=1e-6)
    # far from the lasso with weight lam (which a frozen M would give for l1_p): computed 0.075
    assert np.abs(p - R.fixed_point("l1_p_prox", A, x_star=xs, lam=lam)).max() > 0.05


def test_ema_fixed_point_satisfies_its_stationarity_equation(quad):
    q, A, xs = quad
    lam, eps = 1.0, 1e-3
    p = R.ema_fixed_point("decoupled", A, x_star=xs, lam=lam, eps=eps)
    g = A @ (p - xs)
    np.testing.assert_allclose(g / (np.abs(g) + eps), -lam * p, atol=1e-10)


def test_lambda_batch_equals_separate_runs(quad):
    """lam as an array (k, 1) runs k regularized problems at once, each as if alone."""
    q, A, xs = quad
    lams = np.array([[0.0], [0.2], [1.5]])
    for kind in ("l2_z", "l1_z_prox", "gradnorm_z", "decoupled"):
        base = rules.make("adam", lr=0.02)
        batched = run(R.regularize(base, kind, lams), q, steps=50, record=[50], x0=q.default_x0())
        for j, lam in enumerate(lams[:, 0]):
            alone = run(R.regularize(base, kind, float(lam)), q, steps=50, record=[50], x0=q.default_x0())
            np.testing.assert_allclose(batched.x_final[j], alone.x_final, rtol=0, atol=1e-13)


def test_shrinkage_reconstructs_the_fixed_point(quad):
    q, A, xs = quad
    for kind, M in (("l2_p", None), ("decoupled", M_DIAG), ("gradnorm_z", M_DIAG)):
        sh = R.shrinkage(kind, A, lam=0.7, M=M)
        np.testing.assert_allclose(sh.dual.T @ sh.basis, np.eye(N), atol=1e-12)
        np.testing.assert_allclose(sh.basis @ (sh.factors * (sh.dual.T @ xs)),
                                   expected_fixed_point(kind, A, xs, 0.7, M_DIAG if M is not None else np.ones(N), 1.0),
                                   atol=1e-12)


# ---------------------------------------------------------------------------------- bad input
def test_bad_input_errors(quad):
    q, A, xs = quad
    sgd, adam = rules.make("sgd", lr=0.1), rules.make("adam", lr=0.1)
    for factory in (R.with_l2, R.with_decoupled_decay, R.with_l1, R.with_gradient_norm):
        with pytest.raises(ValueError, match=r"lam must lie in \[0, inf\]; got lam=-0.1"):
            factory(adam, -0.1)
    with pytest.raises(ValueError, match="lam must lie"):
        R.regularize(adam, "l2_z", np.array([[0.1], [-1.0]]))
    for make in (lambda: R.with_l2(sgd, 0.1, variables="z"), lambda: R.with_l1(sgd, 0.1, variables="z"),
                 lambda: R.with_gradient_norm(sgd, 0.1, variables="z")):
        with pytest.raises(ValueError, match="'sgd' has none \\(has_preconditioner=False\\).*preconditioner="):
            make()
    R.with_l2(sgd, 0.1, variables="z", preconditioner=np.ones(3))  # an explicit frozen M is enough
    with pytest.raises(ValueError, match="preconditioner must lie in \\(0"):
        R.with_l2(sgd, 0.1, variables="z", preconditioner=np.array([1.0, 0.0, 1.0]))
    dense = rules.make("preconditioned", lr=0.1, matrix=np.eye(3))
    with pytest.raises(ValueError, match="dense matrix M"):
        R.with_l1(dense, 0.1, variables="z")
    with pytest.raises(ValueError, match="variables must be one of"):
        R.with_l2(adam, 0.1, variables="w")
    with pytest.raises(ValueError, match="kind must be one of"):
        R.regularize(adam, "l3", 0.1)
    # gradient-norm: no hvp and no finite-difference option
    nohvp = types.SimpleNamespace(name="nohvp", hvp=None, grad=lambda x: x, online=False)
    with pytest.raises(ValueError, match="'nohvp' has no Hessian-vector product.*finite_difference"):
        R.with_gradient_norm(adam, 0.1, problem=nohvp)
    R.with_gradient_norm(adam, 0.1, problem=nohvp, hvp="finite_difference")  # the fix it names works
    with pytest.raises(ValueError, match="needs the gradient function"):
        R.with_gradient_norm(adam, 0.1, hvp="finite_difference")
    rule = R.with_gradient_norm(adam, 0.1)
    x = np.ones(3)
    with pytest.raises(ValueError, match="needs Hessian-vector products.*finite_difference"):
        rule.update(x, rule.init(x), x)
    # closed forms
    with pytest.raises(ValueError, match="exactly one of b= .* and x_star="):
        R.fixed_point("l2_p", A, lam=0.1)
    with pytest.raises(ValueError, match="needs lr="):
        R.fixed_point("decoupled_fixed", A, x_star=xs, lam=0.1, M=M_DIAG)
    with pytest.raises(ValueError, match="positive semidefinite"):
        R.fixed_point("l2_p", -A, x_star=xs, lam=0.1)
    with pytest.raises(ValueError, match="lam must lie"):
        R.fixed_point("l2_z", A, x_star=xs, lam=-1.0, M=M_DIAG)
    with pytest.raises(ValueError, match=r"M must lie in \(0"):
        R.fixed_point("l2_z", A, x_star=xs, lam=1.0, M=-M_DIAG)

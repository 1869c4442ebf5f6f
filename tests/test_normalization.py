"""Normalization models: exact gradients and HVPs for every variant, BatchNorm's scale
invariance by finite differences, the closed-form kappa of mean-shifted least squares, and
BatchNorm-reparameterized GD == preconditioned GD with M = P P^T."""

from __future__ import annotations

import numpy as np
import pytest

from precond_theory import conditioning as C
from precond_theory import rules, run
from precond_theory._xp import to_numpy
from precond_theory.normalization import (
    VARIANTS,
    bn_preconditioner,
    check_bn_preconditioning,
    conditioning_by_variant,
    input_statistics,
    make_normalized_model,
    make_regression_data,
    mean_shift_kappa,
    mean_shift_spectrum,
)
from precond_theory.problems.base import central_difference_hvp

EPS = float(np.finfo(np.float64).eps)
CASES = [(v, h) for h in [(), (4,), (4, 3)] for v in VARIANTS if not (v == "layernorm" and not h)]


@pytest.fixture(scope="module")
def data():
    return make_regression_data(40, 3, mean=[1.0, -2.0, 0.5], scale=[1.0, 3.0, 0.3], correlation=0.2,
                                teacher="tanh", seed=3)


def point(model, seed=0, spread=0.3):
    x0 = model.default_x0()
    return x0 + spread * np.random.default_rng(seed).standard_normal(x0.shape)


@pytest.mark.parametrize(("variant", "hidden"), CASES, ids=[f"{v}-{len(h)}" for v, h in CASES])
def test_gradient_and_hvp_are_exact(data, variant, hidden):
    m = make_normalized_model(data, variant, hidden=hidden)
    x = point(m)
    rng = np.random.default_rng(1)
    g = m.grad(x)
    for _ in range(3):
        u = rng.standard_normal(x.shape)
        h = 1e-5
        fd = (m.value(x + h * u) - m.value(x - h * u)) / (2 * h)  # error O(h^2) + O(eps/h)
        assert abs(fd - g @ u) <= 1e-7 * (abs(fd) + np.linalg.norm(g) * np.linalg.norm(u))
        hv = m.hvp(x, u)
        ref = central_difference_hvp(m.grad, x, u)  # relative error ~ eps^(2/3)
        assert np.linalg.norm(hv - ref) <= 1e-7 * np.linalg.norm(hv)
    H = m.hessian(x)
    np.testing.assert_allclose(H @ u, hv, rtol=1e-10, atol=1e-12 * np.abs(hv).max())
    G = m.gauss_newton(x)
    assert np.linalg.eigvalsh(G)[0] >= -1e-10 * np.abs(G).max()  # J^T J / N is PSD
    # batched evaluation equals one-by-one evaluation
    xb = np.stack([x, point(m, seed=5)])
    np.testing.assert_allclose(m.grad(xb)[0], g, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(m.value(xb)[1], m.value(xb[1]), rtol=1e-13)


def test_gauss_newton_equals_hessian_for_linear_least_squares(data):
    m = make_normalized_model(data, "raw")
    x = point(m)
    np.testing.assert_allclose(m.gauss_newton(x), m.hessian(x), rtol=1e-12, atol=1e-14)
    assert np.linalg.norm(m.grad(m.x_star)) <= 1e-12
    assert float(m.value(m.x_star)) == pytest.approx(m.f_star, rel=1e-12)
    assert m.L == pytest.approx(np.linalg.eigvalsh(m.hessian(x))[-1], rel=1e-12)


@pytest.mark.parametrize("hidden", [(), (4,), (4, 3)])
def test_batchnorm_scale_invariance_by_finite_differences(data, hidden):
    # train-mode BN with eps = 0: F(c w_j) = F(w_j) for the incoming weights of every BN unit,
    # hence <grad_w f, w> = 0 and grad_w f(c w) = grad_w f(w) / c.
    m = make_normalized_model(data, "batchnorm", hidden=hidden, eps=0.0)
    x = point(m)
    P = m.unpack(x)
    i = 1
    W = P[f"W{i}"]
    for j in range(W.shape[0]):
        for c in (0.3, 4.0):
            Wc = W.copy()
            Wc[j] *= c
            xc = m.pack({**P, f"W{i}": Wc}, ())
            assert float(m.value(xc)) == pytest.approx(float(m.value(x)), rel=1e-12)
            # directional derivative along the scaling direction, by central differences
            d = m.pack({f"W{i}": np.where(np.arange(W.shape[0])[:, None] == j, W, 0.0)}, ())
            h = 1e-5
            fd_along = (m.value(x + h * d) - m.value(x - h * d)) / (2 * h)
            assert abs(fd_along) <= 1e-9 * np.linalg.norm(d)
            # gradient scales as 1/c on that row, by finite differences along random directions
            rng = np.random.default_rng(j)
            u = m.pack({f"W{i}": np.where(np.arange(W.shape[0])[:, None] == j, rng.standard_normal(W.shape), 0.0)}, ())
            fd_x = (m.value(x + h * u) - m.value(x - h * u)) / (2 * h)
            fd_c = (m.value(xc + h * u) - m.value(xc - h * u)) / (2 * h)
            assert fd_c == pytest.approx(fd_x / c, rel=1e-6, abs=1e-10)
            gx, gc = m.unpack(m.grad(x))[f"W{i}"][j], m.unpack(m.grad(xc))[f"W{i}"][j]
            np.testing.assert_allclose(gc, gx / c, rtol=1e-9, atol=1e-14)
        assert abs(m.unpack(m.grad(x))[f"W{i}"][j] @ W[j]) <= 1e-12 * np.linalg.norm(W[j]) * (
            1 + np.linalg.norm(m.grad(x)))


@pytest.mark.parametrize(("variant", "hidden"), [("batchnorm", ()), ("batchnorm", (4, 3)), ("batchnorm_eval", (4,)),
                                                 ("layernorm", (4, 3)), ("weightnorm", (4,))])
def test_gradient_orthogonal_to_every_symmetry_direction(variant, hidden):
    # N = 120 samples > n parameters, so that J^T J has no null space beyond the symmetries
    data = make_regression_data(120, 3, mean=[1.0, -2.0, 0.5], scale=[1.0, 3.0, 0.3], teacher="tanh", seed=4)
    m = make_normalized_model(data, variant, hidden=hidden, eps=0.0)
    x = point(m)
    S = m.symmetry_directions(x)
    g = m.grad(x)
    assert S.shape[0] > 0
    assert np.abs(S @ g).max() <= 1e-12 * np.linalg.norm(g) * np.linalg.norm(S, axis=1).max()
    # Gauss-Newton: the symmetry directions are null vectors at every point
    G = m.gauss_newton(x)
    assert np.abs(S @ G).max() <= 1e-10 * np.abs(G).max() * np.linalg.norm(S, axis=1).max()
    full, quo = m.conditioning(x, matrix="gauss_newton", quotient=False), m.conditioning(x, matrix="gauss_newton")
    assert full.kappa == np.inf and np.isfinite(quo.kappa)


def test_batchnorm_eval_uses_running_statistics(data):
    tr = make_normalized_model(data, "batchnorm", hidden=(4,))
    ev = make_normalized_model(data, "batchnorm_eval", hidden=(4,))
    x0 = tr.default_x0()
    assert float(ev.value(x0)) == pytest.approx(float(tr.value(x0)), rel=1e-12)  # stats taken at x0
    assert np.linalg.norm(ev.grad(x0) - tr.grad(x0)) > 1e-3 * np.linalg.norm(tr.grad(x0))  # no grad through stats
    x1 = point(tr)
    ev1 = ev.with_running_statistics(x1)
    assert float(ev1.value(x1)) == pytest.approx(float(tr.value(x1)), rel=1e-12)


@pytest.mark.parametrize(("d", "mean", "std"), [(1, 0.0, 2.0), (5, 0.0, 0.5), (5, 1.5, 0.7), (20, 3.0, 1.0),
                                               (8, -10.0, 3.0)])
def test_closed_form_kappa_for_mean_shifted_least_squares(d, mean, std):
    data = make_regression_data(4 * d + 10, d, mean=mean, scale=std, exact_moments=True, seed=d)
    m = make_normalized_model(data, "raw")
    H = m.hessian(m.default_x0())
    np.testing.assert_allclose(np.linalg.eigvalsh(H), mean_shift_spectrum(d, mean, std), rtol=1e-10, atol=1e-12)
    assert float(C.condition_number(H)) == pytest.approx(mean_shift_kappa(d, mean, std), rel=1e-9)
    if mean == 0.0:
        assert mean_shift_kappa(d, 0.0, std) == pytest.approx(max(std**2, std**-2), rel=1e-14)
    # BatchNorm / standardization removes the spike and the scale: kappa = 1 for iid features
    s = make_normalized_model(data, "standardize")
    assert float(C.condition_number(s.hessian(s.default_x0()))) == pytest.approx(1.0, abs=1e-9)


def test_closed_form_large_mean_asymptotics():
    # kappa ~ (1 + sigma^2 + d mu^2)^2 / sigma^2 when d mu^2 dominates
    d, mu, s = 50, 10.0, 1.0
    T = 1 + s * s + d * mu * mu
    assert mean_shift_kappa(d, mu, s) == pytest.approx(T * T / s**2, rel=1e-6)


def test_bn_reparameterized_gd_equals_preconditioned_gd():
    data = make_regression_data(60, 5, mean=np.linspace(-3, 3, 5), scale=np.geomspace(0.2, 20, 5), correlation=0.4,
                                seed=2)
    res = check_bn_preconditioning(data, lr=0.2, steps=100)
    assert res.max_param_gap <= 1e-12 and res.max_grad_gap <= 1e-12
    assert res.kappa_preconditioned == pytest.approx(res.kappa_standardized, rel=1e-9)
    assert res.kappa_raw > 100 * res.kappa_preconditioned
    # the reparameterization itself: f_std(theta') = f_raw(P theta')
    raw, std = make_normalized_model(data, "raw"), make_normalized_model(data, "standardize")
    P = bn_preconditioner(*input_statistics(data.X))
    t = np.random.default_rng(0).standard_normal(raw.dim)
    assert float(std.value(t)) == pytest.approx(float(raw.value(P @ t)), rel=1e-12)
    np.testing.assert_allclose(std.grad(t), P.T @ raw.grad(P @ t), rtol=1e-11, atol=1e-13)


def test_models_are_problems_that_run_trains(data):
    m = make_normalized_model(data, "batchnorm", hidden=(4,))
    rule = rules.make("adam", lr=0.01)
    tr = run(rule, m, steps=20, batch=2, record=[0, 20], x0=m.default_x0())
    assert tr.metrics["f"].shape == (2, 2) and np.all(np.isfinite(tr.metrics["f"]))
    assert tr.metrics["f"][0, 0] == pytest.approx(float(m.value(m.default_x0())), rel=1e-12)
    tm = run(rule, m, steps=5, record=[5], metrics=C.tracking_metrics(rule, m))
    assert np.isfinite(tm.metrics["precond_spread"]).all()


def test_array_api_strict_backend(data):
    xps = pytest.importorskip("array_api_strict")
    ds = make_regression_data(40, 3, mean=[1.0, -2.0, 0.5], scale=[1.0, 3.0, 0.3], correlation=0.2, teacher="tanh",
                              seed=3, xp=xps)
    for variant in ("batchnorm", "layernorm", "weightnorm"):
        a, b = make_normalized_model(data, variant, hidden=(4,)), make_normalized_model(ds, variant, hidden=(4,))
        x = point(a)
        xs = xps.asarray(x)
        np.testing.assert_allclose(to_numpy(b.grad(xs)), a.grad(x), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(to_numpy(b.hvp(xs, xs)), a.hvp(x, x), rtol=1e-10, atol=1e-14)


def test_data_moments_and_table():
    d = make_regression_data(50, 4, mean=2.0, scale=[1.0, 2.0, 3.0, 4.0], correlation=0.3, exact_moments=True)
    X = np.asarray(d.X)
    R = 0.7 * np.eye(4) + 0.3
    np.testing.assert_allclose(X.mean(axis=0), 2.0, atol=1e-12)
    np.testing.assert_allclose(np.cov(X.T, bias=True), np.outer(d.scale, d.scale) * R, rtol=1e-10)
    rows = conditioning_by_variant(d, hidden=(3,), variants=("raw", "standardize", "batchnorm"))
    assert [r["variant"] for r in rows] == ["raw", "standardize", "batchnorm"]
    assert rows[2]["n_symmetries"] == 3 and np.isfinite(rows[2]["kappa_quotient"])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda d: make_normalized_model(d, "layernorm"), "hidden layer"),
        (lambda d: make_normalized_model(d, "groupnorm"), "variant"),
        (lambda d: make_normalized_model(d, "raw", hidden=(2, 2, 2)), "hidden"),
        (lambda d: make_normalized_model(np.ones((3, 2)), "raw"), "RegressionData"),
        (lambda d: make_normalized_model(d, "raw").grad(np.ones(3)), "shape"),
        (lambda d: make_regression_data(10, 3, scale=[1.0, 0.0, 1.0]), "scale"),
        (lambda d: make_regression_data(10, 3, correlation=-0.9), "correlation"),
        (lambda d: make_regression_data(3, 3, exact_moments=True), "n_samples > dim"),
        (lambda d: bn_preconditioner(np.zeros(2), np.array([1.0, 0.0])), "std"),
    ],
)
def test_bad_input(data, call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call(data)


def test_experiment_e06_smoke():
    """The conditioning experiment's tables (moved from experiments/e06_conditioning.py into
    precond_theory.experiments.conditioning), on a tiny grid."""
    import copy

    from precond_theory.experiments import conditioning as e06

    cfg = copy.deepcopy(e06.FULL)
    cfg["normalization"].update(n_samples=40, dim=3, width=3, means=[0.0, 2.0], scale_max=[1.0], depths=[0, 1])
    cfg["tracking"].update(dim=4, steps=10, seeds=2, scalings=["jacobi", "optimal"],
                           seed_methods={}, rules={"adam": {"lr": 0.1}})
    cfg["tracking"]["least_squares"].update(n_samples=20)
    norm = e06.normalization_table(cfg)
    raw0 = norm[(norm.variant == "raw") & (norm.depth == 0)].sort_values("mean")
    np.testing.assert_allclose(raw0.kappa, raw0.kappa_closed_form, rtol=1e-9)  # exact moments
    track, refs = e06.tracking_table(cfg)
    assert set(track.problem) == {"quadratic_axis", "quadratic_rotated", "least_squares"}
    assert set(refs.scaling) == {"none", "jacobi", "optimal"}

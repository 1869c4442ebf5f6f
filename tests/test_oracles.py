r"""Oracles: each one's noise has the law it claims, checked statistically with fixed seeds.

Every statistical check is a two-sided test at false-alarm rate ALPHA = 1e-3 (Bonferroni-split
when one test makes several checks): a correct oracle fails it for about one seed in a
thousand, and the seeds are fixed, so the tests are deterministic.

* mean: :math:`N\bar\xi^\top\Sigma^{-1}\bar\xi \sim \chi^2_n` under the claimed covariance Σ;
* second moment: CLT z-test of the sample mean of :math:`\|\xi\|^2` against
  ``oracle.noise_variance`` (valid when the fourth moment exists);
* heavy tails: binomial z-test of :math:`P(|\xi_i| > t)` against the exact tail function.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from precond_theory import oracles, rules
from precond_theory._xp import Rng, to_numpy
from precond_theory.oracles import Exact, GaussianNoise, HeavyTailedNoise, Minibatch, MultiplicativeNoise
from precond_theory.problems import make, make_quadratic
from precond_theory.run import run

ALPHA = 1e-3
N = 20000  # draws per statistical check (one batched call)


def draws(oracle, problem, y, n_draws=N, seed=0, k=0):
    """Noise xi = g - grad f(y) for n_draws independent runs at the same point: shape (n_draws, n)."""
    Y = np.broadcast_to(y, (n_draws, problem.dim))
    _, g = oracle.sample(problem, Y, k, Rng(seed, np), False)
    return g - problem.grad(Y)


def assert_mean_zero(xi, cov, alpha=ALPHA):
    m = xi.mean(axis=0)
    stat = xi.shape[0] * m @ np.linalg.solve(cov, m)
    assert stat < stats.chi2.ppf(1 - alpha, xi.shape[1]), stat


def assert_second_moment(xi, claimed, alpha=ALPHA):
    sq = np.sum(xi * xi, axis=-1)
    z = (sq.mean() - claimed) / (sq.std(ddof=1) / math.sqrt(sq.size))
    assert abs(z) < stats.norm.ppf(1 - alpha / 2), (sq.mean(), claimed, z)


@pytest.fixture(scope="module")
def lsq():
    return make("least_squares", n_samples=30, dim=4, mean=0.3, scale=[1.0, 2.0, 0.5, 1.0], corr=0.4, seed=2)


def point(problem):
    return np.random.default_rng(9).standard_normal(problem.dim)


def test_exact_oracle_returns_the_problem_value_and_gradient(lsq):
    y = np.stack([point(lsq), 2 * point(lsq)])
    v, g = Exact().sample(lsq, y, 0, Rng(0, np), True)
    np.testing.assert_array_equal(g, lsq.grad(y))
    np.testing.assert_array_equal(v, lsq.value(y))
    reddi = make("reddi_periodic", C=3.0)
    assert Exact().sample(reddi, np.zeros((2, 1)), 1, Rng(0, np), False)[1][0, 0] == -1.0


@pytest.mark.parametrize("scope", ["total", "coordinate"])
def test_gaussian_noise_has_the_stated_mean_and_variance(lsq, scope):
    o = GaussianNoise(variance=2.5, scope=scope)
    xi = draws(o, lsq, point(lsq))
    per = 2.5 / lsq.dim if scope == "total" else 2.5
    assert_mean_zero(xi, per * np.eye(lsq.dim), ALPHA / 2)
    claimed = float(o.noise_variance(lsq, point(lsq)[None])[0])
    assert claimed == pytest.approx(2.5 if scope == "total" else 2.5 * lsq.dim)
    assert_second_moment(xi, claimed, ALPHA / 2)


@pytest.mark.parametrize("law", ["student_t", "pareto"])
def test_heavy_tailed_noise_with_finite_fourth_moment_has_the_stated_variance(lsq, law):
    o = HeavyTailedNoise(tail_index=6.0, variance=2.0, law=law)
    xi = draws(o, lsq, point(lsq), seed=1)
    assert_mean_zero(xi, 2.0 / lsq.dim * np.eye(lsq.dim), ALPHA / 2)
    assert_second_moment(xi, float(o.noise_variance(lsq, point(lsq)[None])[0]), ALPHA / 2)


@pytest.mark.parametrize("law", ["student_t", "pareto"])
def test_heavy_tailed_noise_has_the_stated_tail(lsq, law):
    """Tail index 1.5: no variance; P(|xi_i| > t) matches the exact tail at three levels."""
    o = HeavyTailedNoise(tail_index=1.5, scale=2.0, law=law)
    assert math.isinf(float(o.noise_variance(lsq, point(lsq)[None])[0]))
    xi = draws(o, lsq, point(lsq), seed=2).ravel()
    for t in (1.0, 5.0, 25.0):
        p = o.tail_probability(t, lsq.dim)
        z = (np.mean(np.abs(xi) > t) - p) / math.sqrt(p * (1 - p) / xi.size)
        assert abs(z) < stats.norm.ppf(1 - ALPHA / 6), (t, p, z)


def test_multiplicative_noise_scales_with_the_gradient(lsq):
    y = point(lsq)
    gy = lsq.grad(y)
    o = MultiplicativeNoise(variance=0.3)
    xi = draws(o, lsq, y, seed=3)
    assert_mean_zero(xi, 0.3 * np.diag(gy * gy), ALPHA / 2)
    claimed = float(o.noise_variance(lsq, y[None])[0])
    assert claimed == pytest.approx(0.3 * gy @ gy)
    assert_second_moment(xi, claimed, ALPHA / 2)
    # scalar scope: the noise is parallel to the gradient, N(0, v ||g||^2) along it
    xs = draws(MultiplicativeNoise(variance=0.3, scope="scalar"), lsq, y, seed=4)
    along = xs @ gy / np.linalg.norm(gy)
    np.testing.assert_allclose(xs, np.outer(along, gy / np.linalg.norm(gy)), atol=1e-12)
    assert_mean_zero(along[:, None], np.array([[0.3 * gy @ gy]]), ALPHA / 2)
    assert_second_moment(xs, claimed, ALPHA / 2)
    # interpolation: no noise at the minimiser
    q = make_quadratic(5, 10.0)
    Y = np.broadcast_to(q.x_star, (10, 5))
    for scope in ("coordinate", "scalar"):
        assert np.all(MultiplicativeNoise(variance=4.0, scope=scope).sample(q, Y, 0, Rng(0, np), False)[1] == 0)


@pytest.mark.parametrize("replacement", [True, False])
def test_minibatch_gradients_are_unbiased_with_the_stated_covariance(lsq, replacement):
    y = point(lsq)
    B, m = 5, lsq.n_samples
    o = Minibatch(batch_size=B, replacement=replacement)
    G = lsq.per_sample_grads(y, np.arange(m))
    D = G - G.mean(axis=0)
    fpc = 1.0 if replacement else (m - B) / (m - 1)
    cov = D.T @ D / m / B * fpc
    xi = draws(o, lsq, y, seed=5)
    assert_mean_zero(xi, cov, ALPHA / 3)
    claimed = float(o.noise_variance(lsq, y[None])[0])
    assert claimed == pytest.approx(np.trace(cov))
    assert_second_moment(xi, claimed, ALPHA / 3)
    v, _ = o.sample(lsq, np.broadcast_to(y, (N, lsq.dim)), 0, Rng(6, np), True)  # minibatch loss: unbiased
    z = (v.mean() - lsq.value(y)) / (v.std(ddof=1) / math.sqrt(N))
    assert abs(z) < stats.norm.ppf(1 - ALPHA / 6)


def test_minibatch_without_replacement_draws_distinct_indices(lsq):
    idx = Minibatch(batch_size=7, replacement=False).indices(lsq, (200,), Rng(0, np))
    assert idx.shape == (200, 7) and all(len(set(row)) == 7 for row in idx.tolist())
    full = Minibatch(batch_size=lsq.n_samples, replacement=False)
    y = np.stack([point(lsq)] * 3)
    np.testing.assert_allclose(full.sample(lsq, y, 0, Rng(0, np), False)[1], lsq.grad(y), rtol=1e-12, atol=1e-14)
    assert float(full.noise_variance(lsq, y)[0]) == 0.0


@pytest.mark.parametrize("case", ["logistic_regression", "nonconvex_regression", "phase_retrieval", "two_layer_net"])
def test_every_finite_sum_averages_its_per_sample_terms(case):
    p = make(case)
    y = np.asarray(p.default_x0()) + 0.1 * np.random.default_rng(3).standard_normal((2, p.dim))
    idx = np.broadcast_to(np.arange(p.n_samples), (2, p.n_samples))
    np.testing.assert_allclose(p.grad_samples(y, idx), p.grad(y), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(p.value_samples(y, idx), p.value(y), rtol=1e-12)
    np.testing.assert_allclose(p.per_sample_grads(y, idx).mean(axis=-2), p.grad(y), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("oracle", [GaussianNoise(variance=1.0), HeavyTailedNoise(tail_index=3.0, variance=1.0),
                                    HeavyTailedNoise(tail_index=2.5, scale=1.0, law="pareto"),
                                    MultiplicativeNoise(variance=0.5), Minibatch(batch_size=3),
                                    Minibatch(batch_size=3, replacement=False)], ids=lambda o: o.name)
def test_oracles_are_backend_independent_batched_and_reproducible(oracle, lsq):
    xps = pytest.importorskip("array_api_strict")
    strict = make("least_squares", n_samples=30, dim=4, mean=0.3, scale=[1.0, 2.0, 0.5, 1.0], corr=0.4, seed=2, xp=xps)
    y = np.broadcast_to(point(lsq), (6, 4))
    _, g_np = oracle.sample(lsq, y, 0, Rng(3, np), False)
    v, g_st = oracle.sample(strict, xps.asarray(y), 0, Rng(3, xps), True)
    assert g_st.shape == (6, 4) and g_st.dtype == xps.float64 and v.shape == (6,)
    np.testing.assert_allclose(to_numpy(g_st), g_np, rtol=1e-12, atol=1e-14)  # same host stream on both
    np.testing.assert_array_equal(oracle.sample(lsq, y, 0, Rng(3, np), False)[1], g_np)  # reproducible
    assert len({tuple(r) for r in np.round(g_np, 12).tolist()}) == 6  # batch members get independent noise


def test_noise_keeps_the_problem_dtype():
    xps = pytest.importorskip("array_api_strict")
    q = make_quadratic(3, 10.0, xp=xps, dtype="float32")
    for o in (GaussianNoise(), HeavyTailedNoise(tail_index=3.0, variance=1.0), MultiplicativeNoise()):
        assert o.sample(q, q.default_x0(), 0, Rng(0, xps), False)[1].dtype == xps.float32


def test_bound_oracle_counts_calls_and_is_seeded(lsq):
    a, b = GaussianNoise(variance=1.0).bind(lsq, seed=4), GaussianNoise(variance=1.0).bind(lsq, seed=4)
    y = point(lsq)
    g1 = [a.grad(y) for _ in range(3)]
    v, g2 = b.value_and_grad(y)
    assert a.calls == 3 and b.calls == 1
    np.testing.assert_array_equal(g1[0], g2)
    assert not np.array_equal(g1[0], g1[1]) and v == pytest.approx(lsq.value(y))
    r = Exact().bind(make("reddi_periodic", C=3.0))
    assert [float(r.grad(np.zeros(1))[0]) for _ in range(4)] == [3.0, -1.0, -1.0, 3.0]  # k defaults to calls so far


def test_run_uses_the_oracles_reproducibly():
    q = make_quadratic(4, 10.0)
    sgd = rules.make("sgd", lr=0.05)
    t1 = run(sgd, q, steps=50, batch=(8,), oracle=GaussianNoise(variance=0.1), seed=7, record=[50])
    t2 = run(sgd, q, steps=50, batch=(8,), oracle=GaussianNoise(variance=0.1), seed=7, record=[50])
    np.testing.assert_array_equal(t1.x_final, t2.x_final)
    assert len({tuple(r) for r in t1.x_final.tolist()}) == 8
    assert t1.meta["oracle"]["name"] == "gaussian" and t1.meta["oracle"]["params"]["variance"] == 0.1
    ls = make("least_squares", n_samples=40, dim=3)
    tr = run(sgd, ls, steps=2000, batch=(4,), oracle=Minibatch(batch_size=4), record=[2000])
    assert np.all(tr.metrics["f_gap"][-1] < 0.05)  # SGD with a constant step reaches a noise ball


@pytest.mark.parametrize("build, field", [
    (lambda: GaussianNoise(variance=-1.0), "variance"),
    (lambda: MultiplicativeNoise(variance=-0.1), "variance"),
    (lambda: HeavyTailedNoise(tail_index=3.0, variance=-1.0), "variance"),
    (lambda: HeavyTailedNoise(tail_index=2.0, variance=1.0), "tail_index"),
    (lambda: HeavyTailedNoise(tail_index=3.0), "scale"),
    (lambda: HeavyTailedNoise(tail_index=0.0, scale=1.0), "tail_index"),
    (lambda: HeavyTailedNoise(tail_index=3.0, scale=1.0, law="cauchy"), "law"),
    (lambda: GaussianNoise(scope="per_run"), "scope"),
    (lambda: Minibatch(batch_size=0), "batch_size"),
    (lambda: oracles.make("no_such_oracle"), "gaussian"),
])
def test_bad_oracle_input_raises_value_error_naming_the_field(build, field):
    with pytest.raises(ValueError, match=field):
        build()


def test_minibatch_needs_a_finite_sum(lsq):
    with pytest.raises(TypeError, match="n_samples"):
        Minibatch(batch_size=2).sample(make_quadratic(3), np.zeros(3), 0, Rng(0, np), False)
    with pytest.raises(ValueError, match="batch_size"):
        Minibatch(batch_size=31, replacement=False).sample(lsq, np.zeros(4), 0, Rng(0, np), False)
    assert set(oracles.available()) == {"exact", "gaussian", "heavy_tailed", "multiplicative", "minibatch"}

"""Seeds that are seeds: distinct starts and oracle streams per run, recorded, and run i of a
batch equal to the single run with seed i."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from precond_theory import _xp, oracles, rules, run
from precond_theory.problems import make, make_quadratic

M64 = 2**64


def splitmix64_reference(state: int, i: int) -> int:
    """Word i of splitmix64 from state (Steele, Lea, Flood 2014), in Python integers."""
    z = (state + (i + 1) * 0x9E3779B97F4A7C15) % M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % M64
    return z ^ (z >> 31)


def test_splitmix64_matches_the_reference_implementation():
    keys = np.array([[0], [1], [2**63 + 12345]], dtype=np.uint64)
    idx = np.arange(5, dtype=np.uint64)
    got = _xp.splitmix64(np, keys, idx)
    want = [[splitmix64_reference(int(k), i) for i in range(5)] for k in keys[:, 0]]
    assert got.tolist() == want
    # a known value of the published generator: seed 0 -> first output 0xE220A8397B1DCDAF
    assert int(_xp.splitmix64(np, np.array([0], dtype=np.uint64), np.array([0], dtype=np.uint64))[0]) == \
        0xE220A8397B1DCDAF


def test_rng_per_run_seeds_equal_single_seed_draws_on_every_host_backend():
    xs = pytest.importorskip("array_api_strict")
    seeds = np.array([[3, 11], [5, 0]])
    for method, args in (("normal", ()), ("uniform", ()), ("rademacher", ()), ("student_t", (4.0,))):
        shape = (2, 2, 7)
        batch = getattr(_xp.Rng(seeds, np), method)(*args, shape) if method != "student_t" else \
            _xp.Rng(seeds, np).student_t(4.0, shape)
        strict = _xp.Rng(seeds, xs)
        strict_draw = strict.student_t(4.0, shape) if method == "student_t" else getattr(strict, method)(shape)
        np.testing.assert_array_equal(batch, _xp.to_numpy(strict_draw))
        for i in range(2):
            for j in range(2):
                one = _xp.Rng(int(seeds[i, j]), np)
                single = one.student_t(4.0, (7,)) if method == "student_t" else getattr(one, method)((7,))
                np.testing.assert_array_equal(batch[i, j], single)
    # successive draws and the "start" family are different numbers
    r = _xp.Rng(3, np)
    a, b = r.normal((5,)), r.normal((5,))
    assert not np.array_equal(a, b)
    assert not np.array_equal(_xp.Rng(3, np, stream="start").normal((5,)), _xp.Rng(3, np).normal((5,)))
    with pytest.raises(ValueError, match="leading axes"):
        _xp.Rng(seeds, np).normal((3, 7))


@pytest.mark.parametrize("bad, exc", [(-1, ValueError), (1.5, TypeError), (True, TypeError), ("0", TypeError),
                                      (np.array([0, -2]), ValueError), (2**63, ValueError)])
def test_bad_seeds_are_refused_naming_seed(bad, exc):
    p = make_quadratic(3, 10.0)
    with pytest.raises(exc, match="seed"):
        run(rules.make("sgd", lr=0.01), p, steps=2, seed=bad)


def test_batch_runs_start_from_their_seeds_and_record_them():
    p = make_quadratic(4, 10.0, seed=1)
    tr = run(rules.make("sgd", lr=0.05), p, steps=20, batch=4, seed=7, keep_iterates=True, record=[0, 20])
    np.testing.assert_array_equal(tr.meta["seeds"], [7, 8, 9, 10])
    np.testing.assert_array_equal(tr.iterates[0], p.sample_x0(np.arange(7, 11)))
    assert len({tuple(x) for x in tr.iterates[0]}) == 4  # distinct starts: a spread in the results
    assert np.ptp(tr.metrics["f_gap"][-1]) > 0
    df = tr.to_frame()
    np.testing.assert_array_equal(df.loc[df.stop_val == 20, "seed"].to_numpy(), [7, 8, 9, 10])
    assert tr.meta["x0"] == "sample_x0"
    # seeds in C order of a 2-d batch, and an explicit seed array
    tr2 = run(rules.make("sgd", lr=np.array([0.01, 0.02]).reshape(2, 1, 1)), p, steps=3, batch=(2, 3), seed=100)
    np.testing.assert_array_equal(tr2.meta["seeds"], np.arange(100, 106).reshape(2, 3))
    tr3 = run(rules.make("sgd", lr=0.05), p, steps=20, seed=np.array([9, 7]), record=[0, 20])
    assert tr3.batch_shape == (2,)
    np.testing.assert_array_equal(tr3.metrics["f"][:, 0], tr.metrics["f"][:, 2])
    np.testing.assert_array_equal(tr3.metrics["f"][:, 1], tr.metrics["f"][:, 0])


def test_explicit_x0_gives_every_run_that_start():
    p = make_quadratic(4, 10.0, seed=1)
    x0 = p.default_x0()
    tr = run(rules.make("sgd", lr=0.05), p, steps=10, batch=3, x0=x0, keep_iterates=True)
    assert np.all(tr.iterates[0] == x0) and tr.meta["x0"] == "given"
    assert np.ptp(tr.x_final, axis=0).max() == 0  # exact oracle: only the streams differ, and nothing uses them


@pytest.mark.parametrize("oracle", [oracles.GaussianNoise(variance=0.5), oracles.HeavyTailedNoise(tail_index=3.0,
                                    variance=0.5), oracles.MultiplicativeNoise(variance=0.3, scope="scalar")])
def test_member_i_of_a_batch_equals_the_single_run_with_seed_i(oracle):
    """Bitwise on NumPy: Styblinski-Tang's arithmetic is elementwise, the same per run."""
    p = make("styblinski_tang", dim=3)
    rule = rules.make("adam", lr=0.05)
    batch = run(rule, p, steps=50, batch=(2, 2), seed=4, oracle=oracle, record="all", keep_iterates=True)
    for i, s in enumerate(range(4, 8)):
        single = run(rule, p, steps=50, seed=s, oracle=oracle, record="all", keep_iterates=True)
        np.testing.assert_array_equal(batch.iterates.reshape(51, 4, 3)[:, i], single.iterates)
        np.testing.assert_array_equal(batch.metric("f")[:, i], single.metrics["f"])


def test_minibatch_streams_are_per_run_too():
    p = make("least_squares", n_samples=20, dim=3, seed=0)
    rule = rules.make("sgd", lr=0.05)
    o = oracles.Minibatch(batch_size=4, replacement=False)
    batch = run(rule, p, steps=30, batch=3, seed=10, oracle=o, x0=p.default_x0(), record=[30])
    runs = [run(rule, p, steps=30, seed=s, oracle=o, x0=p.default_x0(), record=[30]).x_final for s in (10, 11, 12)]
    np.testing.assert_allclose(batch.x_final, np.stack(runs), rtol=1e-13, atol=1e-15)  # batched matmul: round-off
    assert np.ptp(batch.x_final, axis=0).max() > 1e-6


def test_fixed_start_problems_keep_their_start():
    for name, kw in (("reddi_periodic", {}), ("lessard_piecewise", {"dim": 2}), ("nesterov_worst_case", {"dim": 5}),
                     ("gd_worst_case", {})):
        p = make(name, **kw)
        assert p.fixed_start
        np.testing.assert_array_equal(p.sample_x0(np.arange(3)), np.broadcast_to(p.default_x0(), (3, p.dim)))


def test_start_distribution_is_the_documented_gaussian():
    """x0 = default + 0.1 r z / sqrt(n), r = |default - x*|: chi-square test of the scaled draws."""
    p = make_quadratic(5, 10.0, seed=3)
    N = 4000
    x = np.asarray(p.sample_x0(np.arange(N)))
    r = np.linalg.norm(np.asarray(p.default_x0()) - np.asarray(p.x_star))
    z = (x - np.asarray(p.default_x0())) / (0.1 * r / np.sqrt(5))
    stat = float(np.sum(z * z))  # chi2 with N*5 degrees of freedom
    lo, hi = stats.chi2.ppf([5e-4, 1 - 5e-4], N * 5)
    assert lo < stat < hi
    m = z.mean(axis=0)
    assert N * float(m @ m) < stats.chi2.ppf(1 - 1e-3, 5)
    # a wrong scale is rejected by the same check
    assert not lo < float(np.sum((1.1 * z) ** 2)) < hi

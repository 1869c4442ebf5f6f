"""Compiled segments (run(kernel="numba")) against the compiled step and the reference loop.

The segment path replaces, between record points, the Python loop (oracle, update, norm,
running minimum, divergence scan) by one compiled call.  Its update is the compiled step's
kernel with the same coefficients, so on a problem whose gradient both paths compute alike
the traces are equal bit for bit; the compiled step itself is <= 4 ulp per step from the
reference (tests/test_fast.py).  The gradient: on axis-aligned quadratics every product but one
is an exact zero, so every summation order gives the same gradient; on rotated ones the
segment sums over j in order, checked against a NumPy re-implementation of that order, or
(large shared A) takes NumPy's own product.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba", reason="numba (the 'fast' extra) is not installed: compiled segments are not available")

from test_fast import MAX_ULP, batched, option_grid, ulps  # noqa: E402

from precond_theory import oracles, rules, run  # noqa: E402
from precond_theory.fast import _plans, _segment_kernels, _segments  # noqa: E402
from precond_theory.problems import from_functions, make_quadratic  # noqa: E402
from precond_theory.problems.quadratic import Quadratic  # noqa: E402

SEGMENT_RULES = sorted((c for c in _plans.PLANS if c in _plans.QUERY_AT_X and _plans.PLANS[c].kid in
                        _segment_kernels.DRIVERS), key=lambda c: c.name)
LR = {"sgd": 0.02, "heavy_ball": 0.02, "ravine": 0.02, "adagrad": 0.1, "rmsprop": 0.01, "adam": 0.05,
      "amsgrad": 0.05, "adamw": 0.05, "nadam": 0.05, "lion": 0.01, "signsgd": 0.01, "rprop": 0.01, "adarem": 0.05}


def axis_aligned(dtype, batched_problem=False):
    """Diagonal A: each gradient entry is one product plus exact zeros, the same in every order."""
    kappa = [10.0, 30.0, 100.0] if batched_problem else 30.0
    return make_quadratic(5, kappa, rotate=False, dtype=dtype, seed=3)


def assert_same_trace(a, b, *, exact=True, extra=True):
    assert a.meta["oracle_calls"] == b.meta["oracle_calls"]
    if extra:
        assert a.meta["extra_evaluations"] == b.meta["extra_evaluations"]
    assert sorted(a.metrics) == sorted(b.metrics)
    np.testing.assert_array_equal(a.status, b.status)
    np.testing.assert_array_equal(a.status_step, b.status_step)
    for name in a.metrics:
        assert np.array_equal(a.metrics[name], b.metrics[name], equal_nan=True), name
    assert np.array_equal(a.x_final, b.x_final, equal_nan=True)


def pair(rule, problem, **kw):
    seg = run(rule, problem, kernel="numba", **kw)
    step = run(rule, problem, kernel="numba-step", **kw)
    assert seg.meta["kernel"] == "numba-segment" and seg.meta["kernel_fallback"] is None
    assert step.meta["kernel"] == "numba-step"
    return seg, step


# ---------------------------------------------------------------------------- the pieces
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_norm_is_numpys_pairwise_sum(dtype):
    rng = np.random.default_rng(0)
    sequential_differs = 0
    for n in [*range(1, 140), 255, 256, 257, 1000, 4097]:
        g = (rng.standard_normal((3, n)) * rng.uniform(0.1, 1e3, (3, n))).astype(dtype)
        sq = np.empty(n, dtype)
        got = np.array([_segment_kernels.pairwise_sum_sq(g[r], sq, dtype(0)) for r in range(3)])
        np.testing.assert_array_equal(got, np.sum(g * g, axis=-1))
        seq = np.zeros(3, dtype)
        for i in range(n):
            seq = seq + g[:, i] * g[:, i]
        sequential_differs += int(not np.array_equal(seq, got))
    assert sequential_differs > 50  # the check can tell summation orders apart


def sequential_grad(A, x_star, x):
    """(x - x*) A summed over j in order, in NumPy: the order the segment kernel uses."""
    r = x - x_star
    acc = r[..., 0:1] * A[..., 0, :]
    for j in range(1, r.shape[-1]):
        acc = acc + r[..., j:j + 1] * A[..., j, :]
    return acc


class SequentialQuadratic(Quadratic):
    """The same quadratic with the gradient summed in the segment kernel's order (an independent
    NumPy implementation; a subclass, so runs on it take the compiled step, not the segments)."""

    def grad(self, x):
        return sequential_grad(self.A, self.x_star, x)


def sequential(q):
    return SequentialQuadratic(A=q.A, x_star=q.x_star, eigs=q.eigs, f_star=q.f_star, params=q.params)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradient_sums_in_order(dtype):
    for q in (make_quadratic(7, 50.0, dtype=dtype), make_quadratic(6, [5.0, 50.0], seed=[1, 2], dtype=dtype)):
        x = np.random.default_rng(1).standard_normal((*q.batch_shape, q.dim)).astype(dtype)
        seg = _segments.Segment(rules.SGD(lr=0.1), q, x, min_grad_norm=None, every_step_scan=False, steps=1)
        assert not seg.gemm
        got = seg.grad(x)
        np.testing.assert_array_equal(got, sequential_grad(q.A, q.x_star, x))
        blas = q.grad(x)  # another order: equal within the rounding bound 2 gamma_n |A| |x - x*|
        bound = 2 * q.dim * np.finfo(dtype).eps * (np.abs(x - q.x_star)[..., None, :] @ np.abs(q.A))[..., 0, :]
        assert np.all(np.abs(got - blas) <= bound)


def test_table_cache_gives_the_computed_table():
    x = np.zeros((2, 3))
    for rule in (rules.NAdam(lr=0.1), rules.Adam(lr=0.1), rules.make("ravine", lr=0.1, schedule="fista")):
        plan = _plans.PLANS[type(rule)](rule, x)
        sc = plan.scalars(rule.init(x))
        T, M, after = plan._compute_table(0, 1300, sc)
        for k0, L in ((0, 5), (3, 600), (510, 700), (1024, 3)):
            t, m, a = plan.table(k0, L, after[k0 - 1] if k0 else sc)
            np.testing.assert_array_equal(t, T[k0:k0 + L])
            np.testing.assert_array_equal(m, M[k0:k0 + L])
            assert a == after[k0:k0 + L]
        wrong = plan.table(3, 4, (0.5,) if sc else sc)  # another scalar state is not served from the cache
        if sc:
            assert wrong[2][-1] != after[6]


# ------------------------------------------------------------------ segments == compiled step
@pytest.mark.filterwarnings("ignore::precond_theory.trace.DivergenceWarning")  # some options blow up: equal too
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls", SEGMENT_RULES, ids=lambda c: c.name)
def test_segments_equal_compiled_step_every_option(cls, dtype):
    """Bit for bit, every option (of the rules with a segment driver: SEGMENT_RULES), scalar and per-run hyperparameters, a single and a batched problem."""
    grid = option_grid(cls)
    single, batch3 = axis_aligned(dtype), axis_aligned(dtype, batched_problem=True)
    for kw in grid:
        kw = dict(kw, lr=LR[cls.name])
        for args, problem in ((kw, single), (batched(cls, kw), single), (batched(cls, kw), batch3)):
            seg, step = pair(cls(**args), problem, steps=40, record="log", seed=4)
            assert_same_trace(seg, step)


@pytest.mark.parametrize("min_grad_norm", ["every_step", "record_points", "off"])
@pytest.mark.parametrize("divergence", ["every_step", "record_points"])
def test_segments_equal_compiled_step_every_mode(min_grad_norm, divergence):
    p = axis_aligned(np.float64, batched_problem=True)
    for rule in (rules.Adam(lr=0.05), rules.SGD(lr=0.02, momentum=0.9)):
        seg, step = pair(rule, p, steps=130, record=[0, 3, 50, 130], min_grad_norm=min_grad_norm,
                         divergence=divergence, keep_iterates=True, metrics={"x0": lambda x, s, r, q: x[..., 0]})
        assert_same_trace(seg, step)
        np.testing.assert_array_equal(seg.iterates, step.iterates)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_segments_on_rotated_quadratics(dtype):
    """Dense A: in-kernel sums against the compiled step on the same problem with the gradient
    summed in that order in NumPy; large shared A: NumPy's own product, the reference's."""
    small, batched_q = make_quadratic(6, 100.0, dtype=dtype), make_quadratic(5, [10.0, 100.0], seed=[1, 2], dtype=dtype)
    for q in (small, batched_q):
        for rule in (rules.Adam(lr=0.05), rules.make("rmsprop", lr=0.01), rules.SGD(lr=0.01, momentum=0.5)):
            seg = run(rule, q, kernel="numba", steps=60, seed=2)
            ref = run(rule, sequential(q), kernel="numba-step", steps=60, seed=2)
            assert seg.meta["kernel"] == "numba-segment" and ref.meta["kernel"] == "numba-step"
            assert_same_trace(seg, ref)
    big = make_quadratic(64, 100.0, dtype=dtype)
    assert _segments.host_gemm(big, 8)
    seg, step = pair(rules.Adam(lr=0.05), big, steps=30, batch=8)
    assert_same_trace(seg, step)


def test_chunks_and_divergence_inside_a_segment(monkeypatch):
    monkeypatch.setattr(_segments, "CHUNK", 7)
    p = axis_aligned(np.float64, batched_problem=True)
    lr = np.array([[0.01], [1e3], [0.01]])  # run 1 diverges between record points
    with pytest.warns(Warning):
        seg, step = pair(rules.SGD(lr=lr), p, steps=200, record=[0, 100, 200])
    assert_same_trace(seg, step)
    assert seg.status.tolist() == ["ok", "non_finite", "ok"] and 0 < seg.status_step[1] < 100
    zero = make_quadratic(3, 10.0, rotate=False)  # started at the minimiser with eps = 0: 0/0
    with pytest.warns(Warning):
        seg, step = pair(rules.Adam(lr=0.1, eps=0.0), zero, steps=20, x0=np.asarray(zero.x_star))
    assert_same_trace(seg, step)
    assert seg.status.tolist() == "zero_division"


@pytest.mark.parametrize("host_product", [False, True], ids=["in-kernel-gradient", "numpy-product"])
def test_zero_division_and_divergence_in_one_batch(host_product, monkeypatch):
    """One gradient buffer: a run that turns NaN is classified with the gradient of the update
    that made it (kept before the next gradient overwrites the buffer), mid-segment, while the
    other runs go on.  Run 0 starts at the minimiser with eps = 0 (0/0 at step 0: had the
    classification seen the next gradient, NaN there, it would say non_finite), run 2 has a
    decoupled decay with |1 - lr wd| = 999, so its gradient overflows at a step inside the
    second segment; the statuses and every metric equal the compiled step's, whose loop keeps
    each gradient as the reference loop does.  Record points at 0 and 1 make the 0/0 end a
    segment of one update."""
    if host_product:  # 3 runs x 64^2 multiply-adds: below the BLAS threshold, lowered for this test
        monkeypatch.setattr(_segments, "GEMM_MIN_FLOPS", 1)
    q = make_quadratic(64, 100.0) if host_product else make_quadratic(5, 30.0, rotate=False, seed=3)
    assert _segments.host_gemm(q, 3) is host_product
    x0 = np.stack([np.asarray(q.x_star), np.asarray(q.default_x0()), np.asarray(q.default_x0())])
    rule = rules.make("adamw", lr=0.05, wd=np.array([[0.0], [0.0], [2e4]]), eps=0.0)
    for record in ([0, 60, 120], [0, 1, 60, 120]):
        with pytest.warns(Warning):
            seg, step = pair(rule, q, steps=120, record=record, x0=x0)
        assert_same_trace(seg, step)
        assert seg.status.tolist() == ["zero_division", "ok", "non_finite"]
        assert seg.status_step[0] == 1 and 1 < seg.status_step[2] < 60


# ------------------------------------------------------------------ against the reference loop
@pytest.mark.parametrize("cls", SEGMENT_RULES, ids=lambda c: c.name)
def test_segments_track_the_reference(cls):
    """Every recorded metric within 4 ulp per step of the reference's (relative), 50 steps."""
    steps = 50
    p = axis_aligned(np.float64, batched_problem=True)
    rule = cls(lr=LR[cls.name] / (5 if cls.name in ("adarem", "ravine") else 1))  # stable on all three
    seg = run(rule, p, kernel="numba", steps=steps, record="all")
    ref = run(rule, p, kernel="reference", steps=steps, record="all")
    assert ref.meta["kernel"] == "reference"
    tol = MAX_ULP * steps * np.finfo(np.float64).eps
    for name, a in seg.metrics.items():
        b = ref.metrics[name]
        scale = np.maximum(np.abs(b), np.finfo(np.float64).tiny)
        assert np.all((np.abs(a - b) <= tol * scale) | (np.isnan(a) & np.isnan(b))), name
    assert ulps(seg.x_final, ref.x_final) <= MAX_ULP * steps


def test_a_wrong_coefficient_is_caught():
    """The comparison is not vacuous: a segment run of another rule constant differs."""
    p = axis_aligned(np.float64, batched_problem=True)
    a = run(rules.Adam(lr=0.05), p, kernel="numba", steps=40)
    b = run(rules.Adam(lr=0.05, b2=0.998), p, kernel="numba-step", steps=40)
    assert not np.array_equal(a.metrics["f"], b.metrics["f"])


# ------------------------------------------------------------------ the path taken, refusals
def test_the_segment_path_is_taken(monkeypatch):
    """Neither the rule's reference step nor the compiled step runs: only segments."""
    p = make_quadratic(5, 10.0)
    rule = rules.Adam(lr=0.05)
    ref = run(rule, p, kernel="numba-step", steps=300)

    def boom(*a, **k):
        raise AssertionError("stepped outside the segments")

    monkeypatch.setattr(rules.Adam, "_step", boom)
    monkeypatch.setattr(_plans.AdamPlan, "step", boom)
    calls = []
    real = _segment_kernels.DRIVERS[_plans.AdamPlan.kid]
    monkeypatch.setitem(_segment_kernels.DRIVERS, _plans.AdamPlan.kid, lambda *a: calls.append(1) or real(*a))
    for kernel in ("numba", "auto"):
        tr = run(rule, p, kernel=kernel, steps=300)
        assert tr.meta["kernel"] == "numba-segment" and tr.meta["kernel_fallback"] is None
    assert len(calls) == 2 * (len(tr.steps) - 1)  # one compiled call per segment (record points "log")
    assert tr.meta["oracle_calls"] == ref.meta["oracle_calls"]


@pytest.mark.parametrize("case, match", [
    ("oracle", "oracle 'gaussian"), ("problem", "no compiled gradient"), ("rule", "queries the oracle away from x"),
    ("wrapped", "no compiled step"), ("no driver", "has a compiled update but no compiled segment"),
])
def test_kernel_numba_refuses_what_segments_cannot_take(case, match):
    p = make_quadratic(4, 10.0)
    rule, kw = rules.Adam(lr=0.05), {}
    if case == "oracle":
        kw["oracle"] = oracles.GaussianNoise(variance=0.1)
    elif case == "problem":
        p = from_functions(value=lambda x: 0.5 * np.sum(x * x, axis=-1), grad=lambda x: x * 1.0, dim=4)
    elif case == "rule":
        rule = rules.Nesterov(lr=0.05)
    elif case == "wrapped":
        rule = rules.with_schedule(rule, "cosine", total_steps=10)
    else:
        rule = rules.make("adapgradm", lr=0.05)
    with pytest.raises(ValueError, match="kernel='numba'") as err:
        run(rule, p, steps=5, kernel="numba", **kw)
    assert match in str(err.value)
    auto = run(rule, p, steps=5, kernel="auto", **kw)
    assert auto.meta["kernel"] != "numba-segment" and auto.meta["kernel_fallback"]

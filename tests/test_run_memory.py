"""What a run holds in memory (tracemalloc counts NumPy's allocations exactly; nothing is timed).

* per-run sums at record points run on slices of runs and give the numbers of the whole-array
  expression bit for bit;
* nothing from the start outlives the first update (x_0 on the reference path, the initial
  state on every path);
* compiled segments of a large batch hold x, the state and slices of runs (the gradient
  too); the preconditioner's range is computed on
  slices of the rule and its state, with the numbers of the whole batch, for every rule that
  has one; draws on slices are the draws made at once.
"""

from __future__ import annotations

import dataclasses
import tracemalloc
import weakref

import numpy as np
import pytest

from precond_theory import _xp, rules, run
from precond_theory._loop import memory
from precond_theory.problems import make_quadratic
from precond_theory.rules import adaptive

SHAPES = [(7, 3), (9, 8), (5, 129), (33, 1000), (4, 6, 130), (3, 2, 5)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_row_sum_in_slices_is_the_whole_sum(shape, dtype, monkeypatch):
    rng = np.random.default_rng(len(shape) * 1000 + shape[-1])
    x = (rng.standard_normal(shape) * 10 ** rng.uniform(-3, 3, shape)).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    per_coordinate = rng.standard_normal(shape[-1]).astype(dtype)
    per_run = rng.standard_normal((shape[0],) + (1,) * (len(shape) - 2) + shape[-1:]).astype(dtype)
    rows = []

    def weighted(a, b, c):
        rows.append(a.shape[0])
        return (a - b) * c

    row_bytes = x.itemsize * int(np.prod(shape[1:]))
    monkeypatch.setattr(_xp, "SLICE_BYTES", 2 * row_bytes)  # two runs a slice
    for x_star in (per_coordinate, per_run):
        rows.clear()
        got = memory.row_sum(np, weighted, x, x_star, g)
        want = np.sum((x - x_star) * g, axis=-1)
        assert got.dtype == want.dtype and got.shape == want.shape
        assert np.array_equal(got, want)  # bit for bit
        assert rows == [2] * (shape[0] // 2) + [1] * (shape[0] % 2)  # in slices of two runs
    monkeypatch.setattr(_xp, "SLICE_BYTES", x.nbytes)  # not larger than a slice: one call
    rows.clear()
    assert np.array_equal(memory.row_sum(np, weighted, x, per_run, g), np.sum((x - per_run) * g, axis=-1))
    assert rows == [shape[0]]


@pytest.mark.parametrize("seed_shape, shape", [((7,), (7, 5)), ((4, 3), (4, 3, 9)), ((), (6, 11)), ((), (5, 2, 3))],
                         ids=["runs", "runs-2d", "one-run", "one-run-3d"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_draws_in_slices_are_the_whole_draws(seed_shape, shape, dtype, monkeypatch):
    """Normal, uniform, Rademacher and Student-t draws (rejection rounds per slice) made on
    slices of rows (a run's key, or a single run's positions) equal the draws made at once bit
    for bit, and the next draw too (the generator's call counter moves once per draw either
    way)."""
    seeds = np.arange(int(np.prod(seed_shape, dtype=np.int64))).reshape(seed_shape) + 11 if seed_shape else 11

    def draws():
        rng = _xp.Rng(seeds, np, dtype, stream="oracle")
        return [rng.normal(shape), rng.uniform(shape, -2.0, 3.0), rng.rademacher(shape), rng.student_t(3.0, shape),
                rng.student_t(0.5, shape), rng.normal(shape)]

    monkeypatch.setattr(_xp, "SLICE_BYTES", 1 << 30)
    whole = draws()
    row = 8 * int(np.prod(shape[1:]))
    monkeypatch.setattr(_xp, "SLICE_BYTES", 2 * row)
    assert len(_xp.row_slices(shape, 8)) == -(-shape[0] // 2)
    for a, b in zip(draws(), whole):
        assert a.dtype == b.dtype == dtype and a.shape == b.shape
        assert np.array_equal(a, b)


@pytest.mark.parametrize("kernel", ["reference", "numba-step", "numba"])
def test_nothing_from_the_start_outlives_the_first_update(kernel, monkeypatch):
    """Passed to the loop as arguments, x_0 and the initial state stayed referenced by run()
    for the whole run: one or two arrays of the iterate's size for nothing."""
    if kernel != "reference":
        pytest.importorskip("numba", reason="numba (the 'fast' extra) is not installed")
    q = make_quadratic(50, 10.0, seed=0)
    initial, start, seen = [], [], []
    init = adaptive.Adam.init

    def recording_init(self, x):
        state = init(self, x)
        if x.ndim == 2:  # the run's state (run() also sizes its memory estimate on one run)
            initial.append(weakref.ref(state.m))
        return state

    def probe(x, state, rule, problem):
        if state.k == 0:
            start.append(weakref.ref(x))
        else:
            seen.append((initial[-1]() is None, start[-1]() is None))
        return 0.0

    monkeypatch.setattr(adaptive.Adam, "init", recording_init)
    tr = run(rules.Adam(lr=np.array([[0.01], [0.02]])), q, steps=10, record=[0, 5, 10], kernel=kernel,
             metrics={"probe": probe})
    assert tr.meta["kernel"].startswith(kernel)
    assert len(initial) == 1 and len(seen) == 2
    assert all(state_freed for state_freed, _ in seen)
    if kernel == "reference":  # the compiled paths update x_0 in place: it is x
        assert all(x0_freed for _, x0_freed in seen)


def peak_arrays(fn, nbytes):
    """Peak of the memory traced while fn() runs, in arrays of ``nbytes``."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return (peak - base) / nbytes


def test_segments_hold_the_state_and_slices(monkeypatch):
    """Adam on a quadratic whose gradient is NumPy's product (R n^2 above the BLAS threshold),
    R = 512, n = 256, float64 (arrays of 1 MiB; slices of 32 KiB, a 32nd).  Allowed: x, m, v (3),
    the recorded metrics, and 16 slices (the slice's gradient and x - x*, a slice's temporaries
    at a record point or in the draw of the start, the coefficient table, caches): 3.59 arrays
    here; measured 3.44-3.48.
    The segments step slice by slice, and Adam's initial zeros become m (v is the one copy).
    Before: with the gradient and the scratch array of the batch's size, 5.4; with two gradient
    buffers, the initial state held by run() and temporaries of x's size at record points, 11.3."""
    pytest.importorskip("numba", reason="numba (the 'fast' extra) is not installed")
    from precond_theory.fast import _segments

    R, n = 512, 256
    q = make_quadratic(n, 100.0, seed=0)
    assert _segments.host_gemm(q, R)
    rule = rules.Adam(lr=np.geomspace(1e-4, 1e-1, R)[:, None])
    monkeypatch.setattr(_xp, "SLICE_BYTES", 1 << 15)
    kw = {"steps": 40, "record": [0, 20, 40]}
    tr = run(rule, q, **kw)  # compile (and fill caches) outside the measurement
    peak = peak_arrays(lambda: run(rule, q, **kw), R * n * 8)
    assert tr.meta["kernel"] == "numba-segment"
    metrics = sum(v.nbytes for v in tr.metrics.values()) / (R * n * 8)
    assert peak <= 3 + metrics + 16 / 32, (peak, metrics)


PRECONDITIONED = [n for n in rules.available() if rules.make(n).has_preconditioner]


@pytest.mark.parametrize("name", PRECONDITIONED)
def test_preconditioner_range_in_slices_is_the_whole_range(name, monkeypatch):
    """precond_min/max/spread of 5 runs with per-run learning rates, computed on slices of two
    runs (the rule and its state cut into runs) and on the whole batch: equal bit for bit, and
    the slices really are what the rule's preconditioner was called on."""
    base = rules.make(name)
    rule = dataclasses.replace(base, lr=np.array([[0.25], [0.5], [1.0], [2.0], [4.0]]) * base.lr)
    q = make_quadratic(6, 10.0, rotate=False, seed=1)  # axis-aligned: the same gradient on slices
    whole = run(rule, q, steps=6, record="all", kernel="reference")
    rows = []
    method = type(rule).preconditioner

    def spy(self, state):
        rows.append({int(a.shape[0]) for a in state if isinstance(a, np.ndarray) and a.ndim == 2})
        return method(self, state)

    monkeypatch.setattr(type(rule), "preconditioner", spy)
    monkeypatch.setattr(_xp, "SLICE_BYTES", 2 * 6 * 8)  # two runs a slice
    sliced = run(rule, q, steps=6, record="all", kernel="reference")
    for metric in ("precond_min", "precond_max", "precond_spread"):
        assert np.array_equal(sliced.metrics[metric], whole.metrics[metric], equal_nan=True), metric
    assert rows and all(r <= {1, 2} for r in rows), rows  # slices of 2, 2 and 1 runs, never the 5


def test_rules_that_cannot_be_cut_into_runs_use_the_whole_batch(monkeypatch):
    """A schedule (a callable), a projection box of shape (n,) or a rule class defined outside
    the project is not cut (runs_of refuses what it cannot slice with certainty): the range is
    computed on the whole batch; a weight-decay wrapper is cut.  Either way the numbers equal the
    unsliced run's."""
    q = make_quadratic(6, 10.0, rotate=False, seed=1)  # axis-aligned: the same gradient on slices
    adam = rules.Adam(lr=np.array([[0.01], [0.02], [0.04], [0.08], [0.16]]))
    class MyAdam(rules.Adam):  # a rule class of the user's: its arrays are not known to be per run
        pass

    cases = {"schedule": (rules.with_schedule(adam, "cosine", total_steps=6), {5}),
             "user_class": (MyAdam(lr=adam.lr), {5}),
             "projection": (rules.with_projection(adam, box=(-np.ones(6), np.ones(6))), {5}),
             "weight_decay": (rules.with_weight_decay(adam, 0.1), {1, 2})}
    method = rules.Adam.preconditioner
    for label, (rule, expected_rows) in cases.items():
        monkeypatch.setattr(_xp, "SLICE_BYTES", 1 << 30)
        whole = run(rule, q, steps=6, record="all", kernel="reference")
        rows = set()

        def spy(self, state, rows=rows):
            rows.update(int(a.shape[0]) for a in state if isinstance(a, np.ndarray) and a.ndim == 2)
            return method(self, state)

        monkeypatch.setattr(rules.Adam, "preconditioner", spy)
        monkeypatch.setattr(_xp, "SLICE_BYTES", 2 * 6 * 8)
        sliced = run(rule, q, steps=6, record="all", kernel="reference")
        monkeypatch.setattr(rules.Adam, "preconditioner", method)
        for metric in ("precond_min", "precond_max", "precond_spread"):
            assert np.array_equal(sliced.metrics[metric], whole.metrics[metric], equal_nan=True), (label, metric)
        assert rows == expected_rows, (label, rows)


@pytest.mark.parametrize("kernel", ["numba", "numba-step"])
@pytest.mark.parametrize("name", ["adam", "adagrad"])
def test_per_run_coefficient_tables_are_held_to_a_slice(name, kernel, monkeypatch):
    """With per-run hyperparameters a compiled path's coefficient table has ``len(krows) * R``
    numbers per step; it is computed a few steps at a time, at most SLICE_BYTES (before: 4,096
    steps at once on the segment path, 1.27 GB for 10^4 Adam runs, against 3.8 MiB for x at
    n = 50; 256 steps on the compiled-step path).  The run's numbers are the same bit for bit
    whatever the tables' length."""
    pytest.importorskip("numba", reason="numba (the 'fast' extra) is not installed")
    from precond_theory.fast import _plan_base

    R, steps = 300, 700
    q = make_quadratic(4, 30.0, rotate=False, seed=1)  # axis-aligned: the same gradient on slices
    rule = rules.make(name, lr=np.geomspace(1e-3, 1e-1, R)[:, None])
    args = {"steps": steps, "record": [0, 100, steps], "kernel": kernel}
    whole = run(rule, q, **args)
    sizes: list[int] = []
    compute = _plan_base.Plan._compute_table

    def spy(self, k0, L, sc):
        out = compute(self, k0, L, sc)
        sizes.append(out[0].nbytes)
        return out

    monkeypatch.setattr(_plan_base.Plan, "_compute_table", spy)
    cap = 1 << 13
    monkeypatch.setattr(_xp, "SLICE_BYTES", cap)
    part = run(rule, q, **args)
    assert part.meta["kernel"] == whole.meta["kernel"] == ("numba-segment" if kernel == "numba" else kernel)
    assert sizes and max(sizes) <= cap, (max(sizes), cap)
    for m in whole.metrics:
        assert np.array_equal(whole.metrics[m], part.metrics[m], equal_nan=True), m
    assert np.array_equal(whole.x_final, part.x_final)

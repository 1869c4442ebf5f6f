"""Sliced compiled segments: a large batch whose gradient is NumPy's product with a shared A.

Above :data:`precond_theory._xp.SLICE_BYTES` the segments step slice by slice of runs
(gradient, norm, update, scan), classify a run that turns non-finite on its slice with the
health code's rules, and hold one slice's gradient; ``Quadratic.grad`` multiplies the same
slices, so every path gives the same numbers.  Here the slices are made small (a few runs) and
the traces are compared with the compiled step's bit for bit: statuses, status steps, every
metric, iterates and the final x; only ``extra_evaluations`` differ (the gradient at a record
point is computed again by the next segment: counted).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba", reason="numba (the 'fast' extra) is not installed: compiled segments are not available")

from test_fast_segments import LR, SEGMENT_RULES, assert_same_trace  # noqa: E402

from precond_theory import _xp, rules, run  # noqa: E402
from precond_theory.fast import _plans, _segments  # noqa: E402
from precond_theory.problems import make_quadratic  # noqa: E402

N = 32


@pytest.fixture
def sliced(monkeypatch):
    """Slices of 8 runs of n = 32 (float64); returns the list of sliced segment calls."""
    calls: list[int] = []
    orig = _segments.Segment._advance_sliced

    def spy(self, *args, **kw):
        calls.append(len(self.slices))
        return orig(self, *args, **kw)

    monkeypatch.setattr(_segments.Segment, "_advance_sliced", spy)
    monkeypatch.setattr(_xp, "SLICE_BYTES", 8 * N * 8)
    return calls


def pair(rule, problem, **kw):
    seg = run(rule, problem, kernel="numba", **kw)
    step = run(rule, problem, kernel="numba-step", **kw)
    assert seg.meta["kernel"] == "numba-segment" and step.meta["kernel"] == "numba-step"
    assert seg.meta["extra_evaluations"]["grad"] >= step.meta["extra_evaluations"]["grad"]
    return seg, step


@pytest.mark.filterwarnings("ignore::precond_theory.trace.DivergenceWarning")
@pytest.mark.parametrize("batch", [(40,), (5, 8)], ids=["runs", "grid"])
@pytest.mark.parametrize("cls", SEGMENT_RULES, ids=lambda c: c.name)
def test_sliced_segments_equal_compiled_step(cls, batch, sliced):
    """Per-run learning rates (some large enough to diverge), a flat batch of 40 runs (5 slices)
    and a 5 x 8 grid (slices along its first axis, as Quadratic.grad cuts x)."""
    q = make_quadratic(N, 100.0, seed=0)
    R = int(np.prod(batch))
    assert _segments.host_gemm(q, R)
    lr = (LR[cls.name] * np.geomspace(0.1, 30.0, R)).reshape(*batch, 1)
    for record in ("log", [0, 7, 60]):
        seg, step = pair(cls(lr=lr), q, steps=60, record=record, seed=3)
        assert_same_trace(seg, step, extra=False)
    assert sliced and min(sliced) == 5


@pytest.mark.parametrize("min_grad_norm", ["every_step", "record_points", "off"])
@pytest.mark.parametrize("divergence", ["every_step", "record_points"])
def test_sliced_segments_every_mode(min_grad_norm, divergence, sliced):
    q = make_quadratic(N, 100.0, seed=1)
    lr = np.geomspace(1e-3, 1e-1, 40)[:, None]
    for rule in (rules.Adam(lr=lr), rules.SGD(lr=lr * 0.2, momentum=0.9)):
        seg, step = pair(rule, q, steps=90, record=[0, 3, 50, 90], min_grad_norm=min_grad_norm,
                         divergence=divergence, keep_iterates=True, metrics={"x0": lambda x, s, r, p: x[..., 0]})
        assert_same_trace(seg, step, extra=False)
        np.testing.assert_array_equal(seg.iterates, step.iterates)
    assert sliced


@pytest.mark.parametrize("record", [[0, 60, 120], [0, 1, 60, 120]])
def test_sliced_zero_division_and_divergence(record, sliced):
    """A 0/0 at step 1 (run 0, started at the minimiser with eps = 0) and an overflow (run 17,
    decoupled decay with |1 - lr wd| = 999) in different slices, classified on their slice
    while the other runs go on: the compiled step's statuses, steps and metrics."""
    q = make_quadratic(N, 100.0, seed=2)
    x0 = np.broadcast_to(np.asarray(q.default_x0()), (40, N)).copy()
    x0[0] = np.asarray(q.x_star)
    wd = np.zeros((40, 1))
    wd[17] = 2e4
    rule = rules.make("adamw", lr=0.05, wd=wd, eps=0.0)
    with pytest.warns(Warning):
        seg, step = pair(rule, q, steps=120, record=record, x0=x0)
    assert_same_trace(seg, step, extra=False)
    status = ["ok"] * 40
    status[0], status[17] = "zero_division", "non_finite"
    assert seg.status.tolist() == status
    assert seg.status_step[0] == 1 and 1 < seg.status_step[17] < 60
    assert sliced


def test_sliced_products_are_the_gradient_of_every_path(monkeypatch):
    """Quadratic.grad and .value of a large batch take one product per slice of runs, the ones
    the segments take; the numbers are within round-off of the whole-batch product."""
    q = make_quadratic(N, 100.0, seed=0)
    x = np.random.default_rng(0).standard_normal((50, N))
    monkeypatch.setattr(_xp, "SLICE_BYTES", 8 * N * 8)
    r = x - np.asarray(q.x_star)
    A = np.asarray(q.A)
    by_slice = np.concatenate([r[i:i + 8] @ A for i in range(0, 50, 8)])
    assert np.array_equal(q.grad(x), by_slice)
    v = 0.5 * np.concatenate([np.sum(r[i:i + 8] * by_slice[i:i + 8], axis=-1) for i in range(0, 50, 8)]) + q.f_star
    assert np.array_equal(q.value(x), v)
    np.testing.assert_allclose(q.grad(x), r @ A, rtol=0, atol=1e-12 * np.abs(r).max() * np.abs(A).sum(0).max())


def test_take_moves_the_initial_state_once():
    """Plan.take: Adam's zeros (both m and v) become m's buffer and v gets a copy; x itself
    (heavy ball's x_prev = x) and arrays that do not own their memory are copied; afterwards the
    buffers are found again, not copied."""
    x = np.random.default_rng(0).standard_normal((6, 4))
    plan = _plans.PLANS[rules.Adam](rules.Adam(), x)
    state = rules.Adam().init(x)
    (m, _), (v, _), _ = plan.take(state)
    assert m is state.m and v is not state.v and not np.shares_memory(m, v)
    new = plan.rebuild(state, 0, plan.scalars(state), plan.buffers(state._replace(v=v)))
    (m2, _), (v2, _), _ = plan.buffers(new)
    assert m2 is m and v2 is v
    hb = _plans.PLANS[rules.HeavyBall](rules.HeavyBall(lr=0.1), x)
    (xp_buf, _), *_ = hb.take(rules.HeavyBall(lr=0.1).init(x))
    assert xp_buf is not x and not np.shares_memory(xp_buf, x)
    view = np.zeros((12, 4))[::2]
    sgd = rules.SGD(lr=0.1, momentum=0.5)
    (b, _), *_ = _plans.PLANS[rules.SGD](sgd, x).take(sgd.init(x)._replace(b=view))
    assert b is not view

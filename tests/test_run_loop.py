"""The loop's shape: per-step cost options, progress, the compiled-step hook, memory."""

from __future__ import annotations

import sys
import tracemalloc
import types

import numpy as np
import pytest

import precond_theory
from precond_theory import oracles, rules, run
from precond_theory.problems import from_functions, make_quadratic


def quad():
    return make_quadratic(4, 10.0, seed=5)


def test_min_grad_norm_modes_and_their_cost():
    p = quad()
    rule = rules.make("heavy_ball", lr=0.15, momentum=0.9)
    rec = [0, 7, 20, 60]
    full = run(rule, p, steps=60, record="all")
    every = run(rule, p, steps=60, record=rec)
    pts = run(rule, p, steps=60, record=rec, min_grad_norm="record_points")
    off = run(rule, p, steps=60, record=rec, min_grad_norm="off")
    np.testing.assert_array_equal(every.metrics["min_grad_norm_sq"], np.minimum.accumulate(
        full.metrics["grad_norm_sq"])[rec])
    np.testing.assert_array_equal(pts.metrics["min_grad_norm_sq"], np.minimum.accumulate(pts.metrics["grad_norm_sq"]))
    assert not np.array_equal(pts.metrics["min_grad_norm_sq"], every.metrics["min_grad_norm_sq"])
    assert "min_grad_norm_sq" not in off.metrics and off.meta["min_grad_norm"] == "off"
    # exact oracle, query at x: the oracle's gradient is reused; f is evaluated at record points only
    # (the gradient at the last point, where no oracle call is made, is the one extra)
    assert every.meta["extra_evaluations"] == {"grad": 1, "value": len(rec)}
    noisy = run(rule, p, steps=60, record=rec, oracle=oracles.GaussianNoise(variance=0.1))
    assert noisy.meta["extra_evaluations"]["grad"] == 61  # one exact gradient per step (and at the end)
    lean = run(rule, p, steps=60, record=rec, oracle=oracles.GaussianNoise(variance=0.1), min_grad_norm="off")
    assert lean.meta["extra_evaluations"]["grad"] == len(rec)
    np.testing.assert_array_equal(lean.metrics["f"], noisy.metrics["f"])  # same run, cheaper bookkeeping


def test_progress_is_called_at_record_points():
    seen = []
    run(rules.make("sgd", lr=0.01), quad(), steps=30, record=10, progress=lambda k, n: seen.append((k, n)))
    assert seen == [(0, 30), (10, 30), (20, 30), (30, 30)]
    seen.clear()
    run(rules.make("sgd", lr=0.01), quad(), steps=30, record=[5], progress=lambda k, n: seen.append((k, n)))
    assert seen == [(5, 30), (30, 30)]


class _FakeCompiled:
    """Compiled-step stand-in: SGD, x <- x - lr g in place."""

    name = "fake"

    def __init__(self, lr):
        self.lr, self.calls = lr, 0

    def __call__(self, x, g, state, k, value=None):
        self.calls += 1
        x -= self.lr * g
        return state


def _install_fast(monkeypatch, compile_step):
    fake = types.ModuleType("precond_theory.fast")
    fake.compile_step = compile_step
    monkeypatch.setitem(sys.modules, "precond_theory.fast", fake)
    monkeypatch.setattr(precond_theory, "fast", fake, raising=False)


def test_compiled_step_hook_is_used_and_recorded(monkeypatch):
    p = quad()
    rule = rules.make("sgd", lr=0.05)
    made = []

    def compile_step(rule, x, state, *, kernel):
        assert x.flags.writeable and kernel in ("auto", "numba")  # "numba-step" asks for kernel="numba"
        made.append(_FakeCompiled(rule.lr))
        return made[-1]

    _install_fast(monkeypatch, compile_step)
    ref = run(rule, p, steps=40, kernel="reference", record="all", keep_iterates=True)
    assert ref.meta["kernel"] == "reference" and not made
    fast = run(rule, p, steps=40, kernel="auto", record="all", keep_iterates=True)
    assert fast.meta["kernel"] == "fake" and made[-1].calls == 40
    np.testing.assert_array_equal(fast.iterates, ref.iterates)  # recorded copies, not views of the mutated x
    assert run(rule, p, steps=3, kernel="numba-step").meta["kernel"] == "fake"
    with pytest.raises(ValueError, match="kernel='numba' compiles every step.*no compiled segments"):
        run(rule, p, steps=3, kernel="numba")  # this fake module has compiled steps only
    assert "no compiled segment" in fast.meta["kernel_fallback"]
    # "auto" only offers NumPy float arrays
    xs = pytest.importorskip("array_api_strict")
    n_made = len(made)
    assert run(rule, make_quadratic(4, 10.0, seed=5, xp=xs), steps=3).meta["kernel"] == "reference"
    assert len(made) == n_made


def test_kernel_numba_requires_the_compiled_step(monkeypatch):
    p = quad()
    _install_fast(monkeypatch, lambda rule, x, state, *, kernel: None)
    assert run(rules.make("sgd"), p, steps=3).meta["kernel"] == "reference"
    with pytest.raises(ValueError, match="kernel='numba-step': no compiled step"):
        run(rules.make("sgd"), p, steps=3, kernel="numba-step")
    monkeypatch.setitem(sys.modules, "precond_theory.fast", None)  # not installed: import fails
    monkeypatch.delattr(precond_theory, "fast", raising=False)
    tr = run(rules.make("sgd"), p, steps=3)
    assert tr.meta["kernel"] == "reference" and "not available" in tr.meta["kernel_fallback"]
    for kernel in ("numba", "numba-step"):
        with pytest.raises(ValueError, match=f"kernel='{kernel}' needs precond_theory.fast"):
            run(rules.make("sgd"), p, steps=3, kernel=kernel)


def test_impossible_requests_are_refused_with_the_estimate():
    p = quad()
    with pytest.raises(ValueError, match=r"needs about .*GiB.* only .* available"):
        run(rules.make("adam"), p, steps=10, batch=(10**8,))
    big = from_functions(value=lambda x: 0.5 * np.sum(x * x, axis=-1), grad=lambda x: x, dim=10_000)
    with pytest.raises(ValueError, match=r"iterates .*GiB"):
        run(rules.make("sgd"), big, steps=10**6, record="all", keep_iterates=True)
    tr = run(rules.make("sgd"), p, steps=3)
    assert tr.meta["memory_estimate_bytes"] > 0


def test_record_all_memory_scales_with_the_data():
    """Recording every step grows the peak by the metric buffers (8 bytes a value), not by one
    small array object per value (about 100 bytes each)."""
    p = quad()
    run(rules.make("sgd", lr=0.01), p, steps=10, record="all")  # warm caches and imports

    def peak(steps):
        tracemalloc.start()
        tr = run(rules.make("sgd", lr=0.01), p, steps=steps, record="all")
        out = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return out, sum(v.nbytes for v in tr.metrics.values())

    (p1, d1), (p2, d2) = peak(400), peak(1200)
    assert d2 - d1 == 5 * 800 * 8  # f, f_gap, grad_norm_sq, min_grad_norm_sq, dist_sq
    assert p2 - p1 < 2 * (d2 - d1), (p1, p2, d1, d2)

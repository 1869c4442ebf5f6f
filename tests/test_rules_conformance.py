"""Conformance suite generated from the registry: every registered rule, every backend.

Checks, for each rule built with its defaults (``rules.make(name)``):
shape and dtype kept; inputs (x, g and every state array) never mutated — on the read-only
NumPy backend any in-place write raises; state finite; determinism; batch independence — a
``(K, n)`` batch equals K single runs bit for bit, also with batched hyperparameters.
The gradient field is elementwise (no matrix products), so bitwise equality is a fair demand.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from precond_theory import rules
from precond_theory._xp import array_namespace, to_numpy

N, K, STEPS = 5, 3, 6
D = np.array([1.0, 3.0, 0.5, 10.0, 2.0])
C = np.array([0.3, -1.0, 2.0, 0.1, -0.4])


def _field(xp, y):
    """Elementwise test objective f = sum(d (y-c)^2/2 + y^4/40): value, gradient, HVP."""
    d, c = xp.asarray(D, dtype=y.dtype), xp.asarray(C, dtype=y.dtype)
    value = xp.sum(0.5 * d * (y - c) ** 2 + 0.025 * y**4, axis=-1)
    grad = d * (y - c) + 0.1 * y**3
    return value, grad, (lambda v: (d + 0.3 * y**2) * v)


def _freeze(obj):
    """Mark every NumPy array in a (nested) state read-only."""
    if isinstance(obj, np.ndarray):
        obj.flags.writeable = False
    elif isinstance(obj, tuple):
        for o in obj:
            _freeze(o)
    return obj


def _trajectory(rule, xp, x0, steps=STEPS, freeze=False):
    x = x0
    state = rule.init(x)
    xs, dxs = [], []
    for _ in range(steps):
        if freeze:
            _freeze(state)
            _freeze(x)
        y = rule.query(x, state)
        value, g, hvp = _field(xp, y)
        if freeze:
            _freeze(g)
        dx, state = rule.update(g, state, x, value=value, hvp=hvp)
        dxs.append(dx)
        x = x + dx
        xs.append(x)
    return xs, dxs, state


def _state_arrays(state):
    out = []
    for v in state:
        if isinstance(v, tuple):
            out.extend(_state_arrays(v))
        elif hasattr(v, "shape") and hasattr(v, "dtype"):
            out.append(v)
    return out


def _x0(xp, shape, dtype):
    rng = np.random.default_rng(12345)
    return xp.asarray(rng.standard_normal(shape), dtype=dtype)


RULES = rules.available()


@pytest.mark.parametrize("name", RULES)
@pytest.mark.parametrize("dtype_name", ["float64", "float32"])
def test_shape_dtype_finite_and_pure(name, dtype_name, backend):
    bname, xp = backend
    dtype = getattr(xp, dtype_name)
    rule = rules.make(name)
    x0 = _x0(xp, (K, N), dtype)
    x0_copy = np.array(to_numpy(x0), copy=True)
    xs, dxs, state = _trajectory(rule, xp, x0, freeze=(bname == "numpy_readonly"))
    for dx in dxs:
        assert tuple(dx.shape) == (K, N)
        assert dx.dtype == x0.dtype
    assert np.array_equal(to_numpy(x0), x0_copy), "the input x was modified"
    for a in _state_arrays(state):
        assert bool(np.all(np.isfinite(to_numpy(a)))), f"non-finite state in {name}"
        if len(a.shape):
            assert np.broadcast_shapes(tuple(a.shape), (K, N)) == (K, N)
    assert bool(np.all(np.isfinite(to_numpy(xs[-1]))))


@pytest.mark.parametrize("name", RULES)
def test_update_does_not_mutate_state(name, xp):
    rule = rules.make(name)
    x = _x0(xp, (K, N), xp.float64)
    state = rule.init(x)
    _, g, hvp = _field(xp, x)
    state1 = rule.update(g, state, x, value=_field(xp, x)[0], hvp=hvp)[1]
    before = [np.array(to_numpy(a), copy=True) for a in _state_arrays(state1)]
    y = rule.query(x, state1)
    value, g, hvp = _field(xp, y)
    rule.update(g, state1, x, value=value, hvp=hvp)
    after = [to_numpy(a) for a in _state_arrays(state1)]
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(before, after))


@pytest.mark.parametrize("name", RULES)
def test_deterministic(name, xp):
    rule = rules.make(name)
    x0 = _x0(xp, (K, N), xp.float64)
    a, _, _ = _trajectory(rule, xp, x0)
    b, _, _ = _trajectory(rule, xp, x0)
    assert all(np.array_equal(to_numpy(u), to_numpy(v)) for u, v in zip(a, b))


@pytest.mark.parametrize("name", RULES)
def test_batch_equals_single_runs_bitwise(name, xp):
    rule = rules.make(name)
    x0 = _x0(xp, (K, N), xp.float64)
    batched, _, _ = _trajectory(rule, xp, x0)
    for i in range(K):
        single, _, _ = _trajectory(rule, xp, x0[i, :])
        for t, (u, v) in enumerate(zip(batched, single)):
            assert np.array_equal(to_numpy(u)[i], to_numpy(v)), f"{name}: run {i} differs at step {t}"


@pytest.mark.parametrize("name", RULES)
def test_batched_learning_rate_equals_single_runs(name, xp):
    base = rules.make(name)
    lrs = [0.5 * base.lr, base.lr, 2.0 * base.lr]
    rule = dataclasses.replace(base, lr=xp.asarray(np.asarray(lrs)[:, None]))
    x0 = _x0(xp, (N,), xp.float64)
    xb = xp.broadcast_to(x0, (K, N)) * 1
    batched, _, _ = _trajectory(rule, xp, xb)
    for i, lr in enumerate(lrs):
        single, _, _ = _trajectory(dataclasses.replace(base, lr=lr), xp, x0)
        for t, (u, v) in enumerate(zip(batched, single)):
            assert np.array_equal(to_numpy(u)[i], to_numpy(v)), f"{name}: lr={lr} differs at step {t}"


@pytest.mark.parametrize("name", RULES)
def test_class_metadata(name):
    cls = rules.get(name)
    assert cls.name == name
    assert cls.fidelity in ("exact", "concordant", "recon")
    assert cls.reference, f"{name} has no reference"
    assert cls.__doc__ and ".. math::" in cls.__doc__, f"{name} docstring lacks the update in math"
    assert isinstance(cls.needs_value, bool) or isinstance(getattr(cls, "needs_value"), property)
    x = np.zeros((2, 3))
    p = rules.make(name).preconditioner(rules.make(name).init(x))
    assert (p is not None) == bool(rules.make(name).has_preconditioner)


def test_array_namespace_resolves_for_every_backend(xp):
    x = xp.asarray([1.0, 2.0])
    assert array_namespace(x) is not None

"""Hyperparameter types (issue 14, part 2): one meaning for lists, clear errors for the rest.

A Python list or tuple given to ``rules.make`` is refused with the batch form
``np.array([...])[:, None]`` (in a TOML sweep a list *is* that batch axis; the sweep converts
it before calling ``make``).  Property tests (fixed budget) draw rules, fields, values of every
kind, iterate shapes and dtypes: the outcome is a ``TypeError``/``ValueError`` that names the
argument, or a few updates with well-formed (and, for moderate values, finite) results; never
an exception from inside NumPy.
"""

from __future__ import annotations

import dataclasses
import math
import typing

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from precond_theory import rules
from precond_theory.rules.base import _is_hyper

NAMES = rules.available()
HYPER = [(n, f.name) for n in NAMES for f in dataclasses.fields(rules.get(n))
         if _is_hyper(typing.get_type_hints(rules.get(n), include_extras=True)[f.name])]


@pytest.mark.parametrize("name, field", HYPER, ids=[f"{n}-{f}" for n, f in HYPER])
def test_python_lists_are_refused_with_the_batch_form(name, field):
    for value in ([0.1, 0.2], (0.1, 0.2), [[0.1], [0.2]]):
        with pytest.raises(TypeError, match=rf"{field}=.* is a Python (list|tuple).*{field}=np\.array\(.*\)\[:, None\]"):
            rules.make(name, **{field: value})


@pytest.mark.parametrize("value, kind, match", [
    ("0.1", TypeError, r"lr must be a real number .* got str '0.1'"),
    (1 + 2j, TypeError, r"lr must be real; got the complex number"),
    (np.array([[1j]]), TypeError, r"lr must be a real array .* complex128"),
    (True, TypeError, r"lr must be a real number .* got bool True"),
    (np.array([[True]]), TypeError, r"lr must be a real array .* bool"),
    (None, TypeError, r"lr must be a real number .* got NoneType"),
    (math.inf, ValueError, r"lr must be finite; got lr=inf"),
    (math.nan, ValueError, r"lr must be finite; got lr=nan"),
    (np.array([0.1, 0.2]), ValueError, r"lr has shape \(2,\).*trailing axis of size 1.*\[:, None\]"),
    (np.array([[0.1, 0.2]]), ValueError, r"lr has shape \(1, 2\)"),
    ({"lr": 0.1}, TypeError, r"lr must be a real number .* got dict"),
])
def test_bad_hyperparameter_types_name_the_field_and_the_allowed_form(value, kind, match):
    with pytest.raises(kind, match=match):
        rules.make("adam", lr=value)


def test_inf_only_where_it_means_something():
    rules.make("adapgradm", cap=math.inf)  # no cap
    rules.make("hadapgradm", switch="floor", final_lr=math.inf)  # never switch
    rules.make("hadapgradm", gamma=math.inf)  # SGD from the first step
    for name, field in (("adam", "eps"), ("sgd", "wd"), ("adapgradm", "h0"), ("hadapgradm", "cap"), ("adabound", "lr")):
        with pytest.raises(ValueError, match=rf"{field} must be"):
            rules.make(name, **{field: -math.inf if field == "cap" else math.inf})


def test_non_hyper_fields_are_typed_too():
    with pytest.raises(TypeError, match="warmup_steps must be an integer"):
        rules.make("apollo", warmup_steps=5.0)
    with pytest.raises(TypeError, match="a must be a real number"):
        rules.make("nesterov", a="3")
    with pytest.raises(ValueError, match="a must be finite"):
        rules.make("nesterov", a=math.inf)
    with pytest.raises(ValueError, match="schedule must be one of"):
        rules.make("nesterov", schedule=np.array(["convex"]))  # not NumPy's ambiguous truth value
    with pytest.raises(TypeError, match="amsgrad must be True or False"):
        rules.make("adam", amsgrad=np.array([True]))


def test_a_batch_is_an_array_with_a_trailing_axis():
    rule = rules.make("adam", lr=np.array([0.1, 0.01])[:, None])
    x = np.ones((2, 3))
    dx, _ = rule.update(x, rule.init(x), x)
    np.testing.assert_allclose(dx[:, 0], [-0.1, -0.01], rtol=1e-6)


# ------------------------------------------------------------------------------------ properties
FINITE = st.floats(min_value=0.05, max_value=0.5)  # moderate: a valid value of most fields
VALUES = st.one_of(
    FINITE.map(lambda v: ("moderate", v)),
    st.floats(allow_nan=True, allow_infinity=True, width=64).map(lambda v: ("float", v)),
    st.integers(-3, 10).map(lambda v: ("int", v)),
    st.booleans().map(lambda v: ("bool", v)),
    st.text(max_size=4).map(lambda v: ("str", v)),
    st.complex_numbers(max_magnitude=2, allow_nan=False).map(lambda v: ("complex", v)),
    st.lists(st.floats(0.05, 0.5), min_size=0, max_size=3).map(lambda v: ("list", v)),
    st.lists(st.lists(st.floats(0.05, 0.5), max_size=2), max_size=2).map(lambda v: ("nested", v)),
    st.tuples(FINITE, FINITE).map(lambda v: ("tuple", v)),
    st.just(None).map(lambda v: ("none", v)),
    st.sampled_from([(), (1,), (2,), (2, 1), (3, 1), (1, 1), (2, 2), (2, 3, 1)]).flatmap(
        lambda shape: st.sampled_from(["float64", "float32", "int64", "complex128", "bool"]).map(
            lambda dt: ("array", (np.full(shape, 0.2) if dt != "bool" else np.ones(shape)).astype(dt)))),
)


def _fields(name):
    cls = rules.get(name)
    return [f.name for f in dataclasses.fields(cls) if f.name not in ("source", "diag", "matrix")]


def _step_all(rule, x):
    state = rule.init(x)
    A = np.linspace(1.0, 3.0, x.shape[-1]).astype(x.dtype)
    for _ in range(3):
        y = rule.query(x, state)
        g = A * y
        dx, state = rule.update(g, state, x, value=np.sum(0.5 * A * y * y, axis=-1), hvp=lambda v: A * v)
        assert dx.shape == x.shape and dx.dtype == x.dtype
        x = x + dx
    return x


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_value_gives_a_named_error_or_a_well_formed_run(data):
    name = data.draw(st.sampled_from(NAMES), label="rule")
    field = data.draw(st.sampled_from(_fields(name)), label="field")
    kind, value = data.draw(VALUES, label="value")
    batch = data.draw(st.sampled_from([(), (2,), (3,)]), label="batch")
    n = data.draw(st.integers(1, 4), label="n")
    dtype = data.draw(st.sampled_from([np.float64, np.float32]), label="dtype")
    try:
        rule = rules.make(name, **{field: value})
    except (TypeError, ValueError) as err:
        assert field in str(err), f"{name}({field}={value!r}): the error does not name {field}: {err}"
        return
    assert kind not in ("list", "nested", "tuple", "str", "complex") or field == "blocks", (
        f"{name} accepted {field}={value!r}")
    x = (np.linspace(-1.0, 1.5, n) + np.zeros((*batch, 1))).astype(dtype)
    try:
        with np.errstate(all="ignore"):
            x_end = _step_all(rule, x)
    except (TypeError, ValueError) as err:
        msg = str(err)
        assert field in msg or "x " in msg or "blocks" in msg, f"{name}({field}={value!r}): unnamed error {err}"
        return
    if kind == "moderate":
        assert np.all(np.isfinite(x_end)), f"{name}({field}={value!r}) gave non-finite iterates"


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(NAMES), k=st.integers(1, 3), n=st.integers(1, 3),
       dtype=st.sampled_from([np.float64, np.float32]))
def test_a_batched_learning_rate_runs_and_keeps_shape_and_dtype(name, k, n, dtype):
    base = rules.make(name)
    lrs = np.asarray([base.lr * (1 + i) for i in range(k)])[:, None]
    rule = dataclasses.replace(base, lr=lrs)
    x = (np.linspace(0.5, 1.5, n) + np.zeros((k, 1))).astype(dtype)
    with np.errstate(all="ignore"):
        x_end = _step_all(rule, x)
    assert x_end.shape == (k, n) and x_end.dtype == dtype and np.all(np.isfinite(x_end))

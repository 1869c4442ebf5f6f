"""Bad input to rules: out-of-range hyperparameters, mismatched inputs, unknown names."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from precond_theory import rules

# field -> a value outside its allowed range, for every rule that has the field
INVALID = {
    "lr": -1e-3, "b1": 1.0, "b2": -0.1, "eps": -1e-8, "wd": -0.1, "momentum": -0.5,
    "dampening": 1.5, "alpha": 1.0, "lr_decay": -1.0, "initial_accumulator_value": -1.0,
    "momentum_decay": -1.0,
}
CASES = [(name, f.name) for name in rules.available() for f in dataclasses.fields(rules.get(name)) if f.name in INVALID]


@pytest.mark.parametrize(("name", "field"), CASES, ids=[f"{n}-{f}" for n, f in CASES])
def test_out_of_range_hyperparameter_names_field_and_value(name, field):
    bad = INVALID[field]
    with pytest.raises(ValueError, match=rf"{field}.*{bad!r}|{field}.*must lie in"):
        rules.make(name, **{field: bad})


@pytest.mark.parametrize("name", rules.available())
def test_nan_hyperparameter_rejected(name):
    with pytest.raises(ValueError, match="lr"):
        rules.make(name, lr=float("nan"))


def test_array_hyperparameter_checked_entrywise():
    with pytest.raises(ValueError, match=r"b2 must lie in \[0, 1\)"):
        rules.make("adam", b2=np.array([[0.9], [1.2]]))


def test_literal_and_bool_options_checked():
    with pytest.raises(ValueError, match="eps_placement must be one of"):
        rules.make("adam", eps_placement="middle")
    with pytest.raises(TypeError, match="nesterov must be True or False"):
        rules.make("sgd", nesterov=1)
    with pytest.raises(ValueError, match="momentum"):
        rules.make("sgd", nesterov=True, momentum=0.0)


def test_unknown_rule_lists_available():
    with pytest.raises(ValueError, match="unknown rule 'adamm'.*adam.*sgd"):
        rules.make("adamm")


def test_unknown_hyperparameter_lists_known():
    with pytest.raises(TypeError, match="has no hyperparameter.*'beta1'.*b1"):
        rules.make("adam", beta1=0.9)


def test_mismatched_shapes_dtypes_backends():
    import array_api_strict as xs

    rule = rules.make("adam")
    x = np.zeros((2, 3))
    state = rule.init(x)
    with pytest.raises(ValueError, match=r"g has shape \(2, 4\) but x has shape \(2, 3\)"):
        rule.update(np.zeros((2, 4)), state, x)
    with pytest.raises(TypeError, match="g has dtype float32 but x has dtype float64"):
        rule.update(np.zeros((2, 3), dtype=np.float32), state, x)
    with pytest.raises(TypeError, match="different backends"):
        rule.update(xs.zeros((2, 3), dtype=xs.float64), state, x)
    with pytest.raises(ValueError, match=r"state.m has shape \(5,\), incompatible with x of shape \(2, 3\)"):
        rule.update(np.zeros((2, 3)), rule.init(np.zeros(5)), x)
    with pytest.raises(TypeError, match="state.m lives on another backend"):
        rule.update(np.zeros((2, 3)), rule.init(xs.zeros((2, 3), dtype=xs.float64)), x)
    with pytest.raises(TypeError, match="state.m has dtype float32"):
        rule.update(np.zeros((2, 3)), rule.init(np.zeros((2, 3), dtype=np.float32)), x)


def test_batched_hyperparameter_shape_checked():
    with pytest.raises(ValueError, match=r"lr has shape \(2,\).*\(\*batch, 1\).*\[:, None\]"):
        rules.make("adam", lr=np.array([0.1, 0.2]))  # missing trailing axis: refused when built
    rule = rules.make("adam", lr=np.array([[0.1], [0.2], [0.3]]))  # a batch of 3 runs
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"lr has shape \(3, 1\).*\(\*batch, 1\) = \(2, 1\)"):
        rule.update(np.ones((2, 3)), rule.init(x), x)


@pytest.mark.parametrize("kwargs,match", [
    ({"schedule": "nope"}, "schedule must be one of"),
    ({"schedule": "step"}, "needs step_size"),
    ({"schedule": "cosine", "total_steps": 0}, "total_steps must be an integer >= 1"),
])
def test_schedule_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        rules.with_schedule(rules.make("sgd"), **kwargs)


def test_projection_and_decay_errors():
    with pytest.raises(ValueError, match="exactly one of box"):
        rules.with_projection(rules.make("sgd"))
    with pytest.raises(ValueError, match="lo <= hi"):
        rules.with_projection(rules.make("sgd"), box=(1.0, -1.0))
    with pytest.raises(ValueError, match="ball must lie in"):
        rules.with_projection(rules.make("sgd"), ball=0.0)
    with pytest.raises(ValueError, match="wd must lie in"):
        rules.with_weight_decay(rules.make("adam"), -1.0)
    with pytest.raises(TypeError, match="inner must be a rule"):
        rules.with_weight_decay("adam", 0.1)

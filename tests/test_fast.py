"""Compiled (numba) steps against the reference ``_step``: every covered rule and option, float32 and
float64, scalar and batched hyperparameters, <= 4 ulp per step over 100 steps."""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import typing
from typing import Any, Literal

import numpy as np
import pytest

pytest.importorskip("numba", reason="numba (the 'fast' extra) is not installed: compiled steps are not available")

from precond_theory import fast, rules  # noqa: E402
from precond_theory.fast import _plans  # noqa: E402
from precond_theory.problems import make_quadratic  # noqa: E402
from precond_theory.rules.base import hp  # noqa: E402

MAX_ULP = 4
STEPS = 100
R, N = 3, 5

#: numeric settings that switch code paths (crossed with every Literal/bool option of the rule)
NUMERIC = {
    "sgd": {"momentum": (0.0, 0.9), "dampening": (0.0, 0.3), "wd": (0.0, 0.05)},
    "adagrad": {"wd": (0.0, 0.05), "lr_decay": (0.0, 0.01), "initial_accumulator_value": (0.0, 0.1)},
    "rmsprop": {"wd": (0.0, 0.05), "momentum": (0.0, 0.5)},
    "adam": {"wd": (0.0, 0.05)}, "amsgrad": {"wd": (0.0, 0.05)}, "adamw": {"wd": (0.0, 0.05)},
    "nadam": {"wd": (0.0, 0.05)}, "lion": {"wd": (0.0, 0.05)}, "signsgd": {"momentum": (0.0, 0.5)},
    "rprop": {"step_max": (50.0, 0.05)}, "adarem": {"wd": (0.0, 0.05)},
    "adapgradm": {"power": (None, 0.5), "cap": (float("inf"), 0.7), "h0": (0.0, 2.0)},
    "hadapgradm": {"switch_at": (None, 30), "gamma": (0.0, 0.5), "delta": (None, 0.05)},
}
#: classes sharing Adam's plan: their option grid is Adam's (tested there); here only their defaults
FULL_GRID_ELSEWHERE = {"amsgrad", "adamw"}
#: a larger learning rate than the default so that 100 steps move the iterate
LR = {"sgd": 0.05, "heavy_ball": 0.05, "nesterov": 0.05, "ravine": 0.05, "adagrad": 0.1, "rmsprop": 0.01,
      "adam": 0.05, "amsgrad": 0.05, "adamw": 0.05, "nadam": 0.05, "lion": 0.01, "signsgd": 0.01, "rprop": 0.01,
      "adarem": 0.05, "adamrag": 0.05, "adapgradm": 0.05, "hadapgradm": 0.05,
      "soaa": 0.05}


#: SOAA's six options crossed would be 64+ runs of a slow reference: its loss, ratio and radius
#: options crossed, every other option varied one at a time
SOAA_GRID = [dict(loss_order=a, fisher_ratio=b, radius_rule=c, total_steps=60)
             for a in ("fold_then_ratio", "past_only") for b in ("ratio_of_sums", "sum_of_ratios")
             for c in ("soaa", "tadam")] + [
    dict(), dict(fisher_sums="per_block", blocks=(2, 3)), dict(fisher_sums="per_block", blocks=1,
                                                               fisher_ratio="sum_of_ratios"),
    dict(model="consistent"), dict(wd=0.05), dict(wd=0.05, wd_scaling="fixed"),
    dict(radius_rule="tadam", gamma=0.25, total_steps=60, model="consistent")]


def option_grid(cls: type) -> list[dict[str, Any]]:
    """Every valid combination of the rule's Literal and bool fields and of its NUMERIC settings
    (SOAA: :data:`SOAA_GRID`)."""
    if cls.name == "soaa":
        return [dict(kw, lr=LR["soaa"]) for kw in SOAA_GRID if _valid(cls, dict(kw, lr=LR["soaa"]))]
    hints = typing.get_type_hints(cls)
    axes: dict[str, tuple] = {}
    for f in dataclasses.fields(cls):
        h = hints[f.name]
        if typing.get_origin(h) is Literal:
            axes[f.name] = typing.get_args(h)
        elif h is bool:
            axes[f.name] = (False, True)
    if cls.name in FULL_GRID_ELSEWHERE:  # same plan and options as adam: only its defaults and NUMERIC
        axes = {}
    if cls.name == "hadapgradm":  # the estimates' options are adapgradm's (same kernel): here the switches
        axes = {k: v for k, v in axes.items() if k in ("switch", "rescale_final_lr")}
    axes.update(NUMERIC.get(cls.name, {}))
    out = []
    for combo in itertools.product(*axes.values()):
        kw = dict(zip(axes, combo), lr=LR[cls.name])
        if redundant(kw):
            continue
        if _valid(cls, kw):
            out.append(kw)
    return out


def _valid(cls: type, kw: dict[str, Any]) -> bool:
    """The rule accepts these options and has a compiled step for them (refusals: test_compile_step_refusals)."""
    try:
        rule = cls(**kw)
    except ValueError:
        return False
    return not _plans.PLANS[cls].refusal(rule)


def redundant(kw: dict[str, Any]) -> bool:
    """A combination that differs from a kept one only in an option without effect there."""
    no_wd = kw.get("wd", 0.0) == 0
    return bool(
        (kw.get("amsgrad") is False and kw.get("amsgrad_max") == "debiased")
        or (no_wd and kw.get("decoupled_wd") is True)
        or ((no_wd or kw.get("decoupled_wd") is False) and kw.get("decay_scaled_by_lr") is False)
    )


def batched(cls: type, kw: dict[str, Any]) -> dict[str, Any]:
    """The same rule with every nonzero float hyperparameter an array of shape (R, 1) (one value per run)."""
    hints = typing.get_type_hints(cls)
    rule = cls(**kw)
    out = dict(kw)
    for f in dataclasses.fields(cls):
        v = getattr(rule, f.name)
        if hints[f.name] is Any and isinstance(v, float) and v != 0:
            for scale in ((1.0, 0.9, 0.8), (1.0, 1.1, 1.2)):
                trial = dict(out, **{f.name: np.array([[v * s] for s in scale])})
                try:
                    cls(**trial)
                except ValueError:
                    continue
                out = trial
                break
    return out


def ulps(a: np.ndarray, b: np.ndarray) -> int:
    """Largest distance in units in the last place between two float arrays (NaN == NaN, -0 == +0)."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, b.dtype, a.shape, b.shape)
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return np.iinfo(np.int64).max
    itype = {np.dtype(np.float32): np.int32, np.dtype(np.float64): np.int64}[a.dtype]
    mag, cap = np.iinfo(itype).max, np.int64(1) << 60

    def key(z: np.ndarray) -> np.ndarray:
        i = z.view(itype).astype(np.int64)
        return np.where(i < 0, -(i & mag), i)

    ok = ~np.isnan(a)
    ka, kb = key(a[ok]), key(b[ok])
    same = (ka >= 0) == (kb >= 0)
    d = np.where(same, np.abs(np.where(same, ka - kb, 0)), np.minimum(np.abs(ka), cap) + np.minimum(np.abs(kb), cap))
    return int(d.max()) if d.size else 0


def state_arrays(state: Any, prefix: str = "state") -> dict[str, Any]:
    out = {}
    for name, v in zip(state._fields, state):
        out[f"{prefix}.{name}"] = v
    return out


def gradient(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """A diagonal quadratic's gradient plus noise (signs change; exact zeros at some steps)."""
    h = np.linspace(0.2, 3.0, x.shape[-1])
    g = h * (x - 0.5) + 0.3 * rng.standard_normal(x.shape)
    if k % 7 == 3:
        g[..., 0] = 0
    return g.astype(x.dtype)


def loss(x: np.ndarray) -> np.ndarray:
    """A loss per run for rules that read one (SOAA): the diagonal quadratic of :func:`gradient`."""
    h = np.linspace(0.2, 3.0, x.shape[-1])
    return (0.5 * np.sum(h * (x - 0.5) ** 2, axis=-1)).astype(x.dtype)


def compare_trajectory(rule: Any, dtype: Any, ref_rule: Any = None, steps: int = STEPS) -> int:
    """Largest ulp distance, over ``steps`` steps, between one compiled step and the reference
    ``_step`` from the same (x, state); scalar state fields must agree exactly."""
    ref_rule = rule if ref_rule is None else ref_rule
    rng = np.random.default_rng(1)
    x = (np.random.default_rng(0).standard_normal((R, N)) + 1).astype(dtype)
    state = rule.init(x)
    step = fast.compile_step(rule, x, state, kernel="numba")
    assert step is not None and step.name == "numba-step"
    lr = hp(ref_rule.lr, x, np)
    worst = 0
    for k in range(steps):
        g = gradient(x, k, rng)
        value = loss(x) if rule.needs_value else None
        x_in = x.copy()
        # a copy: the reference state may keep the input's arrays (SOAA's d_last = d), which the
        # compiled step then updates in place
        frozen = type(state)(*(a.copy() if isinstance(a, np.ndarray) else a for a in state))
        dx, ref_state = ref_rule._step(np, g, frozen, x_in, lr=lr, value=value)
        x_ref = x_in + dx
        state = step(x, g, state, k, value=value)
        assert type(state) is type(ref_state)
        worst = max(worst, ulps(x, x_ref))
        for (name, a), b in zip(state_arrays(state).items(), ref_state):
            if a is None or b is None:
                assert a is None and b is None, name
            elif isinstance(a, (int, float)):
                assert a == b, (name, a, b)
            else:
                worst = max(worst, ulps(np.broadcast_to(a, np.shape(b)), np.asarray(b, dtype=dtype)))
    if rule.has_preconditioner:  # the compiled state is a valid state of the rule
        worst = max(worst, ulps(rule.preconditioner(state), ref_rule.preconditioner(ref_state)))
    return worst


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls", sorted(_plans.PLANS, key=lambda c: c.name), ids=lambda c: c.name)
def test_compiled_equals_reference_every_option(cls, dtype):
    grid = option_grid(cls)
    assert grid, f"no valid option combination for {cls.name}"
    for kw in grid:
        for args in (kw, batched(cls, kw)):
            worst = compare_trajectory(cls(**args), dtype)
            assert worst <= MAX_ULP, (cls.name, args, worst)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls", [c for c, plan in _plans.PLANS.items() if plan is _plans.AdamPlan],
                         ids=lambda c: c.name)
def test_parallel_adam_kernel_equals_reference_every_option(cls, dtype, monkeypatch):
    """The multi-threaded Adam kernel (taken for large n with more than one numba thread), forced
    here on small arrays in chunks of 2 (so runs of N = 5 end in a partial chunk): every option,
    batched hyperparameters included, against the reference as for the serial kernel."""
    import numba

    calls = []
    par = _plans.ka.adam_kernel_parallel
    monkeypatch.setattr(_plans, "PARALLEL_MIN_SIZE", 1)
    monkeypatch.setattr(_plans, "PARALLEL_CHUNK", 2)
    monkeypatch.setattr(_plans, "_threads", lambda: 2)
    monkeypatch.setattr(_plans.ka, "adam_kernel_parallel", lambda *a: calls.append(a[-1]) or par(*a))
    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    try:
        for kw in option_grid(cls):
            for args in (kw, batched(cls, kw)):
                worst = compare_trajectory(cls(**args), dtype)
                assert worst <= MAX_ULP, (cls.name, args, worst)
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert calls and set(calls) == {2}  # the parallel kernel ran, in chunks of 2


def test_option_grid_covers_every_literal_and_bool():
    """The grid really varies the options (not one default combination per rule)."""
    grid = option_grid(rules.Adam)
    for field in ("amsgrad", "bias_correction", "efficient", "decoupled_wd", "decay_scaled_by_lr"):
        assert {kw[field] for kw in grid} == {False, True}
    assert {kw["eps_placement"] for kw in grid} == {"outside", "inside"}
    assert {kw["amsgrad_max"] for kw in grid} == {"raw", "debiased"}
    assert {kw["normalizer"] for kw in option_grid(rules.AdaRem)} == {"tensor_max", "elementwise", "none"}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_comparison_rejects_a_wrong_rule(dtype):
    """The equality check fails when the compiled rule differs from the reference by one constant."""
    assert compare_trajectory(rules.Adam(lr=0.05), dtype, ref_rule=rules.Adam(lr=0.05, b2=0.99)) > MAX_ULP
    assert compare_trajectory(rules.SGD(lr=0.05, momentum=0.9), dtype,
                              ref_rule=rules.SGD(lr=0.05, momentum=0.9, dampening=1e-3)) > MAX_ULP
    assert compare_trajectory(rules.Adam(lr=0.05), dtype, ref_rule=rules.Adam(lr=0.05)) == 0


def test_ulps_measure():
    a = np.array([1.0, -2.0, 0.0, np.nan], dtype=np.float32)
    b = a.copy()
    for _ in range(5):
        b = np.nextafter(b, np.float32(np.inf))
    b[3] = np.nan
    assert ulps(a, a) == 0 and ulps(a, b) == 5
    assert ulps(np.array([0.0]), np.array([-0.0])) == 0
    assert ulps(np.array([1.0]), np.array([np.nan])) > MAX_ULP


def test_compile_step_returns_a_kernel_for_every_covered_rule():
    """No silent fallback: every covered registry rule compiles for float32 and float64 arrays."""
    names = set(fast.covered_rules())
    assert {"sgd", "adam", "adamw", "amsgrad", "nadam", "adagrad", "rmsprop", "lion", "signsgd", "rprop",
            "heavy_ball", "nesterov", "adarem", "adamrag"} <= names
    for name in rules.available():
        rule = rules.make(name)
        for dtype in (np.float32, np.float64):
            step = fast.compile_step(rule, np.zeros((2, 3), dtype=dtype))
            assert (step is not None) == (name in names), name
            if step is not None:
                assert step.name == "numba-step"


def test_compile_step_refusals():
    x = np.zeros(4)
    assert fast.compile_step(rules.Adam(), x, kernel="reference") is None
    assert fast.compile_step(rules.make("apollo"), x) is None
    with pytest.raises(ValueError, match="apollo"):
        fast.compile_step(rules.make("apollo"), x, kernel="numba")
    assert fast.compile_step(rules.Adam(), x.astype(np.float16)) is None
    with pytest.raises(ValueError, match="dtype float16"):
        fast.compile_step(rules.Adam(), x.astype(np.float16), kernel="numba")
    with pytest.raises(ValueError, match="not a NumPy array"):
        fast.compile_step(rules.Adam(), [0.0, 1.0], kernel="numba")
    for rule, option in ((rules.make("adapgradm", curvature="hutchinson"), "curvature='hutchinson'"),
                         (rules.make("hadapgradm", switch="swats"), "switch='swats'")):
        assert fast.compile_step(rule, x) is None
        with pytest.raises(ValueError, match=option):
            fast.compile_step(rule, x, kernel="numba")
    wrapped = rules.with_schedule(rules.Adam(), "cosine", total_steps=10)
    assert fast.compile_step(wrapped, x) is None
    with pytest.raises(ValueError, match="kernel must be"):
        fast.compile_step(rules.Adam(), x, kernel="fast")
    step = fast.compile_step(rules.Adam(), x)
    with pytest.raises(ValueError, match="shape"):
        step(np.zeros(5), np.zeros(5), rules.Adam().init(np.zeros(5)), 0)
    with pytest.raises(ValueError, match="k=3"):
        step(x.copy(), x, rules.Adam().init(x), 3)


def test_missing_numba_means_no_compiled_step(monkeypatch):
    monkeypatch.setattr(fast, "numba_available", lambda: False)
    assert fast.compile_step(rules.Adam(), np.zeros(3)) is None
    with pytest.raises(ValueError, match="numba is not installed"):
        fast.compile_step(rules.Adam(), np.zeros(3), kernel="numba")


def test_initial_state_and_aliases_are_not_written():
    """The compiled step copies state it did not allocate (heavy ball's x_prev is x itself)."""
    x = np.arange(4.0)
    rule = rules.HeavyBall(lr=0.1)
    state = rule.init(x)
    x0, prev0 = x.copy(), state.x_prev
    step = fast.compile_step(rule, x)
    new = step(x, np.ones(4), state, 0)
    assert new.x_prev is not x and np.array_equal(new.x_prev, x0)
    assert np.array_equal(x, x0 - 0.1) and prev0 is state.x_prev
    adam = rules.Adam()
    s0 = adam.init(x)
    s1 = fast.compile_step(adam, x)(x, np.ones(4), s0, 0)
    assert np.all(s0.m == 0) and np.all(s0.v == 0) and not np.shares_memory(s1.m, s0.m)


def test_run_records_the_kernel():
    if "kernel" not in inspect.signature(rules_run()).parameters:
        pytest.skip("precond_theory.run has no kernel= argument yet (helper 'run' adds the hook)")
    run = rules_run()
    problem = make_quadratic(6, 10.0)
    rule = rules.Adam(lr=0.05)
    ref = run(rule, problem, steps=50, kernel="reference")
    for kernel, name in (("numba-step", "numba-step"), ("numba", "numba-segment"), ("auto", "numba-segment")):
        fast_ = run(rule, problem, steps=50, kernel=kernel)
        assert fast_.meta["kernel"] == name and ref.meta["kernel"] == "reference"
        assert ulps(fast_.x_final, ref.x_final) <= MAX_ULP * 50


def rules_run():
    from precond_theory import run

    return run

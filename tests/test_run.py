"""The stepping loop: recording, divergence handling, batching, metadata, tidy tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from precond_theory import DivergenceWarning, rules, run
from precond_theory.problems import make_quadratic
from precond_theory.run import record_steps


def test_record_steps_variants():
    assert list(record_steps("all", 5)) == [0, 1, 2, 3, 4, 5]
    assert list(record_steps(2, 5)) == [0, 2, 4, 5]
    assert list(record_steps([3, 0, 3], 5)) == [0, 3]
    log = record_steps("log", 1000)
    assert log[0] == 0 and log[-1] == 1000 and np.all(np.diff(log) > 0) and set(range(11)) <= set(log)
    with pytest.raises(ValueError, match="within"):
        record_steps([7], 5)
    with pytest.raises(ValueError, match="record must be"):
        record_steps("sometimes", 5)


def test_gd_on_quadratic_matches_closed_form(xp):
    """GD on a quadratic: x_k - x* = (I - lr A)^k (x_0 - x*), so f_gap is known exactly."""
    p = make_quadratic(6, 50.0, rotate=True, seed=3, xp=xp)
    lr = 1.0 / p.L
    tr = run(rules.make("sgd", lr=lr), p, steps=40, record="all", x0=p.default_x0())
    A = np.asarray(p.A)
    xs = np.asarray(p.x_star)
    e = -xs.copy()
    gaps = []
    for _ in range(41):
        gaps.append(0.5 * e @ A @ e)
        e = e - lr * (A @ e)
    np.testing.assert_allclose(tr.metrics["f_gap"], gaps, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(tr.metrics["dist_sq"][0], xs @ xs, rtol=1e-14)


def test_min_grad_norm_is_running_min_over_every_step():
    p = make_quadratic(5, 10.0, seed=1)
    rule = rules.make("heavy_ball", lr=0.15, momentum=0.9)  # oscillates: min != last
    full = run(rule, p, steps=60, record="all")
    sparse = run(rule, p, steps=60, record=[0, 17, 60])
    want = np.minimum.accumulate(full.metrics["grad_norm_sq"])
    np.testing.assert_array_equal(full.metrics["min_grad_norm_sq"], want)
    np.testing.assert_array_equal(sparse.metrics["min_grad_norm_sq"], want[[0, 17, 60]])
    assert want[60] < full.metrics["grad_norm_sq"][60] or np.isclose(want[60], full.metrics["grad_norm_sq"][60])


def test_divergence_recorded_per_run_others_continue():
    p = make_quadratic(4, 100.0, seed=2)
    lrs = np.array([[1e-3], [0.5], [1e-2]])  # 0.5 * L = 50: |1 - 50| = 49 per step, overflows
    x0 = p.default_x0()
    with pytest.warns(DivergenceWarning, match="1 of 3 runs"):
        tr = run(rules.make("sgd", lr=lrs), p, steps=400, record="log", x0=x0)
    assert tr.diverged[0] == -1 and tr.diverged[2] == -1 and tr.diverged[1] > 0
    assert list(tr.status) == ["ok", "blow_up", "ok"]
    single = run(rules.make("sgd", lr=1e-2), p, steps=400, x0=x0)
    # (3, n) @ A and (n,) @ A go through different BLAS kernels: equal to round-off, not bitwise
    np.testing.assert_allclose(tr.metrics["f_gap"][:, 2], single.metrics["f_gap"], rtol=1e-12)
    # with the blow-up test off (one record point), the step is the first k at which x_k, f(x_k)
    # or |grad f(x_k)|^2 is non-finite (here the squared gradient norm overflows first)
    with pytest.warns(DivergenceWarning):
        late = run(rules.make("sgd", lr=0.5), p, steps=400, record=[400], x0=x0)
    assert late.status[()] == "non_finite"
    k = int(late.diverged)
    with pytest.warns(DivergenceWarning):
        tr_all = run(rules.make("sgd", lr=0.5), p, steps=k, record=[k], keep_iterates=True, x0=x0)
    prev = run(rules.make("sgd", lr=0.5), p, steps=k - 1, record=[k - 1], keep_iterates=True, x0=x0)
    assert prev.status[()] == "ok"
    def finite(t):
        return all(np.all(np.isfinite(v)) for v in (t.iterates, t.metrics["f"], t.metrics["grad_norm_sq"]))

    assert finite(prev) and not finite(tr_all) and tr_all.status[()] == "non_finite" and tr_all.diverged == k


def test_batch_broadcasting_and_x0():
    p = make_quadratic(3, 10.0, seed=0)
    x0 = np.arange(6.0).reshape(2, 3)
    tr = run(rules.make("adam", lr=np.array([[0.1], [0.01]])), p, steps=5, x0=x0, keep_iterates=True)
    assert tr.batch_shape == (2,)
    np.testing.assert_array_equal(tr.iterates[0], x0)
    tr2 = run(rules.make("sgd", lr=0.01), p, steps=3, batch=(5,))
    assert tr2.metrics["f"].shape == (len(tr2.steps), 5)


def test_preconditioner_metrics_and_extra_metrics():
    p = make_quadratic(5, 100.0, rotate=False, seed=0)
    rule = rules.make("adagrad", lr=0.5)
    tr = run(rule, p, steps=30, record="all", metrics={"x0": lambda x, s, r, pr: x[..., 0]}, keep_iterates=True)
    assert np.isnan(tr.metrics["precond_spread"][0])
    np.testing.assert_array_equal(tr.metrics["x0"], tr.iterates[:, 0])
    # AdaGrad's preconditioner is 1/(sqrt(S)+eps) with S the sum of squared gradients so far
    S = np.cumsum(np.stack([p.grad(x) for x in tr.iterates[:-1]]) ** 2, axis=0)
    P = 1.0 / (np.sqrt(S) + 1e-10)
    np.testing.assert_allclose(tr.metrics["precond_max"][1:], P.max(axis=1), rtol=1e-12)
    np.testing.assert_allclose(tr.metrics["precond_spread"][1:], P.max(axis=1) / P.min(axis=1), rtol=1e-12)
    with pytest.raises(ValueError, match="clash"):
        run(rule, p, steps=1, metrics={"f": lambda *a: 0})


def test_to_frame_and_parquet_roundtrip(tmp_path):
    p = make_quadratic(3, 10.0, seed=0)
    tr = run(rules.make("adam", lr=np.array([[0.1], [0.01]])), p, steps=10, record=5)
    df = tr.to_frame()
    assert len(df) == 2 * 3
    for col in ("solver_name", "p_solver_lr", "p_solver_b1", "data_name", "p_data_kappa", "stop_val",
                "objective_f_gap", "objective_grad_norm_sq", "run", "seed", "diverged_at"):
        assert col in df.columns, col
    assert set(df["p_solver_lr"]) == {0.1, 0.01}
    np.testing.assert_array_equal(df[df.run == 1].objective_f_gap.to_numpy(), tr.metrics["f_gap"][:, 1])
    path = tr.to_parquet(tmp_path / "sub" / "t.parquet")
    back = pd.read_parquet(path)
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    assert [f.name for f in path.parent.iterdir()] == ["t.parquet"]  # no temporary left


def test_meta_records_everything_needed_to_reproduce():
    p = make_quadratic(3, 10.0, seed=4)
    tr = run(rules.make("rmsprop", lr=0.01, centered=True), p, steps=3, seed=7)
    m = tr.meta
    assert m["rule"] == "rmsprop" and m["hyperparameters"]["centered"] is True
    assert m["problem"]["params"]["seed"] == 4 and m["problem"]["L"] == 10.0
    assert m["seed"] == 7 and m["backend"] == "numpy" and m["dtype"] == "float64"
    assert m["oracle_calls"] == {"grad": 3, "value": 0, "hvp": 0}


def test_run_bad_input():
    p = make_quadratic(3, 10.0)
    rule = rules.make("sgd")
    with pytest.raises(ValueError, match=r"x0 must have shape \(\*batch, 3\)"):
        run(rule, p, steps=3, x0=np.zeros(4))
    with pytest.raises(ValueError, match="steps must be an integer >= 0"):
        run(rule, p, steps=-1)
    with pytest.raises(TypeError, match="rule must be"):
        run("sgd", p, steps=1)
    with pytest.raises(TypeError, match="problem must be"):
        run(rule, "quadratic", steps=1)
    with pytest.raises(ValueError, match="batch shapes do not broadcast"):
        run(rules.make("sgd", lr=np.ones((3, 1))), p, steps=1, batch=(2,))

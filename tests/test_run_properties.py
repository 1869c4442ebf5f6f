"""Property tests of run(): problems x rules x batch shapes x dtypes x record specs x options give
either a clear TypeError/ValueError naming the argument or a well-formed Trace whose to_frame()
works — never an exception from inside NumPy or pandas."""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from precond_theory import DivergenceWarning, ZeroDivisionNaNWarning, oracles, rules, run
from precond_theory.problems import make

PROBLEMS = [("quadratic", {"dim": 3, "kappa": 10.0}), ("rosenbrock", {}), ("styblinski_tang", {"dim": 2}),
            ("least_squares", {"n_samples": 8, "dim": 3}), ("reddi_periodic", {}), ("lessard_piecewise", {}),
            ("nesterov_worst_case", {"dim": 4})]
RULES = [("sgd", {"lr": 0.01}), ("heavy_ball", {"lr": 0.01, "momentum": 0.5}), ("adam", {"lr": 0.01}),
         ("adagrad", {"lr": 0.1}), ("rmsprop", {"lr": 0.01}), ("sgd", {"lr": 5.0})]
ORACLES = [None, oracles.GaussianNoise(variance=0.1), oracles.MultiplicativeNoise(variance=0.1)]
ARG_NAMES = ("steps", "batch", "record", "seed", "x0", "min_grad_norm", "divergence", "kernel", "project", "dtype",
             "progress", "keep_iterates", "metric", "batch entry")

records = st.one_of(st.sampled_from(["log", "all", "sometimes"]), st.integers(-1, 7),
                    st.lists(st.integers(-2, 12), max_size=4))
batches = st.one_of(st.integers(-1, 3), st.tuples(), st.tuples(st.integers(1, 3)),
                    st.tuples(st.integers(1, 2), st.integers(0, 3)))
seeds = st.one_of(st.integers(-1, 5), st.just(2**63), st.just(1.5), st.lists(st.integers(0, 9), min_size=1, max_size=3))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(problem=st.sampled_from(PROBLEMS), rule=st.sampled_from(RULES), oracle=st.sampled_from(ORACLES),
       steps=st.one_of(st.integers(-1, 12), st.just(2.5)), batch=batches, record=records, seed=seeds,
       dtype=st.sampled_from(["float64", "float32"]), keep=st.booleans(),
       mgn=st.sampled_from([None, "every_step", "record_points", "off", "bogus"]),
       div=st.sampled_from(["every_step", "record_points", "x"]), project=st.sampled_from([None, True, False]),
       x0=st.sampled_from([None, "default", "wrong", "batched"]))
def test_run_gives_a_clear_error_or_a_well_formed_trace(problem, rule, oracle, steps, batch, record, seed, dtype,
                                                        keep, mgn, div, project, x0):
    pname, pkw = problem
    p = make(pname, dtype=np.dtype(dtype), **pkw)
    r = rules.make(rule[0], **rule[1])
    x0v = {None: None, "default": p.default_x0(), "wrong": np.zeros(p.dim + 1),
           "batched": np.stack([p.default_x0()] * 2)}[x0]
    kw = dict(steps=steps, batch=batch, record=record, seed=seed, keep_iterates=keep, min_grad_norm=mgn,
              divergence=div, project=project, x0=x0v, oracle=oracle, metrics={"first": lambda x, *a: x[..., 0]})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DivergenceWarning)
            warnings.simplefilter("ignore", ZeroDivisionNaNWarning)
            tr = run(r, p, **kw)
    except (TypeError, ValueError) as exc:
        msg = str(exc)
        assert any(a in msg for a in ARG_NAMES) or "oracle" in msg or "feasible set" in msg or "shapes" in msg, msg
        return
    n_rec = len(tr.steps)
    assert tr.steps[0] >= 0 and tr.steps[-1] <= steps and np.all(np.diff(tr.steps) > 0)
    for name, v in tr.metrics.items():
        assert v.shape == (n_rec, *tr.batch_shape), name
    assert tr.diverged.shape == tr.batch_shape == tr.status.shape
    ok = tr.status == "ok"
    for name in ("f", "loss_sum", "first"):
        if name in tr.metrics:
            assert np.all(np.isfinite(tr.metrics[name][:, ok])), name  # a run that is "ok" is finite
    assert np.asarray(tr.meta["seeds"]).shape == tr.batch_shape
    df = tr.to_frame()
    assert len(df) == n_rec * tr.n_runs
    assert (df["seed"].to_numpy().reshape(n_rec, -1) == np.asarray(tr.meta["seeds"]).reshape(-1)).all()
    if keep:
        assert tr.iterates.shape == (n_rec, *tr.batch_shape, p.dim)

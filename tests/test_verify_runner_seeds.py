"""Replicate runs of a claim's experiment never share a seed (noise stream): per-horizon claims
run one trajectory per horizon, batched or one call per horizon, with disjoint seed ranges."""

from __future__ import annotations

import numpy as np

from precond_theory import problems, rules
from precond_theory.oracles import make as make_oracle
from precond_theory.verify.runner import check_claim

HORIZONS = [20, 40, 80]


def _seeds(traces):
    traces = traces if isinstance(traces, list) else [traces]
    return [np.asarray(t.meta["seeds"]).ravel() for t in traces]


def _run(factory, S=3):
    p = problems.make_quadratic(dim=3, kappa=4.0)
    _, traces = check_claim("sgd_nonconvex", factory, p, oracle=make_oracle("gaussian", variance=1.0), seeds=S,
                            horizons=HORIZONS, return_trace=True, n_boot=50)
    return _seeds(traces)


def test_per_horizon_runs_one_call_per_horizon_use_disjoint_seed_ranges():
    # rules of different types cannot be stacked into one batched run: one run() per horizon
    def factory(T):
        return rules.make("sgd", lr=0.1) if T == HORIZONS[0] else rules.make("heavy_ball", lr=0.1, momentum=0.0)
    per_horizon = _run(factory)
    assert len(per_horizon) == len(HORIZONS)
    flat = np.concatenate(per_horizon)
    assert len(np.unique(flat)) == flat.size, f"horizons share seeds: {[s.tolist() for s in per_horizon]}"


def test_per_horizon_runs_batched_use_disjoint_seed_ranges():
    (seeds,) = _run(lambda T: rules.make("sgd", lr=0.1 / np.sqrt(T)))
    assert seeds.size == 3 * len(HORIZONS) and len(np.unique(seeds)) == seeds.size


def test_replicates_of_a_trajectory_claim_use_disjoint_runs():
    rcs, tr = check_claim("sgd_constant_noise_limit", steps=50, seeds=2, replicates=3, return_trace=True, n_boot=50)
    seeds = np.asarray(tr.meta["seeds"]).ravel()
    assert len(rcs) == 3 and seeds.size == 6 and len(np.unique(seeds)) == 6


def test_min_of_mean_of_a_trajectory_is_the_running_minimum_of_the_means_of_any_runs():
    from precond_theory.verify.runner import MinOfMean

    g = np.random.default_rng(0).random((40, 7))
    fast = MinOfMean.of_trajectory(g)
    slow = MinOfMean([g[: i + 1] for i in range(40)])
    idx = np.array([0, 3, 3, 6, 2])
    assert np.array_equal(fast(), slow()) and np.array_equal(fast(idx), slow(idx))
    assert fast()[5] == min(g[t].mean() for t in range(6)) and fast.n_tests == 40

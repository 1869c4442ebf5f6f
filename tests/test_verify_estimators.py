"""The estimators behind verdicts: min over t of the mean over runs (not the mean of per-run
running minima), and the terminal-slope option of the power-law fit."""

from __future__ import annotations

import numpy as np
import pytest

from precond_theory.rates import fit_power_law
from precond_theory.verify.claims import Claim
from precond_theory.verify.runner import MinOfMean
from precond_theory.verify.verdict import check_arrays

K = np.unique(np.round(np.geomspace(1, 2e4, 81)))


def test_min_of_mean_refutes_a_noise_plateau_that_e_min_hides():
    # ||grad f||^2 fluctuates around a constant plateau 1 (iid exponential per record and run):
    # min_t E = about 1 (flat: the decay claim is false); E min_t keeps decreasing (min of more samples)
    rng = np.random.default_rng(0)
    g = rng.exponential(1.0, size=(len(K), 40))
    claim = Claim(metric="min_grad_norm_sq", order=-0.5, kind="upper_bound")
    e_min = np.minimum.accumulate(g, axis=0)
    assert np.mean(e_min[-1]) < 0.05  # the running minima went far below the plateau
    curve = MinOfMean([g[: i + 1] for i in range(len(K))])
    assert curve()[-1] == pytest.approx(np.min(g.mean(axis=1)), rel=1e-12)
    rc = check_arrays(claim, K, curve()[:, None], replicate_curve=curve, n_boot=200)
    assert rc.verdict == "violated" and "stops decreasing" in rc.reason and rc.n_runs == 40


def test_min_of_mean_accepts_a_true_decay():
    rng = np.random.default_rng(1)
    g = K[:, None] ** -0.5 * rng.exponential(1.0, size=(len(K), 40))
    curve = MinOfMean([g[: i + 1] for i in range(len(K))])
    claim = Claim(metric="min_grad_norm_sq", order=-0.5, kind="upper_bound")
    rc = check_arrays(claim, K, curve()[:, None], replicate_curve=curve, n_boot=200)
    assert rc.verdict == "consistent", rc.reason


def test_terminal_slope_is_not_biased_by_a_sub_leading_term():
    y = K**-0.5 + 10 / K  # asymptotic order -0.5; the mean slope over the tail is about -0.6
    mean = fit_power_law(K, y, plateau=False, window="half")
    term = fit_power_law(K, y, plateau=False, slope="terminal", window="half")
    assert mean.ci[1] < -0.55  # biased toward faster: the interval excludes the asymptotic order
    assert abs(term.order + 0.5) < abs(mean.order + 0.5) / 2
    # the default terminal window sees the curvature of these exact data and moves to the last
    # quarter of the log range, where the bias of the mean slope is smaller
    tail = fit_power_law(K, y, plateau=False)
    assert tail.window[0] > mean.window[0] and abs(tail.order + 0.5) < abs(mean.order + 0.5)
    exact = fit_power_law(K, 3 * K**-0.7, plateau=False, slope="terminal")
    assert exact.order == pytest.approx(-0.7, abs=1e-9)
    with pytest.raises(ValueError, match="slope must be one of"):
        fit_power_law(K, y, slope="median")
    with pytest.raises(ValueError, match="slope must be one of"):
        check_arrays(Claim(metric="f_gap", order=-0.5), K, y, slope=1)

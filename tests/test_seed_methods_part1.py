"""Seed methods, part 1: Rprop, AdaRem, AdamRAG, SOAA and Ye's preconditioned GD.

Reference values and exact equivalences, never "the loss went down":

* Rprop against torch.optim.Rprop (stored fixture and a live run), to <= 1e-12 relative;
* limiting cases: AdamRAG with zero extrapolation is Adam; AdaRem with a_t = 1 is SGD
  (SGD with momentum); SOAA with the Adam branch always active is Adam with lr scaled by the
  radius; Preconditioned with M = I is SGD, with a fixed M it is GD in the intrinsic z;
* independent transcriptions of the specs (AdamRAG in y-form, SOAA as in nadir's loop);
* invariances: Adam-type rules (eps = 0) under f -> c f, SOAA not; sign rules under
  g -> D g with D > 0 diagonal;
* bad input: ValueError naming the field; SOAA without ``value=``.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
from pathlib import Path

import numpy as np
import pytest

from precond_theory import rules
from precond_theory._xp import to_numpy
from precond_theory.rules import (
    SGD, SOAA, Adam, AdamRAG, AdaRem, Preconditioned, RMSProp, Rprop, from_intrinsic, intrinsic_factor,
    to_intrinsic, with_schedule,
)

FIXTURE = Path(__file__).parent / "fixtures" / "rprop_torch.npz"


# ---------------------------------------------------------------------------------- helpers
def quad(n=5, kappa=20.0, seed=0, scale=1.0):
    """A fixed SPD quadratic f(x) = scale * (x^T A x / 2 - b^T x): (A, b) on the host."""
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    q = q * np.sign(np.diag(r))
    A = (q * np.geomspace(1.0, kappa, n)) @ q.T
    return scale * 0.5 * (A + A.T), scale * rng.standard_normal(n)


def field(xp, A, b, y):
    """Value (*batch,) and gradient of x^T A x / 2 - b^T x, reduced over the last axis only."""
    Ax = xp.asarray(A, dtype=y.dtype)
    bx = xp.asarray(b, dtype=y.dtype)
    g = xp.sum(Ax * y[..., None, :], axis=-1) - bx
    return xp.sum(y * (0.5 * (g - bx)), axis=-1), g


def trajectory(rule, xp, x0, A, b, steps, *, gscale=None, value=None):
    """Iterates x_1..x_steps of ``rule`` (gradient optionally multiplied by ``gscale``)."""
    x, state, xs = x0, rule.init(x0), []
    for _ in range(steps):
        y = rule.query(x, state)
        f, g = field(xp, A, b, y)
        if gscale is not None:
            g = g * xp.asarray(gscale, dtype=g.dtype)
            f = f * xp.asarray(float(np.max(gscale)), dtype=g.dtype)
        dx, state = rule.update(g, state, x, value=f if value is None else value(f))
        x = x + dx
        xs.append(to_numpy(x))
    return np.stack(xs), state


def max_rel_dev(a, b):
    """max_k |a_k - b_k|_inf / max(|b_k|_inf, 1e-300): relative deviation per step, worst step."""
    a, b = np.asarray(a), np.asarray(b)
    num = np.max(np.abs(a - b).reshape(a.shape[0], -1), axis=1)
    den = np.maximum(np.max(np.abs(b).reshape(b.shape[0], -1), axis=1), 1e-300)
    return float(np.max(num / den))


# ------------------------------------------------------------------------------ Rprop vs torch
def _fixture():
    d = np.load(FIXTURE, allow_pickle=False)
    return d, json.loads(str(d["cases"]))


def _rprop_from_torch(kwargs):
    eta_minus, eta_plus = kwargs.get("etas", (0.5, 1.2))
    step_min, step_max = kwargs.get("step_sizes", (1e-6, 50.0))
    return Rprop(lr=kwargs.get("lr", 1e-2), eta_minus=eta_minus, eta_plus=eta_plus,
                 step_min=step_min, step_max=step_max)


def test_rprop_matches_torch_fixture_closed_loop():
    """Our Rprop with the generator's gradient A @ x - b reproduces torch's 80-step iterates."""
    d, cases = _fixture()
    A, b, x0 = d["A"], d["b"], d["x0"]
    assert len(cases) >= 4 and d["traj"].shape[1] >= 61
    for i, case in enumerate(cases):
        rule = _rprop_from_torch(case["kwargs"])
        x, state, xs = x0, rule.init(x0), [x0]
        for _ in range(d["traj"].shape[1] - 1):
            dx, state = rule.update(A @ x - b, state, x)
            x = x + dx
            xs.append(x)
        dev = max_rel_dev(np.stack(xs), d["traj"][i])
        assert dev <= 1e-12, f"{case['label']}: max relative deviation {dev:.3g}"


def test_rprop_replays_torch_gradients_on_every_backend(xp):
    """Fed torch's own gradients, the iterates agree with torch's on every backend."""
    d, cases = _fixture()
    for i, case in enumerate(cases):
        rule = _rprop_from_torch(case["kwargs"])
        x = xp.asarray(d["x0"])
        state, xs = rule.init(x), [d["x0"]]
        for t in range(d["grads"].shape[1]):
            dx, state = rule.update(xp.asarray(d["grads"][i, t]), state, x)
            x = x + dx
            xs.append(to_numpy(x))
        assert max_rel_dev(np.stack(xs), d["traj"][i]) <= 1e-12, case["label"]


def test_rprop_fixture_exercises_every_branch():
    d, _ = _fixture()
    g = d["grads"]
    prod = g[:, 1:] * g[:, :-1]
    assert (prod > 0).any() and (prod < 0).any() and (g == 0).any()  # grow, shrink, neutral


def test_rprop_live_against_torch_batched_hyperparameters():
    """A live torch run per setting equals one batched run of ours with (K, 1) hyperparameters."""
    torch = pytest.importorskip("torch")
    A, b = quad(6, 30.0, seed=7)
    x0 = np.random.default_rng(8).standard_normal(6) * 2
    settings = [(1e-2, 0.5, 1.2, 1e-6, 50.0), (0.2, 0.4, 1.3, 1e-4, 1.0), (0.05, 0.7, 1.05, 1e-3, 0.1)]
    want = []
    for lr, em, ep, smin, smax in settings:
        p = torch.nn.Parameter(torch.tensor(x0, dtype=torch.float64))
        opt = torch.optim.Rprop([p], lr=lr, etas=(em, ep), step_sizes=(smin, smax), foreach=False)
        xs = []
        for _ in range(70):
            p.grad = torch.tensor(A @ p.detach().numpy() - b, dtype=torch.float64)
            opt.step()
            xs.append(p.detach().numpy().copy())
        want.append(np.stack(xs))
    col = lambda j: np.array([[s[j]] for s in settings])  # noqa: E731
    rule = Rprop(lr=col(0), eta_minus=col(1), eta_plus=col(2), step_min=col(3), step_max=col(4))
    x = np.broadcast_to(x0, (3, 6)).copy()
    state, got = rule.init(x), []
    for _ in range(70):
        dx, state = rule.update(x @ A - b, state, x)  # A symmetric: row k of x @ A is A @ x_k
        x = x + dx
        got.append(x)
    got = np.stack(got)
    for i in range(3):
        assert max_rel_dev(got[:, i], want[i]) <= 1e-12


def test_rprop_defaults_match_torch():
    torch = pytest.importorskip("torch")
    sig = inspect.signature(torch.optim.Rprop).parameters
    r = Rprop()
    assert r.lr == sig["lr"].default
    assert (r.eta_minus, r.eta_plus) == tuple(sig["etas"].default)
    assert (r.step_min, r.step_max) == tuple(sig["step_sizes"].default)


def test_rprop_schedule_scales_the_step():
    A, b = quad(4, seed=2)
    x0 = np.ones(4)
    plain, _ = trajectory(Rprop(lr=0.1), np, x0, A, b, 30)
    const, _ = trajectory(with_schedule(Rprop(lr=0.1), "constant"), np, x0, A, b, 30)
    np.testing.assert_array_equal(const, plain)  # factor exactly 1
    half = with_schedule(Rprop(lr=0.1), lambda k: 0.5)
    x, st = x0, half.init(x0)
    ref_st = Rprop(lr=0.1).init(x0)
    dx, st = half.update(A @ x - b, st, x)
    dx_ref, _ = Rprop(lr=0.1).update(A @ x - b, ref_st, x)
    np.testing.assert_allclose(dx, 0.5 * dx_ref, rtol=1e-15)


# ------------------------------------------------------------------------------------ AdamRAG
@pytest.mark.parametrize("hp", [{}, {"lr": 0.05, "b1": 0.5, "b2": 0.9, "eps": 1e-6}, {"lr": 0.02, "eps": 0.0}])
def test_adamrag_zero_extrapolation_is_adam_bitwise(xp, hp):
    A, b = quad(5, seed=1)
    x0 = xp.asarray(np.random.default_rng(3).standard_normal((2, 5)))
    got, _ = trajectory(AdamRAG(schedule="zero", **hp), xp, x0, A, b, 60)
    want, _ = trajectory(Adam(**hp), xp, x0, A, b, 60)
    np.testing.assert_array_equal(got, want)


def test_adamrag_direction_g_is_adam_with_b1_zero_bitwise():
    """direction g ignores the first moment: it is Adam with b1 = 0 (m-hat = g), and an explicit
    b1 (which it would not read) is refused."""
    A, b = quad(5, seed=4)
    x0 = np.ones(5)
    got0, _ = trajectory(AdamRAG(schedule="zero", direction="g", lr=0.01), np, x0, A, b, 40)
    adam0, _ = trajectory(Adam(b1=0.0, lr=0.01), np, x0, A, b, 40)
    np.testing.assert_array_equal(got0, adam0)
    with pytest.raises(ValueError, match=r"b1=0.3 has no effect with direction='g'.*direction='mhat'"):
        AdamRAG(schedule="zero", direction="g", b1=0.3)


def _adamrag_reference(A, b, y0, steps, lr, b1, b2, eps, alpha, direction="mhat"):
    """docs/spec/ravine_adamrag.md transcribed in y-form: returns w_0 .. w_{steps-1}."""
    y, w_prev = y0.copy(), y0.copy()
    m, v, ws = np.zeros_like(y0), np.zeros_like(y0), []
    for t in range(steps):
        g = A @ y - b
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mhat, vhat = m / (1 - b1 ** (t + 1)), v / (1 - b2 ** (t + 1))
        d = mhat if direction == "mhat" else g
        w = y - lr * d / (np.sqrt(vhat) + eps)
        y = w + alpha(t) * (w - w_prev)
        w_prev = w
        ws.append(w)
    return np.stack(ws)


@pytest.mark.parametrize("schedule,direction", [("constant", "mhat"), ("nesterov", "mhat"), ("constant", "g")])
def test_adamrag_matches_y_form_transcription(schedule, direction):
    A, b = quad(6, 10.0, seed=5)
    y0 = np.random.default_rng(6).standard_normal(6)
    rule = AdamRAG(lr=0.01, schedule=schedule, direction=direction,
                   **({"momentum": 0.7} if schedule == "constant" else {}))
    got, _ = trajectory(rule, np, y0, A, b, 80)
    alpha = (lambda t: 0.7) if schedule == "constant" else (lambda t: t / (t + 3.0))
    want = _adamrag_reference(A, b, y0, 80, 0.01, 0.9, 0.999, 1e-8, alpha, direction)
    assert max_rel_dev(got, want) <= 1e-12


def test_adamrag_query_is_the_extrapolated_point():
    A, b = quad(3, seed=0)
    rule = AdamRAG(lr=0.05, momentum=0.6)
    x0 = np.array([1.0, -2.0, 0.5])
    state = rule.init(x0)
    np.testing.assert_array_equal(rule.query(x0, state), x0)  # y_0 = x_0
    dx, state = rule.update(A @ x0 - b, state, x0)
    x1 = x0 + dx
    np.testing.assert_allclose(rule.query(x1, state), x1 + 0.6 * (x1 - x0), rtol=1e-15)


# ------------------------------------------------------------------------------------- AdaRem
def test_adarem_without_resilience_is_sgd_bitwise(xp):
    """resilience=0 gives a_t = 1: grad mode is SGD, momentum mode torch's SGD-momentum."""
    A, b = quad(5, seed=9)
    x0 = xp.asarray(np.random.default_rng(1).standard_normal((3, 5)))
    plain = AdaRem(apply_to="grad", resilience=0.0, lr=0.03, wd=0.1)
    got, _ = trajectory(plain, xp, x0, A, b, 50)
    want, _ = trajectory(SGD(lr=0.03, wd=0.1), xp, x0, A, b, 50)
    np.testing.assert_array_equal(got, want)
    mom = AdaRem(apply_to="momentum", resilience=0.0, lr=0.01, momentum=0.8)
    got, _ = trajectory(mom, xp, x0, A, b, 50)
    want, _ = trajectory(SGD(lr=0.01, momentum=0.8), xp, x0, A, b, 50)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("field,value", [("normalizer", "none"), ("normalizer", "elementwise"),
                                         ("decay", "constant"), ("b1", 0.5), ("eps", 1e-3)])
def test_adarem_agreement_fields_refused_without_resilience(field, value):
    """With resilience=0 the agreement test is never used: its fields are refused, not ignored."""
    with pytest.raises(ValueError, match=rf"{field}=.* has no effect with .*resilience=0.0"):
        AdaRem(resilience=0.0, **{field: value})
    AdaRem(resilience=0.5, **{field: value})  # read otherwise


def test_adarem_factor_by_hand():
    """First step is plain SGD (m_0 = 0); the second uses b_2 = sign(g_2) m_1 / (max|m_1| + eps)."""
    rule = AdaRem(apply_to="grad", lr=0.1, b1=0.5, resilience=0.9, eps=1e-30)
    x = np.zeros(3)
    g1, g2 = np.array([1.0, -2.0, 4.0]), np.array([3.0, 1.0, -1.0])
    dx1, st = rule.update(g1, rule.init(x), x)
    np.testing.assert_array_equal(dx1, -0.1 * g1)
    dx2, _ = rule.update(g2, st, x)
    m1 = 0.5 * g1
    bb = np.sign(g2) * m1 / np.max(np.abs(m1))  # [0.5, -0.5, -1]
    np.testing.assert_allclose(dx2, -0.1 * (1 + 0.9**2 * bb) * g2, rtol=1e-15)
    el = AdaRem(apply_to="grad", lr=0.1, b1=0.5, resilience=0.9, eps=1e-30, normalizer="elementwise", decay="constant")
    dx2, _ = el.update(g2, el.update(g1, el.init(x), x)[1], x)
    np.testing.assert_allclose(dx2, -0.1 * (1 + 0.9 * np.sign(g2) * np.sign(g1)) * g2, rtol=1e-15)


# --------------------------------------------------------------------------------------- SOAA
def _soaa_reference(A, b, x0, steps, *, lr, b1, b2, eps, gamma, d0, T, wd=0.0, loss_order="fold_then_ratio",
                    fisher_ratio="ratio_of_sums", wd_scaling="lr", model="as_written", radius_rule="soaa"):
    """nadir's SOAA::minimize (and the torch-Tadam variants) transcribed with Python floats."""
    x, m, v = x0.copy(), np.zeros_like(x0), np.zeros_like(x0)
    d, pr, lave, lhat_prev, xs = d0, 0.0, 0.0, 0.0, []
    for t in range(1, steps + 1):
        g = A @ x - b
        f = float(x @ (0.5 * (g - b)))
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mh, vh = m / (1 - b1**t), v / (1 - b2**t)
        S = np.sum(mh * mh) / np.sum(vh + eps) if fisher_ratio == "ratio_of_sums" else np.sum(mh * mh / (vh + eps))
        F = (1 + S) * vh
        u = d * mh / (np.maximum(d * F, np.sqrt(vh)) + eps)
        x = x - (lr if wd_scaling == "lr" else 1.0) * wd * x - lr * u
        if loss_order == "fold_then_ratio":
            lave = b1 * lave + (1 - b1) * f
            lhat = lave / (1 - b1**t)
        else:
            lhat = lhat_prev
            lave = b1 * lave + (1 - b1) * f
            lhat_prev = lave / (1 - b1**t)
        rho = (lhat - f) / max(pr, eps)
        e = (t - 1) / T
        if radius_rule == "soaa":
            d = min(1 + gamma**e, max((1 - gamma) ** e, d * rho))
        elif rho < gamma:
            d = max(1.0, d) * (1 - gamma) ** e
        elif rho > 1 - gamma:
            d = min(1.0, d) * (1 + gamma**e)
        a1, a2 = float(mh @ u), float(vh @ (u * u))
        pr = lr * (a1 - 0.5 * a2) if model == "as_written" else lr * a1 - 0.5 * lr * lr * a2
        xs.append(x.copy())
    return np.stack(xs)


SOAA_VARIANTS = [
    {},
    {"loss_order": "past_only", "fisher_ratio": "sum_of_ratios", "wd": 0.05, "wd_scaling": "fixed",
     "gamma": 0.25, "d0": 1.0},
    {"model": "consistent", "radius_rule": "tadam", "wd": 0.02},
    {"radius_rule": "tadam", "loss_order": "past_only", "gamma": 0.6},
]


def _soaa_problem():
    """Gradients of a size where both branches of min(1/F, d/sqrt(v-hat)) occur (about 60% of
    the coordinate-steps take the Adam branch) and the radius moves within [1, 1.9]: every
    option changes the trajectory (checked below)."""
    A, b = quad(6, 30.0, seed=11, scale=0.03)
    return A, b, 2.0 * np.random.default_rng(12).standard_normal(6)


@pytest.mark.parametrize("variant", SOAA_VARIANTS, ids=lambda v: ",".join(v) or "default")
def test_soaa_matches_nadir_transcription(variant):
    A, b, x0 = _soaa_problem()
    hp = {"lr": 0.05, "b1": 0.9, "b2": 0.999, "eps": 1e-8, "gamma": 0.1, "d0": 10.0, **variant}
    got, _ = trajectory(SOAA(total_steps=60, **hp), np, x0, A, b, 60)
    want = _soaa_reference(A, b, x0, 60, T=60, **hp)
    assert max_rel_dev(got, want) <= 1e-10


@pytest.mark.parametrize("option", [{"loss_order": "past_only"}, {"model": "consistent"}, {"radius_rule": "tadam"},
                                    {"fisher_ratio": "sum_of_ratios"}, {"wd": 0.05, "wd_scaling": "fixed"},
                                    {"fisher_sums": "per_block", "blocks": 3}], ids=lambda o: next(iter(o)))
def test_soaa_each_option_changes_the_trajectory(option):
    """Guards the transcription test against options that silently do nothing there."""
    A, b, x0 = _soaa_problem()
    base, _ = trajectory(SOAA(lr=0.05, total_steps=60), np, x0, A, b, 60)
    other, _ = trajectory(SOAA(lr=0.05, total_steps=60, **option), np, x0, A, b, 60)
    assert max_rel_dev(other, base) > 1e-3


def test_soaa_adam_branch_regime_is_scaled_adam():
    """Regime: with gamma = 0 the clamps are [1, 2] at t = 1 and [1, 1] afterwards, and
    rho_1 = (l-hat_1 - l_1)/eps = 0 up to one rounding of l, so d_1 = d0 and d_t = 1 for t >= 2.
    The Adam branch of r_t = max(d_t F_t, sqrt(v-hat_t)) is active iff
    d_t (1 + S_t) sqrt(v-hat_t) <= 1 elementwise; gradients of size <= 1e-3 (f scaled by 1e-4)
    keep it below 0.1 here (checked at every step).  Then u_t = d_t m-hat/(sqrt(v-hat)+eps),
    i.e. SOAA is Adam with the learning rate lr * d_t: lr * d0 for the first step, lr after."""
    A, b = quad(5, 10.0, seed=13, scale=1e-4)
    x0 = np.random.default_rng(14).standard_normal(5)
    lr, d0 = 0.01, 10.0
    rule = SOAA(lr=lr, gamma=0.0, d0=d0, total_steps=100)
    x, state, got = x0, rule.init(x0), []
    for _ in range(100):
        f, g = field(np, A, b, x)
        d_t = state.d
        dx, state = rule.update(g, state, x, value=f)
        m_hat = state.m / (1 - 0.9**state.k)
        v_hat = state.v / (1 - 0.999**state.k)
        F = rule._fisher(np, m_hat, v_hat, 1e-8)
        assert np.all(d_t * F <= 0.1 * np.sqrt(v_hat)), "not in the Adam-branch regime"
        x = x + dx
        got.append(x)
    assert float(state.d[0]) == 1.0
    adam = with_schedule(Adam(lr=lr), lambda k: d0 if k == 0 else 1.0)
    want, _ = trajectory(adam, np, x0, A, b, 100)
    assert max_rel_dev(np.stack(got), want) <= 1e-12


def test_soaa_lower_clamp_schedule_is_scheduled_adam():
    """With the loss fed as 0, rho_t = 0, so d_{t+1} = (1 - gamma)^((t-1)/T): Adam under the
    schedule lr * d_t (same small-gradient regime as above)."""
    A, b = quad(5, 10.0, seed=15, scale=1e-4)
    x0 = np.random.default_rng(16).standard_normal(5)
    rule = SOAA(lr=0.01, gamma=0.1, total_steps=40)
    got, state = trajectory(rule, np, x0, A, b, 80, value=lambda f: f * 0)
    sched = lambda k: 10.0 if k == 0 else 0.9 ** ((k - 1) / 40)  # noqa: E731
    want, _ = trajectory(with_schedule(Adam(lr=0.01), sched), np, x0, A, b, 80)
    assert max_rel_dev(got, want) <= 1e-12


def test_soaa_per_block_fisher_sums():
    """Per-block sums: S is formed within each block (sizes (2, 3), or blocks of 1)."""
    rule_b = SOAA(fisher_sums="per_block", blocks=(2, 3))
    rule_i = SOAA(fisher_sums="per_block", blocks=1)
    rng = np.random.default_rng(17)
    mh, vh = rng.standard_normal(5), rng.random(5)
    Fb = rule_b._fisher(np, mh, vh, 1e-8)
    want = np.concatenate([(1 + np.sum(mh[:2] ** 2) / np.sum(vh[:2] + 1e-8)) * vh[:2],
                           (1 + np.sum(mh[2:] ** 2) / np.sum(vh[2:] + 1e-8)) * vh[2:]])
    np.testing.assert_allclose(Fb, want, rtol=1e-15)
    np.testing.assert_allclose(rule_i._fisher(np, mh, vh, 1e-8), (1 + mh**2 / (vh + 1e-8)) * vh, rtol=1e-15)
    with pytest.raises(ValueError, match="does not divide"):
        SOAA(fisher_sums="per_block", blocks=2).update(np.ones(5), SOAA().init(np.zeros(5)), np.zeros(5), value=1.0)


def test_soaa_state_is_one_scalar_per_run():
    rule = SOAA()
    x = np.zeros((4, 3, 5))
    st = rule.init(x)
    for a in (st.d, st.p, st.lbar, st.d_last):
        assert a.shape == (4, 3, 1)
    _, st = rule.update(np.ones_like(x), st, x, value=np.ones((4, 3)))
    assert st.d.shape == (4, 3, 1) and st.p.shape == (4, 3, 1)


def test_soaa_needs_value():
    rule = SOAA()
    x = np.zeros(3)
    with pytest.raises(ValueError, match="value="):
        rule.update(np.ones(3), rule.init(x), x)
    with pytest.raises(ValueError, match="value="):
        rule._step(np, np.ones(3), rule.init(x), x, lr=rule.lr)
    wrapped = with_schedule(rule, "inverse_sqrt")
    with pytest.raises(ValueError, match="value="):
        wrapped.update(np.ones(3), wrapped.init(x), x)
    with pytest.raises(ValueError, match=r"shape \(\*batch,\)"):
        rule.update(np.ones((2, 3)), rule.init(np.zeros((2, 3))), np.zeros((2, 3)), value=np.ones(3))


def test_run_supplies_value_to_soaa():
    from precond_theory import run
    from precond_theory.problems import make_quadratic

    p = make_quadratic(6, 20.0, seed=4)
    rule = SOAA(lr=0.05, total_steps=50)
    tr = run(rule, p, steps=50, record="all", x0=p.default_x0())
    x, st = p.default_x0(), rule.init(p.default_x0())
    for _ in range(50):
        dx, st = rule.update(p.grad(x), st, x, value=p.value(x))
        x = x + dx
    np.testing.assert_allclose(tr.x_final, x, rtol=1e-12, atol=1e-14)
    assert tr.metrics["f_gap"][-1] < tr.metrics["f_gap"][0]


# ----------------------------------------------------------------------------- Preconditioned
def test_preconditioned_identity_is_sgd_bitwise(xp):
    A, b = quad(5, seed=18)
    x0 = xp.asarray(np.random.default_rng(19).standard_normal((2, 5)))
    got, _ = trajectory(Preconditioned(lr=0.04), xp, x0, A, b, 40)
    want, _ = trajectory(SGD(lr=0.04), xp, x0, A, b, 40)
    np.testing.assert_array_equal(got, want)
    diag1, _ = trajectory(Preconditioned(lr=0.04, diag=np.ones(5)), xp, x0, A, b, 40)
    np.testing.assert_array_equal(diag1, want)


def _gd_in_z(A, b, p0, P, lr, steps, diagonal):
    """GD on L~(z) = L(P z): z <- z - lr P^T grad L(P z); returns p_k = P z_k."""
    z, ps = to_intrinsic(p0, P, diagonal=diagonal), []
    PT = P if diagonal else P.T
    for _ in range(steps):
        p = from_intrinsic(z, P, diagonal=diagonal)
        g = A @ p - b
        z = z - lr * (PT * g if diagonal else PT @ g)
        ps.append(from_intrinsic(z, P, diagonal=diagonal))
    return np.stack(ps)


def test_preconditioned_diagonal_is_gd_in_intrinsic_variables():
    A, b = quad(6, 100.0, seed=20)
    M = np.random.default_rng(21).uniform(0.1, 2.0, 6)
    P = intrinsic_factor(M)
    np.testing.assert_allclose(P * P, M, rtol=1e-15)
    p0 = np.random.default_rng(22).standard_normal(6)
    got, _ = trajectory(Preconditioned(lr=0.01, diag=M), np, p0, A, b, 60)
    assert max_rel_dev(got, _gd_in_z(A, b, p0, P, 0.01, 60, True)) <= 1e-13


def test_preconditioned_dense_is_gd_in_intrinsic_variables():
    A, b = quad(5, 50.0, seed=23)
    R = np.random.default_rng(24).standard_normal((5, 5))
    M = R @ R.T + 0.5 * np.eye(5)
    P = intrinsic_factor(M)
    np.testing.assert_allclose(P @ P.T, M, rtol=1e-13, atol=1e-13)
    p0 = np.random.default_rng(25).standard_normal(5)
    lr = 1.0 / np.max(np.linalg.eigvalsh(P.T @ A @ P))
    got, _ = trajectory(Preconditioned(lr=lr, matrix=M), np, p0, A, b, 60)
    assert max_rel_dev(got, _gd_in_z(A, b, p0, P, lr, 60, False)) <= 1e-12


def test_intrinsic_round_trip_and_ambiguity(xp):
    rng = np.random.default_rng(26)
    p = xp.asarray(rng.standard_normal((3, 4)))
    Pd = xp.asarray(rng.uniform(0.5, 2.0, 4))
    Pm = xp.asarray(np.linalg.cholesky(np.eye(4) * 2 + 0.3))
    for P in (Pd, Pm):
        back = from_intrinsic(to_intrinsic(p, P), P)
        np.testing.assert_allclose(to_numpy(back), to_numpy(p), rtol=1e-13, atol=1e-14)
    sq = xp.asarray(rng.standard_normal((4, 4)))
    with pytest.raises(ValueError, match="diagonal="):
        to_intrinsic(sq, sq)


def test_preconditioned_source_rmsprop_is_rmsprop():
    A, b = quad(5, seed=27)
    x0 = np.ones(5)
    src = RMSProp(alpha=0.9)
    got, st = trajectory(Preconditioned(lr=0.01, source=src), np, x0, A, b, 50)
    want, st_ref = trajectory(RMSProp(lr=0.01, alpha=0.9), np, x0, A, b, 50)
    assert max_rel_dev(got, want) <= 1e-13
    np.testing.assert_allclose(Preconditioned(source=src).preconditioner(st), src.preconditioner(st_ref), rtol=1e-13)


# --------------------------------------------------------------------------------- invariances
ADAM_TYPE = {
    "adam": lambda: Adam(lr=0.02, eps=0.0),
    "amsgrad": lambda: rules.make("amsgrad", lr=0.02, eps=0.0),
    "adamrag": lambda: AdamRAG(lr=0.02, eps=0.0, momentum=0.5),
}


@pytest.mark.parametrize("name", sorted(ADAM_TYPE))
def test_adam_type_rules_invariant_to_objective_scale(name):
    """f -> c f scales every gradient by c; with eps = 0, m-hat / sqrt(v-hat) does not change."""
    A, b = quad(5, 20.0, seed=28)
    x0 = np.random.default_rng(29).standard_normal(5)
    base, _ = trajectory(ADAM_TYPE[name](), np, x0, A, b, 50)
    for seed in range(4):
        c = float(10.0 ** np.random.default_rng(seed).uniform(-4, 4))
        scaled, _ = trajectory(ADAM_TYPE[name](), np, x0, A, b, 50, gscale=np.full(5, c))
        assert max_rel_dev(scaled, base) <= 1e-12, f"c={c}"


def test_soaa_is_not_invariant_to_objective_scale():
    A, b = quad(5, 20.0, seed=28)
    x0 = np.random.default_rng(29).standard_normal(5)
    base, _ = trajectory(SOAA(lr=0.02, total_steps=50), np, x0, A, b, 50)
    devs = []
    for c in (1e-3, 1e3):
        scaled, _ = trajectory(SOAA(lr=0.02, total_steps=50), np, x0, A, b, 50, gscale=np.full(5, c))
        devs.append(max_rel_dev(scaled, base))
    assert min(devs) > 1e-3, devs  # F ~ g^2 against sqrt(v-hat) ~ |g|: the branch changes


SIGN_RULES = {
    "signsgd": lambda: rules.make("signsgd", lr=0.01),
    "signum": lambda: rules.make("signsgd", lr=0.01, momentum=0.9),
    "lion": lambda: rules.make("lion", lr=0.01),
    "rprop": lambda: Rprop(lr=0.05),
}


@pytest.mark.parametrize("name", sorted(SIGN_RULES))
def test_sign_rules_invariant_to_positive_coordinate_scaling(name):
    """g -> D g with D > 0 diagonal leaves sign(g), sign(g g_prev) and sign(EMA of g) unchanged."""
    A, b = quad(6, 20.0, seed=30)
    x0 = np.random.default_rng(31).standard_normal(6)
    base, _ = trajectory(SIGN_RULES[name](), np, x0, A, b, 60)
    for seed in range(4):
        D = 10.0 ** np.random.default_rng(100 + seed).uniform(-3, 3, 6)
        scaled, _ = trajectory(SIGN_RULES[name](), np, x0, A, b, 60, gscale=D)
        np.testing.assert_array_equal(scaled, base)


# ---------------------------------------------------------------------------------- bad input
BAD = [
    ("soaa", {"b1": 1.0}, "b1"), ("soaa", {"b2": -0.1}, "b2"), ("soaa", {"gamma": 1.0}, "gamma"),
    ("soaa", {"d0": 0.0}, "d0"), ("soaa", {"eps": -1.0}, "eps"), ("soaa", {"wd": -0.1}, "wd"),
    ("soaa", {"total_steps": 0}, "total_steps"), ("soaa", {"loss_order": "future"}, "loss_order"),
    ("soaa", {"fisher_sums": "per_block"}, "blocks"), ("soaa", {"blocks": 3}, "blocks"),
    ("soaa", {"fisher_sums": "per_block", "blocks": (2, 0)}, "blocks"), ("soaa", {"lr": -1.0}, "lr"),
    ("rprop", {"eta_minus": 1.0}, "eta_minus"), ("rprop", {"eta_plus": 1.0}, "eta_plus"),
    ("rprop", {"step_min": 1.0, "step_max": 0.5}, "step_min"), ("rprop", {"lr": 0.0}, "lr"),
    ("adarem", {"resilience": 1.5}, "resilience"), ("adarem", {"b1": -0.1}, "b1"),
    ("adarem", {"normalizer": "l2"}, "normalizer"), ("adarem", {"momentum": -1.0}, "momentum"),
    ("adarem", {"eps": 0.0}, "eps"),
    ("adamrag", {"momentum": 1.0}, "momentum"), ("adamrag", {"a": 0.0}, "a"),
    ("adamrag", {"schedule": "linear"}, "schedule"), ("adamrag", {"b2": 1.0}, "b2"),
    ("preconditioned", {"diag": np.array([1.0, -1.0])}, "diag"),
    ("preconditioned", {"matrix": np.ones((2, 3))}, "matrix"),
    ("preconditioned", {"diag": np.ones(2), "matrix": np.eye(2)}, "diag, matrix"),
]


@pytest.mark.parametrize("name,hp,field_name", BAD, ids=[f"{n}-{f}" for n, _, f in BAD])
def test_bad_hyperparameters_name_the_field(name, hp, field_name):
    with pytest.raises(ValueError, match=field_name):
        rules.make(name, **hp)


def test_preconditioned_rejects_unusable_sources_and_shapes():
    with pytest.raises(ValueError, match="no preconditioner"):
        Preconditioned(source=SGD())
    with pytest.raises(ValueError, match="needs loss values"):
        Preconditioned(source=SOAA())
    rule = Preconditioned(diag=np.ones(4))
    with pytest.raises(ValueError, match="diag has shape"):
        rule.update(np.ones(5), Preconditioned().init(np.zeros(5)), np.zeros(5))


def test_new_rules_metadata():
    for cls, fid in ((SOAA, "concordant"), (Rprop, "exact"), (AdaRem, "recon"), (AdamRAG, "recon"),
                     (Preconditioned, "recon")):
        assert cls.fidelity == fid
        assert f"Fidelity: {fid.upper()}" in cls.__doc__
    assert SOAA.needs_value and SOAA.has_preconditioner and Preconditioned.has_preconditioner
    meta = SOAA(total_steps=10).hyperparameters()
    assert meta["total_steps"] == 10 and meta["loss_order"] == "fold_then_ratio"
    assert dataclasses.is_dataclass(Preconditioned) and math.isfinite(Preconditioned().lr)
    nested = Preconditioned(source=Adam(lr=0.1)).hyperparameters()
    assert nested["source.name"] == "adam" and nested["source.lr"] == 0.1

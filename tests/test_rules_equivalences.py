r"""Exact equivalences between rules, wrappers that reduce to the identity, and analytic steps.

Every check compares two computations that are equal in exact arithmetic.  Where both sides
perform the same floating-point operations the comparison is bitwise
(``assert_array_equal``); where the operations differ, the tolerance is derived from the unit
round-off :math:`u = \epsilon/2 = 2^{-53}` of float64 and stated next to the test.  None of the
tolerances is loose enough to hide a modelling difference: each docstring says what error a
wrong implementation would produce.

The test problem is a fixed float64 quadratic :math:`f(x) = \tfrac12 x^\top A x - b^\top x`
(n = 8, spectrum geometric in [1, 10], seeded rotation) run on a batch of 3 starting points,
so that batch independence is exercised at the same time.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import sympy

from precond_theory.rules import make, with_projection, with_schedule, with_weight_decay

EPS = float(np.finfo(np.float64).eps)  # 2**-52
U = EPS / 2  # unit round-off of float64


def _problem(seed: int = 7, n: int = 8, kappa: float = 10.0):
    """``(A, b, x0)``: SPD ``A`` (geometric spectrum in [1, kappa], seeded rotation), batch of 3 ``x0``."""
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    q = q * np.sign(np.diag(r))
    A = (q * np.geomspace(1.0, kappa, n)) @ q.T
    A = 0.5 * (A + A.T)
    b = rng.standard_normal(n)
    x0 = 2.0 * rng.standard_normal((3, n))
    return A, b, x0


A, B, X0 = _problem()


def _grad(x: np.ndarray) -> np.ndarray:
    """Exact gradient ``A x - b`` for a batch ``x`` of shape ``(..., n)`` (A is symmetric)."""
    return x @ A - B


def _run(rule, steps: int, x0: np.ndarray = X0, grad=_grad) -> np.ndarray:
    """Iterates ``(steps + 1, *x0.shape)`` of ``rule`` with exact gradients at ``rule.query``."""
    x, state = x0, rule.init(x0)
    out = [x]
    for _ in range(steps):
        dx, state = rule.update(grad(rule.query(x, state)), state, x)
        x = x + dx
        out.append(x)
    return np.stack(out)


def _rel_dev(a: np.ndarray, ref: np.ndarray) -> float:
    """``max`` over steps and batch members of ``||a - ref|| / ||ref||`` (norm over the last axis)."""
    return float(np.max(np.linalg.norm(a - ref, axis=-1) / np.linalg.norm(ref, axis=-1)))


# ------------------------------------------------------------------------------------------------
# (a) torch's Nesterov SGD is the Ravine method


@pytest.mark.parametrize("momentum, lr", [(0.5, 0.1), (0.9, 0.02), (0.99, 0.005)])
def test_sgd_nesterov_iterates_are_the_ravine_sequence(momentum, lr):
    r"""``SGD(momentum=μ, nesterov=True, lr=γ)`` and ``Ravine("constant", momentum=μ, lr=γ)``.

    From the same :math:`x_0 = y_0` (Ravine starts from :math:`w_{-1} = y_0`) the two iterate
    sequences are equal in exact arithmetic (``docs/spec/baselines.md``: both have
    :math:`d_k = -\gamma g_k + \mu(d_{k-1} - \gamma g_k + \gamma g_{k-1})`).  They use different
    operations, so they agree to round-off: each step adds O(u) relative error, which the
    (stable) momentum recursion accumulates with weights summing to at most
    :math:`1/(1-\mu)`; over 50 steps this gives the bound ``50 * eps / (1 - mu)`` (measured:
    4e-16, 2e-15, 6e-15 for the three settings).  A wrong first step (e.g. :math:`w_{-1} = 0`,
    or plain momentum instead of Nesterov's step) gives errors of order 1 (measured 0.9 to 19).
    """
    steps = 50
    sgd = _run(make("sgd", lr=lr, momentum=momentum, nesterov=True), steps)
    ravine = _run(make("ravine", schedule="constant", momentum=momentum, lr=lr), steps)
    assert _rel_dev(ravine, sgd) <= steps * EPS / (1 - momentum)


# ------------------------------------------------------------------------------------------------
# (b) Lion without first-moment averaging is sign descent


@pytest.mark.parametrize("b2", [0.0, 0.99])
def test_lion_with_b1_zero_is_signsgd(b2):
    r"""Lion with :math:`\beta_1 = 0` takes :math:`c_k = g_k`, hence the step
    :math:`-\eta\,\mathrm{sign}(g_k)` whatever :math:`\beta_2` (which only feeds the unused m).

    Both rules compute ``0 * m + 1 * g`` then ``sign``: the steps are bitwise equal, along a
    quadratic trajectory and for gradients containing exact zeros (``sign(0) = 0`` in both).
    """
    lion, sign = make("lion", lr=0.05, b1=0.0, b2=b2), make("signsgd", lr=0.05)
    np.testing.assert_array_equal(_run(lion, 60), _run(sign, 60))

    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 5))
    s_lion, s_sign = lion.init(x), sign.init(x)
    for _ in range(10):
        g = rng.standard_normal(x.shape) * (rng.random(x.shape) < 0.7)  # about 30% exact zeros
        dx_lion, s_lion = lion.update(g, s_lion, x)
        dx_sign, s_sign = sign.update(g, s_sign, x)
        np.testing.assert_array_equal(dx_lion, dx_sign)
        np.testing.assert_array_equal(dx_sign, -0.05 * np.sign(g))


# ------------------------------------------------------------------------------------------------
# (c) Adam with b1 = 0 is bias-corrected RMSProp


@pytest.mark.parametrize("lr, b2, eps", [(0.05, 0.999, 1e-8), (0.1, 0.9, 1e-3), (0.01, 0.5, 0.0)])
def test_adam_b1_zero_is_bias_corrected_rmsprop(lr, b2, eps):
    r"""``Adam(b1=0)`` steps equal bias-corrected RMSProp, written here in closed form:

    .. math:: \Delta x_k = -\gamma\, g_k \Big/ \Big(\sqrt{\tfrac{1-\beta_2}{1-\beta_2^k}
              \textstyle\sum_{i=1}^k \beta_2^{k-i} g_i^2} + \epsilon\Big).

    The comparison is per step along Adam's own trajectory (same gradients on both sides),
    not between two free-running trajectories: near the optimum these normalised methods
    oscillate and amplify round-off exponentially (two free runs drift apart to 3e-7 within
    50 steps at lr=0.1, b2=0.9), which says nothing about the rule.  Both denominators are
    sums of k positive terms, each within about (k+3)u of the exact value; the square root halves
    that, and a few more roundings follow, so the elementwise relative difference is at most
    about (k+10)u <= 64 eps for k <= 50 (measured: <= 3.3 eps).  Without bias correction, or with ε
    inside the root, the steps differ by O(1) (first step) or O(ε/√v) relative.
    """
    steps = 50
    rule = make("adam", lr=lr, b1=0.0, b2=b2, eps=eps)
    x, state, gs = X0, rule.init(X0), []
    for k in range(1, steps + 1):
        g = _grad(x)
        gs.append(g)
        dx, state = rule.update(g, state, x)
        weights = (1 - b2) * b2 ** np.arange(k - 1, -1, -1.0)  # beta2^(k-i), i = 1..k
        v = np.tensordot(weights, np.stack(gs) ** 2, axes=1)
        dx_closed = -lr * g / (np.sqrt(v / (1 - b2**k)) + eps)
        np.testing.assert_allclose(dx, dx_closed, rtol=64 * EPS, atol=0)
        x = x + dx


# ------------------------------------------------------------------------------------------------
# (d) wrappers with a zero coefficient are the identity

IDENTITY_RULES = {
    "sgd": dict(lr=0.02, momentum=0.9, nesterov=True),
    "heavy_ball": dict(lr=0.05, momentum=0.8),
    "nesterov": dict(lr=0.05),
    "ravine": dict(lr=0.05, schedule="fista"),
    "adagrad": dict(lr=0.5, lr_decay=0.01),
    "rmsprop": dict(lr=0.01, centered=True, momentum=0.5),
    "adam": dict(lr=0.05, wd=0.1),
    "amsgrad": dict(lr=0.05),
    "adamw": dict(lr=0.05),
    "nadam": dict(lr=0.02),
    "lion": dict(lr=0.01),
    "signsgd": dict(lr=0.01, momentum=0.5),
}

ZERO_WRAPPERS = {
    "wd0": lambda r: with_weight_decay(r, 0.0),  # the scalar 0: coupled/scale_by_lr would be refused
    "wd0_batched_array": lambda r: with_weight_decay(r, np.zeros((3, 1))),
    "wd0_batched_coupled": lambda r: with_weight_decay(r, np.zeros((3, 1)), coupled=True),
    "wd0_batched_decoupled_fixed": lambda r: with_weight_decay(r, np.zeros((3, 1)), scale_by_lr=False),
    "schedule_constant": lambda r: with_schedule(r, "constant"),
    "box_inactive": lambda r: with_projection(r, box=(-1e3, 1e3)),
    "ball_inactive": lambda r: with_projection(r, ball=1e3),
}


@pytest.mark.parametrize("wrapper", sorted(ZERO_WRAPPERS))
@pytest.mark.parametrize("name", sorted(IDENTITY_RULES))
def test_wrapper_with_zero_coefficient_is_identity(name, wrapper):
    """Zero weight decay, the constant schedule and a never-active projection change nothing.

    Bitwise: the wrappers add ``0 * x``, multiply the lr by 1.0, and return
    ``(x + dx) - x`` for an inactive projection, which ``x + ((x + dx) - x)`` turns back into
    ``x + dx`` exactly (round-to-nearest; Sterbenz/Fast2Sum).  The box and ball radius 1e3 are
    never reached (checked), so any non-identity behaviour (a stray decay, a schedule factor
    that is not 1, a projection that rescales) shows up as a mismatch.
    """
    rule = make(name, **IDENTITY_RULES[name])
    plain = _run(rule, 40)
    wrapped = _run(ZERO_WRAPPERS[wrapper](rule), 40)
    assert np.max(np.abs(plain)) < 1e3 and np.max(np.linalg.norm(plain, axis=-1)) < 1e3
    np.testing.assert_array_equal(wrapped, plain)


# ------------------------------------------------------------------------------------------------
# (e) Adam's first step is -lr * sign(g) when eps = 0


@pytest.mark.parametrize("b1", [0.0, 0.5, 0.9, 0.99])
@pytest.mark.parametrize("b2", [0.9, 0.999, 0.9999])
@pytest.mark.parametrize("lr", [1e-3, 0.1, 3.0])
def test_adam_first_step_is_minus_lr_sign_g(b1, b2, lr):
    r"""With ε = 0: :math:`\hat m_1 = g`, :math:`\hat v_1 = g^2`, so :math:`\Delta x_1 = -\gamma\,\mathrm{sign}(g)`.

    Gradients span 1e-100..1e100 in magnitude with random signs.  The rule computes
    ``(lr / bc1) * ((1-b1) g) / (sqrt((1-b2) g^2) / sqrt(bc2))``: the factors ``1-b1`` and
    ``bc1 = 1 - b1**1`` are the same float (likewise for b2), so they cancel exactly and the
    result carries at most ten roundings (the two under the square root count half):
    relative error <= 10u = 5 eps (measured: 2 eps).  A missing bias correction would give factors
    :math:`(1-\beta_1)/\sqrt{1-\beta_2}` (O(1) errors).
    """
    rng = np.random.default_rng(11)
    g = rng.choice([-1.0, 1.0], size=(50, 7)) * 10.0 ** rng.uniform(-100, 100, size=(50, 7))
    x = rng.standard_normal(g.shape)
    rule = make("adam", lr=lr, b1=b1, b2=b2, eps=0.0)
    dx, state = rule.update(g, rule.init(x), x)
    np.testing.assert_allclose(dx, -lr * np.sign(g), rtol=5 * EPS, atol=0)


def test_adam_first_step_is_exact_for_powers_of_two():
    """With β's, lr and g chosen so that every intermediate is a power of two, the first step is
    ``-lr * sign(g)`` bitwise (no rounding anywhere: 1-0.5, 1-0.75, their square roots, ...)."""
    rng = np.random.default_rng(5)
    g = rng.choice([-1.0, 1.0], size=(20, 4)) * 2.0 ** rng.integers(-200, 200, size=(20, 4)).astype(float)
    x = np.zeros_like(g)
    for b1 in (0.0, 0.5, 0.75):
        rule = make("adam", lr=0.125, b1=b1, b2=0.75, eps=0.0)
        dx, _ = rule.update(g, rule.init(x), x)
        np.testing.assert_array_equal(dx, -0.125 * np.sign(g))


# ------------------------------------------------------------------------------------------------
# (f) AdaGrad on a 1-D quadratic


def _adagrad_1d_python(a: float, x0: float, lr: float, eps: float, steps: int) -> list[float]:
    r"""The recursion :math:`S_k = S_{k-1} + (a x_k)^2`, :math:`x_{k+1} = x_k - \gamma a x_k / (\sqrt{S_k} + \epsilon)`
    in plain Python floats (an independent implementation of AdaGrad on :math:`f = a x^2/2`)."""
    xs, x, S = [x0], x0, 0.0
    for _ in range(steps):
        S += (a * x) ** 2
        x = x - lr * a * x / (math.sqrt(S) + eps)
        xs.append(x)
    return xs


@pytest.mark.parametrize("a", [0.1, 1.0, 7.5])
@pytest.mark.parametrize("eps", [0.0, 1e-10])
def test_adagrad_1d_quadratic_follows_the_recursion(a, eps):
    r"""AdaGrad on :math:`f(x) = a x^2/2` (:math:`g_k = a x_k`) equals the scalar recursion.

    :math:`x_{k+1} = x_k\,(1 - \gamma a/(\sqrt{S_k}+\epsilon))` with :math:`S_k = a^2\sum_{i\le k} x_i^2`.
    The two implementations group the products differently (a few ulps per step); the map
    :math:`x \mapsto x(1 - \gamma/\sqrt{\sum x_i^2})` is a contraction in this regime, so the
    difference stays at that level: bound 100 steps x 4 eps relative (measured <= 6.7 eps).
    """
    steps, lr, x0 = 100, 0.3, 3.0
    rule = make("adagrad", lr=lr, eps=eps)
    ours = _run(rule, steps, x0=np.array([x0]), grad=lambda x: a * x)[:, 0]
    ref = np.array(_adagrad_1d_python(a, x0, lr, eps, steps))
    np.testing.assert_allclose(ours, ref, rtol=steps * 4 * EPS, atol=0)


def test_adagrad_1d_quadratic_first_steps_analytic():
    r"""First steps of AdaGrad (ε = 0, :math:`S_0 = 0`) on :math:`f = a x^2/2`, exactly.

    :math:`S_k = a^2 \sum_{i \le k} x_i^2`, so :math:`x_{k+1} = x_k - \gamma x_k/\sqrt{\sum_{i\le k} x_i^2}`:
    the trajectory does not depend on the curvature :math:`a > 0`.  From :math:`x_0 = 3`,
    :math:`\gamma = 1`: :math:`x_1 = 2`, :math:`x_2 = 2 - 2/\sqrt{13}`,
    :math:`x_3 = x_2 (1 - 1/\sqrt{13 + x_2^2})`, evaluated exactly with SymPy.  Each float step
    adds a few roundings: rtol 16 eps over 4 steps.
    """
    xs = [sympy.Integer(3)]
    for _ in range(4):
        xs.append(xs[-1] - xs[-1] / sympy.sqrt(sum(x**2 for x in xs)))
    assert xs[1] == 2 and sympy.simplify(xs[2] - (2 - 2 / sympy.sqrt(13))) == 0
    exact = np.array([float(sympy.N(x, 30)) for x in xs])
    rule = make("adagrad", lr=1.0, eps=0.0)
    for a in (0.01, 1.0, 250.0):
        ours = _run(rule, 4, x0=np.array([3.0]), grad=lambda x, a=a: a * x)[:, 0]
        np.testing.assert_allclose(ours, exact, rtol=16 * EPS, atol=0)


# ------------------------------------------------------------------------------------------------
# (g) Polyak's heavy ball is torch's SGD with momentum and no dampening


@pytest.mark.parametrize("momentum, lr", [(0.5, 0.1), (0.9, 0.02), (0.99, 0.005)])
def test_heavy_ball_is_sgd_momentum(momentum, lr):
    r"""``HeavyBall(lr, momentum)`` and ``SGD(lr, momentum, dampening=0)`` iterates.

    Equal in exact arithmetic (:math:`-\gamma b_k = -\gamma g_k + \mu(x_k - x_{k-1})` with
    :math:`x_{-1} = x_0`); different operations, so round-off with the same bound as the
    Nesterov/Ravine test, ``50 * eps / (1 - mu)`` (measured: 4e-16, 1.4e-15, 3.7e-15).  A
    dampened buffer (τ = 0.1) already differs by 0.15 to 0.67.
    """
    steps = 50
    sgd = _run(make("sgd", lr=lr, momentum=momentum, dampening=0.0), steps)
    hb = _run(make("heavy_ball", lr=lr, momentum=momentum), steps)
    assert _rel_dev(hb, sgd) <= steps * EPS / (1 - momentum)


# ------------------------------------------------------------------------------------------------
# (h) schedules equal changing the lr by hand


def _factor(kind: str, k: int) -> float:
    """Schedule factors for update k = 0, 1, ..., written independently of ``make_schedule``."""
    if kind == "step":  # halve every 7 updates
        return 0.5 ** (k // 7)
    if kind == "cosine":  # from 1 to 0.1 over 40 updates, then flat
        t = min(k, 40)
        return 0.1 + 0.9 * (1.0 + math.cos(math.pi * t / 40)) / 2.0
    if kind == "inverse_sqrt":
        return 1.0 / math.sqrt(k + 1.0)
    raise AssertionError(kind)


SCHEDULE_PARAMS = {"step": dict(step_size=7, gamma=0.5), "cosine": dict(total_steps=40, final=0.1), "inverse_sqrt": {}}


@pytest.mark.parametrize("kind", sorted(SCHEDULE_PARAMS))
@pytest.mark.parametrize("name, hp", [("sgd", dict(lr=0.03, momentum=0.9)), ("adam", dict(lr=0.05, wd=0.05))])
def test_schedule_equals_lr_changed_by_hand(kind, name, hp):
    r"""``with_schedule(rule, kind)`` equals stepping ``dataclasses.replace(rule, lr=lr * s(k))``.

    The hand-made factors may differ from the wrapper's by an ulp (different grouping), which
    changes each step by at most that relative amount; over 50 contracting steps: rtol
    50 x 2 eps on the iterates (measured: 0, bitwise).  A schedule applied off by one step, or
    not at all, changes the iterates at the 1e-2 level.  Runs past the cosine horizon (k > 40).
    """
    steps = 50
    rule = make(name, **hp)
    scheduled = _run(with_schedule(rule, kind, **SCHEDULE_PARAMS[kind]), steps)
    x, state = X0, rule.init(X0)
    by_hand = [x]
    for k in range(steps):
        rule_k = dataclasses.replace(rule, lr=rule.lr * _factor(kind, k))
        dx, state = rule_k.update(_grad(x), state, x)
        x = x + dx
        by_hand.append(x)
    by_hand = np.stack(by_hand)
    np.testing.assert_allclose(scheduled, by_hand, rtol=steps * 2 * EPS, atol=0)
    assert _rel_dev(_run(rule, steps), by_hand) > 1e-3  # the schedule matters


# ------------------------------------------------------------------------------------------------
# (i) weight-decay wrappers around Adam equal Adam's own options


@pytest.mark.parametrize("wd", [0.01, 0.3])
def test_decoupled_wrapper_around_adam_is_adamw(wd):
    r"""``with_weight_decay(Adam, wd, coupled=False, scale_by_lr=True)`` equals ``AdamW(wd)``
    (and ``scale_by_lr=False`` equals ``AdamW(decay_scaled_by_lr=False)``), also under a schedule.

    Both compute ``adam_dx - lr * wd * x``: round-off only, rtol 50 steps x 2 eps (measured:
    bitwise).  Coupled decay instead of decoupled would differ at the 1e-2 level.
    """
    steps, hp = 50, dict(lr=0.05, b1=0.8, b2=0.99, eps=1e-6)
    adam = make("adam", **hp)
    tol = dict(rtol=steps * 2 * EPS, atol=0)
    np.testing.assert_allclose(_run(with_weight_decay(adam, wd), steps), _run(make("adamw", wd=wd, **hp), steps), **tol)
    np.testing.assert_allclose(
        _run(with_weight_decay(adam, wd, scale_by_lr=False), steps),
        _run(make("adamw", wd=wd, decay_scaled_by_lr=False, **hp), steps), **tol,
    )
    np.testing.assert_allclose(
        _run(with_weight_decay(with_schedule(adam, "cosine", total_steps=30), wd), steps),
        _run(with_schedule(make("adamw", wd=wd, **hp), "cosine", total_steps=30), steps), **tol,
    )
    assert _rel_dev(_run(make("adam", wd=wd, **hp), steps), _run(make("adamw", wd=wd, **hp), steps)) > 1e-3


@pytest.mark.parametrize("wd", [0.01, 0.3])
def test_coupled_wrapper_around_adam_is_adam_wd(wd):
    r"""``with_weight_decay(Adam, wd, coupled=True)`` equals ``Adam(wd=wd)`` (torch's coupled L2).

    Both feed ``g + wd * x`` to the same arithmetic: rtol 50 steps x 2 eps (measured: bitwise).
    """
    steps, hp = 50, dict(lr=0.05, b1=0.8, b2=0.99, eps=1e-6)
    np.testing.assert_allclose(
        _run(with_weight_decay(make("adam", **hp), wd, coupled=True), steps),
        _run(make("adam", wd=wd, **hp), steps), rtol=steps * 2 * EPS, atol=0,
    )

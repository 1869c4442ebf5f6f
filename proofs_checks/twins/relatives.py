r"""Twins of the EXACT relatives: apollo, agd, adabelief, adabound, swats.

Written from ``docs/spec/baselines.md`` ("Other relatives needed by §1–§4") and, where the
spec leaves the package's details open (Apollo's ε′ = ε/0.01 and its "belief" rebound,
AdaBelief's RAdam rectification, the inner ε₀ of AdaBound/SWATS, SWATS's switch test), from the
rules' docstrings, which quote the reference code.  Hyperparameters are drawn so that every
switch (AGD's δ floor, AdaBound's clip, SWATS's switch, Apollo's rectified |B|) is exercised
within a few steps.
"""

from __future__ import annotations

from typing import Any, ClassVar

import sympy as sp

from .base import Case, Twin, V, ind_ge, ind_gt, ind_ne, is_zero_value, register_twin, sqrt, vabs, vmax, vmin

B1 = (0.5, 0.95)
B2 = (0.6, 0.99)


def _decay(P, g, x, lr):
    """pytorch-optimizer weight decay: coupled L2 ``g + wd x`` or decoupled ``-c wd x`` (c = lr or 1)."""
    if is_zero_value(P.wd):
        return g, None
    if P.decoupled_wd:
        return g, -(lr if P.decay_scaled_by_lr else 1) * P.wd * x
    return g + P.wd * x, None


# ------------------------------------------------------------------------------------- Apollo
@register_twin("apollo")
class ApolloTwin(Twin):
    r"""Apollo: weak-secant diagonal :math:`B_t = B_{t-1} - \alpha_t d_{t-1}^2`, :math:`D = \max(|B|, \sigma)`, :math:`x -= \eta D^{-1} m`."""

    source = "docs/spec/baselines.md Apollo (kozistr ApolloDQN); ε′ and 'belief' from the rule's docstring"
    hyper: ClassVar[dict[str, Any]] = {"lr": (0.05, 0.5), "init_lr": (1e-3, 1e-2), "b1": B1, "eps": (1e-4, 1e-2), "wd": (0.05, 0.3)}
    cases = (
        Case(options={"warmup_steps": 3}, label="constant rebound, l2, warmup 3"),
        Case(options={"rebound": "belief", "wd_type": "decoupled", "warmup_steps": 0}, label="belief, decoupled"),
        Case(options={"wd_type": "stable", "warmup_steps": 2}, label="stable decay"),
    )
    display_n = 2

    def init(self, x, P):
        z = V.full(len(x), 0)
        return {"m": z, "B": z, "d": z, "D": V.full(len(x), sp.Float(1e-2))}

    def step(self, t, g, state, x, P, value=None, hvp=None):
        W = P.warmup_steps
        lr_t = P.lr if W == 0 else sp.Piecewise((P.lr, t >= W), ((P.lr - P.init_lr) * t / W + P.init_lr, True))
        P.note("lr_t", lr_t)
        eps4 = P.eps / sp.Float(1e-2) if P.rebound == "constant" else P.eps
        if P.wd_type == "l2" and not is_zero_value(P.wd):
            g = g + P.wd * x
        m_prev, d_prev, B_prev = state["m"], state["d"], state["B"]
        # bias-corrected EMA: m_t = [beta (1 - beta^(t-1)) m_{t-1} + (1 - beta) g_t] / (1 - beta^t)
        m = (P.b1 * (1 - P.b1 ** (t - 1)) * m_prev + (1 - P.b1) * g) / (1 - P.b1**t)
        norm4 = ((d_prev**4).sum()) ** sp.Rational(1, 4) + eps4  # ||d||_4 + eps'
        # spec: alpha_t = (d^T (m_t - m_{t-1}) + d^T B d) / (||d||_4 + eps')^4, B_t = B - alpha_t d^2
        alpha = (d_prev.dot(m - m_prev) + (d_prev * B_prev * d_prev).sum()) / norm4**4
        B = B_prev - alpha * d_prev * d_prev
        if P.rebound == "constant":
            D = vmax(vabs(B), sp.Float(1e-2))
        else:  # max(|B|, ||g - m_{t-1}||_inf) + eps / alpha_t, alpha_t = (1-beta)/(1-beta^t)
            D = vmax(vabs(B), vabs(g - m_prev).max()) + P.eps * (1 - P.b1**t) / (1 - P.b1)
        P.note("D_t", D)
        d = m / D
        if P.wd_type == "decoupled":
            d = d + P.wd * x
        elif P.wd_type == "stable":
            d = d + P.wd * x / (D.sum() / len(D))
        return -lr_t * d, {"m": m, "B": B, "d": d, "D": D}


# ---------------------------------------------------------------------------------------- AGD
@register_twin("agd")
class AGDTwin(Twin):
    r"""AGD: :math:`s_t = \hat m_t - \hat m_{t-1}`, :math:`b_t = \mathrm{EMA}(s^2)`, :math:`x -= \gamma(\sqrt{c_2}/c_1)\,m/\max(\sqrt{b}, \delta\sqrt{c_2})`."""

    source = "docs/spec/baselines.md AGD (dlrover atorch agd.py)"
    hyper: ClassVar[dict[str, Any]] = {"lr": (0.02, 0.3), "b1": B1, "b2": B2, "delta": (0.2, 1.0), "wd": (0.05, 0.3)}
    cases = (Case(label="decoupled decay"), Case(options={"amsgrad": True}, hyper={"wd": 0.0}, label="amsgrad"))

    def init(self, x, P):
        z = V.full(len(x), 0)
        return {"m": z, "v": z, "vmax": z if P.amsgrad else None}

    def step(self, t, g, state, x, P, value=None, hvp=None):
        c1, c2 = 1 - P.b1**t, 1 - P.b2**t
        m = P.b1 * state["m"] + (1 - P.b1) * g
        prev_hat = V(sp.Piecewise((0, sp.Eq(t, 1)), (mi / (1 - P.b1 ** (t - 1)), True)) for mi in state["m"])
        s = m / c1 - prev_hat  # s_1 = m-hat_1 = g_1
        v = P.b2 * state["v"] + (1 - P.b2) * s * s
        vmx = vmax(state["vmax"], v) if P.amsgrad else None
        denom = vmax(sqrt(vmx if P.amsgrad else v), P.delta * sp.sqrt(c2))  # the automatic switch to SGD
        P.note("s_t", s)
        dx = -(P.lr * sp.sqrt(c2) / c1) * m / denom
        if not is_zero_value(P.wd):
            dx = dx - P.lr * P.wd * x
        return dx, {"m": m, "v": v, "vmax": vmx}


# ---------------------------------------------------------------------------------- AdaBelief
def _radam(P, t):
    """RAdam's rho_t and the rectification r_t times sqrt(1 - beta2^t) (Liu et al. 2020, Alg. 2)."""
    rho_inf = 2 / (1 - P.b2) - 1
    rho = rho_inf - 2 * t * P.b2**t / (1 - P.b2**t)
    r = sp.sqrt((1 - P.b2**t) * (rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
    return rho, r


@register_twin("adabelief")
class AdaBeliefTwin(Twin):
    r"""AdaBelief: :math:`s_t = \beta_2 s + (1-\beta_2)(g - m_t)^2 + \epsilon`, :math:`x -= \gamma\hat m/(\sqrt{\hat s}+\epsilon)`."""

    source = "docs/spec/baselines.md AdaBelief; rectification: RAdam (Liu et al., ICLR 2020, Alg. 2)"
    hyper: ClassVar[dict[str, Any]] = {"lr": (0.02, 0.3), "b1": B1, "b2": B2, "eps": (1e-3, 0.05), "wd": (0.05, 0.3)}
    cases = (
        Case(label="decoupled decay scaled by lr"),
        Case(options={"decoupled_wd": False, "amsgrad": True}, label="coupled, amsgrad"),
        Case(options={"decay_scaled_by_lr": False, "rectify": True, "n_sma_threshold": 4}, hyper={"b2": (0.8, 0.9)},
             label="rectified (RAdam), SGD fallback"),
        Case(options={"rectify": True, "degenerated_to_sgd": False, "n_sma_threshold": 4}, hyper={"b2": (0.8, 0.9)},
             label="rectified, no step before rectification"),
    )
    warmups = (0, 3, 6)
    run_steps = 7

    def init(self, x, P):
        z = V.full(len(x), 0)
        return {"m": z, "s": z, "smax": z if P.amsgrad else None}

    def step(self, t, g, state, x, P, value=None, hvp=None):
        g, decay = _decay(P, g, x, P.lr)
        m = P.b1 * state["m"] + (1 - P.b1) * g
        s = P.b2 * state["s"] + (1 - P.b2) * (g - m) ** 2 + P.eps  # eps inside the EMA too
        smx = vmax(state["smax"], s) if P.amsgrad else None
        root = sqrt(smx if P.amsgrad else s)
        c1 = 1 - P.b1**t
        if not P.rectify:
            dx = -(P.lr / c1) * m / (root / sp.sqrt(1 - P.b2**t) + P.eps)
        else:
            rho, r = _radam(P, t)
            P.note("rho_t", rho)
            adaptive = -(P.lr * r / c1) * m / (root + P.eps)
            fallback = -(P.lr / c1) * m if P.degenerated_to_sgd else V.full(len(m), 0)
            dx = V(sp.Piecewise((a, rho >= P.n_sma_threshold), (f, True)) for a, f in zip(adaptive, fallback))
        if decay is not None:
            dx = decay + dx
        return dx, {"m": m, "s": s, "smax": smx}


# ----------------------------------------------------------------------------------- AdaBound
@register_twin("adabound")
class AdaBoundTwin(Twin):
    r"""AdaBound: :math:`x -= \mathrm{clip}(s_t/(\sqrt{v}+\epsilon), \eta_l(t), \eta_u(t)) \odot m`, bounds → η*."""

    source = "docs/spec/baselines.md AdaBound (kozistr adabound.py); ε₀ inside the root from the docstring"
    hyper: ClassVar[dict[str, Any]] = {"lr": (0.02, 0.5), "final_lr": (0.05, 0.3), "gamma": (0.1, 0.6), "b1": B1, "b2": B2, "eps": (1e-3, 0.05),
             "eps_inner": (1e-3, 1e-2), "wd": (0.05, 0.3)}
    cases = (
        Case(label="package defaults (decoupled, bias-corrected)"),
        Case(options={"decoupled_wd": False, "amsbound": True, "rescale_final_lr": False}, label="coupled AMSBound"),
        Case(options={"bias_correction": False, "sqrt_t": True, "decay_scaled_by_lr": False},
             label="paper Alg. 2 (no correction, 1/sqrt t)"),
    )

    def init(self, x, P):
        z = V.full(len(x), 0)
        return {"m": z, "v": z, "vmax": z if P.amsbound else None}

    def step(self, t, g, state, x, P, value=None, hvp=None):
        g, decay = _decay(P, g, x, P.lr)
        m = P.b1 * state["m"] + (1 - P.b1) * g
        v = P.b2 * state["v"] + (1 - P.b2) * g * g
        vmx = vmax(state["vmax"], v) if P.amsbound else None
        denom = sqrt((vmx if P.amsbound else v) + P.eps_inner) + P.eps
        step = P.lr * sp.sqrt(1 - P.b2**t) / (1 - P.b1**t) if P.bias_correction else P.lr
        final = P.final_lr  # rescaling by lr/base_lr is 1 without a schedule
        lower = final * (1 - 1 / (P.gamma * t + 1))
        upper = final * (1 + 1 / (P.gamma * t))
        P.note("eta_l", lower)
        P.note("eta_u", upper)
        rate = vmin(vmax(step / denom, lower), upper)
        if P.sqrt_t:
            rate = rate / sp.sqrt(t)
        dx = -rate * m
        if decay is not None:
            dx = decay + dx
        return dx, {"m": m, "v": v, "vmax": vmx}


# -------------------------------------------------------------------------------------- SWATS
@register_twin("swats")
class SWATSTwin(Twin):
    r"""SWATS: Adam until the projected SGD rate :math:`\Lambda` settles, then SGD-momentum with rate Λ."""

    source = "docs/spec/baselines.md SWATS (kozistr swats.py); switch test from the rule's docstring"
    hyper: ClassVar[dict[str, Any]] = {"lr": (0.02, 0.3), "b1": B1, "b2": B2, "eps": (1e-3, 0.05), "eps_inner": (1e-3, 1e-2),
             "wd": (0.05, 0.3), "switch_atol": (1e-9, 1e-8)}
    cases = (
        Case(label="Adam phase (tight switch test)"),
        Case(options={"switch_test": "paper"}, hyper={"eps": (0.3, 0.6)}, label="paper test, switches early"),
        Case(options={"nesterov": True, "decoupled_wd": True}, hyper={"switch_atol": (0.5, 1.0)},
             label="allclose, switches early, nesterov, decoupled"),
        Case(options={"amsbound": True, "decay_scaled_by_lr": False, "decoupled_wd": True, "switch_test": "paper"},
             hyper={"eps": (0.3, 0.6)}, label="amsbound, fixed decay, switches"),
    )
    warmups = (0, 1, 4)
    display_n = 2

    def init(self, x, P):
        z = V.full(len(x), 0)
        zero = sp.Integer(0)
        return {"m": z, "v": z, "vmax": z if P.amsbound else None, "lam": zero, "sgd": zero, "sgd_lr": zero,
                "b": z, "switch_k": sp.Integer(-1)}

    def step(self, t, g, state, x, P, value=None, hvp=None):
        # The phase is data (state "sgd" = 0 or 1), so the branches are written with 0/1 indicators
        # (Heaviside) rather than Piecewise: in the composed k-step map the flag is an expression of
        # earlier steps, and SymPy would fold a Piecewise flag into every later condition.  Both
        # branches are finite, so flag*a + (1-flag)*b is exactly a or b.
        sgd = state["sgd"]
        pick = lambda a, b: sgd * a + (1 - sgd) * b
        lr_sgd = state["sgd_lr"]
        g, decay = _decay(P, g, x, pick(lr_sgd, P.lr))
        # SGD phase: b = beta1 b + g; step Lambda (1 - beta1) b  (nesterov: + beta1 b)
        b_new = P.b1 * state["b"] + g
        d_sgd = (1 - P.b1) * b_new + (P.b1 * b_new if P.nesterov else 0)
        dx_sgd = -lr_sgd * d_sgd
        # Adam phase
        m = P.b1 * state["m"] + (1 - P.b1) * g
        v = P.b2 * state["v"] + (1 - P.b2) * g * g
        vmx = vmax(state["vmax"], v) if P.amsbound else None
        c2 = 1 - P.b2**t
        p = -(P.lr * sp.sqrt(c2) / (1 - P.b1**t)) * m / (sqrt((vmx if P.amsbound else v) + P.eps_inner) + P.eps)
        pg, pp = p.dot(g), p.dot(p)
        valid = ind_ne(pg, 0)  # the projection needs p.g != 0
        gamma = pp / (-pg + (1 - valid))  # projected SGD learning rate (denominator 1 where invalid)
        lam = state["lam"] + valid * ((P.b2 * state["lam"] + (1 - P.b2) * gamma) - state["lam"])
        Lam = lam / c2
        P.note("gamma_t", gamma)
        P.note("Lambda_t", Lam)
        gap = sp.Abs(Lam - gamma, evaluate=False)
        if P.switch_test == "allclose":
            close = ind_ge(P.switch_atol + P.eps * sp.Abs(gamma, evaluate=False), gap)
        else:
            close = ind_gt(P.eps, gap)
        switch = valid * ind_gt(Lam, 0) * close * (1 - sgd) * ind_gt(t, 1)
        P.note("switch", switch)
        dx = V(pick(a, b) for a, b in zip(dx_sgd, p))
        if decay is not None:
            dx = decay + dx
        new = {
            "m": V(pick(a, b) for a, b in zip(state["m"], m)),
            "v": V(pick(a, b) for a, b in zip(state["v"], v)),
            "vmax": None if vmx is None else V(pick(a, b) for a, b in zip(state["vmax"], vmx)),
            "lam": pick(state["lam"], lam),
            "sgd": 1 - (1 - sgd) * (1 - switch),
            "sgd_lr": state["sgd_lr"] + switch * (Lam - state["sgd_lr"]),
            "b": V(pick(a, b) for a, b in zip(b_new, state["b"])),
            "switch_k": state["switch_k"] + switch * (t - state["switch_k"]),
        }
        return dx, new

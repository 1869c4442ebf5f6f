r"""Twins of the torch-style adaptive rules: adagrad, rmsprop, adam, amsgrad, adamw, nadam.

Written from ``docs/spec/baselines.md`` (torch.optim algorithm boxes, v2.12) and, for the
named variants (ε inside the root, no bias correction, the efficient form, AMSGrad's
``debiased`` max, decoupled decay not scaled by lr), from the same section's "pitfalls".
``eps`` is drawn in [1e-2, 0.2] so that its placement changes the result well above round-off.
"""

from __future__ import annotations

from typing import Any, ClassVar

import sympy as sp

from .base import Case, Twin, V, is_zero_value, register_twin, sqrt, vmax

LR = (1e-2, 0.3)
EPS = (1e-2, 0.2)
B1 = (0.5, 0.95)
B2 = (0.6, 0.99)
WD = (0.05, 0.5)


def _denominator(v, eps, placement):
    return sqrt(v) + eps if placement == "outside" else sqrt(v + eps)


@register_twin("adagrad")
class AdaGradTwin(Twin):
    r"""torch Adagrad: :math:`\tilde\gamma = \gamma/(1+(t-1)\delta)`, :math:`S_t = S_{t-1}+g^2`, :math:`x -= \tilde\gamma g/(\sqrt{S_t}+\epsilon)`."""

    source = "docs/spec/baselines.md AdaGrad (torch.optim.Adagrad)"
    hyper: ClassVar[dict[str, Any]] = {"lr": LR, "lr_decay": (0.05, 0.5), "wd": WD, "initial_accumulator_value": (0.1, 1.0), "eps": EPS}
    cases = (Case(label="eps outside"), Case(options={"eps_placement": "inside"}, label="eps inside"))

    def init(self, x, P):
        return {"s": V.full(len(x), P.initial_accumulator_value)}

    def step(self, t, g, state, x, P, value=None, hvp=None):
        clr = P.lr / (1 + (t - 1) * P.lr_decay)
        P.note("lr_t", clr)
        g = g + P.wd * x
        s = state["s"] + g * g
        return -clr * g / _denominator(s, P.eps, P.eps_placement), {"s": s}


@register_twin("rmsprop")
class RMSPropTwin(Twin):
    r"""torch RMSprop: no bias correction; centered subtracts :math:`\bar g^2`; momentum after preconditioning."""

    source = "docs/spec/baselines.md RMSProp (torch.optim.RMSprop)"
    hyper: ClassVar[dict[str, Any]] = {"lr": LR, "alpha": B2, "eps": EPS, "wd": WD, "momentum": (0.1, 0.9)}
    cases = (
        Case(hyper={"momentum": 0.0}, label="plain"),
        Case(options={"centered": True}, label="centered with momentum"),
        Case(options={"eps_placement": "inside"}, hyper={"wd": 0.0}, label="eps inside, momentum"),
    )

    def init(self, x, P):
        z = V.full(len(x), 0)
        return {"v": z, "gbar": z if P.centered else None, "b": None if is_zero_value(P.momentum) else z}

    def step(self, t, g, state, x, P, value=None, hvp=None):
        g = g + P.wd * x
        v = P.alpha * state["v"] + (1 - P.alpha) * g * g
        gbar = P.alpha * state["gbar"] + (1 - P.alpha) * g if P.centered else None
        vt = v - gbar * gbar if P.centered else v
        u = g / _denominator(vt, P.eps, P.eps_placement)
        if is_zero_value(P.momentum):
            return -P.lr * u, {"v": v, "gbar": gbar, "b": None}
        b = P.momentum * state["b"] + u
        return -P.lr * b, {"v": v, "gbar": gbar, "b": b}


_AMS = {"amsgrad": "fixed by the registered name (adam/adamw: False, amsgrad: True)"}
_AMS_MAX = {**_AMS, "amsgrad_max": "read only when amsgrad=True: covered by the amsgrad and adamw twins"}


@register_twin(
    "adam", "amsgrad", "adamw",
    cases={
        "adam": (
            Case(label="torch default form"),
            Case(options={"eps_placement": "inside"}, label="eps inside, coupled wd"),
            Case(options={"bias_correction": False}, label="no bias correction"),
            Case(options={"efficient": True}, label="Kingma-Ba efficient form"),
            Case(options={"decoupled_wd": True, "decay_scaled_by_lr": False}, label="decoupled, fixed decay"),
        ),
        "amsgrad": (
            Case(label="torch: max of raw v"),
            Case(options={"amsgrad_max": "debiased"}, label="max of debiased v"),
            Case(options={"bias_correction": False}, label="Reddi et al. (no bias correction)"),
            Case(options={"efficient": True, "eps_placement": "outside"}, label="efficient form"),
            Case(options={"eps_placement": "inside", "decoupled_wd": True, "decay_scaled_by_lr": False},
                 label="eps inside, decoupled fixed decay"),
        ),
        "adamw": (
            Case(label="torch AdamW (decay scaled by lr)"),
            Case(options={"decay_scaled_by_lr": False}, label="Loshchilov-Hutter fixed decay"),
            Case(options={"eps_placement": "inside"}, label="eps inside"),
            Case(options={"amsgrad": True, "bias_correction": False}, label="amsgrad, no correction"),
            Case(options={"amsgrad": True, "amsgrad_max": "debiased", "efficient": False}, label="amsgrad debiased"),
            Case(options={"efficient": True}, label="efficient"),
        ),
    },
    exempt={"adam": _AMS_MAX, "amsgrad": _AMS},
)
class AdamTwin(Twin):
    r"""Adam family (torch.optim.Adam / AdamW) with the spec's named variants.

    .. math::
        m_t = \beta_1 m + (1-\beta_1) g,\ v_t = \beta_2 v + (1-\beta_2) g^2,\
        x \leftarrow x - \gamma\,(m_t/c_1)/(\sqrt{v_t/c_2}+\epsilon),\ c_i = 1-\beta_i^t
    """

    source = "docs/spec/baselines.md Adam, AMSGrad, AdamW"
    hyper: ClassVar[dict[str, Any]] = {"lr": LR, "b1": B1, "b2": B2, "eps": EPS, "wd": WD}

    def init(self, x, P):
        z = V.full(len(x), 0)
        return {"m": z, "v": z, "vmax": z if P.amsgrad else None}

    def step(self, t, g, state, x, P, value=None, hvp=None):
        if not P.decoupled_wd:
            g = g + P.wd * x  # coupled L2 (torch weight_decay)
        m = P.b1 * state["m"] + (1 - P.b1) * g
        v = P.b2 * state["v"] + (1 - P.b2) * g * g
        c1, c2 = (1 - P.b1**t, 1 - P.b2**t) if P.bias_correction else (sp.Integer(1), sp.Integer(1))
        vmx = None
        if P.amsgrad:
            # torch: max over the raw v, corrected afterwards; 'debiased': max over v / c2
            vmx = vmax(state["vmax"], v) if P.amsgrad_max == "raw" else vmax(state["vmax"], v / c2)
            vhat = vmx / c2 if P.amsgrad_max == "raw" else vmx
            raw = vmx
        else:
            vhat, raw = v / c2, v
        if P.efficient:  # Kingma-Ba: alpha_t = lr sqrt(c2)/c1, eps-hat added to sqrt of the raw v
            dx = -(P.lr * sp.sqrt(c2) / c1) * m / (sqrt(raw) + P.eps)
        else:
            P.note("m̂", m / c1)
            P.note("v̂", vhat)
            dx = -P.lr * (m / c1) / _denominator(vhat, P.eps, P.eps_placement)
        if P.decoupled_wd:
            dx = dx - (P.lr if P.decay_scaled_by_lr else 1) * P.wd * x
        return dx, {"m": m, "v": v, "vmax": vmx}


@register_twin("nadam")
class NAdamTwin(Twin):
    r"""torch NAdam: :math:`\mu_t = \beta_1(1-\tfrac12 0.96^{t\psi})`, products of :math:`\mu` in the state."""

    source = "docs/spec/ravine_adamrag.md (NAdam, torch.optim.NAdam with momentum_decay)"
    hyper: ClassVar[dict[str, Any]] = {"lr": LR, "b1": B1, "b2": B2, "eps": EPS, "wd": WD, "momentum_decay": (0.05, 0.5)}
    cases = (Case(label="coupled wd"), Case(options={"decoupled_wd": True}, label="decoupled wd"))

    def init(self, x, P):
        z = V.full(len(x), 0)
        return {"m": z, "v": z, "mu_product": sp.Integer(1)}

    def step(self, t, g, state, x, P, value=None, hvp=None):
        if not P.decoupled_wd:
            g = g + P.wd * x
        mu = P.b1 * (1 - sp.Rational(1, 2) * sp.Float(0.96) ** (t * P.momentum_decay))
        mu_next = P.b1 * (1 - sp.Rational(1, 2) * sp.Float(0.96) ** ((t + 1) * P.momentum_decay))
        prod = state["mu_product"] * mu
        P.note("mu_t", mu)
        m = P.b1 * state["m"] + (1 - P.b1) * g
        v = P.b2 * state["v"] + (1 - P.b2) * g * g
        denom = sqrt(v / (1 - P.b2**t)) + P.eps
        dx = -P.lr * (1 - mu) / (1 - prod) * g / denom - P.lr * mu_next / (1 - prod * mu_next) * m / denom
        if P.decoupled_wd:
            dx = dx - P.lr * P.wd * x
        return dx, {"m": m, "v": v, "mu_product": prod}

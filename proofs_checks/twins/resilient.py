r"""Twins of the sign-agreement rules: rprop (torch.optim.Rprop) and adarem (RECON).

Rprop from ``docs/spec/baselines.md`` ("Rprop (torch)"): Δ grows by η⁺ when g_t g_{t-1} > 0,
shrinks by η⁻ (and the gradient is zeroed) when < 0, is clamped to [Δ_min, Δ_max], and the
step is -Δ sign(g).  AdaRem from §2 (the flax reconstruction and its configurable version):
:math:`b_t = \mathrm{sign}(g_t) m_{t-1}/N`, :math:`a_t = 1 + c_t b_t`, the EMA m updated after use.
"""

from __future__ import annotations

from typing import Any, ClassVar

import sympy as sp

from .base import Case, Twin, V, ind_gt, is_zero_value, register_twin, sign, vabs, vmax, vmin


@register_twin("rprop")
class RpropTwin(Twin):
    r"""Rprop: :math:`\Delta_t = \mathrm{clip}(\phi_t\Delta_{t-1}, \Delta_{\min}, \Delta_{\max})`, :math:`x -= \Delta_t\,\mathrm{sign}(g_t)`."""

    source = "docs/spec/baselines.md Rprop (torch.optim.Rprop)"
    hyper: ClassVar[dict[str, Any]] = {"lr": (0.05, 0.5), "eta_minus": (0.3, 0.7), "eta_plus": (1.1, 1.6), "step_min": (0.02, 0.08),
             "step_max": (0.3, 0.6)}

    def init(self, x, P):
        return {"prev": V.full(len(x), 0), "step": V.full(len(x), P.lr)}

    def step(self, t, g, state, x, P, value=None, hvp=None):
        agree = g * state["prev"]
        factor = agree.map(lambda a: sp.Piecewise((P.eta_plus, a > 0), (P.eta_minus, a < 0), (1, True)))
        step = vmin(vmax(state["step"] * factor, P.step_min), P.step_max)
        P.note("Δ_t", step)
        # no move after a sign change: g <- 0 where g_t g_{t-1} < 0.  Written with an indicator
        # (Heaviside) rather than a Piecewise, because the next step tests the sign of g_{t+1} g_t and SymPy would
        # fold a Piecewise into that condition (which numpy's select cannot evaluate).
        g = V(gi * (1 - ind_gt(0, a)) for a, gi in zip(agree, g))
        return -step * sign(g), {"prev": g, "step": step}


@register_twin("adarem")
class AdaRemTwin(Twin):
    r"""AdaRem (RECON): :math:`\delta = (1 + c_t b_t) g + \lambda_{wd}\theta`, SGD or SGD-momentum on δ."""

    source = "docs/spec/adarem.md (flax reconstruction + configurable version)"
    hyper: ClassVar[dict[str, Any]] = {"lr": (0.02, 0.3), "b1": (0.5, 0.95), "resilience": (0.5, 0.99), "momentum": (0.3, 0.9),
             "eps": (1e-3, 0.1), "wd": (0.05, 0.3)}
    cases = (
        Case(label="momentum, tensor max, power decay"),
        Case(options={"apply_to": "grad", "normalizer": "elementwise", "decay": "constant"}, label="flax-like grad"),
        Case(options={"normalizer": "none"}, hyper={"wd": 0.0}, label="clipped, no normaliser"),
    )
    display_n = 2

    def init(self, x, P):
        z = V.full(len(x), 0)
        return {"m": z, "buf": z if P.apply_to == "momentum" else None}

    def step(self, t, g, state, x, P, value=None, hvp=None):
        m_prev = state["m"]
        agreement = sign(g) * m_prev
        if P.normalizer == "tensor_max":
            b = agreement / (vabs(m_prev).max() + P.eps)
        elif P.normalizer == "elementwise":
            b = agreement / (vabs(m_prev) + P.eps)
        else:
            b = vmin(vmax(agreement, -1), 1)
        c = P.resilience**t if P.decay == "power" else P.resilience
        a = 1 + c * b
        P.note("a_t", a)
        delta = a * g
        if not is_zero_value(P.wd):
            delta = delta + P.wd * x
        m = P.b1 * m_prev + (1 - P.b1) * g  # updated after use
        if P.apply_to == "grad":
            return -P.lr * delta, {"m": m, "buf": None}
        buf = P.momentum * state["buf"] + delta
        return -P.lr * buf, {"m": m, "buf": buf}

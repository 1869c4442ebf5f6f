r"""HAdapGradm's switch (RECON, ``docs/spec/adapgradm.md``): every mode tends to SGD with momentum.

``hadapgradm_switch_limits``
    AdaBound's bounds :math:`\eta_l(t) = \eta^\star(1 - 1/(\gamma t+1))`,
    :math:`\eta_u(t) = \eta^\star(1 + 1/(\gamma t))` satisfy :math:`\eta_l < \eta^\star < \eta_u`, both
    tend to :math:`\eta^\star` (their gap is :math:`\sim 2\eta^\star/(\gamma t)`), and at t → 0 they
    impose nothing (0 and ∞); so the clipped rate tends to :math:`\eta^\star` whatever the
    preconditioner (squeeze).  The blend weight :math:`1/(1+\gamma t) \to 0` likewise.  The limit
    step :math:`x \leftarrow x - \eta^\star m_t` on the raw EMA equals torch's
    ``SGD(lr=(1-β₁)η*, momentum=β₁, dampening=0)``, because :math:`m_t = (1-\beta_1) b_t` for the
    torch buffer :math:`b_t = \beta_1 b_{t-1} + g_t`, :math:`b_1 = g_1` (checked by induction and by
    the SGD twin).
"""

from __future__ import annotations

import sympy as sp

from ._core import Derivation, Step, check

__all__ = ["hadapgradm_switch_limits"]


@check("hadapgradm_switch_limits", "hadapgradm")
def hadapgradm_switch_limits() -> Derivation:
    r"""AdaBound-style bounds of HAdapGradm → η*; the limit rule is SGD with momentum."""
    from .twins import V, get_twin, make_params

    eta, gam, r = sp.symbols("eta_star gamma r", positive=True)  # r: any positive rate eta/((1-b1^t) D)
    t = sp.Symbol("t", positive=True)
    lo = eta * (1 - 1 / (gam * t + 1))
    hi = eta * (1 + 1 / (gam * t))
    lim_lo, lim_hi = sp.limit(lo, t, sp.oo), sp.limit(hi, t, sp.oo)
    start_lo, start_hi = sp.limit(lo, t, 0, "+"), sp.limit(hi, t, 0, "+")
    below, above = sp.simplify(eta - lo), sp.simplify(hi - eta)
    gap_rate = sp.limit(t * (hi - lo), t, sp.oo)
    clip = sp.Min(sp.Max(r, lo), hi)
    blend_w = 1 / (1 + gam * t)
    blend_lim = sp.limit(blend_w * r + (1 - blend_w) * eta, t, sp.oo)
    # SGD equivalence: m_t = (1 - b1) b_t by induction
    b1 = sp.Symbol("beta_1", positive=True)
    g1, g_t, b_prev = sp.symbols("g_1 g_t b_{t-1}", real=True)
    base = sp.expand((1 - b1) * g1 - (b1 * 0 + (1 - b1) * g1))  # m_1 = (1-b1) g_1 = (1-b1) b_1
    induction = sp.expand((b1 * (1 - b1) * b_prev + (1 - b1) * g_t) - (1 - b1) * (b1 * b_prev + g_t))
    # the same through the twins: 3 steps of x - eta* m_t versus SGD(lr=(1-b1) eta*, momentum=b1)
    x0 = V(sp.symbols("x0_1:3", real=True))
    Gs = [V(sp.symbols(f"G{k}_1:3", real=True)) for k in range(1, 4)]
    sgd, P = get_twin("sgd"), make_params("sgd", {"lr": (1 - b1) * eta, "momentum": b1, "dampening": 0, "wd": 0})
    x, st, m = x0, sgd.init(x0, P), V.full(2, 0)
    x_lim, gaps = x0, []
    for k, G in enumerate(Gs, start=1):
        dx, st = sgd.step(sp.Integer(k), G, st, x, P)
        x = x + dx
        m = b1 * m + (1 - b1) * G
        x_lim = x_lim - eta * m
        gaps.extend(sp.expand(a - b) for a, b in zip(x, x_lim))
    steps = (
        Step("AdaBound bounds on the rate that multiplies the raw EMA m_t", sp.Tuple(sp.Eq(sp.Symbol("η_l"), lo),
                                                                                     sp.Eq(sp.Symbol("η_u"), hi))),
        Step("η* - η_l and η_u - η* (positive for t > 0)", sp.Tuple(below, above)),
        Step("limits t → ∞", sp.Tuple(lim_lo, lim_hi)),
        Step("limits t → 0⁺: no constraint at first", sp.Tuple(start_lo, start_hi)),
        Step("the gap closes like 2η*/(γt): lim t (η_u - η_l)", gap_rate),
        Step("so clip(r, η_l, η_u) → η* for every rate r (squeeze)", sp.Eq(sp.Symbol("r'"), clip, evaluate=False)),
        Step("blend ρ_t r + (1 - ρ_t) η*, ρ_t = 1/(1+γt): limit", blend_lim),
        Step("limit rule x ← x - η* m_t; with torch's buffer b_t = β₁b_{t-1} + g_t, b_1 = g_1: m_1 - (1-β₁)b_1", base),
        Step("induction m_t - (1-β₁) b_t given m_{t-1} = (1-β₁) b_{t-1}", induction),
        Step("three steps of the SGD twin (lr (1-β₁)η*, momentum β₁) minus x - η* Σ m_t", sp.Matrix(gaps)),
    )
    return Derivation(
        name="hadapgradm_switch_limits",
        title="HAdapGradm: η_l, η_u → η* (and the blend), so the rule tends to SGD(lr=(1-β₁)η*, momentum=β₁)",
        steps=steps,
        residuals=(
            ("η_l → η*", lim_lo - eta),
            ("η_u → η*", lim_hi - eta),
            ("η_l < η* < η_u", sp.And(sp.Gt(below, 0), sp.Gt(above, 0))),
            ("η_l(0⁺) = 0, η_u(0⁺) = ∞", sp.And(sp.Eq(start_lo, 0), sp.Eq(start_hi, sp.oo))),
            ("gap ~ 2η*/(γt)", gap_rate - 2 * eta / gam),
            ("blend → η*", blend_lim - eta),
            ("m_1 = (1-β₁) b_1", base),
            ("m_t = (1-β₁) b_t", induction),
            ("SGD twin equals the limit rule", sp.Matrix(gaps)),
        ),
        reference="Luo et al., ICLR 2019, Alg. 2 (bounds); docs/spec/adapgradm.md (RECON switch)",
    )

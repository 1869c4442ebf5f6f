r"""Twin of soaa (CONCORDANT): Adam with a diagonal Fisher step inside a trust region.

From ``docs/spec/soaa.md``, every line of the displayed update and every pitfall
(loss order, Fisher sums and their grouping, decay scaling, the "consistent" model, Tadam's
threshold radius rule) as in the rule's options:

.. math::
    F_t = (1 + S)\hat v_t,\ S = \frac{\sum \hat m^2}{\sum(\hat v+\epsilon)},\
    u_t = \frac{d_t \hat m_t}{\max(d_t F_t, \sqrt{\hat v_t}) + \epsilon},\
    \rho_t = \frac{\hat\ell_t - \ell_t}{\max(p_{t-1},\epsilon)},\
    d_{t+1} = \min(\max(\rho_t d_t, (1-\gamma)^{(t-1)/T}), 1+\gamma^{(t-1)/T})
"""

from __future__ import annotations

from typing import Any, ClassVar

import sympy as sp

from .base import Case, Twin, V, is_zero_value, register_twin, smax, smin, sqrt, vmax


def _block_sums(P, a: V) -> V:
    """Sums broadcast back over the coordinates: global, or per block (``blocks`` size or sizes)."""
    n = len(a)
    if P.fisher_sums == "global":
        return V.full(n, a.sum())
    sizes = P.blocks if isinstance(P.blocks, tuple) else (P.blocks,) * (n // P.blocks)
    out, i = [], 0
    for size in sizes:
        s = sp.Add(*a.e[i:i + size])
        out.extend([s] * size)
        i += size
    return V(out)


@register_twin("soaa")
class SOAATwin(Twin):
    r"""SOAA: trust-region Adam with a scalar-times-v̂ Fisher, radius from actual/predicted reduction."""

    source = "docs/spec/soaa.md (zij soaa.md, nadir soaa.cc, Tadam)"
    hyper: ClassVar[dict[str, Any]] = {"lr": (0.02, 0.3), "b1": (0.5, 0.95), "b2": (0.6, 0.99), "eps": (1e-3, 0.05), "wd": (0.05, 0.3),
             "gamma": (0.05, 0.4), "d0": (0.5, 5.0)}
    cases = (
        Case(label="nadir defaults (no horizon)"),
        Case(options={"total_steps": 6, "loss_order": "past_only", "fisher_ratio": "sum_of_ratios",
                      "wd_scaling": "fixed"}, label="torch-Tadam choices, horizon T=6"),
        Case(options={"fisher_sums": "per_block", "blocks": (2, 1), "model": "consistent", "total_steps": 4},
             label="per-block sums, consistent model"),
        Case(options={"radius_rule": "tadam", "total_steps": 5, "fisher_sums": "per_block", "blocks": 1},
             hyper={"wd": 0.0}, label="Tadam threshold radius"),
    )
    display_n = 2

    def init(self, x, P):
        z = V.full(len(x), 0)
        return {"m": z, "v": z, "d": P.d0, "d_last": P.d0, "p": sp.Integer(0), "lbar": sp.Integer(0)}

    def step(self, t, g, state, x, P, value=None, hvp=None):
        b1, b2, eps = P.b1, P.b2, P.eps
        m = b1 * state["m"] + (1 - b1) * g
        v = b2 * state["v"] + (1 - b2) * g * g
        bc1, bc2 = 1 - b1**t, 1 - b2**t
        mh, vh = m / bc1, v / bc2
        P.note("m̂", mh)
        P.note("v̂", vh)
        if P.fisher_ratio == "ratio_of_sums":
            S = _block_sums(P, mh * mh) / _block_sums(P, vh + eps)
        else:
            S = _block_sums(P, mh * mh / (vh + eps))
        P.note("S", S if P.fisher_sums == "per_block" else S[0])
        F = (1 + S) * vh
        d = state["d"]
        P.note("F_t", F)
        r = vmax(d * F, sqrt(vh))
        P.note("r_t", r)
        u = d * mh / (r + eps)
        P.note("u_t", u)
        dx = -P.lr * u
        if not is_zero_value(P.wd):
            dx = dx - (P.lr if P.wd_scaling == "lr" else 1) * P.wd * x
        ell = value
        if P.loss_order == "fold_then_ratio":
            lbar = b1 * state["lbar"] + (1 - b1) * ell
            lhat = lbar / bc1
        else:  # bias-corrected EMA of the earlier losses only (0 before any)
            lhat = sp.Piecewise((state["lbar"], sp.Eq(t, 1)), (state["lbar"] / (1 - b1 ** (t - 1)), True))
            lbar = b1 * state["lbar"] + (1 - b1) * ell
        rho = (lhat - ell) / smax(state["p"], eps)
        P.note("rho_t", rho)
        e = 0 if P.total_steps is None else (t - 1) / sp.Integer(P.total_steps)
        lo, hi = (1 - P.gamma) ** e, 1 + P.gamma**e
        if P.radius_rule == "soaa":
            d_next = smin(smax(rho * d, lo), hi)
        else:  # Tadam's threshold rule
            d_next = sp.Piecewise((smax(d, 1) * lo, rho < P.gamma), (smin(d, 1) * hi, rho > 1 - P.gamma), (d, True))
        red1 = (mh * u).sum()
        red2 = (vh * u * u).sum()
        P.note("ℓ̂", lhat)
        p = P.lr * (red1 - red2 / 2) if P.model == "as_written" else P.lr * red1 - P.lr**2 * red2 / 2
        return dx, {"m": m, "v": v, "d": d_next, "d_last": d, "p": p, "lbar": lbar}

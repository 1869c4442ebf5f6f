r"""Twins of adapgradm and hadapgradm (RECON), from ``docs/spec/adapgradm.md``.

AdapGradm: :math:`m_t = \beta_1 m + (1-\beta_1) g`, :math:`\hat m = m/(1-\beta_1^t)`, a diagonal
curvature estimate :math:`\hat h` (Apollo weak secant, elementwise secant, AGD's stepwise
difference, AdaBelief's deviation, Hutchinson), :math:`D = \min(\max(|\hat h|^p, \delta), C)`,
:math:`x \leftarrow x - \eta\hat m/D`.  HAdapGradm replaces the rate :math:`r = \eta/((1-\beta_1^t)D)`
on the raw m by an AdaBound clip, an AGD floor, a blend, or a SWATS switch, all tending to
:math:`\eta^\star` (§4 "HAdapGradm switch").  Conventions the spec leaves open (the secant pair,
when the first sample is taken, the number of samples in the debiasing, the SGD convention
:math:`x - \eta^\star m`) follow the rules' docstrings.

Hutchinson: the comparisons use a diagonal Hessian, for which :math:`z\odot Hz = \mathrm{diag}(H)`
for every Rademacher z, so the twin takes that exact value and does not model the probe; a rule
whose probe were not ±1 would pass this test (the probe has its own test in the rule suite).
Control flow carried in the state (SWATS's phase, the switch step) uses 0/1 indicators, as in
:mod:`.relatives`.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import sympy as sp

from .base import Case, Twin, V, ind_ge, ind_gt, ind_ne, register_twin, sqrt, vabs, vmax, vmin

_KIND = {"apollo": "curvature", "secant": "curvature", "hutchinson": "curvature", "agd": "squared", "belief": "squared"}


def _core(t, g, state, x, P, hvp):
    """Shared AdapGradm core: (m, h, D, x_prev, y_prev, r) with r = (lr / (1 - b1^t)) / D."""
    n = len(g)
    b1, b2 = P.b1, P.b2
    m = b1 * state["m"] + (1 - b1) * g
    c1 = 1 - b1**t
    first = sp.Eq(t, 1)
    x_prev, y_prev, h = state["x_prev"], state["y_prev"], state["h"]
    samples = t  # curvature samples taken so far
    if P.curvature in ("apollo", "secant"):
        y_now = g if P.secant_pair == "gradient" else m / c1
        s, y = x - x_prev, y_now - y_prev  # no sample at t = 1 (no previous pair)
        if P.curvature == "secant":
            h_new = b2 * h + (1 - b2) * vabs(y) / (vabs(s) + P.eps_s)
        else:  # weak secant: B += (s~.y~ - s~.Diag(B) s~) s~^2, s~ = s/(||s||_4 + eps_s), y~ = y/(...)
            nrm = ((s**4).sum()) ** sp.Rational(1, 4) + P.eps_s
            sn, yn = s / nrm, y / nrm
            h_new = h + (sn.dot(yn) - (h * sn * sn).sum()) * sn * sn
        h = V(sp.Piecewise((a, first), (b, True)) for a, b in zip(h, h_new))
        x_prev, y_prev = x, y_now
        samples = t - 1
    elif P.curvature == "agd":
        prev_hat = V(sp.Piecewise((0, first), (mi / (1 - b1 ** (t - 1)), True)) for mi in state["m"])
        sd = m / c1 - prev_hat
        h = b2 * h + (1 - b2) * sd * sd
    elif P.curvature == "belief":
        h = b2 * h + (1 - b2) * (g - m) ** 2
    else:  # Hutchinson, diagonal Hessian: z * (H z) = diag(H) for z in {-1, 1}^n (see module docstring)
        h = b2 * h + (1 - b2) * hvp(V.full(n, 1))
    if P.curvature == "apollo":
        hhat = h
    else:
        h0 = V.full(n, P.h0)
        hhat = V(sp.Piecewise((a, sp.Eq(samples, 0)), (b / (1 - b2**samples), True)) for a, b in zip(h0, h))
    P.note("ĥ_t", hhat)
    D = _bound(P, hhat)
    P.note("D_t", D)
    return m, h, D, x_prev, y_prev, (P.lr / c1) / D


def _power(P):
    if P.power is not None:
        return P.power
    return 1 if _KIND[P.curvature] == "curvature" else sp.Rational(1, 2)


def _delta(P):
    if P.delta is not None:
        return P.delta
    return sp.Float(1e-2) if _KIND[P.curvature] == "curvature" else sp.Float(1e-8)


def _bound(P, hhat):
    a = vabs(hhat)
    p = _power(P)
    D = vmax(a if p == 1 else sqrt(a), _delta(P))
    if P.cap == math.inf:
        return D
    return vmin(D, P.cap)


def _init(x, P):
    n = len(x)
    z = V.full(n, 0)
    h0 = V.full(n, P.h0)
    diff = P.curvature in ("apollo", "secant")
    h = h0 if P.curvature == "apollo" else z
    return {"m": z, "h": h, "D": _bound(P, h0), "x_prev": x if diff else None, "y_prev": z if diff else None}


_HYPER = {"lr": (0.05, 0.5), "b1": (0.5, 0.95), "b2": (0.6, 0.99), "delta": (0.05, 0.4), "cap": (0.6, 1.5),
          "h0": (0.5, 2.0), "eps_s": (1e-3, 1e-2)}


@register_twin("adapgradm")
class AdapGradmTwin(Twin):
    r"""AdapGradm: :math:`x \leftarrow x - \eta\hat m_t/D_t`, :math:`D_t = \min(\max(|\hat h_t|^p, \delta), C)`."""

    source = "docs/spec/adapgradm.md (AdapGradm, configurable RECON)"
    hyper: ClassVar[dict[str, Any]] = _HYPER
    structural = ("seed",)
    cases = (
        Case(options={"delta": None}, hyper={"cap": math.inf}, label="Apollo weak secant, default floor"),
        Case(options={"secant_pair": "momentum"}, label="Apollo on the momentum pair, capped"),
        Case(options={"curvature": "secant"}, hyper={"cap": math.inf}, label="elementwise secant"),
        Case(options={"curvature": "hutchinson", "power": 1.0}, label="Hutchinson"),
        Case(options={"curvature": "agd"}, hyper={"cap": math.inf, "delta": (0.2, 0.8)}, label="AGD difference, p=1/2"),
        Case(options={"curvature": "belief", "power": 0.5}, label="AdaBelief deviation"),
    )
    display_n = 2

    def init(self, x, P):
        return _init(x, P)

    def step(self, t, g, state, x, P, value=None, hvp=None):
        m, h, D, x_prev, y_prev, r = _core(t, g, state, x, P, hvp)
        return -r * m, {"m": m, "h": h, "D": D, "x_prev": x_prev, "y_prev": y_prev}


@register_twin("hadapgradm")
class HAdapGradmTwin(Twin):
    r"""HAdapGradm: :math:`x \leftarrow x - r'_t\odot m_t`, :math:`r'_t` the AdapGradm rate switched towards η*."""

    source = "docs/spec/adapgradm.md (HAdapGradm switch: AdaBound clip, AGD floor, blend, SWATS)"
    hyper: ClassVar[dict[str, Any]] = {**_HYPER, "final_lr": (0.05, 0.5), "gamma": (0.2, 1.0), "switch_tol": (1e-10, 1e-9)}
    structural = ("seed",)
    cases = (
        Case(hyper={"cap": math.inf}, label="AdaBound clip on Apollo"),
        Case(options={"switch": "floor", "curvature": "agd", "rescale_final_lr": False},
             hyper={"lr": (0.02, 0.1), "final_lr": (0.2, 0.6)}, label="AGD floor"),
        Case(options={"switch": "blend", "curvature": "belief", "power": 1.0}, label="blend (belief, p = 1)"),
        Case(options={"switch": "swats", "curvature": "secant"}, hyper={"switch_tol": (0.5, 1.0)},
             label="SWATS switch (switches early)"),
        Case(options={"switch": "swats", "secant_pair": "momentum"}, label="SWATS switch (tight), momentum pair"),
        Case(options={"curvature": "hutchinson", "switch_at": 2}, label="switch_at=2"),
        Case(hyper={"gamma": 0.0}, label="gamma=0: never clips (AdapGradm)"),
    )
    display_n = 2

    def init(self, x, P):
        st = _init(x, P)
        zero = sp.Integer(0)
        sw = P.switch == "swats"
        st.update({"rate": V.full(len(x), 0), "frac": zero, "switch_k": sp.Integer(-1),
                   "lam": zero if sw else None, "sgd": zero if sw else None, "sgd_lr": zero if sw else None})
        return st

    def step(self, t, g, state, x, P, value=None, hvp=None):
        n = len(g)
        m, h, D, x_prev, y_prev, r = _core(t, g, state, x, P, hvp)
        eta = P.final_lr  # rescaling by lr/base_lr is 1 without a schedule
        lam = sgd = sgd_lr = None
        if P.switch == "clip":  # AdaBound bounds; gamma = 0 never clips
            if P.gamma == 0:
                r2, w = r, V.full(n, 0)
            else:
                lo, hi = eta * (1 - 1 / (P.gamma * t + 1)), eta * (1 + 1 / (P.gamma * t))
                r2 = vmin(vmax(r, lo), hi)
                w = V(ind_ne(a, b) for a, b in zip(r2, r))
        elif P.switch == "floor":  # min(rate, eta*) == floor D >= lr / ((1 - b1^t) eta*)
            r2 = vmin(r, eta)
            w = V(ind_ge(a, eta) for a in r)
        elif P.switch == "blend":
            rho = 1 / (1 + P.gamma * t)
            r2 = rho * r + (1 - rho) * eta
            w = V.full(n, 1 - rho)
        else:  # SWATS, per run, with 0/1 indicators for the phase
            on = state["sgd"]
            p = -r * m
            pg, pp = p.dot(g), p.dot(p)
            valid = ind_ne(pg, 0)
            gam = pp / (-pg + (1 - valid))
            upd = valid * (1 - on)
            lam = state["lam"] + upd * ((P.b2 * state["lam"] + (1 - P.b2) * gam) - state["lam"])
            Lam = lam / (1 - P.b2**t)
            P.note("Lambda_t", Lam)
            switch = upd * ind_gt(Lam, 0) * ind_gt(P.switch_tol, sp.Abs(Lam - gam, evaluate=False)) * ind_gt(t, 1)
            sgd = 1 - (1 - on) * (1 - switch)
            sgd_lr = state["sgd_lr"] + switch * (Lam - state["sgd_lr"])
            r2 = V(on * state["sgd_lr"] + (1 - on) * ri for ri in r)
            w = V.full(n, on)
        if P.switch_at is not None:
            late = ind_gt(t, P.switch_at)
            r2 = V(late * eta + (1 - late) * ri for ri in r2)
            w = V(late + (1 - late) * wi for wi in w)
        P.note("r'_t", r2)
        frac = w.sum() / n
        sk = state["switch_k"]
        switch_k = sk + ind_gt(0, sk) * ind_ge(frac, 1) * (t - sk)
        return -r2 * m, {"m": m, "h": h, "D": D, "x_prev": x_prev, "y_prev": y_prev, "rate": r2, "frac": frac,
                         "switch_k": switch_k, "lam": lam, "sgd": sgd, "sgd_lr": sgd_lr}

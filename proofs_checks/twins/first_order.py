r"""Twins of the first-order momentum rules: sgd, heavy_ball, nesterov, ravine.

Written from ``docs/spec/baselines.md`` (SGD, heavy ball, Nesterov) and §3a (Ravine); the
coefficient schedules follow the rules' docstrings (update k = t - 1 = 0, 1, ...):
``convex`` :math:`\alpha = k/(k+a)`, ``fista`` :math:`t_{k+1} = (1+\sqrt{1+4t_k^2})/2`,
:math:`\alpha = (t_k-1)/t_{k+1}`, ``constant`` :math:`\alpha =` ``momentum``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import sympy as sp

from .base import Case, Twin, V, is_zero_value, register_twin

LR = (1e-2, 0.5)
MOM = (0.1, 0.95)


@register_twin("sgd")
class SGDTwin(Twin):
    r"""torch.optim.SGD: coupled L2, buffer :math:`b_1 = g_1`, then :math:`b_t = \mu b_{t-1} + (1-\tau) g_t`."""

    source = "docs/spec/baselines.md SGD / heavy ball (torch.optim.SGD)"
    hyper: ClassVar[dict[str, Any]] = {"lr": LR, "momentum": MOM, "dampening": (0.1, 0.9), "wd": (0.05, 0.5)}
    cases = (
        Case(hyper={"momentum": 0.0, "dampening": 0.0}, label="plain GD with coupled wd"),
        Case(label="momentum with dampening"),
        Case(options={"nesterov": True}, hyper={"dampening": 0.0}, label="nesterov"),
        Case(hyper={"wd": 0.0, "dampening": 0.0}, label="heavy-ball form"),
    )

    def init(self, x, P):
        return {"b": V.full(len(x), 0)}

    def step(self, t, g, state, x, P, value=None, hvp=None):
        if not is_zero_value(P.wd):
            g = g + P.wd * x  # g <- g + lambda theta
        if is_zero_value(P.momentum):  # torch keeps no buffer when mu = 0
            return -P.lr * g, {"b": state["b"]}
        first = sp.Eq(t, 1)
        b = V(sp.Piecewise((gi, first), (P.momentum * bi + (1 - P.dampening) * gi, True))
              for gi, bi in zip(g, state["b"]))
        P.note("b_t", b)
        d = g + P.momentum * b if P.nesterov else b
        return -P.lr * d, {"b": b}


@register_twin("heavy_ball")
class HeavyBallTwin(Twin):
    r"""Polyak: :math:`x_{t+1} = x_t - \eta g_t + \beta(x_t - x_{t-1})`, :math:`x_{-1} = x_0`."""

    source = "docs/spec/baselines.md (Polyak heavy ball)"
    hyper: ClassVar[dict[str, Any]] = {"lr": LR, "momentum": MOM}

    def init(self, x, P):
        return {"x_prev": x}

    def step(self, t, g, state, x, P, value=None, hvp=None):
        return -P.lr * g + P.momentum * (x - state["x_prev"]), {"x_prev": x}


def _alpha(P, t, tk):
    """(alpha, t_next) for update index t (k = t - 1) and FISTA state tk."""
    k = t - 1
    if P.schedule == "constant":
        return P.momentum, tk
    if P.schedule == "convex":
        return k / (k + P.a), tk
    t_next = (1 + sp.sqrt(1 + 4 * tk**2)) / 2
    return (tk - 1) / t_next, t_next


_SCHEDULE_CASES = (
    Case(label="convex schedule k/(k+a)"),
    Case(options={"schedule": "fista"}, label="FISTA t-sequence"),
    Case(options={"schedule": "constant"}, label="constant momentum"),
)


@register_twin("nesterov")
class NesterovTwin(Twin):
    r"""Nesterov (FISTA form): :math:`y = x_t + \alpha(x_t - x_{t-1})`, :math:`x_{t+1} = y - s\nabla f(y)`."""

    source = "docs/spec/baselines.md Nesterov form (a)"
    hyper: ClassVar[dict[str, Any]] = {"lr": LR, "momentum": MOM, "a": (2.0, 5.0)}
    cases = _SCHEDULE_CASES

    def init(self, x, P):
        return {"x_prev": x, "t": sp.Integer(1)}

    def query(self, x, state, P, t):
        alpha, _ = _alpha(P, t, state["t"])
        return x + alpha * (x - state["x_prev"])

    def step(self, t, g, state, x, P, value=None, hvp=None):
        alpha, t_next = _alpha(P, t, state["t"])
        P.note("alpha_k", alpha)
        y = x + alpha * (x - state["x_prev"])
        return (y - P.lr * g) - x, {"x_prev": x, "t": t_next}


@register_twin("ravine")
class RavineTwin(Twin):
    r"""Ravine: :math:`w_t = y_t - s g_t`, :math:`y_{t+1} = w_t + \alpha(w_t - w_{t-1})`, :math:`w_{-1} = y_0`."""

    source = "docs/spec/ravine_adamrag.md (RAG)"
    hyper: ClassVar[dict[str, Any]] = {"lr": LR, "momentum": MOM, "a": (2.0, 5.0)}
    cases = _SCHEDULE_CASES

    def init(self, x, P):
        return {"w_prev": x, "t": sp.Integer(1)}

    def step(self, t, g, state, x, P, value=None, hvp=None):
        alpha, t_next = _alpha(P, t, state["t"])
        P.note("alpha_k", alpha)
        w = x - P.lr * g
        P.note("w_t", w)
        return (w + alpha * (w - state["w_prev"])) - x, {"w_prev": w, "t": t_next}

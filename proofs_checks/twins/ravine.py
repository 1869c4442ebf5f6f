r"""Twin of adamrag (RECON): Adam steps taken from Ravine-extrapolated points.

From ``docs/spec/ravine_adamrag.md``: :math:`g_t = \nabla f(y_t)`, Adam moments,
:math:`w_t = y_t - \eta\hat m_t/(\sqrt{\hat v_t}+\epsilon)`, :math:`y_{t+1} = w_t + \alpha_t(w_t - w_{t-1})`,
:math:`w_{-1} = y_0`; the iterate is the clean point w (the rule's docstring), so the query
point of update t (1-based) is :math:`y = x + \alpha(x - w_{\text{prev}})` with the coefficient
of the previous clean point, :math:`\alpha = j/(j+a)`, j = t - 2, for the Nesterov schedule.
"""

from __future__ import annotations

from typing import Any, ClassVar

import sympy as sp

from .base import Case, Twin, V, register_twin, sqrt


def _alpha(P, t):
    if P.schedule == "zero":
        return sp.Integer(0)
    if P.schedule == "constant":
        return P.momentum
    j = t - 2  # 0-based index of the clean point x = w_j
    return j / (j + P.a)


@register_twin("adamrag")
class AdamRAGTwin(Twin):
    r"""AdamRAG: :math:`w_t = y_t - \eta\hat m_t/(\sqrt{\hat v_t}+\epsilon)`, :math:`y_{t+1} = w_t + \alpha_t(w_t - w_{t-1})`."""

    source = "docs/spec/ravine_adamrag.md (RECON 'Adam in Ravine form')"
    hyper: ClassVar[dict[str, Any]] = {"lr": (1e-2, 0.3), "b1": (0.5, 0.95), "b2": (0.6, 0.99), "eps": (1e-2, 0.2), "momentum": (0.2, 0.9),
             "a": (2.0, 5.0)}
    cases = (
        Case(label="constant alpha, m-hat direction"),
        Case(options={"schedule": "nesterov"}, label="Nesterov schedule"),
        Case(options={"schedule": "zero"}, label="zero extrapolation (Adam)"),
        Case(options={"direction": "g"}, label="g direction"),
    )

    def init(self, x, P):
        z = V.full(len(x), 0)
        return {"m": z, "v": z, "w_prev": x}  # w_{-1} = y_0 = x_0

    def query(self, x, state, P, t):
        alpha = _alpha(P, t)
        y = x + alpha * (x - state["w_prev"])
        return V(sp.Piecewise((xi, sp.Eq(t, 1)), (yi, True)) for xi, yi in zip(x, y))  # y_0 = x_0

    def step(self, t, g, state, x, P, value=None, hvp=None):
        y = self.query(x, state, P, t)
        m = P.b1 * state["m"] + (1 - P.b1) * g
        v = P.b2 * state["v"] + (1 - P.b2) * g * g
        denom = sqrt(v / (1 - P.b2**t)) + P.eps
        direction = m / (1 - P.b1**t) if P.direction == "mhat" else g
        w = y - P.lr * direction / denom
        P.note("w_t", w)
        return w - x, {"m": m, "v": v, "w_prev": x}

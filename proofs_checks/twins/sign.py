r"""Twins of the sign methods: signsgd (signSGD / Signum) and lion.

Written from ``docs/spec/baselines.md`` (Lion: the step uses c_t = β₁m + (1-β₁)g, the
momentum is updated after the step with β₂, torch.sign(0) = 0) and Bernstein et al. 2018
(Signum: m_t = βm + (1-β)g, x -= γ sign(m_t)).
"""

from __future__ import annotations

from typing import Any, ClassVar

from .base import Case, Twin, V, register_twin, sign


@register_twin("signsgd")
class SignSGDTwin(Twin):
    r"""signSGD / Signum: :math:`m_t = \beta m + (1-\beta) g`, :math:`x \leftarrow x - \gamma\,\mathrm{sign}(m_t)`."""

    source = "Bernstein et al., ICML 2018, Algorithms 1 and 3"
    hyper: ClassVar[dict[str, Any]] = {"lr": (1e-2, 0.5), "momentum": (0.1, 0.9)}
    cases = (Case(hyper={"momentum": 0.0}, label="signSGD"), Case(label="Signum"))

    def init(self, x, P):
        return {"m": V.full(len(x), 0)}

    def step(self, t, g, state, x, P, value=None, hvp=None):
        m = P.momentum * state["m"] + (1 - P.momentum) * g
        return -P.lr * sign(m), {"m": m}


@register_twin("lion")
class LionTwin(Twin):
    r"""Lion: :math:`c = \beta_1 m + (1-\beta_1) g`, :math:`x \leftarrow x - \eta(\mathrm{sign}(c) + \lambda x)`, :math:`m \leftarrow \beta_2 m + (1-\beta_2) g`."""

    source = "docs/spec/baselines.md Lion (Chen et al. 2023, Program 1)"
    hyper: ClassVar[dict[str, Any]] = {"lr": (1e-2, 0.5), "b1": (0.5, 0.95), "b2": (0.6, 0.99), "wd": (0.05, 0.5)}
    cases = (Case(label="decoupled decay"), Case(hyper={"wd": 0.0}, label="no decay"))

    def init(self, x, P):
        return {"m": V.full(len(x), 0)}

    def step(self, t, g, state, x, P, value=None, hvp=None):
        c = P.b1 * state["m"] + (1 - P.b1) * g
        P.note("c_t", c)
        dx = -P.lr * (sign(c) + P.wd * x)
        return dx, {"m": P.b2 * state["m"] + (1 - P.b2) * g}

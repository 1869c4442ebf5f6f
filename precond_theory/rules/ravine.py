r"""Adaptive methods in Ravine form: AdamRAG (Adam steps, Ravine extrapolation).

The gradient is taken at an extrapolated point (:meth:`AdamRAG.query`), while the iterate
reported to the runner is the "clean" point :math:`w_t` after the adaptive step.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, NamedTuple

from .._checks import check_range
from .._xp import array_namespace
from ._moments import bias_correction, ema
from .base import AbstractRule, Hyper, hp, option, register, rule_dataclass

__all__ = ["AdamRAG", "AdamRAGState"]

Array = Any

Extrapolation = Literal["constant", "nesterov", "zero"]
Direction = Literal["mhat", "g"]


class AdamRAGState(NamedTuple):
    k: int  # number of updates applied so far
    m: Array  # EMA of g
    v: Array  # EMA of g^2
    w_prev: Array  # previous clean point w_{k-2} (x_0 before the first update)


@register
@rule_dataclass
class AdamRAG(AbstractRule):
    r"""AdamRAG: Adam steps taken from Ravine-extrapolated points (gradient queried at :math:`y_t`).

    **Fidelity: RECON.**  Neither text nor code of [1] was found; this is the most plausible
    "Adam in Ravine form" reconstructed from the abstract (Ravine extrapolation inside an Adam
    framework, momentum regulating the step sizes) and the Ravine method [2]
    (``docs/spec/ravine_adamrag.md``).  It is a configurable hypothesis, not the paper's verified
    algorithm.

    Parameters
    ----------
    lr, b1, b2, eps : float or array
        η, β₁, β₂, ε of the Adam step (torch's Adam defaults 1e-3, 0.9, 0.999, 1e-8).
    schedule : {"constant", "nesterov", "zero"}
        Extrapolation coefficients :math:`\alpha_t`: ``"constant"`` :math:`\alpha_t = \alpha`
        (``momentum``, default 0.9); ``"nesterov"`` :math:`\alpha_t = 1 - a/(t+a) = t/(t+a)`
        (``a``, default 3: :math:`1-3/(t+3)`); ``"zero"`` :math:`\alpha_t = 0`, which is plain
        Adam (``Adam(lr, b1, b2, eps)``, bit for bit).
    direction : {"mhat", "g"}
        Step direction :math:`\hat m_t` (Adam) or :math:`g_t` (RMSProp-like with bias-corrected
        v; the extrapolation then provides all the momentum).
    momentum : float or array
        α of the constant schedule, in [0, 1); refused with another schedule.
    a : float
        a > 0 of the Nesterov schedule.  An explicit ``a`` selects ``schedule="nesterov"``
        unless ``schedule`` is also given; with another schedule it is refused.

    ``b1`` is read only with ``direction="mhat"`` (an explicit ``b1`` with ``direction="g"``
    is refused: that direction does not use the first moment).

    Notes
    -----
    With :math:`y_0 = x_0` and :math:`w_{-1} = y_0`, for t = 0, 1, ...:

    .. math::
        g_t &= \nabla f(y_t),\qquad m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\qquad
        v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2 \\
        w_t &= y_t - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}
        \quad(\text{or } \eta\, g_t/(\sqrt{\hat v_t}+\epsilon)),\qquad
        \hat m_t = \frac{m_t}{1-\beta_1^{t+1}},\ \hat v_t = \frac{v_t}{1-\beta_2^{t+1}} \\
        y_{t+1} &= w_t + \alpha_t\, (w_t - w_{t-1})

    The iterate ``x`` is the clean point :math:`w_{t-1}` (:math:`x_0 = y_0`);
    :meth:`query` returns :math:`y_t = w_{t-1} + \alpha_{t-1}(w_{t-1} - w_{t-2})`, where the
    runner evaluates the gradient; the state keeps :math:`w_{t-2}` (``w_prev``) and the Adam
    moments.  In y-coordinates, :math:`y_{t+1} - y_t = (1+\alpha)\Delta_t - \alpha\Delta_{t-1}
    + \alpha(y_t - y_{t-1})` with :math:`\Delta_t` the adaptive step: heavy-ball momentum α on
    top of Adam's, so with a constant α the steady step is about :math:`\eta/(1-\alpha)`.  The
    Adam step is computed in torch's order of operations, so ``schedule="zero"`` reproduces
    :class:`~precond_theory.rules.Adam` exactly.  Invariant to rescaling the objective when
    ε = 0, like Adam.  Implied preconditioner of :math:`\hat m_t`:
    :math:`P_t = 1/(\sqrt{\hat v_t}+\epsilon)`.

    **Default variant and why.**  ``direction="mhat"`` (the abstract: momentum regulates the
    step sizes) and a constant α = 0.9: the claimed result is a non-convex sublinear rate, whose
    usual proofs need α bounded away from 1, which the Nesterov schedule (α → 1) is not.

    ====== ============ ==========================
    symbol argument     default
    ====== ============ ==========================
    η      ``lr``       1e-3
    β₁     ``b1``       0.9
    β₂     ``b2``       0.999
    ε      ``eps``      1e-8
    α      ``momentum`` 0.9 (``schedule="constant"``)
    a      ``a``        3 (``schedule="nesterov"``)
    ====== ============ ==========================

    References
    ----------
    .. [1] Y. Zhang, D. Zhao, H. Li, C. Pan, "AdamRAG" (Adam with Ravine accelerated gradient),
           Neural Processing Letters 57(3):53, 2025, doi:10.1007/s11063-025-11766-6 (abstract only;
           no equation numbers known).
    .. [2] H. Attouch, J. Fadili, "From the Ravine method to the Nesterov method and vice versa:
           a dynamical system perspective", SIAM J. Optim. 32(3), 2022, arXiv:2201.11643, (RAG).
    .. [3] D. P. Kingma, J. Ba, "Adam: a method for stochastic optimization", ICLR 2015,
           arXiv:1412.6980, Algorithm 1; PyTorch ``torch.optim.Adam`` (order of operations).
    """

    name: ClassVar[str] = "adamrag"
    fidelity: ClassVar[str] = "recon"
    reference: ClassVar[str] = (
        "Zhang, Zhao, Li, Pan, Neural Process. Lett. 57:53 (2025), abstract only; reconstruction "
        "after Attouch & Fadili, SIAM J. Optim. 2022 (RAG) and Kingma & Ba Alg. 1"
    )
    has_preconditioner: ClassVar[bool] = True
    reads: ClassVar = {"momentum": option("schedule", "constant"), "a": option("schedule", "nesterov"),
                       "b1": option("direction", "mhat")}
    selects: ClassVar = {"a": ("schedule", "nesterov")}

    lr: Hyper = 1e-3
    b1: Hyper = 0.9
    b2: Hyper = 0.999
    eps: Hyper = 1e-8
    schedule: Extrapolation = "constant"
    direction: Direction = "mhat"
    momentum: Hyper = 0.9
    a: float = 3.0

    def _validate(self) -> None:
        check_range("b1", self.b1, 0.0, 1.0, hi_open=True)
        check_range("b2", self.b2, 0.0, 1.0, hi_open=True)
        check_range("eps", self.eps, 0.0)
        check_range("momentum", self.momentum, 0.0, 1.0, hi_open=True)
        check_range("a", self.a, 0.0, lo_open=True)

    def init(self, x: Array) -> AdamRAGState:
        z = array_namespace(x).zeros_like(x)
        return AdamRAGState(k=0, m=z, v=z, w_prev=x)  # w_{-1} = y_0 = x_0

    def _extrapolate(self, xp: Any, x: Array, state: AdamRAGState) -> Array:
        """y_t = w_{t-1} + alpha_{t-1} (w_{t-1} - w_{t-2}); y_0 = x_0."""
        if state.k == 0 or self.schedule == "zero":
            return x
        if self.schedule == "constant":
            alpha = hp(self.momentum, x, xp)
        else:
            t = state.k - 1  # index of the clean point x = w_t
            alpha = t / (t + self.a)  # 1 - a/(t+a)
        return x + alpha * (x - state.w_prev)  # [2] y_{k+1} = w_k + alpha_k (w_k - w_{k-1})

    def query(self, x: Array, state: AdamRAGState) -> Array:
        return self._extrapolate(array_namespace(x), x, state)

    def _step(self, xp, g, state, x, *, lr, value=None, hvp=None):
        y = self._extrapolate(xp, x, state)  # the point where g was taken (same arithmetic as query)
        k = state.k + 1
        b1, b2 = hp(self.b1, x, xp), hp(self.b2, x, xp)
        m = ema(state.m, g, b1)  # [3] Alg. 1 l.7
        v = ema(state.v, g * g, b2)  # [3] Alg. 1 l.8
        denom = xp.sqrt(v) / bias_correction(b2, k) ** 0.5 + hp(self.eps, x, xp)  # torch's order
        if self.direction == "mhat":
            step = -(lr * (1 / bias_correction(b1, k))) * m / denom  # w_t - y_t, as Adam's dx
        else:
            step = -lr * g / denom
        dx = step if y is x else (y - x) + step  # x_next = w_t = y_t + step
        return dx, AdamRAGState(k=k, m=m, v=v, w_prev=x)

    def preconditioner(self, state: AdamRAGState) -> Array:
        xp = array_namespace(state.v)
        k = max(state.k, 1)
        return 1 / (xp.sqrt(state.v) / bias_correction(hp(self.b2, state.v, xp), k) ** 0.5 + hp(self.eps, state.v, xp))

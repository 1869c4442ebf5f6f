r"""Resilient (sign-agreement) methods: Rprop (torch.optim.Rprop) and AdaRem.

Both adapt a per-coordinate learning rate by whether the current gradient agrees in sign with
the past: Rprop multiplicatively (EXACT, torch conventions), AdaRem smoothly through a bounded
factor around 1 (RECON, ``docs/spec/adarem.md``).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, NamedTuple

from .._checks import check_range, host_values
from .._xp import array_namespace
from ._moments import ema
from .base import AbstractRule, Hyper, hp, nonzero, option, register, rule_dataclass

__all__ = ["Rprop", "RpropState", "AdaRem", "AdaRemState"]

Array = Any


def _is_zero(v: Any) -> bool:
    return isinstance(v, (int, float)) and v == 0


class RpropState(NamedTuple):
    k: int  # number of updates applied so far
    prev: Array  # previous gradient, zeroed where its sign flipped (torch's state["prev"])
    step: Array  # per-coordinate step sizes Delta (torch's state["step_size"]); lr before any update


@register
@rule_dataclass
class Rprop(AbstractRule):
    r"""Rprop (resilient backpropagation), as ``torch.optim.Rprop``.

    **Fidelity: EXACT** (read from torch's source, ``torch/optim/rprop.py``
    ``_single_tensor_rprop``, v2.13; tested against it to round-off).

    Notes
    -----
    Per coordinate, with :math:`g_0 = 0` and :math:`\Delta_0 = \eta` (``lr``):

    .. math::
        s_k &= \operatorname{sign}(g_k\, g_{k-1}),\qquad
        \phi_k = \begin{cases}\eta^+ & s_k > 0\\ \eta^- & s_k < 0\\ 1 & s_k = 0\end{cases} \\
        \Delta_k &= \min\big(\max(\phi_k \Delta_{k-1},\ \Delta_{\min}),\ \Delta_{\max}\big) \\
        g_k &\leftarrow 0 \quad\text{where } s_k < 0 \quad(\text{and this zeroed } g_k \text{ is the next } g_{k-1}) \\
        x_{k+1} &= x_k - \Delta_k \odot \operatorname{sign}(g_k)

    After a sign change the coordinate does not move and the next step is neutral
    (:math:`\phi = 1`); the clamp is applied at every step, the first included (so ``lr`` above
    ``step_max`` is cut at the first step).  Sign-based: invariant to any positive per-coordinate
    rescaling of the gradient.  torch's ``maximize`` and complex parameters are not offered.

    Learning-rate schedules: torch reads ``lr`` only to initialise Δ, so its schedulers have no
    effect on Rprop.  Here the learning rate passed to ``_step`` (by
    :func:`~precond_theory.rules.with_schedule`) multiplies the step by
    :math:`\eta_k/\eta`; without a schedule the factor is not applied and the iterates are
    torch's bit for bit.

    ====== ===================== ==========================
    symbol argument              torch
    ====== ===================== ==========================
    η      ``lr`` (1e-2)         ``lr`` (the initial Δ)
    η⁻     ``eta_minus`` (0.5)   ``etas[0]``
    η⁺     ``eta_plus`` (1.2)    ``etas[1]``
    Δ_min  ``step_min`` (1e-6)   ``step_sizes[0]``
    Δ_max  ``step_max`` (50)     ``step_sizes[1]``
    ====== ===================== ==========================

    References
    ----------
    .. [1] M. Riedmiller, H. Braun, "A direct adaptive method for faster backpropagation
           learning: the RPROP algorithm", IEEE ICNN 1993, pp. 586-591, eq. (4)-(7) (the variant
           without weight backtracking).
    .. [2] PyTorch ``torch.optim.Rprop`` documentation (algorithm box) and source,
           ``_single_tensor_rprop`` (v2.13).
    """

    name: ClassVar[str] = "rprop"
    fidelity: ClassVar[str] = "exact"
    reference: ClassVar[str] = "Riedmiller & Braun, ICNN 1993, eq. (4)-(7); torch.optim.Rprop (v2.13)"

    lr: Hyper = 1e-2
    eta_minus: Hyper = 0.5
    eta_plus: Hyper = 1.2
    step_min: Hyper = 1e-6
    step_max: Hyper = 50.0

    def _validate(self) -> None:
        check_range("lr", self.lr, 0.0, lo_open=True)
        check_range("eta_minus", self.eta_minus, 0.0, 1.0, lo_open=True, hi_open=True)  # torch: 0 < etas[0] < 1
        check_range("eta_plus", self.eta_plus, 1.0, lo_open=True)  # torch: 1 < etas[1]
        check_range("step_min", self.step_min, 0.0)
        check_range("step_max", self.step_max, 0.0, lo_open=True)
        lo, hi = host_values("step_min", self.step_min), host_values("step_max", self.step_max)
        if not bool((lo <= hi).all()):
            raise ValueError(
                f"step_min must not exceed step_max; got step_min={self.step_min!r}, step_max={self.step_max!r}"
            )

    def init(self, x: Array) -> RpropState:
        xp = array_namespace(x)
        z = xp.zeros_like(x)
        return RpropState(k=0, prev=z, step=z + hp(self.lr, x, xp))  # [2] step_size = full_like(grad, lr)

    def _step(self, xp, g, state, x, *, lr, value=None, hvp=None):
        s = xp.sign(g * state.prev)  # [2] sign = grad.mul(prev).sign()
        neutral = xp.ones_like(g)
        factor = xp.where(s > 0, hp(self.eta_plus, x, xp), xp.where(s < 0, hp(self.eta_minus, x, xp), neutral))
        step = xp.minimum(xp.maximum(state.step * factor, hp(self.step_min, x, xp)), hp(self.step_max, x, xp))
        g = xp.where(s < 0, 0.0, g)  # [2] grad[sign.eq(etaminus)] = 0
        dx = -(xp.sign(g) * step)  # [2] param.addcmul_(grad.sign(), step_size, value=-1)
        if lr is not self.lr:  # a schedule scaled the learning rate: scale the step alike
            dx = dx * (lr / hp(self.lr, x, xp))
        return dx, RpropState(k=state.k + 1, prev=g, step=step)


ApplyTo = Literal["grad", "momentum"]
Normalizer = Literal["tensor_max", "elementwise", "none"]
Decay = Literal["power", "constant"]


class AdaRemState(NamedTuple):
    k: int  # number of updates applied so far
    m: Array  # EMA of g used for the agreement test; updated after use
    buf: Array | None  # momentum buffer (apply_to="momentum"), None otherwise


@register
@rule_dataclass
class AdaRem(AbstractRule):
    r"""AdaRem: SGD (with momentum) whose per-coordinate learning rate grows when the gradient agrees
    with the past direction and shrinks when it does not.

    **Fidelity: RECON.**  The paper [1] was not read and has no official code.  This is a
    configurable reconstruction from its abstract and the only implementation found, a
    third-party JAX version [2] whose author flags it as possibly incorrect
    (``docs/spec/adarem.md``).  It is a hypothesis, not the paper's verified algorithm.

    Parameters
    ----------
    lr : float or array
        η, default 0.4 (the value in [2]: an ImageNet-scale SGD learning rate).
    b1 : float or array
        β of the EMA m whose sign is compared with the gradient (0.9).
    resilience : float or array
        λ ∈ [0, 1] in the factor :math:`a_t = 1 + c_t b_t` (0.999, [2]'s ``lr_scaling``).
    momentum : float or array
        μ of the SGD momentum buffer (``apply_to="momentum"`` only; 0.9; refused with
        ``apply_to="grad"``).
    eps : float or array
        ε > 0 in the normaliser (1e-8); it makes :math:`b_1 = 0` when :math:`m_0 = 0`.
        Refused with ``normalizer="none"``, which has no ε.
    wd : float or array
        Coupled L2 weight decay λ_wd, added outside the factor (0; [2] suggests 1e-4).
    apply_to : {"momentum", "grad"}
        Where the factor acts (see Notes).
    normalizer : {"tensor_max", "elementwise", "none"}
        How the agreement :math:`\operatorname{sign}(g_t)\,m_{t-1}` is brought into [-1, 1].
    decay : {"power", "constant"}
        :math:`c_t = \lambda^t` (the factor tends to 1) or :math:`c_t = \lambda`.

    Notes
    -----
    Update t = 1, 2, ... with :math:`m_0 = 0`, :math:`B_0 = 0`:

    .. math::
        b_t &= \operatorname{sign}(g_t) \odot m_{t-1} / N(m_{t-1}) \in [-1, 1],\qquad
        a_t = 1 + c_t\, b_t \in [1-c_t,\ 1+c_t] \\
        \delta_t &= a_t \odot g_t + \lambda_{wd}\,\theta_{t-1} \\
        \text{grad:}\quad \theta_t &= \theta_{t-1} - \eta\,\delta_t \\
        \text{momentum:}\quad B_t &= \mu B_{t-1} + \delta_t,\qquad \theta_t = \theta_{t-1} - \eta B_t \\
        m_t &= \beta m_{t-1} + (1-\beta) g_t \quad(\text{after use, no bias correction})

    Normalisers :math:`N`: ``"tensor_max"`` :math:`\max_j |m_{t-1,j}| + \epsilon`, the max over
    the parameters of one run (the last axis; [2] takes it per tensor, so the rule is non-local
    across a tensor); ``"elementwise"`` :math:`|m_{t-1}| + \epsilon`, giving
    :math:`b_t \approx \pm 1` (pure sign agreement); ``"none"`` :math:`b_t = \operatorname{clip}(
    \operatorname{sign}(g_t)\,m_{t-1}, -1, 1)` (clipped, so the step factor stays in
    :math:`[1-c_t, 1+c_t]` and η_t in [0, 2η]).  The past update direction is :math:`-m_{t-1}`
    and the descent direction :math:`-g_t`: when they agree, :math:`b_t > 0` enlarges the step
    (Rprop's "resilient" idea made smooth, with momentum memory).  :math:`m_{t-1}` and not
    :math:`m_t` is used, so the current gradient does not contaminate the test; at t = 1,
    :math:`b_1 = 0` and the step is plain SGD.  :math:`c_t = \lambda^t` counts t from 1.

    **Default variant and why.**  ``apply_to="momentum"``, ``normalizer="tensor_max"``,
    ``decay="power"``: the title names momentum and the experiments are ImageNet training,
    whose baseline is SGD with momentum 0.9, so the factor most plausibly scales the gradient
    entering an SGD-momentum buffer ([2] applies it to plain SGD: ``apply_to="grad"``); the
    tensor max is what [2] does and keeps the factor graded rather than ±1; the power decay
    makes :math:`a_t \to 1`, the bounded-and-vanishing adaptation that convergence proofs of
    this period (AdaBound-style) need, and it is [2]'s choice.

    With ``resilience=0`` (:math:`c_t = 0`, :math:`a_t \equiv 1` under either decay) AdaRem is
    exactly SGD (``apply_to="grad"``) or torch's SGD with momentum μ and dampening 0
    (``apply_to="momentum"``); the agreement test is then unused, so an explicit ``b1``,
    ``eps``, ``normalizer`` or ``decay`` with ``resilience=0`` is refused.

    ====== ================ ==================
    symbol argument         default
    ====== ================ ==================
    η      ``lr``           0.4
    β      ``b1``           0.9
    λ      ``resilience``   0.999
    μ      ``momentum``     0.9
    ε      ``eps``          1e-8
    λ_wd   ``wd``           0
    ====== ================ ==================

    References
    ----------
    .. [1] Y. Liu, M. Lin, J. Li, Q. Sheng, L. Sun, J. Yan, W. Ouyang, "AdaRem: adaptive
           gradient method with resilience and momentum", arXiv:2010.11041, 2020 (abstract only;
           no equation numbers known).
    .. [2] N. Demeure, ``nestordemeure/flaxOptimizers:flaxOptimizers/adarem.py`` (third-party
           JAX reconstruction, self-flagged as unverified).
    .. [3] M. Riedmiller, H. Braun, "A direct adaptive method for faster backpropagation
           learning: the RPROP algorithm", IEEE ICNN 1993 (the resilient relative, :class:`Rprop`).
    """

    name: ClassVar[str] = "adarem"
    fidelity: ClassVar[str] = "recon"
    reference: ClassVar[str] = (
        "Liu et al., arXiv:2010.11041 (2020), abstract only; reconstruction after "
        "nestordemeure/flaxOptimizers adarem.py (docs/spec/adarem.md)"
    )

    reads: ClassVar = {
        "momentum": option("apply_to", "momentum"),
        "eps": option("normalizer", "tensor_max", "elementwise") & nonzero("resilience"),
        "b1": nonzero("resilience"),
        "normalizer": nonzero("resilience"),
        "decay": nonzero("resilience"),
    }

    lr: Hyper = 0.4
    b1: Hyper = 0.9
    resilience: Hyper = 0.999
    momentum: Hyper = 0.9
    eps: Hyper = 1e-8
    wd: Hyper = 0.0
    apply_to: ApplyTo = "momentum"
    normalizer: Normalizer = "tensor_max"
    decay: Decay = "power"

    def _validate(self) -> None:
        check_range("b1", self.b1, 0.0, 1.0, hi_open=True)
        check_range("resilience", self.resilience, 0.0, 1.0)
        check_range("momentum", self.momentum, 0.0)
        check_range("eps", self.eps, 0.0, lo_open=True)  # > 0: m_0 = 0 must give b_1 = 0, not 0/0
        check_range("wd", self.wd, 0.0)

    def init(self, x: Array) -> AdaRemState:
        z = array_namespace(x).zeros_like(x)
        return AdaRemState(k=0, m=z, buf=z if self.apply_to == "momentum" else None)

    def _agreement(self, xp: Any, g: Array, m_prev: Array, x: Array) -> Array:
        """b_t in [-1, 1]: sign agreement of g_t with m_{t-1} ([2] ``b``)."""
        sm = xp.sign(g) * m_prev
        if self.normalizer == "tensor_max":  # [2]: max over the whole tensor (here: one run)
            return sm / (xp.max(xp.abs(m_prev), axis=-1, keepdims=True) + hp(self.eps, x, xp))
        if self.normalizer == "elementwise":
            return sm / (xp.abs(m_prev) + hp(self.eps, x, xp))
        return xp.minimum(xp.maximum(sm, -1.0), 1.0)

    def _step(self, xp, g, state, x, *, lr, value=None, hvp=None):
        k = state.k + 1
        lam = hp(self.resilience, x, xp)
        c = lam**k if self.decay == "power" else lam  # [2] lr_scaling ** t
        a = 1 + c * self._agreement(xp, g, state.m, x)  # [2] a_t = 1 + lambda^t b_t
        delta = a * g
        if not _is_zero(self.wd):
            delta = delta + hp(self.wd, x, xp) * x  # [2] coupled wd, outside the factor
        m = ema(state.m, g, hp(self.b1, x, xp))  # [2] m_t updated after use
        if self.apply_to == "grad":
            return -lr * delta, AdaRemState(k=k, m=m, buf=None)  # [2] theta -= eta (a g + wd theta)
        buf = hp(self.momentum, x, xp) * state.buf + delta  # SGD momentum, dampening 0
        return -lr * buf, AdaRemState(k=k, m=m, buf=buf)

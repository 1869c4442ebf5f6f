r"""Adaptive diagonal methods with torch.optim conventions: AdaGrad, RMSProp, Adam, AMSGrad, AdamW, NAdam.

Each exposes the diagonal of its implied preconditioner through :meth:`preconditioner`:
the step is :math:`-\gamma\,P_k \odot d_k` with :math:`d_k` the (momentum) direction.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, NamedTuple

from .._checks import check_range
from ._moments import EpsPlacement, adaptive_denominator, bias_correction, ema
from .base import AbstractRule, Hyper, hp, nonzero, option, register, rule_dataclass

__all__ = [
    "AdaGrad", "AdaGradState", "RMSProp", "RMSPropState", "Adam", "AdamState",
    "AMSGrad", "AdamW", "NAdam", "NAdamState",
]

Array = Any


def _coupled(g: Array, x: Array, wd: Any, xp: Any) -> Array:
    """torch's ``weight_decay``: coupled L2, ``g + wd * x`` (skipped when wd is the scalar 0)."""
    if isinstance(wd, (int, float)) and wd == 0:
        return g
    return g + hp(wd, x, xp) * x


class AdaGradState(NamedTuple):
    k: int
    s: Array  # running sum of squared gradients (starts at initial_accumulator_value)


@register
@rule_dataclass
class AdaGrad(AbstractRule):
    r"""AdaGrad, as ``torch.optim.Adagrad``.

    Notes
    -----
    .. math::
        \tilde\gamma_k = \gamma / (1 + (k-1)\,\delta),\quad g_k \leftarrow g_k + \lambda x_k,\quad
        S_k = S_{k-1} + g_k^2,\quad x_{k+1} = x_k - \tilde\gamma_k\, g_k / (\sqrt{S_k} + \epsilon)

    with :math:`S_0 = \tau`.  ε sits outside the square root (Duchi et al. write δ + √S);
    ``eps_placement="inside"`` gives :math:`\sqrt{S_k+\epsilon}`.
    Implied preconditioner :math:`P_k = 1/(\sqrt{S_k}+\epsilon)`.

    ====== ===========================
    symbol argument
    ====== ===========================
    γ      ``lr`` (default 1e-2)
    δ      ``lr_decay``
    λ      ``wd``
    τ      ``initial_accumulator_value``
    ε      ``eps`` (default 1e-10)
    ====== ===========================

    References
    ----------
    .. [1] J. Duchi, E. Hazan, Y. Singer, "Adaptive subgradient methods for online learning and
           stochastic optimization", JMLR 12, 2011, Fig. 1 (diagonal version).
    .. [2] PyTorch ``torch.optim.Adagrad`` documentation, algorithm box.
    """

    name: ClassVar[str] = "adagrad"
    has_preconditioner: ClassVar[bool] = True
    reference: ClassVar[str] = "Duchi, Hazan, Singer, JMLR 2011, Fig. 1; torch.optim.Adagrad"

    lr: Hyper = 1e-2
    lr_decay: Hyper = 0.0
    wd: Hyper = 0.0
    initial_accumulator_value: Hyper = 0.0
    eps: Hyper = 1e-10
    eps_placement: EpsPlacement = "outside"

    def _validate(self) -> None:
        check_range("lr_decay", self.lr_decay, 0.0)
        check_range("wd", self.wd, 0.0)
        check_range("initial_accumulator_value", self.initial_accumulator_value, 0.0)
        check_range("eps", self.eps, 0.0)

    def init(self, x: Array) -> AdaGradState:
        from .._xp import array_namespace

        return AdaGradState(k=0, s=x * 0 + hp(self.initial_accumulator_value, x, array_namespace(x)))

    def _step(self, xp, g, state, x, *, lr, value=None, hvp=None):
        k = state.k + 1
        g = _coupled(g, x, self.wd, xp)
        clr = lr / (1 + (k - 1) * hp(self.lr_decay, x, xp))  # [2] line 1
        s = state.s + g * g
        dx = -clr * g / adaptive_denominator(xp, s, hp(self.eps, x, xp), self.eps_placement)
        return dx, AdaGradState(k=k, s=s)

    def preconditioner(self, state: AdaGradState) -> Array:
        from .._xp import array_namespace

        xp = array_namespace(state.s)
        return 1 / adaptive_denominator(xp, state.s, hp(self.eps, state.s, xp), self.eps_placement)


class RMSPropState(NamedTuple):
    k: int
    v: Array  # EMA of g^2
    gbar: Array | None  # EMA of g (centered only)
    b: Array | None  # momentum buffer (momentum > 0 only)


@register
@rule_dataclass
class RMSProp(AbstractRule):
    r"""RMSProp, as ``torch.optim.RMSprop`` (no bias correction, :math:`v_0 = 0`).

    Notes
    -----
    .. math::
        v_k &= \alpha v_{k-1} + (1-\alpha) g_k^2,\qquad \bar g_k = \alpha\bar g_{k-1} + (1-\alpha) g_k \ (\text{centered}) \\
        \tilde v_k &= v_k \ \text{or}\ v_k - \bar g_k^2 \ (\text{centered}) \\
        b_k &= \mu b_{k-1} + g_k/(\sqrt{\tilde v_k}+\epsilon),\quad x_{k+1} = x_k - \gamma b_k \quad (\mu > 0) \\
        x_{k+1} &= x_k - \gamma g_k/(\sqrt{\tilde v_k}+\epsilon) \quad (\mu = 0)

    Here momentum is applied *after* preconditioning (unlike Adam).  TensorFlow puts ε inside
    the root: ``eps_placement="inside"``.  Because :math:`v_0=0` the first step has magnitude
    about :math:`\gamma/\sqrt{1-\alpha}` per coordinate.  Implied preconditioner
    :math:`P_k = 1/(\sqrt{\tilde v_k}+\epsilon)`.

    ====== =======================
    symbol argument
    ====== =======================
    γ      ``lr`` (default 1e-2)
    α      ``alpha`` (default 0.99)
    ε      ``eps`` (default 1e-8)
    μ      ``momentum``
    λ      ``wd`` (coupled, torch)
    ====== =======================

    References
    ----------
    .. [1] T. Tieleman, G. Hinton, Lecture 6.5 of "Neural Networks for Machine Learning", 2012.
    .. [2] A. Graves, "Generating sequences with recurrent neural networks", arXiv:1308.0850,
           eq. (38)-(41) (centered form).
    .. [3] PyTorch ``torch.optim.RMSprop`` documentation, algorithm box.
    """

    name: ClassVar[str] = "rmsprop"
    has_preconditioner: ClassVar[bool] = True
    reference: ClassVar[str] = "Tieleman & Hinton 2012; Graves 2013 eq. (38)-(41); torch.optim.RMSprop"

    lr: Hyper = 1e-2
    alpha: Hyper = 0.99
    eps: Hyper = 1e-8
    wd: Hyper = 0.0
    momentum: Hyper = 0.0
    centered: bool = False
    eps_placement: EpsPlacement = "outside"

    def _validate(self) -> None:
        check_range("alpha", self.alpha, 0.0, 1.0, hi_open=True)
        check_range("eps", self.eps, 0.0)
        check_range("wd", self.wd, 0.0)
        check_range("momentum", self.momentum, 0.0)

    def _uses_momentum(self) -> bool:
        return not (isinstance(self.momentum, (int, float)) and self.momentum == 0)

    def init(self, x: Array) -> RMSPropState:
        z = x * 0
        return RMSPropState(k=0, v=z, gbar=z if self.centered else None, b=z if self._uses_momentum() else None)

    def _denominator(self, xp: Any, v: Array, gbar: Array | None) -> Array:
        vt = v - gbar * gbar if self.centered else v
        return adaptive_denominator(xp, vt, hp(self.eps, v, xp), self.eps_placement)

    def _step(self, xp, g, state, x, *, lr, value=None, hvp=None):
        g = _coupled(g, x, self.wd, xp)
        a = hp(self.alpha, x, xp)
        v = a * state.v + (1 - a) * (g * g)
        gbar = ema(state.gbar, g, a) if self.centered else None
        u = g / self._denominator(xp, v, gbar)
        if self._uses_momentum():
            b = hp(self.momentum, x, xp) * state.b + u
            return -lr * b, RMSPropState(k=state.k + 1, v=v, gbar=gbar, b=b)
        return -lr * u, RMSPropState(k=state.k + 1, v=v, gbar=gbar, b=None)

    def preconditioner(self, state: RMSPropState) -> Array:
        from .._xp import array_namespace

        return 1 / self._denominator(array_namespace(state.v), state.v, state.gbar)


class AdamState(NamedTuple):
    k: int
    m: Array  # EMA of g
    v: Array  # EMA of g^2
    vmax: Array | None  # AMSGrad running maximum (raw or debiased, see amsgrad_max)


AmsgradMax = Literal["raw", "debiased"]


@rule_dataclass
class _AdamFamily(AbstractRule):
    r"""Adam and its variants as named options (see :class:`Adam` for the mathematics)."""

    has_preconditioner: ClassVar[bool] = True
    reads: ClassVar = {
        "amsgrad_max": option("amsgrad", True),
        "decoupled_wd": nonzero("wd"),
        "decay_scaled_by_lr": option("decoupled_wd", True) & nonzero("wd"),
    }

    lr: Hyper = 1e-3
    b1: Hyper = 0.9
    b2: Hyper = 0.999
    eps: Hyper = 1e-8
    wd: Hyper = 0.0
    amsgrad: bool = False
    amsgrad_max: AmsgradMax = "raw"
    bias_correction: bool = True
    eps_placement: EpsPlacement = "outside"
    efficient: bool = False
    decoupled_wd: bool = False
    decay_scaled_by_lr: bool = True

    def _validate(self) -> None:
        check_range("b1", self.b1, 0.0, 1.0, hi_open=True)
        check_range("b2", self.b2, 0.0, 1.0, hi_open=True)
        check_range("eps", self.eps, 0.0)
        check_range("wd", self.wd, 0.0)
        if self.efficient and (not self.bias_correction or self.eps_placement != "outside"):
            raise ValueError("efficient=True (Kingma-Ba's folded step size) needs bias_correction=True and eps_placement='outside'")
        if self.amsgrad_max == "debiased" and not self.bias_correction:
            raise ValueError("amsgrad_max='debiased' needs bias_correction=True")

    def init(self, x: Array) -> AdamState:
        z = x * 0
        return AdamState(k=0, m=z, v=z, vmax=z if self.amsgrad else None)

    def _scale(self, xp: Any, v: Array, vmax: Array | None, k: int) -> tuple[Any, Array]:
        """(c, P): the step is ``-lr * c * m / P_denominator``; returns c and the denominator."""
        b1, b2, eps = hp(self.b1, v, xp), hp(self.b2, v, xp), hp(self.eps, v, xp)
        if not self.bias_correction:
            vv = vmax if self.amsgrad else v
            return 1.0, adaptive_denominator(xp, vv, eps, self.eps_placement)
        bc1, bc2 = bias_correction(b1, k), bias_correction(b2, k)
        if self.efficient:  # Kingma & Ba §2: alpha_t = alpha sqrt(bc2)/bc1, eps-hat on raw v
            vv = vmax if self.amsgrad else v
            if self.amsgrad and self.amsgrad_max == "debiased":
                vv = vmax * bc2  # the max of v-hat, back on the raw scale of v_k (debiased once, not twice)
            return bc2**0.5 / bc1, xp.sqrt(vv) + eps
        if self.amsgrad and self.amsgrad_max == "debiased":
            return 1 / bc1, adaptive_denominator(xp, vmax, eps, self.eps_placement)
        vv = vmax if self.amsgrad else v
        if self.eps_placement == "outside":
            return 1 / bc1, xp.sqrt(vv) / bc2**0.5 + eps  # torch's order of operations
        return 1 / bc1, xp.sqrt(vv / bc2 + eps)

    def _step(self, xp, g, state, x, *, lr, value=None, hvp=None):
        k = state.k + 1
        if not self.decoupled_wd:
            g = _coupled(g, x, self.wd, xp)
        b1, b2 = hp(self.b1, x, xp), hp(self.b2, x, xp)
        m = ema(state.m, g, b1)  # [1] Alg. 1 l.7
        v = ema(state.v, g * g, b2)  # [1] Alg. 1 l.8
        vmax = None
        if self.amsgrad:  # [2] Alg. 2 l.7 (torch: on the raw v; 'debiased': on v / bc2)
            vmax = xp.maximum(state.vmax, v if self.amsgrad_max == "raw" else v / bias_correction(b2, k))
        c, denom = self._scale(xp, v, vmax, k)
        dx = -(lr * c) * m / denom
        if self.decoupled_wd and not (isinstance(self.wd, (int, float)) and self.wd == 0):
            dx = dx - (lr if self.decay_scaled_by_lr else 1.0) * hp(self.wd, x, xp) * x
        return dx, AdamState(k=k, m=m, v=v, vmax=vmax)

    def preconditioner(self, state: AdamState) -> Array:
        from .._xp import array_namespace

        xp = array_namespace(state.v)
        k = max(state.k, 1)
        c, denom = self._scale(xp, state.v, state.vmax, k)
        if self.bias_correction:  # P multiplies m-hat = m / bc1
            c = c * bias_correction(hp(self.b1, state.v, xp), k)
        return c / denom


_ADAM_NOTES = r"""
    Notes
    -----
    .. math::
        g_k &\leftarrow g_k + \lambda x_k \quad(\text{coupled, torch's weight\_decay}) \\
        m_k &= \beta_1 m_{k-1} + (1-\beta_1) g_k,\qquad v_k = \beta_2 v_{k-1} + (1-\beta_2) g_k^2 \\
        \hat m_k &= m_k/(1-\beta_1^k),\qquad \hat v_k = v_k/(1-\beta_2^k) \\
        x_{k+1} &= x_k - \gamma\,\hat m_k / (\sqrt{\hat v_k} + \epsilon)

    Options (each a point where papers and libraries disagree):

    * ``amsgrad``: replace :math:`v_k` by :math:`v^{\max}_k = \max(v^{\max}_{k-1}, v_k)`;
      ``amsgrad_max="raw"`` takes the max of the raw v then debiases (torch), ``"debiased"``
      takes the max of :math:`\hat v_k` (nadir's other variant).  Reddi et al.'s original has
      no bias correction: ``bias_correction=False``.
    * ``bias_correction=False``: :math:`\hat m = m`, :math:`\hat v = v`.
    * ``eps_placement="inside"``: :math:`\sqrt{\hat v_k + \epsilon}`.
    * ``efficient=True``: Kingma–Ba's "efficient version", :math:`\alpha_k = \gamma\sqrt{1-\beta_2^k}/(1-\beta_1^k)`,
      :math:`x_{k+1} = x_k - \alpha_k m_k/(\sqrt{v_k}+\hat\epsilon)`; not identical, since ε is then
      effectively scaled by :math:`\sqrt{1-\beta_2^k}`.
    * ``decoupled_wd=True``: :math:`x_{k+1} = x_k - \gamma\lambda x_k + (\text{Adam step})` (AdamW);
      ``decay_scaled_by_lr=False`` uses :math:`-\lambda x_k` (Loshchilov–Hutter with :math:`\eta_t = 1`).

    Explicit options that the configuration does not read are refused: ``amsgrad_max``
    without ``amsgrad=True``, ``decoupled_wd`` with ``wd=0``, ``decay_scaled_by_lr`` without
    decoupled decay or with ``wd=0``.  The presets refuse their contradiction:
    ``amsgrad(amsgrad=False)`` and ``adamw(decoupled_wd=False)`` (use ``adam``).

    Implied preconditioner (of :math:`\hat m_k`): :math:`P_k = 1/(\sqrt{\hat v_k}+\epsilon)`.

    ====== ====================
    symbol argument
    ====== ====================
    γ      ``lr``
    β₁     ``b1``
    β₂     ``b2``
    ε      ``eps``
    λ      ``wd``
    ====== ====================

    References
    ----------
    .. [1] D. P. Kingma, J. Ba, "Adam: A method for stochastic optimization", ICLR 2015,
           arXiv:1412.6980, Algorithm 1 (and §2 for the efficient form).
    .. [2] S. J. Reddi, S. Kale, S. Kumar, "On the convergence of Adam and beyond", ICLR 2018,
           Algorithm 2 (AMSGrad).
    .. [3] I. Loshchilov, F. Hutter, "Decoupled weight decay regularization", ICLR 2019, Algorithm 2.
    .. [4] PyTorch ``torch.optim.Adam`` / ``AdamW`` documentation, algorithm boxes (v2.12).
"""


@register
@rule_dataclass
class Adam(_AdamFamily):
    __doc__ = r"""Adam, as ``torch.optim.Adam`` (lr=1e-3, betas=(0.9, 0.999), eps=1e-8).""" + _ADAM_NOTES
    name: ClassVar[str] = "adam"
    reference: ClassVar[str] = "Kingma & Ba, ICLR 2015, Algorithm 1; torch.optim.Adam"


@register
@rule_dataclass
class AMSGrad(_AdamFamily):
    __doc__ = r"""AMSGrad, as ``torch.optim.Adam(amsgrad=True)``.""" + _ADAM_NOTES
    name: ClassVar[str] = "amsgrad"
    reference: ClassVar[str] = "Reddi, Kale, Kumar, ICLR 2018, Algorithm 2; torch.optim.Adam(amsgrad=True)"
    preset: ClassVar = {"amsgrad": True}
    preset_of: ClassVar[str] = "adam"
    amsgrad: bool = True


@register
@rule_dataclass
class AdamW(_AdamFamily):
    __doc__ = r"""AdamW, as ``torch.optim.AdamW`` (decoupled decay scaled by lr, default wd=1e-2).""" + _ADAM_NOTES
    name: ClassVar[str] = "adamw"
    reference: ClassVar[str] = "Loshchilov & Hutter, ICLR 2019, Algorithm 2; torch.optim.AdamW"
    preset: ClassVar = {"decoupled_wd": True}
    preset_of: ClassVar[str] = "adam"
    wd: Hyper = 1e-2
    decoupled_wd: bool = True


class NAdamState(NamedTuple):
    k: int
    m: Array
    v: Array
    mu_product: Any  # prod_{i<=k} mu_i (float, or array for batched b1)


@register
@rule_dataclass
class NAdam(AbstractRule):
    r"""NAdam, as ``torch.optim.NAdam`` (Dozat's Nesterov-Adam with momentum decay).

    Notes
    -----
    .. math::
        \mu_k &= \beta_1\,(1 - \tfrac12\, 0.96^{k\psi}),\qquad \mu_{k+1} = \beta_1\,(1 - \tfrac12\, 0.96^{(k+1)\psi}) \\
        m_k &= \beta_1 m_{k-1} + (1-\beta_1) g_k,\qquad v_k = \beta_2 v_{k-1} + (1-\beta_2) g_k^2 \\
        x_{k+1} &= x_k - \gamma\Big[\frac{1-\mu_k}{1-\prod_{i\le k}\mu_i}\,g_k
                    + \frac{\mu_{k+1}}{1-\prod_{i\le k+1}\mu_i}\,m_k\Big] \Big/ \big(\sqrt{v_k/(1-\beta_2^k)}+\epsilon\big)

    ====== =========================
    symbol argument
    ====== =========================
    γ      ``lr`` (default 2e-3)
    β₁, β₂ ``b1``, ``b2``
    ψ      ``momentum_decay`` (4e-3)
    ε      ``eps``
    λ      ``wd`` (coupled; ``decoupled_wd=True`` for torch's decoupled_weight_decay)
    ====== =========================

    References
    ----------
    .. [1] T. Dozat, "Incorporating Nesterov momentum into Adam", ICLR 2016 workshop, Algorithm 2.
    .. [2] PyTorch ``torch.optim.NAdam`` documentation, algorithm box.
    """

    name: ClassVar[str] = "nadam"
    has_preconditioner: ClassVar[bool] = True
    reads: ClassVar = {"decoupled_wd": nonzero("wd")}
    reference: ClassVar[str] = "Dozat, ICLR 2016 workshop, Algorithm 2; torch.optim.NAdam"

    lr: Hyper = 2e-3
    b1: Hyper = 0.9
    b2: Hyper = 0.999
    eps: Hyper = 1e-8
    wd: Hyper = 0.0
    momentum_decay: Hyper = 4e-3
    decoupled_wd: bool = False

    def _validate(self) -> None:
        check_range("b1", self.b1, 0.0, 1.0, hi_open=True)
        check_range("b2", self.b2, 0.0, 1.0, hi_open=True)
        check_range("eps", self.eps, 0.0)
        check_range("wd", self.wd, 0.0)
        check_range("momentum_decay", self.momentum_decay, 0.0)

    def init(self, x: Array) -> NAdamState:
        z = x * 0
        return NAdamState(k=0, m=z, v=z, mu_product=1.0)

    def _step(self, xp, g, state, x, *, lr, value=None, hvp=None):
        k = state.k + 1
        wd = self.wd
        if not self.decoupled_wd:
            g = _coupled(g, x, wd, xp)
        b1, b2, psi = hp(self.b1, x, xp), hp(self.b2, x, xp), hp(self.momentum_decay, x, xp)
        mu = b1 * (1.0 - 0.5 * 0.96 ** (k * psi))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((k + 1) * psi))
        mu_product = state.mu_product * mu
        m = ema(state.m, g, b1)
        v = ema(state.v, g * g, b2)
        denom = xp.sqrt(v / bias_correction(b2, k)) + hp(self.eps, x, xp)
        dx = -lr * (1.0 - mu) / (1.0 - mu_product) * g / denom - lr * mu_next / (1.0 - mu_product * mu_next) * m / denom
        if self.decoupled_wd and not (isinstance(wd, (int, float)) and wd == 0):
            dx = dx - lr * hp(wd, x, xp) * x
        return dx, NAdamState(k=k, m=m, v=v, mu_product=mu_product)

    def preconditioner(self, state: NAdamState) -> Array:
        from .._xp import array_namespace

        xp = array_namespace(state.v)
        k = max(state.k, 1)
        return 1 / (xp.sqrt(state.v / bias_correction(hp(self.b2, state.v, xp), k)) + hp(self.eps, state.v, xp))

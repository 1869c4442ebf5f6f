r"""EXACT relatives of AdapGradm read from public code: Apollo, AGD and AdaBelief.

AdaBound and SWATS (the relatives that hand over to SGD) live in :mod:`.relatives_switch`.
Every rule here reproduces a reference implementation operation by operation, so that its
float64 trajectories agree with the reference to round-off (``docs/spec/baselines.md``,
"Other relatives"):

* Apollo, AdaBelief (and AdaBound, SWATS): the ``pytorch-optimizer`` package, version
  :data:`PTO_VERSION` (``ApolloDQN``, ``AdaBelief``, ``AdaBound``, ``SWATS``);
* AGD: the authors' code, ``intelligent-machine-learning/dlrover``
  ``atorch/atorch/optimizers/agd.py`` (``pytorch-optimizer`` has no AGD).

Where the package and the paper differ, the package is the default and the paper a named
option; each docstring lists the differences.  Weight decay follows each package's default
coupling (``decoupled_wd`` / ``wd_type``), because these rules are not in ``torch.optim``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal, NamedTuple

from .._checks import check_int, check_range
from .._xp import array_namespace
from ._moments import bias_correction, ema
from .base import AbstractRule, Hyper, Needs, hp, nonzero, option, register, rule_dataclass

__all__ = [
    "PTO_VERSION", "Apollo", "ApolloState", "AGD", "AGDState", "AdaBelief", "AdaBeliefState",
    "lerp", "fsqrt", "pto_weight_decay",
]

#: The ``pytorch-optimizer`` release whose source these rules were matched against.
PTO_VERSION = "4.1.0"

Array = Any


def _is_zero(v: Any) -> bool:
    return isinstance(v, (int, float)) and v == 0


def fsqrt(xp: Any, v: Any) -> Any:
    """Square root of a hyperparameter-derived scalar (``math.sqrt``, as the packages) or array."""
    return math.sqrt(v) if isinstance(v, (int, float)) else xp.sqrt(v)


def lerp(xp: Any, a: Array, b: Array, w: Any) -> Array:
    r"""``torch.lerp(a, b, w)`` with torch's two-branch formula (kept for round-off agreement):
    :math:`a + w(b-a)` when :math:`|w| < 1/2`, else :math:`b - (b-a)(1-w)`.  Mathematically the
    EMA :math:`(1-w)a + wb`."""
    if isinstance(w, (int, float)):
        return a + w * (b - a) if abs(w) < 0.5 else b - (b - a) * (1 - w)
    return xp.where(xp.abs(w) < 0.5, a + w * (b - a), b - (b - a) * (1 - w))


def pto_weight_decay(
    xp: Any, g: Array, x: Array, wd: Any, *, decoupled: bool, scaled_by_lr: bool, lr: Any
) -> tuple[Array, Array | None]:
    r"""``BaseOptimizer.apply_weight_decay`` of pytorch-optimizer, without mutation.

    Returns ``(g, decay)``: coupled L2 gives ``(g + wd x, None)``; decoupled decay gives
    ``(g, -c wd x)`` with ``c = lr`` (``scaled_by_lr``) or 1 (the package's ``fixed_decay``),
    the displacement that the package's ``p.mul_(1 - c wd)`` applies before the step.
    """
    if _is_zero(wd):
        return g, None
    w = hp(wd, x, xp)
    if decoupled:
        return g, -(w * (lr if scaled_by_lr else 1.0)) * x
    return g + w * x, None


# ------------------------------------------------------------------------------------------ Apollo
ApolloRebound = Literal["constant", "belief"]
ApolloDecay = Literal["l2", "decoupled", "stable"]


class ApolloState(NamedTuple):
    k: int
    m: Array  # bias-corrected EMA of g ("exp_avg_grad")
    B: Array  # diagonal quasi-Newton matrix ("approx_hessian")
    d: Array  # last direction d_k = D_k^{-1} m_k (+ decay), without the learning rate ("update")
    D: Array  # last rectified denominator D_k (for preconditioner(); 0.01 before the first update)


@register
@rule_dataclass
class Apollo(AbstractRule):
    r"""Apollo: an adaptive parameter-wise diagonal quasi-Newton method (``ApolloDQN``).

    Notes
    -----
    **Fidelity: EXACT** — the update of ``pytorch_optimizer.ApolloDQN`` (v4.1.0, which follows
    the author's code), operation by operation; tested against its float64 trajectories.

    .. math::
        \eta_k &= \eta_0 + (\eta-\eta_0)\,k/W \ (k < W), \qquad \eta_k = \eta \ (k \ge W) \\
        g_k &\leftarrow g_k + \lambda x_k \quad (\text{wd\_type} = \text{"l2"}) \\
        \alpha_k &= (1-\beta)/(1-\beta^k), \qquad m_k = m_{k-1} + \alpha_k (g_k - m_{k-1}) \\
        \tilde d &= d_{k-1}/(\|d_{k-1}\|_4 + \epsilon'), \qquad
        c_k = -\frac{\tilde d^\top (m_k - m_{k-1})}{\|d_{k-1}\|_4 + \epsilon'}
              - \tilde d^\top \mathrm{Diag}(B_{k-1})\,\tilde d \\
        B_k &= B_{k-1} + c_k\, \tilde d^{\,2} \\
        D_k &= \max(|B_k|, \sigma) \quad(\text{"constant"}), \qquad
        D_k = \max(|B_k|, \|g_k - m_{k-1}\|_\infty) + \epsilon/\alpha_k \quad(\text{"belief"}) \\
        d_k &= m_k / D_k \;(+\lambda x_k \ \text{decoupled},\ +\lambda x_k/\overline{D_k} \ \text{stable}),
        \qquad x_{k+1} = x_k - \eta_k d_k

    with :math:`\sigma = 0.01` and :math:`\epsilon' = \epsilon/0.01` in "constant" mode
    (the package divides ``eps`` by the literal ``1e-2``), :math:`\epsilon' = \epsilon` in
    "belief" mode, :math:`d_0 = 0`, :math:`B_0 = 0`.  :math:`m_k` is the bias-corrected EMA
    :math:`[\beta(1-\beta^{k-1})m_{k-1} + (1-\beta)g_k]/(1-\beta^k)` of [1] Alg. 1.  The weak
    secant condition :math:`\tilde d^\top B_k \tilde d = -\tilde d^\top(m_k-m_{k-1})/(\|d\|_4+\epsilon')`
    holds after the update: since :math:`x_k - x_{k-1} = -\eta d_{k-1}`, :math:`B_k` estimates
    :math:`\eta\,\mathrm{diag}(H)`, and the step :math:`\eta\, m/B` is Newton-like and
    largely independent of η once warm.  :math:`\overline{D_k}` is the mean over the last axis.
    Implied preconditioner :math:`P_k = 1/D_k` (step :math:`-\eta_k P_k m_k`).

    ====== ================================================
    symbol argument
    ====== ================================================
    η      ``lr`` (1e-2)
    η₀     ``init_lr`` (1e-5)
    W      ``warmup_steps`` (500; 0 disables the warmup)
    β      ``b1`` (0.9)
    ε      ``eps`` (1e-4)
    λ      ``wd`` (0), coupling ``wd_type`` ("l2")
    —      ``rebound`` ("constant" or "belief")
    ====== ================================================

    The warmup ramps to the learning rate passed to the update (the field ``lr``, or the
    scheduled one under :func:`with_schedule`); the package ramps to its constructor lr.
    ``init_lr`` is read only when the warmup has a ramp (``warmup_steps >= 2``: with W = 1 the
    first update already uses η) and ``wd_type`` only with ``wd != 0``; explicit values
    otherwise are refused.

    References
    ----------
    .. [1] X. Ma, "Apollo: an adaptive parameter-wise diagonal quasi-Newton method for nonconvex
           stochastic optimization", arXiv:2009.13586, 2020, Algorithm 1 and §3 (rectified
           absolute value, stepsize bias correction).
    .. [2] kozistr/pytorch_optimizer v4.1.0, ``optimizer/apollo.py``, ``ApolloDQN.step``.
    """

    name: ClassVar[str] = "apollo"
    fidelity: ClassVar[str] = "exact"
    has_preconditioner: ClassVar[bool] = True
    reference: ClassVar[str] = "Ma, arXiv:2009.13586, Algorithm 1; pytorch_optimizer 4.1.0 ApolloDQN"
    reads: ClassVar = {
        "init_lr": Needs(lambda r: r.warmup_steps >= 2, "warmup_steps >= 2", ("warmup_steps",)),
        "wd_type": nonzero("wd"),
    }

    lr: Hyper = 1e-2
    init_lr: Hyper = 1e-5
    b1: Hyper = 0.9
    eps: Hyper = 1e-4
    rebound: ApolloRebound = "constant"
    wd: Hyper = 0.0
    wd_type: ApolloDecay = "l2"
    warmup_steps: int = 500

    def _validate(self) -> None:
        check_range("init_lr", self.init_lr, 0.0)
        check_range("b1", self.b1, 0.0, 1.0, hi_open=True)
        check_range("eps", self.eps, 0.0)
        check_range("wd", self.wd, 0.0)
        check_int("warmup_steps", self.warmup_steps, 0)

    def init(self, x: Array) -> ApolloState:
        xp = array_namespace(x)
        z = xp.zeros_like(x)
        return ApolloState(k=0, m=z, B=z, d=z, D=z + 1e-2)

    def _step(self, xp, g, state, x, *, lr, value=None, hvp=None):
        k = state.k + 1
        W = self.warmup_steps
        init_lr = hp(self.init_lr, x, xp)
        clr = lr if k >= W else (lr - init_lr) * k / W + init_lr  # [2] current_lr
        eps = hp(self.eps, x, xp)
        eps4 = eps / 1e-2 if self.rebound == "constant" else eps  # [2]: eps /= 1e-2 ("constant")
        b1 = hp(self.b1, x, xp)
        alpha = (1.0 - b1) / bias_correction(b1, k)
        wd = hp(self.wd, x, xp)
        if self.wd_type == "l2" and not _is_zero(self.wd):
            g = g + wd * x
        dg = g - state.m
        m = state.m + alpha * dg  # [1] Alg. 1 l.4 (bias-corrected EMA)
        de = xp.sum((state.d * state.d) ** 2, axis=-1, keepdims=True) ** 0.25 + eps4
        dn = state.d / de
        v_sq = dn * dn
        c = xp.sum(dg / de * dn, axis=-1, keepdims=True) * (-alpha) - xp.sum(state.B * v_sq, axis=-1, keepdims=True)
        B = state.B + v_sq * c  # [1] Alg. 1 l.6: weak-secant diagonal update
        if self.rebound == "belief":
            D = xp.maximum(xp.abs(B), xp.max(xp.abs(dg), axis=-1, keepdims=True)) + eps / alpha
        else:
            D = xp.maximum(xp.abs(B), 1e-2)  # [1] §3.3 rectified absolute value, sigma = 0.01
        d = m / D  # [1] Alg. 1 l.8
        if self.wd_type != "l2" and not _is_zero(self.wd):
            d = d + (wd / xp.mean(D, axis=-1, keepdims=True) if self.wd_type == "stable" else wd) * x
        return -clr * d, ApolloState(k=k, m=m, B=B, d=d, D=D)

    def preconditioner(self, state: ApolloState) -> Array:
        return 1 / state.D


# --------------------------------------------------------------------------------------------- AGD
class AGDState(NamedTuple):
    k: int
    m: Array  # EMA of g
    v: Array  # EMA of s_k^2, s_k the stepwise difference of the debiased momentum
    vmax: Array | None  # running max of v (amsgrad only)


@register
@rule_dataclass
class AGD(AbstractRule):
    r"""AGD: an auto-switchable optimizer using stepwise gradient difference for preconditioning.

    Notes
    -----
    **Fidelity: EXACT** — the authors' code (``atorch/optimizers/agd.py`` in
    ``intelligent-machine-learning/dlrover``), operation by operation.  ``pytorch-optimizer``
    4.1.0 has no AGD, so the reference trajectories come from a float64 transcription of that
    code (``tests/reference/generate_relatives_fixtures_pto.py``).

    .. math::
        m_k &= \beta_1 m_{k-1} + (1-\beta_1) g_k, \qquad
        s_k = \frac{m_k}{1-\beta_1^k} - \frac{m_{k-1}}{1-\beta_1^{k-1}} \quad (s_1 = m_1/(1-\beta_1)) \\
        b_k &= \beta_2 b_{k-1} + (1-\beta_2) s_k^2 \qquad (\text{amsgrad: } b_k \leftarrow \max(b^{\max}_{k-1}, b_k)) \\
        x_{k+1} &= (1-\gamma\lambda)\,x_k - \gamma\frac{\sqrt{1-\beta_2^k}}{1-\beta_1^k}\,
                   \frac{m_k}{\max(\sqrt{b_k},\ \delta\sqrt{1-\beta_2^k})}

    Equivalently :math:`x_{k+1} = x_k - \gamma\lambda x_k - \gamma\,\hat m_k/\max(\sqrt{\hat b_k}, \delta)`.
    The max is the **automatic switch**: coordinates with :math:`\sqrt{\hat b_k} < \delta`
    take the SGD-with-momentum step :math:`(\gamma/\delta)\hat m_k`.  :math:`s_k \approx H(x_k - x_{k-1})`
    on smooth f, which is why [1] calls the diagonal "closely related to the Hessian".
    Implied preconditioner of :math:`\hat m_k`: :math:`P_k = 1/\max(\sqrt{\hat b_k}, \delta)`.
    The code's ``win`` acceleration is not implemented.

    ====== =====================================
    symbol argument
    ====== =====================================
    γ      ``lr`` (1e-3; [1]: 1/10 of AdamW's)
    β₁, β₂ ``b1``, ``b2`` (0.9, 0.999)
    δ      ``delta`` (1e-5; 1e-14 for transformers)
    λ      ``wd`` (0; decoupled, times γ)
    ====== =====================================

    References
    ----------
    .. [1] Y. Yue, Z. Ye, J. Jiang, Y. Liu, K. Zhang, "AGD: an auto-switchable optimizer using
           stepwise gradient difference for preconditioning matrix", NeurIPS 2023,
           arXiv:2312.01658, Algorithm 1.
    .. [2] intelligent-machine-learning/dlrover, ``atorch/atorch/optimizers/agd.py``, ``AGD.step``.
    """

    name: ClassVar[str] = "agd"
    fidelity: ClassVar[str] = "exact"
    has_preconditioner: ClassVar[bool] = True
    reference: ClassVar[str] = "Yue et al., NeurIPS 2023 (arXiv:2312.01658), Algorithm 1; dlrover atorch agd.py"

    lr: Hyper = 1e-3
    b1: Hyper = 0.9
    b2: Hyper = 0.999
    delta: Hyper = 1e-5
    wd: Hyper = 0.0
    amsgrad: bool = False

    def _validate(self) -> None:
        check_range("b1", self.b1, 0.0, 1.0, hi_open=True)
        check_range("b2", self.b2, 0.0, 1.0, hi_open=True)
        check_range("delta", self.delta, 0.0)
        check_range("wd", self.wd, 0.0)

    def init(self, x: Array) -> AGDState:
        z = array_namespace(x).zeros_like(x)
        return AGDState(k=0, m=z, v=z, vmax=z if self.amsgrad else None)

    def _step(self, xp, g, state, x, *, lr, value=None, hvp=None):
        k = state.k + 1
        b1, b2 = hp(self.b1, x, xp), hp(self.b2, x, xp)
        m = ema(state.m, g, b1)  # [2] exp_avg.mul_(beta1).add_(grad, alpha=1-beta1)
        bc1, bc2 = bias_correction(b1, k), bias_correction(b2, k)
        s = m / bc1
        if k > 1:
            s = s - state.m / bias_correction(b1, k - 1)  # [1] Alg. 1: stepwise difference of m-hat
        v = state.v * b2 + (1 - b2) * s * s
        vmax = xp.maximum(state.vmax, v) if self.amsgrad else None
        denom = xp.sqrt(vmax if self.amsgrad else v)
        delta_adj = hp(self.delta, x, xp) * fsqrt(xp, bc2)
        denom = xp.where(denom > delta_adj, denom, delta_adj)  # [1]: the auto switch
        lr_adj = lr * fsqrt(xp, bc2) / bc1
        dx = -lr_adj * (m / denom)
        if not _is_zero(self.wd):
            dx = dx - (lr * hp(self.wd, x, xp)) * x  # [2] p.mul_(1 - lr * weight_decay)
        return dx, AGDState(k=k, m=m, v=v, vmax=vmax)

    def preconditioner(self, state: AGDState) -> Array:
        xp = array_namespace(state.v)
        k = max(state.k, 1)
        bc2 = bias_correction(hp(self.b2, state.v, xp), k)
        vv = state.vmax if self.amsgrad else state.v
        return 1 / xp.maximum(xp.sqrt(vv / bc2), hp(self.delta, state.v, xp))


# --------------------------------------------------------------------------------------- AdaBelief
class AdaBeliefState(NamedTuple):
    k: int
    m: Array  # EMA of g
    s: Array  # EMA of (g - m)^2, plus eps each step
    smax: Array | None  # running max of s (amsgrad only)


@register
@rule_dataclass
class AdaBelief(AbstractRule):
    r"""AdaBelief: adapting step sizes by the belief in observed gradients.

    Notes
    -----
    **Fidelity: EXACT** — ``pytorch_optimizer.AdaBelief`` v4.1.0 (which follows the authors'
    ``adabelief-pytorch`` 0.2), operation by operation.

    .. math::
        x_k &\leftarrow (1-\gamma\lambda)x_k \ (\text{decoupled})
              \quad\text{or}\quad g_k \leftarrow g_k + \lambda x_k \\
        m_k &= \beta_1 m_{k-1} + (1-\beta_1) g_k \\
        s_k &= \beta_2 s_{k-1} + (1-\beta_2)(g_k - m_k)^2 + \epsilon
              \qquad(\text{amsgrad: } \max(s^{\max}_{k-1}, s_k)) \\
        x_{k+1} &= x_k - \frac{\gamma}{1-\beta_1^k}\, \frac{m_k}{\sqrt{s_k}/\sqrt{1-\beta_2^k} + \epsilon}

    ε appears twice, inside the EMA and after the square root, as in the authors' code and
    [1] Alg. 2.  ``rectify=True`` is the RAdam-style variant of the code: with
    :math:`\rho_\infty = 2/(1-\beta_2) - 1`, :math:`\rho_k = \rho_\infty - 2k\beta_2^k/(1-\beta_2^k)`,
    the step is :math:`\gamma r_k/(1-\beta_1^k)\; m_k/(\sqrt{s_k}+\epsilon)` when
    :math:`\rho_k \ge` ``n_sma_threshold`` (:math:`r_k` RAdam's rectification, which carries the
    :math:`\sqrt{1-\beta_2^k}`), otherwise the SGD step :math:`\gamma m_k/(1-\beta_1^k)`
    (``degenerated_to_sgd``) or no step.  ``n_sma_threshold`` and ``degenerated_to_sgd`` are read
    only with ``rectify=True``, ``decoupled_wd`` only with ``wd != 0`` and ``decay_scaled_by_lr``
    only with decoupled decay and ``wd != 0``; explicit values otherwise are refused.
    Implied preconditioner of :math:`\hat m_k`: :math:`P_k = 1/(\sqrt{s_k/(1-\beta_2^k)}+\epsilon)`.

    ====== ===================================================
    symbol argument
    ====== ===================================================
    γ      ``lr`` (1e-3)
    β₁, β₂ ``b1``, ``b2`` (0.9, 0.999)
    ε      ``eps`` (1e-16)
    λ      ``wd`` (0), ``decoupled_wd`` (True), ``decay_scaled_by_lr`` (True)
    ====== ===================================================

    References
    ----------
    .. [1] J. Zhuang, T. Tang, Y. Ding, S. Tatikonda, N. Dvornek, X. Papademetris, J. Duncan,
           "AdaBelief optimizer: adapting stepsizes by the belief in observed gradients",
           NeurIPS 2020, arXiv:2010.07468, Algorithm 2.
    .. [2] kozistr/pytorch_optimizer v4.1.0, ``optimizer/adabelief.py``.
    """

    name: ClassVar[str] = "adabelief"
    fidelity: ClassVar[str] = "exact"
    has_preconditioner: ClassVar[bool] = True
    reference: ClassVar[str] = "Zhuang et al., NeurIPS 2020 (arXiv:2010.07468), Algorithm 2; pytorch_optimizer 4.1.0"
    reads: ClassVar = {
        "n_sma_threshold": option("rectify", True),
        "degenerated_to_sgd": option("rectify", True),
        "decoupled_wd": nonzero("wd"),
        "decay_scaled_by_lr": option("decoupled_wd", True) & nonzero("wd"),
    }

    lr: Hyper = 1e-3
    b1: Hyper = 0.9
    b2: Hyper = 0.999
    eps: Hyper = 1e-16
    wd: Hyper = 0.0
    decoupled_wd: bool = True
    decay_scaled_by_lr: bool = True
    amsgrad: bool = False
    rectify: bool = False
    n_sma_threshold: int = 5
    degenerated_to_sgd: bool = True

    def _validate(self) -> None:
        check_range("b1", self.b1, 0.0, 1.0, hi_open=True)
        check_range("b2", self.b2, 0.0, 1.0, hi_open=True)
        check_range("eps", self.eps, 0.0)
        check_range("wd", self.wd, 0.0)
        check_int("n_sma_threshold", self.n_sma_threshold, 4)  # RAdam's rectification needs rho > 4

    def init(self, x: Array) -> AdaBeliefState:
        z = array_namespace(x).zeros_like(x)
        return AdaBeliefState(k=0, m=z, s=z, smax=z if self.amsgrad else None)

    def _rectified(self, xp: Any, b2: Any, k: int, lr: Any) -> tuple[Any, Any]:
        """pytorch-optimizer's get_rectify_step_size: (step factor r_k times lr, use-adaptive mask)."""
        n_max = 2.0 / (1.0 - b2) - 1.0
        b2k = b2**k
        n_sma = n_max - 2 * k * b2k / (1.0 - b2k)
        ok = n_sma >= self.n_sma_threshold
        if isinstance(n_sma, float):
            if ok:
                rt = math.sqrt((1.0 - b2k) * (n_sma - 4) / (n_max - 4) * (n_sma - 2) / n_sma * n_max / (n_max - 2))
            else:
                rt = 1.0 if self.degenerated_to_sgd else -1.0
            return lr * rt, ok
        arg = xp.where(ok, (1.0 - b2k) * (n_sma - 4) / (n_max - 4) * (n_sma - 2) / n_sma * n_max / (n_max - 2), 1.0)
        rt = xp.where(ok, xp.sqrt(arg), 1.0 if self.degenerated_to_sgd else -1.0)
        return lr * rt, ok

    def _step(self, xp, g, state, x, *, lr, value=None, hvp=None):
        k = state.k + 1
        g, decay = pto_weight_decay(xp, g, x, self.wd, decoupled=self.decoupled_wd,
                                    scaled_by_lr=self.decay_scaled_by_lr, lr=lr)
        b1, b2, eps = hp(self.b1, x, xp), hp(self.b2, x, xp), hp(self.eps, x, xp)
        m = lerp(xp, state.m, g, 1.0 - b1)  # [1] Alg. 2 l.5
        r = g - m
        s = state.s * b2 + (1.0 - b2) * r * r + eps  # [1] Alg. 2 l.6: eps inside the EMA
        smax = xp.maximum(state.smax, s) if self.amsgrad else None
        root = xp.sqrt(smax if self.amsgrad else s)
        bc1 = bias_correction(b1, k)
        if not self.rectify:
            step = lr / bc1
            dx = -step * (m / (root / fsqrt(xp, bias_correction(b2, k)) + eps))  # [1] Alg. 2 l.9
        else:
            step, ok = self._rectified(xp, b2, k, lr)
            step = step / bc1
            adaptive = -step * (m / (root + eps))
            if isinstance(ok, bool) and ok:
                dx = adaptive
            else:  # below the threshold: the SGD step if degenerated_to_sgd (step > 0), else none
                if isinstance(step, (int, float)):
                    sgd = -step * m if step > 0 else xp.zeros_like(m)
                else:
                    sgd = xp.where(step > 0, -step * m, 0.0)
                dx = sgd if isinstance(ok, bool) else xp.where(ok, adaptive, sgd)
        if decay is not None:
            dx = decay + dx
        return dx, AdaBeliefState(k=k, m=m, s=s, smax=smax)

    def preconditioner(self, state: AdaBeliefState) -> Array:
        xp = array_namespace(state.s)
        k = max(state.k, 1)
        b2, eps = hp(self.b2, state.s, xp), hp(self.eps, state.s, xp)
        ss = state.smax if self.amsgrad else state.s
        return 1 / (xp.sqrt(ss) / bias_correction(b2, k) ** 0.5 + eps)

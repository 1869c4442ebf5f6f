r"""EXACT relatives that hand Adam over to SGD: AdaBound (bounded rates) and SWATS (one-time switch).

Both reproduce ``pytorch-optimizer`` (version :data:`.relatives.PTO_VERSION`) operation by
operation (``docs/spec/baselines.md``, "Other relatives").  SWATS's projection and switch
are per parameter group in the package; here a group is one run, so the inner products and
the switch use the last axis only and every run of a batch switches on its own.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, NamedTuple

from .._checks import check_range
from .._xp import array_namespace
from ._moments import bias_correction
from .base import AbstractRule, Hyper, hp, nonzero, option, register, rule_dataclass
from .relatives import fsqrt, lerp, pto_weight_decay

__all__ = ["AdaBound", "AdaBoundState", "SWATS", "SWATSState", "lr_factor"]

Array = Any

#: pytorch-optimizer adds this inside the square root of every Adam-type denominator
#: (``BaseOptimizer.apply_ams_bound``'s ``exp_avg_sq_eps``).
PTO_SQRT_EPS = 1e-15


def lr_factor(xp: Any, lr: Any, base: Any) -> Any:
    """Schedule factor ``lr / base``; where ``base == 0`` it is 1 if ``lr > 0`` else 0 (as the package)."""
    if isinstance(base, (int, float)):
        if base > 0:
            return lr / base
        return float(lr > 0) if isinstance(lr, (int, float)) else xp.astype(lr > 0, lr.dtype)
    safe = xp.where(base > 0, base, 1.0)
    fallback = float(lr > 0) if isinstance(lr, (int, float)) else xp.astype(lr > 0, safe.dtype)
    return xp.where(base > 0, lr / safe, fallback)


def _adam_denominator(xp: Any, v: Array, vmax: Array | None, eps: Any, eps_inner: Any) -> tuple[Array, Array | None]:
    """``apply_ams_bound``: sqrt(v + eps_inner) + eps, or the same on the running max of v."""
    if vmax is not None:
        vmax = xp.maximum(vmax, v)
        return xp.sqrt(vmax + eps_inner) + eps, vmax
    return xp.sqrt(v + eps_inner) + eps, None


# --------------------------------------------------------------------------------------- AdaBound
class AdaBoundState(NamedTuple):
    k: int
    m: Array  # EMA of g
    v: Array  # EMA of g^2
    vmax: Array | None  # running max of v (amsbound only)


@register
@rule_dataclass
class AdaBound(AbstractRule):
    r"""AdaBound: Adam with per-coordinate learning rates clipped into bounds that shrink to SGD's.

    Notes
    -----
    **Fidelity: EXACT** — ``pytorch_optimizer.AdaBound`` v4.1.0 (the official AdaBound code
    plus the package's weight-decay options), operation by operation.

    .. math::
        \eta^\star_k &= \eta^\star \gamma_k/\gamma \quad(\text{rescaled by the schedule}),\qquad
        \eta_l(k) = \eta^\star_k\Big(1 - \frac{1}{\gamma_b k+1}\Big),\quad
        \eta_u(k) = \eta^\star_k\Big(1 + \frac{1}{\gamma_b k}\Big) \\
        m_k &= \beta_1 m_{k-1} + (1-\beta_1) g_k,\qquad v_k = \beta_2 v_{k-1} + (1-\beta_2) g_k^2 \\
        \eta_{k,i} &= \mathrm{clip}\Big(\frac{\gamma_k\sqrt{1-\beta_2^k}}{(1-\beta_1^k)\,(\sqrt{v_{k,i} + \epsilon_0}+\epsilon)},
                      \ \eta_l(k),\ \eta_u(k)\Big) \\
        x_{k+1} &= x_k - \gamma_k\lambda x_k - \eta_k \odot m_k

    with :math:`\epsilon_0 = 10^{-15}` (``eps_inner``, added by the package).  The clip acts on
    the rate that multiplies the **raw** EMA :math:`m_k`, so once the bounds have closed the
    iteration is :math:`x_{k+1} = x_k - \eta^\star m_k`, i.e. ``torch.optim.SGD`` with
    ``momentum`` β₁, ``dampening`` 0 and lr :math:`(1-\beta_1)\eta^\star`.

    Options where the package and the paper differ (package default first):

    * ``rescale_final_lr`` (True): :math:`\eta^\star` scaled by (current lr)/(initial lr), as the
      official code; False keeps :math:`\eta^\star` fixed.
    * ``bias_correction`` (True): the folded Adam correction :math:`\sqrt{1-\beta_2^k}/(1-\beta_1^k)`;
      [1] Alg. 2 has none.
    * ``sqrt_t`` (False): [1] Alg. 2 divides the clipped rate by :math:`\sqrt k`; the code does not.
    * ``amsbound`` (False): AMSBound, :math:`v` replaced by its running maximum ([1] Alg. 3).
    * weight decay: ``decoupled_wd=True`` (package default, ``p.mul_(1 - lr wd)``),
      ``decay_scaled_by_lr=False`` for the package's ``fixed_decay``; ``decoupled_wd=False``
      is the official code's coupled L2.  With ``wd=0`` an explicit ``decoupled_wd`` or
      ``decay_scaled_by_lr`` is refused, and ``decay_scaled_by_lr`` with coupled decay too.

    Implied preconditioner of :math:`\hat m_k = m_k/(1-\beta_1^k)`:
    :math:`P_k = \eta_k (1-\beta_1^k)/\gamma`.

    ====== ============================================
    symbol argument
    ====== ============================================
    γ      ``lr`` (1e-3)
    η*     ``final_lr`` (0.1)
    γ_b    ``gamma`` (1e-3, speed of the bounds)
    β₁, β₂ ``b1``, ``b2`` (0.9, 0.999)
    ε      ``eps`` (1e-8)
    ε₀     ``eps_inner`` (1e-15)
    λ      ``wd`` (0)
    ====== ============================================

    References
    ----------
    .. [1] L. Luo, Y. Xiong, Y. Liu, X. Sun, "Adaptive gradient methods with dynamic bound of
           learning rate", ICLR 2019, arXiv:1902.09843, Algorithms 2 (AdaBound) and 3 (AMSBound).
    .. [2] kozistr/pytorch_optimizer v4.1.0, ``optimizer/adabound.py``; Luolc/AdaBound
           ``adabound/adabound.py``.
    """

    name: ClassVar[str] = "adabound"
    fidelity: ClassVar[str] = "exact"
    has_preconditioner: ClassVar[bool] = True
    reference: ClassVar[str] = "Luo et al., ICLR 2019 (arXiv:1902.09843), Algorithm 2; pytorch_optimizer 4.1.0 AdaBound"
    reads: ClassVar = {
        "decoupled_wd": nonzero("wd"),
        "decay_scaled_by_lr": option("decoupled_wd", True) & nonzero("wd"),
    }
    allow_inf: ClassVar = frozenset({"gamma"})  # gamma = inf closes the bounds at once: SGD from the start

    lr: Hyper = 1e-3
    final_lr: Hyper = 0.1
    gamma: Hyper = 1e-3
    b1: Hyper = 0.9
    b2: Hyper = 0.999
    eps: Hyper = 1e-8
    eps_inner: Hyper = PTO_SQRT_EPS
    wd: Hyper = 0.0
    decoupled_wd: bool = True
    decay_scaled_by_lr: bool = True
    amsbound: bool = False
    rescale_final_lr: bool = True
    bias_correction: bool = True
    sqrt_t: bool = False

    def _validate(self) -> None:
        check_range("final_lr", self.final_lr, 0.0)
        check_range("gamma", self.gamma, 0.0, lo_open=True)
        check_range("b1", self.b1, 0.0, 1.0, hi_open=True)
        check_range("b2", self.b2, 0.0, 1.0, hi_open=True)
        check_range("eps", self.eps, 0.0)
        check_range("eps_inner", self.eps_inner, 0.0)
        check_range("wd", self.wd, 0.0)

    def init(self, x: Array) -> AdaBoundState:
        z = array_namespace(x).zeros_like(x)
        return AdaBoundState(k=0, m=z, v=z, vmax=z if self.amsbound else None)

    def _rate(self, xp: Any, denom: Array, k: int, lr: Any, like: Array) -> Array:
        """The clipped per-coordinate rate eta_k (multiplies the raw m_k)."""
        b1, b2 = hp(self.b1, like, xp), hp(self.b2, like, xp)
        step = lr * fsqrt(xp, bias_correction(b2, k)) / bias_correction(b1, k) if self.bias_correction else lr
        final = hp(self.final_lr, like, xp)
        if self.rescale_final_lr:  # [2]: final_lr * lr / base_lr
            base = hp(self.lr, like, xp)
            if isinstance(base, (int, float)) and isinstance(lr, (int, float)):
                final = final * lr / base if base > 0 else (final if lr > 0 else 0.0)
            elif isinstance(base, (int, float)):  # the same operations, elementwise (a batch equals its single runs)
                final = final * lr / base if base > 0 else final * lr_factor(xp, lr, base)
            else:
                safe = xp.where(base > 0, base, 1.0)
                final = xp.where(base > 0, final * lr / safe, final * lr_factor(xp, lr, base))
        gam = hp(self.gamma, like, xp)
        lower = final * (1 - 1 / (gam * k + 1))  # [1] Alg. 2: eta_l(t)
        upper = final * (1 + 1 / (gam * k))  # [1] Alg. 2: eta_u(t)
        rate = xp.minimum(xp.maximum(step / denom, lower), upper)
        return rate / fsqrt(xp, float(k)) if self.sqrt_t else rate

    def _step(self, xp, g, state, x, *, lr, value=None, hvp=None):
        k = state.k + 1
        g, decay = pto_weight_decay(xp, g, x, self.wd, decoupled=self.decoupled_wd,
                                    scaled_by_lr=self.decay_scaled_by_lr, lr=lr)
        b1, b2 = hp(self.b1, x, xp), hp(self.b2, x, xp)
        m = lerp(xp, state.m, g, 1.0 - b1)
        v = state.v * b2 + (1.0 - b2) * g * g
        denom, vmax = _adam_denominator(xp, v, state.vmax, hp(self.eps, x, xp), hp(self.eps_inner, x, xp))
        dx = -(self._rate(xp, denom, k, lr, x) * m)
        if decay is not None:
            dx = decay + dx
        return dx, AdaBoundState(k=k, m=m, v=v, vmax=vmax)

    def preconditioner(self, state: AdaBoundState) -> Array:
        xp = array_namespace(state.v)
        k = max(state.k, 1)
        eps, eps_inner = hp(self.eps, state.v, xp), hp(self.eps_inner, state.v, xp)
        denom, _ = _adam_denominator(xp, state.v, state.vmax, eps, eps_inner)
        rate = self._rate(xp, denom, k, self.lr, state.v)
        bc1 = bias_correction(hp(self.b1, state.v, xp), k)
        lr = hp(self.lr, state.v, xp)
        return rate * bc1 / lr if not (isinstance(lr, (int, float)) and lr == 0) else rate * bc1


# ------------------------------------------------------------------------------------------- SWATS
SwitchTest = Literal["allclose", "paper"]


class SWATSState(NamedTuple):
    k: int
    m: Array  # EMA of g (Adam phase)
    v: Array  # EMA of g^2 (Adam phase)
    vmax: Array | None  # running max of v (amsbound only)
    lam: Array  # (*batch, 1) EMA of the projected learning rates gamma_k ("exp_avg2")
    sgd: Array  # (*batch, 1) 1.0 once the run has switched to SGD, else 0.0 ("phase")
    sgd_lr: Array  # (*batch, 1) SGD learning rate Lambda fixed at the switch (0 before)
    b: Array  # SGD momentum buffer; zeros until the first SGD step ("momentum_buffer")
    switch_k: Array  # (*batch, 1) update index after which the run switched, -1 if not yet


@register
@rule_dataclass
class SWATS(AbstractRule):
    r"""SWATS: switching from Adam to SGD once the projected SGD learning rate has settled.

    Notes
    -----
    **Fidelity: EXACT** — ``pytorch_optimizer.SWATS`` v4.1.0, operation by operation; the
    package's per-parameter-group projection and switch act here per run (last axis).

    Adam phase, then the test:

    .. math::
        m_k &= \beta_1 m_{k-1} + (1-\beta_1) g_k,\qquad v_k = \beta_2 v_{k-1} + (1-\beta_2) g_k^2 \\
        p_k &= -\gamma\frac{\sqrt{1-\beta_2^k}}{1-\beta_1^k}\,\frac{m_k}{\sqrt{v_k+\epsilon_0}+\epsilon},
        \qquad x_{k+1} = x_k + p_k \\
        \text{if } p_k^\top g_k \ne 0:&\quad \gamma_k = \frac{p_k^\top p_k}{-p_k^\top g_k},\quad
        \lambda_k = \beta_2\lambda_{k-1} + (1-\beta_2)\gamma_k,\quad \Lambda_k = \lambda_k/(1-\beta_2^k) \\
        \text{switch if }& k > 1,\ \Lambda_k > 0,\ |\Lambda_k - \gamma_k| \le 10^{-8} + \epsilon|\gamma_k|
        \quad(\text{``allclose''; ``paper'': } |\Lambda_k - \gamma_k| < \epsilon)

    After the switch (from update k+1 on, for good), with :math:`b_k = 0` at the switch:

    .. math::
        b_j = \beta_1 b_{j-1} + g_j,\qquad x_{j+1} = x_j - \Lambda\,(1-\beta_1)\, b_j
        \quad(\text{nesterov: } x_{j+1} = x_j - \Lambda\,((1-\beta_1) b_j + \beta_1 b_j))

    The SGD phase is ``torch.optim.SGD(lr=(1-β₁)Λ, momentum=β₁)``.  The package's Nesterov
    form adds :math:`\beta_1 b_j` to :math:`(1-\beta_1)b_j` (so the step is :math:`\Lambda b_j`);
    it is reproduced as is.  Under a learning-rate schedule Λ is multiplied by the schedule
    factor (current lr / ``lr``); decoupled weight decay uses the phase's learning rate
    (the package overwrites the group's lr with Λ).  [1] Alg. 1 tests :math:`|\Lambda-\gamma|<\epsilon`
    without the positivity check; the check is kept in both modes (a negative Λ would ascend).

    Implied preconditioner: Adam's :math:`\sqrt{1-\beta_2^k}/(\sqrt{v_k+\epsilon_0}+\epsilon)` before
    the switch (step :math:`-\gamma P\hat m`), :math:`\Lambda/\gamma` after (step :math:`-\gamma P (1-\beta_1)b`).

    ====== =======================================================
    symbol argument
    ====== =======================================================
    γ      ``lr`` (1e-3)
    β₁, β₂ ``b1``, ``b2`` (0.9, 0.999)
    ε      ``eps`` (1e-6; [1] uses 1e-9), also the switch tolerance
    ε₀     ``eps_inner`` (1e-15)
    —      ``switch_test`` ("allclose"), ``switch_atol`` (1e-8)
    λ      ``wd`` (0; coupled L2 by default, ``decoupled_wd=True`` for decoupled)
    ====== =======================================================

    ``switch_atol`` is read only with ``switch_test="allclose"``, ``decoupled_wd`` only with
    ``wd != 0``, ``decay_scaled_by_lr`` only with decoupled decay and ``wd != 0``; explicit
    values otherwise are refused.

    References
    ----------
    .. [1] N. S. Keskar, R. Socher, "Improving generalization performance by switching from Adam
           to SGD", arXiv:1712.07628, 2017, Algorithm 1.
    .. [2] kozistr/pytorch_optimizer v4.1.0, ``optimizer/swats.py``, ``SWATS.step``.
    """

    name: ClassVar[str] = "swats"
    fidelity: ClassVar[str] = "exact"
    has_preconditioner: ClassVar[bool] = True
    reference: ClassVar[str] = "Keskar & Socher, arXiv:1712.07628, Algorithm 1; pytorch_optimizer 4.1.0 SWATS"
    reads: ClassVar = {
        "switch_atol": option("switch_test", "allclose"),
        "decoupled_wd": nonzero("wd"),
        "decay_scaled_by_lr": option("decoupled_wd", True) & nonzero("wd"),
    }

    lr: Hyper = 1e-3
    b1: Hyper = 0.9
    b2: Hyper = 0.999
    eps: Hyper = 1e-6
    eps_inner: Hyper = PTO_SQRT_EPS
    wd: Hyper = 0.0
    decoupled_wd: bool = False
    decay_scaled_by_lr: bool = True
    amsbound: bool = False
    nesterov: bool = False
    switch_test: SwitchTest = "allclose"
    switch_atol: Hyper = 1e-8

    def _validate(self) -> None:
        check_range("b1", self.b1, 0.0, 1.0, hi_open=True)
        check_range("b2", self.b2, 0.0, 1.0, hi_open=True)
        check_range("eps", self.eps, 0.0)
        check_range("eps_inner", self.eps_inner, 0.0)
        check_range("wd", self.wd, 0.0)
        check_range("switch_atol", self.switch_atol, 0.0)

    def init(self, x: Array) -> SWATSState:
        xp = array_namespace(x)
        z, z1 = xp.zeros_like(x), xp.zeros_like(x[..., :1])
        return SWATSState(k=0, m=z, v=z, vmax=z if self.amsbound else None, lam=z1, sgd=z1, sgd_lr=z1, b=z,
                          switch_k=z1 - 1.0)

    def _step(self, xp, g, state, x, *, lr, value=None, hvp=None):
        k = state.k + 1
        b1, b2 = hp(self.b1, x, xp), hp(self.b2, x, xp)
        eps = hp(self.eps, x, xp)
        sgd = state.sgd > 0  # (*batch, 1)
        lr_sgd = state.sgd_lr * lr_factor(xp, lr, hp(self.lr, x, xp))
        lr_phase = xp.where(sgd, lr_sgd, lr)  # the package's group['lr'] in each phase
        g, decay = pto_weight_decay(xp, g, x, self.wd, decoupled=self.decoupled_wd,
                                    scaled_by_lr=self.decay_scaled_by_lr, lr=lr_phase)
        # SGD phase [1] Alg. 1 (else branch); [2] momentum_buffer
        b_new = state.b * b1 + g
        d_sgd = b_new * (1.0 - b1)
        if self.nesterov:
            d_sgd = d_sgd + b1 * b_new
        dx_sgd = -lr_sgd * d_sgd
        # Adam phase [1] Alg. 1 l.6-9
        m = lerp(xp, state.m, g, 1.0 - b1)
        v = state.v * b2 + (1.0 - b2) * g * g
        denom, vmax = _adam_denominator(xp, v, state.vmax, eps, hp(self.eps_inner, x, xp))
        bc2 = bias_correction(b2, k)
        step = lr * fsqrt(xp, bc2) / bias_correction(b1, k)
        p = (m / denom) * (-step)
        # projection of the SGD step onto the Adam step [1] Alg. 1 l.10-12, per run
        pg = xp.sum(p * g, axis=-1, keepdims=True)
        pp = xp.sum(p * p, axis=-1, keepdims=True)
        valid = pg != 0
        scaling = pp / xp.where(valid, -pg, 1.0)
        lam = xp.where(valid, lerp(xp, state.lam, scaling, 1.0 - b2), state.lam)
        corrected = lam / bc2
        gap = xp.abs(corrected - scaling)
        if self.switch_test == "allclose":  # [2]: torch.allclose(corrected, scaling, rtol=eps)
            close = gap <= hp(self.switch_atol, x, xp) + eps * xp.abs(scaling)
        else:  # [1] Alg. 1 l.13
            close = gap < eps
        switch = valid & (corrected > 0.0) & close & ~sgd
        if k <= 1:  # [1] Alg. 1 l.13: k > 1
            switch = xp.zeros_like(switch)
        # select per run
        dx = xp.where(sgd, dx_sgd, p)
        if decay is not None:
            dx = decay + dx
        new = SWATSState(
            k=k,
            m=xp.where(sgd, state.m, m),
            v=xp.where(sgd, state.v, v),
            vmax=None if vmax is None else xp.where(sgd, state.vmax, vmax),
            lam=xp.where(sgd, state.lam, lam),
            sgd=xp.astype(sgd | switch, x.dtype),
            sgd_lr=xp.where(switch, corrected, state.sgd_lr),
            b=xp.where(sgd, b_new, state.b),
            switch_k=xp.where(switch, float(k), state.switch_k),
        )
        return dx, new

    def preconditioner(self, state: SWATSState) -> Array:
        xp = array_namespace(state.v)
        k = max(state.k, 1)
        eps, eps_inner = hp(self.eps, state.v, xp), hp(self.eps_inner, state.v, xp)
        denom, _ = _adam_denominator(xp, state.v, state.vmax, eps, eps_inner)
        adam = fsqrt(xp, bias_correction(hp(self.b2, state.v, xp), k)) / denom
        lr = hp(self.lr, state.v, xp)
        sgd_p = state.sgd_lr / lr if not (isinstance(lr, (int, float)) and lr == 0) else state.sgd_lr
        return xp.where(state.sgd > 0, sgd_p, adam)

    def switch_fraction(self, state: SWATSState) -> Array:
        """1.0 for runs that have switched to SGD, else 0.0, shape ``(*batch,)``."""
        return state.sgd[..., 0]

    def switch_step(self, state: SWATSState) -> Array:
        """Update index after which each run switched to SGD (``-1`` if not yet), shape ``(*batch,)``."""
        return state.switch_k[..., 0]

r"""Rules that need more than the gradient: SOAA (Second-Order Adaptive Adam), which uses the loss
value for its trust-region radius.

SOAA is **CONCORDANT** (``docs/spec/soaa.md``): three independent secondary sources agree
on the update (the zij math page, the nadir C++ code, the earlier Tadam PyTorch code); the paper
itself was not read.  Every point where those sources disagree is a named option.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, NamedTuple

from .._checks import check_int, check_range
from .._xp import array_namespace, asarray
from ._moments import bias_correction, ema
from .base import AbstractRule, Hyper, hp, is_set, nonzero, option, register, rule_dataclass

__all__ = ["SOAA", "SOAAState"]

Array = Any

LossOrder = Literal["fold_then_ratio", "past_only"]
FisherSums = Literal["global", "per_block"]
FisherRatio = Literal["ratio_of_sums", "sum_of_ratios"]
WdScaling = Literal["lr", "fixed"]
Model = Literal["as_written", "consistent"]
RadiusRule = Literal["soaa", "tadam"]


class SOAAState(NamedTuple):
    k: int  # number of updates applied so far
    m: Array  # EMA of g, shape (*batch, n)
    v: Array  # EMA of g^2, shape (*batch, n)
    d: Array  # trust-region radius d_{k+1} for the next update, shape (*batch, 1)
    d_last: Array  # radius d_k used by the last update (d_0 before any), shape (*batch, 1)
    p: Array  # predicted reduction p_k of the last update (0 before any), shape (*batch, 1)
    lbar: Array  # EMA of the loss values, not bias corrected, shape (*batch, 1)


@register
@rule_dataclass
class SOAA(AbstractRule):
    r"""SOAA: Adam with a diagonal Fisher step inside an adaptive trust region (needs ``value=``).

    **Fidelity: CONCORDANT.**  The paper [1] was not read; the update is the one on which three
    independent secondary sources agree ([2] zij math page, [3] nadir ``src/soaa.cc``, and the
    structurally identical Tadam code [4]).  Where they disagree the choice is a named option,
    defaulting to nadir [3] (which cites the arXiv PDF).  The paper's own defaults are unverified.

    Parameters
    ----------
    lr, b1, b2, eps, wd : float or array
        η, β₁, β₂, ε, λ (defaults 1e-3, 0.9, 0.999, 1e-8, 0, as nadir).
    gamma : float or array
        γ ∈ [0, 1): width of the radius clamps (nadir 0.1; torch-Tadam 0.25).  Read only with
        a horizon ``total_steps`` or with ``radius_rule="tadam"`` (without a horizon the SOAA
        clamps are :math:`[1, 2]` whatever γ); an explicit γ otherwise is refused.
    d0 : float or array
        Initial radius :math:`d_1` (nadir 10; torch-Tadam 1).
    total_steps : int or None
        The horizon T of the clamp exponents :math:`(t-1)/T`; pass the number of steps of the
        run.  ``None`` means no horizon (:math:`T=\infty`): the exponents stay 0 and the clamps
        stay at :math:`[1, 2]`.  For t > T the exponents exceed 1 and the clamps keep moving
        (nadir does not stop them).
    loss_order : {"fold_then_ratio", "past_only"}
        ``"fold_then_ratio"`` (nadir [3]): the current loss enters the EMA before ρ is formed.
        ``"past_only"`` (torch-Tadam [4]): ρ uses the bias-corrected EMA of past losses only
        (0 before the first loss), and the current loss is folded in afterwards.
    fisher_sums : {"global", "per_block"}
        Sums in the Fisher factor over the whole parameter vector of each run (nadir, one vector)
        or over contiguous blocks of it (``blocks``), as the torch code sums per tensor.
        Sums never cross runs: they are over the last axis only.
    blocks : int or tuple of int, optional
        With ``fisher_sums="per_block"``: a block size dividing n, or the sizes of consecutive
        blocks (summing to n), e.g. ``(10, 1)`` for the weight and bias of ``Linear(10, 1)``.
    fisher_ratio : {"ratio_of_sums", "sum_of_ratios"}
        :math:`S = \sum_i \hat m_i^2 / \sum_i(\hat v_i+\epsilon)` (zij [2], nadir [3]) or
        :math:`S = \sum_i \hat m_i^2/(\hat v_i+\epsilon)` (torch-Tadam [4]).
    wd_scaling : {"lr", "fixed"}
        Decoupled decay :math:`-\eta\lambda\theta` (nadir, zij) or :math:`-\lambda\theta`
        (torch-Tadam); refused with ``wd=0``.
    model : {"as_written", "consistent"}
        Predicted reduction of the step :math:`s = -\eta u`.  ``"as_written"`` (all sources):
        :math:`p = \eta(\hat m\cdot u - \tfrac12 \hat v\cdot u^2)`, whose quadratic term is not
        scaled by η² (inconsistent in η).  ``"consistent"``: the reduction predicted by the model
        :math:`q(s) = \hat m^\top s + \tfrac12 s^\top \operatorname{diag}(\hat v)\, s` of the
        step actually taken, :math:`p = \eta\,\hat m\cdot u - \tfrac12\eta^2\,\hat v\cdot u^2`
        (same gradient and curvature estimates, only the powers of η fixed).
    radius_rule : {"soaa", "tadam"}
        SOAA's multiplicative clamp (below) or Tadam's earlier ρ-threshold rule [5]:
        if ρ < γ, :math:`d \leftarrow \max(1,d)(1-\gamma)^{(t-1)/T}`; elif ρ > 1-γ,
        :math:`d \leftarrow \min(1,d)(1+\gamma^{(t-1)/T})`; else d is kept.  Only the radius
        rule is swapped; Tadam's own F and ρ (nadir ``tadam.cc``) are not reproduced.

    Notes
    -----
    Update t = 1, 2, ... with gradient :math:`g_t` and loss :math:`\ell_t` at the current
    iterate (``value=``); sums run over the parameters of one run (or of one block):

    .. math::
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t,\qquad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,\qquad
        \hat m_t = \frac{m_t}{1-\beta_1^t},\quad \hat v_t = \frac{v_t}{1-\beta_2^t} \\
        F_t &= \Big(1 + \frac{\sum_i \hat m_{t,i}^2}{\sum_i (\hat v_{t,i}+\epsilon)}\Big)\,\hat v_t,\qquad
        r_t = \max(d_t F_t,\ \sqrt{\hat v_t}),\qquad u_t = \frac{d_t\,\hat m_t}{r_t+\epsilon} \\
        \theta_t &= \theta_{t-1} - \eta\lambda\theta_{t-1} - \eta\,u_t \\
        \bar\ell_t &= \beta_1\bar\ell_{t-1} + (1-\beta_1)\ell_t,\qquad \hat\ell_t = \bar\ell_t/(1-\beta_1^t),\qquad
        \rho_t = \frac{\hat\ell_t - \ell_t}{\max(p_{t-1}, \epsilon)} \\
        d_{t+1} &= \min\big(\max(\rho_t d_t,\ (1-\gamma)^{(t-1)/T}),\ 1+\gamma^{(t-1)/T}\big),\qquad
        p_t = \eta\,\big(\hat m_t\cdot u_t - \tfrac12\,\hat v_t\cdot u_t^2\big)

    with :math:`d_1 = d_0`, :math:`p_0 = 0`, :math:`\bar\ell_0 = 0`.  Up to ε,
    :math:`u_t = \hat m_t \min(1/F_t,\ d_t/\sqrt{\hat v_t})`: the smaller of a Fisher–Newton
    step and :math:`d_t` times the Adam step (trust-region reading, d the radius).  The radius
    of update t is set from the loss *before* the step, with the predicted reduction of the
    previous step, as in [3] and [4].  After the first update :math:`d_2 = 1` for a positive
    loss under both loss orders (:math:`\rho_1 = 0` up to one rounding with
    ``"fold_then_ratio"``, :math:`\rho_1 = -\ell_1/\epsilon` with ``"past_only"``, both clamped
    to :math:`(1-\gamma)^0 = 1`), so :math:`d_0` only affects the first step.

    Not scale-invariant: F ∝ g² is compared with √v̂ ∝ |g| (unlike Adam, rescaling the
    objective changes the iterates).  Implied preconditioner of :math:`\hat m_k` (what
    :meth:`preconditioner` returns, with the radius of the last step):
    :math:`P_k = d_k / (\max(d_k F_k, \sqrt{\hat v_k}) + \epsilon)`.

    ====== ===================== =====================================
    symbol argument              default
    ====== ===================== =====================================
    η      ``lr``                1e-3
    β₁     ``b1``                0.9 (moments and loss EMA)
    β₂     ``b2``                0.999
    ε      ``eps``               1e-8
    λ      ``wd``                0
    γ      ``gamma``             0.1
    d₀     ``d0``                10
    T      ``total_steps``       None (no horizon)
    ℓ_t    ``value=`` in update  the loss at the current iterate
    ====== ===================== =====================================

    torch-Tadam [4] also differs in ways not offered here (``docs/spec/soaa.md`` (v)):
    it updates v twice per step on :math:`(g-\hat m)^2` (AdaBelief-like) with a separate EMA of
    g² for the √ term, and it keeps a radius per parameter tensor.  SOAA uses plain Adam v.

    References
    ----------
    .. [1] J. Vo, A.-D. Vo, "Efficient second-order neural network optimization via adaptive
           trust region methods" (SOAA), arXiv:2410.02293, 2024 (update rule; equation numbers
           unverified, the text was not read).
    .. [2] zij, ``canon/math/soaa.md`` (junaidaliop.github.io/zij/math/soaa), the displayed
           update.
    .. [3] S. Rodini, nadir, ``src/soaa.cc`` ``SOAA::minimize`` (github.com/slrodini/nadir).
    .. [4] ``dddong2/Tadam:tadam_torch.py`` ``Tadam.step`` (the earlier Tadam repository).
    .. [5] S. Yang, Y. Cho, J. Lee, "A scalable second order optimizer with an adaptive trust
           region for neural networks", Neural Networks 167:692-705, 2023 (Tadam; radius rule as
           in nadir ``src/tadam.cc``).
    """

    name: ClassVar[str] = "soaa"
    fidelity: ClassVar[str] = "concordant"
    reference: ClassVar[str] = (
        "Vo & Vo, arXiv:2410.02293 (2024), as in zij soaa.md and nadir src/soaa.cc; "
        "Tadam: Yang, Cho, Lee, Neural Networks 167 (2023)"
    )
    needs_value: ClassVar[bool] = True
    has_preconditioner: ClassVar[bool] = True
    reads: ClassVar = {
        "gamma": is_set("total_steps") | option("radius_rule", "tadam"),
        "wd_scaling": nonzero("wd"),
        "blocks": option("fisher_sums", "per_block"),
    }

    lr: Hyper = 1e-3
    b1: Hyper = 0.9
    b2: Hyper = 0.999
    eps: Hyper = 1e-8
    wd: Hyper = 0.0
    gamma: Hyper = 0.1
    d0: Hyper = 10.0
    total_steps: int | None = None
    loss_order: LossOrder = "fold_then_ratio"
    fisher_sums: FisherSums = "global"
    blocks: int | tuple[int, ...] | None = None
    fisher_ratio: FisherRatio = "ratio_of_sums"
    wd_scaling: WdScaling = "lr"
    model: Model = "as_written"
    radius_rule: RadiusRule = "soaa"

    def _validate(self) -> None:
        check_range("b1", self.b1, 0.0, 1.0, hi_open=True)
        check_range("b2", self.b2, 0.0, 1.0, hi_open=True)
        check_range("eps", self.eps, 0.0)
        check_range("wd", self.wd, 0.0)
        check_range("gamma", self.gamma, 0.0, 1.0, hi_open=True)
        check_range("d0", self.d0, 0.0, lo_open=True)
        if self.total_steps is not None:
            check_int("total_steps", self.total_steps, 1)
        if self.fisher_sums == "per_block":
            if self.blocks is None:
                raise ValueError("fisher_sums='per_block' needs blocks=<block size> or blocks=(size, size, ...)")
            sizes = (self.blocks,) if not isinstance(self.blocks, tuple) else self.blocks
            if not sizes:
                raise ValueError("blocks must be a positive block size or a non-empty tuple of positive sizes; got ()")
            for s in sizes:
                check_int("blocks", s, 1)

    # --------------------------------------------------------------------------------- helpers
    def _sum(self, xp: Any, a: Array) -> Array:
        """Sum over the last axis (``global``: shape (*batch, 1)) or per block (shape (*batch, n))."""
        if self.fisher_sums == "global":
            return xp.sum(a, axis=-1, keepdims=True)
        n = a.shape[-1]
        lead = tuple(a.shape[:-1])
        if isinstance(self.blocks, tuple):
            if sum(self.blocks) != n:
                raise ValueError(f"blocks={self.blocks!r} sums to {sum(self.blocks)}, but x has n={n} parameters")
            pieces, i = [], 0
            for size in self.blocks:
                s = xp.sum(a[..., i : i + size], axis=-1, keepdims=True)
                pieces.append(xp.broadcast_to(s, (*lead, size)))
                i += size
            return xp.concat(pieces, axis=-1)
        size = self.blocks
        if n % size:
            raise ValueError(f"blocks={size} does not divide the number of parameters n={n}")
        shaped = xp.reshape(a, (*lead, n // size, size))
        s = xp.sum(shaped, axis=-1, keepdims=True)
        return xp.reshape(xp.broadcast_to(s, tuple(shaped.shape)), tuple(a.shape))

    def _fisher(self, xp: Any, m_hat: Array, v_hat: Array, eps: Any) -> Array:
        """Diagonal Fisher estimate F = (1 + S) v-hat ([2] line F_t; [3] ``rt``, ``_Ft``)."""
        if self.fisher_ratio == "ratio_of_sums":
            s = self._sum(xp, m_hat * m_hat) / self._sum(xp, v_hat + eps)  # [3] rt
        else:
            s = self._sum(xp, m_hat * m_hat / (v_hat + eps))  # [4] fisher_information
        return (1 + s) * v_hat

    def _loss_column(self, xp: Any, value: Any, x: Array) -> Any:
        """The loss as a column of shape (*batch, 1) (Python numbers pass through)."""
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        val = asarray(value, xp, dtype=x.dtype)
        lead = tuple(x.shape[:-1])
        if tuple(val.shape) == (*lead, 1):
            return val
        if tuple(val.shape) != lead:
            raise ValueError(
                f"value must be the loss of each run, shape (*batch,) = {lead}; got shape {tuple(val.shape)}"
            )
        return xp.reshape(val, (*lead, 1))

    # ------------------------------------------------------------------------------- interface
    def init(self, x: Array) -> SOAAState:
        xp = array_namespace(x)
        z = xp.zeros_like(x)
        col = xp.zeros_like(x[..., :1])  # one scalar per run: shape (*batch, 1)
        d = col + hp(self.d0, x, xp)
        return SOAAState(k=0, m=z, v=z, d=d, d_last=d, p=col, lbar=col)

    def _step(self, xp, g, state, x, *, lr, value=None, hvp=None):
        if value is None:  # update() checks this too; wrappers call _step directly
            raise ValueError("rule 'soaa' needs the loss value: call update(..., value=f(y)); run() supplies it")
        k = state.k + 1
        b1, b2, eps = hp(self.b1, x, xp), hp(self.b2, x, xp), hp(self.eps, x, xp)
        m = ema(state.m, g, b1)  # [3] _mt
        v = ema(state.v, g * g, b2)  # [3] _vt
        bc1, bc2 = bias_correction(b1, k), bias_correction(b2, k)
        m_hat, v_hat = m / bc1, v / bc2  # [3] bias correction
        d = state.d
        F = self._fisher(xp, m_hat, v_hat, eps)  # [2] F_t
        r = xp.maximum(d * F, xp.sqrt(v_hat))  # [2] r_t = max(d_t F_t, sqrt(v-hat))
        u = d * m_hat / (r + eps)  # [2] u_t; [3] _gt = _dt * _mt_hat / (_Ft + eps)
        dx = -lr * u  # [2] theta_t = theta_{t-1} - eta*lambda*theta_{t-1} - eta*u_t
        if not (isinstance(self.wd, (int, float)) and self.wd == 0):
            dx = dx - (lr if self.wd_scaling == "lr" else 1.0) * hp(self.wd, x, xp) * x

        # Trust-region radius from the loss at the current iterate ([3] l_ave, l_hat, _dt).
        ell = self._loss_column(xp, value, x)
        if self.loss_order == "fold_then_ratio":
            lbar = ema(state.lbar, ell, b1)  # [3] _l_ave folded in before rho
            l_hat = lbar / bc1
        else:
            # [4]: rho uses ls_h, the bias-corrected EMA of the losses of earlier steps (0 at first)
            l_hat = state.lbar / bias_correction(b1, state.k) if state.k > 0 else state.lbar
            lbar = ema(state.lbar, ell, b1)
        rho = (l_hat - ell) / xp.maximum(state.p, eps)  # [3] (l_hat - f_old) / max(_pr, eps)
        d_next = self._radius(xp, x, rho, d, state.k)

        # Predicted reduction of this step ([3] _pr), used by the next radius update.
        red1 = xp.sum(m_hat * u, axis=-1, keepdims=True)
        red2 = xp.sum(v_hat * (u * u), axis=-1, keepdims=True)
        if self.model == "as_written":
            p = lr * (red1 - 0.5 * red2)  # [3] alpha_t * (m.u - 0.5 v.(u*u))
        else:
            p = lr * red1 - 0.5 * (lr * lr) * red2  # q(s) with s = -lr*u, consistent in lr
        return dx, SOAAState(k=k, m=m, v=v, d=d_next, d_last=d, p=p, lbar=lbar)

    def _radius(self, xp: Any, x: Array, rho: Array, d: Array, k_prev: int) -> Array:
        """d_{t+1} from rho_t, d_t and the exponent (t-1)/T = k_prev/T."""
        e = 0.0 if self.total_steps is None else k_prev / self.total_steps  # [3] p = (t-1)/max_it
        gamma = hp(self.gamma, x, xp)
        lo, hi = (1 - gamma) ** e, 1 + gamma**e
        if self.radius_rule == "soaa":  # [3] min(1 + gamma^p, max((1-gamma)^p, d * rho))
            return xp.minimum(xp.maximum(rho * d, lo), hi)
        # Tadam [5] (nadir tadam.cc _trust_region_radius): threshold rule
        shrink = xp.maximum(d, 1.0) * lo
        grow = xp.minimum(d, 1.0) * hi
        return xp.where(rho < gamma, shrink, xp.where(rho > 1 - gamma, grow, d))

    def preconditioner(self, state: SOAAState) -> Array:
        xp = array_namespace(state.m)
        k = max(state.k, 1)
        b1, b2, eps = hp(self.b1, state.m, xp), hp(self.b2, state.m, xp), hp(self.eps, state.m, xp)
        m_hat, v_hat = state.m / bias_correction(b1, k), state.v / bias_correction(b2, k)
        d = state.d_last
        return d / (xp.maximum(d * self._fisher(xp, m_hat, v_hat, eps), xp.sqrt(v_hat)) + eps)

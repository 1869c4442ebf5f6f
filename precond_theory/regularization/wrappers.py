r"""Regularization wrappers around any rule: a penalty on p changes the gradient the rule sees;
a penalty on z (p = P z) is a step in z mapped back through P. See the package docstring."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, ClassVar, Literal

from .._checks import check_choice, check_range
from ..problems.base import central_difference_hvp
from ..rules.base import AbstractRule, _broadcasts_to, hp, rule_dataclass
from ..rules.preconditioned import from_intrinsic, to_intrinsic
from ..rules.wrappers import WithSchedule, _Wrapper, with_weight_decay

Array = Any
Variables = Literal["p", "z"]
L1Method = Literal["subgradient", "prox"]
HvpMode = Literal["exact", "finite_difference"]
FdScheme = Literal["central", "forward"]

#: Every regularization choice, by name (``regularize``, ``fixed_point`` and the experiment use these).
KINDS = ("none", "l2_p", "l2_z", "decoupled", "decoupled_fixed",
         "l1_p", "l1_p_prox", "l1_z", "l1_z_prox", "gradnorm_p", "gradnorm_z")
#: Kinds whose effective objective is a quadratic (fixed point by a linear solve).
QUADRATIC_KINDS = ("none", "l2_p", "l2_z", "decoupled", "decoupled_fixed", "gradnorm_p", "gradnorm_z")
#: Kinds with an L1 term (fixed point = weighted lasso).
L1_KINDS = ("l1_p", "l1_p_prox", "l1_z", "l1_z_prox")


# ===================================================================================== helpers
def soft_threshold(u: Array, t: Any, xp: Any) -> Array:
    r"""Elementwise soft threshold :math:`S_t(u) = \mathrm{sign}(u)\max(|u| - t, 0)`, the proximal
    map of :math:`t\|\cdot\|_1`.  ``t`` may be a scalar or an array broadcastable to ``u``."""
    a = xp.abs(u) - t
    return xp.sign(u) * xp.where(a > 0, a, xp.zeros_like(a))


def finite_difference_hvp(grad: Callable[[Array], Array], x: Array, v: Array, *,
                          scheme: FdScheme = "central", step: float | None = None) -> Array:
    r"""Hessian-vector product :math:`H(x)v` from gradients only.

    ``scheme="forward"`` (Ye 2024 §5, spec: :math:`Hv \approx [\nabla L(x + rv) - \nabla L(x)]/r`):

    .. math:: Hv \approx \frac{\nabla L(x + h\hat v) - \nabla L(x)}{h}\,\|v\|,\qquad \hat v = v/\|v\|

    with :math:`h = \sqrt{\varepsilon}\max(1, \|x\|_\infty)` per run by default (truncation error
    :math:`O(h\,M_3\|v\|)`, round-off :math:`O(\varepsilon\|\nabla L\|\|v\|/h)`; this h balances
    them, relative error about :math:`\sqrt{\varepsilon} \approx 1.5\times 10^{-8}` in float64).
    ``scheme="central"`` delegates to :func:`precond_theory.problems.central_difference_hvp`
    (:math:`h = \varepsilon^{1/3}\max(1,\|x\|_\infty)`, error :math:`O(\varepsilon^{2/3})`).  Both
    are exact on quadratics up to round-off.  Costs 2 gradient evaluations (either scheme).

    Parameters
    ----------
    grad : callable ``x -> ∇L(x)``, shape ``(*batch, n)`` in and out.
    x, v : array ``(*batch, n)``
    scheme : {"central", "forward"}
    step : float, optional
        Absolute step h along the unit vector :math:`\hat v`.
    """
    if scheme == "central":
        return central_difference_hvp(grad, x, v, step=step)
    check_choice("scheme", scheme, ("central", "forward"))
    from .._xp import array_namespace

    xp = array_namespace(x, v)
    vnorm = xp.sqrt(xp.sum(v * v, axis=-1, keepdims=True))
    safe = xp.where(vnorm > 0, vnorm, xp.ones_like(vnorm))
    u = v / safe
    if step is None:
        scale = xp.max(xp.abs(x), axis=-1, keepdims=True)
        h = math.sqrt(float(xp.finfo(x.dtype).eps)) * xp.maximum(scale, xp.ones_like(scale))
    else:
        h = step
    out = (grad(x + h * u) - grad(x)) / h * safe
    return xp.where(vnorm > 0, out, xp.zeros_like(out))


def _check_lam(lam: Any) -> None:
    check_range("lam", lam, 0.0)


# ==================================================================================== wrappers
@rule_dataclass
class _Penalty(_Wrapper):
    """Shared fields and the metric M of the regularization wrappers."""

    lam: Any = 0.0
    variables: Variables = "p"
    fixed_preconditioner: Any = None

    kind_base: ClassVar[str] = "penalty"

    @property
    def kind(self) -> str:
        """The name of this choice in :data:`KINDS`."""
        return f"{self.kind_base}_{self.variables}"

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"{self.inner.name}+{self.kind}"

    def _validate(self) -> None:
        _check_lam(self.lam)
        M = self.fixed_preconditioner
        if M is not None:
            check_range("preconditioner", M, 0.0, lo_open=True)
            if not isinstance(M, (int, float)) and len(getattr(M, "shape", ())) == 0:
                raise ValueError(f"preconditioner must be a positive number or the diagonal of M as an array (n,) "
                                 f"or (*batch, n); got {M!r}")
        if self._reads_metric() and M is None and getattr(self.inner, "matrix", None) is not None:
            raise ValueError(f"{self.kind!r} needs a diagonal preconditioner M (P = M^(1/2) elementwise), but "
                             f"{self.inner.name!r} uses a dense matrix M; pass preconditioner=<diagonal of M> "
                             "or use diag=")
        if self.variables == "z" and M is None and not self.inner.has_preconditioner:
            raise ValueError(
                f"variables='z' (intrinsic variables, p = P z with M = P P^T) needs the preconditioner M, but rule "
                f"{self.inner.name!r} has none (has_preconditioner=False); wrap a rule that has one (adam, adagrad, "
                f"rmsprop, preconditioned, ...) or pass preconditioner=<fixed positive diagonal of M>")

    def _reads_metric(self) -> bool:
        """Whether this wrapper's arithmetic uses M (all z kinds; overridden for the p-prox)."""
        return self.variables == "z"

    def _check_hp_shapes(self, x: Array) -> None:
        # the fixed preconditioner is a vector (*batch, n), not a (*batch, 1) hyperparameter
        M = self.fixed_preconditioner
        if M is not None and len(getattr(M, "shape", ())) and not _broadcasts_to(tuple(M.shape), tuple(x.shape)):
            raise ValueError(f"preconditioner has shape {tuple(M.shape)}, which does not broadcast to x's shape "
                             f"{tuple(x.shape)}; give the diagonal of M as (n,) or (*batch, n)")
        for f in dataclasses.fields(self):
            if f.name == "fixed_preconditioner":
                continue
            v = getattr(self, f.name)
            if isinstance(v, AbstractRule) or not hasattr(v, "shape") or len(v.shape) == 0:
                continue
            want = (*tuple(x.shape[:-1]), 1)
            if not (v.shape[-1] == 1 and _broadcasts_to(tuple(v.shape), want)):
                raise ValueError(f"hyperparameter {f.name} has shape {tuple(v.shape)}, which does not broadcast to "
                                 f"(*batch, 1) = {want} for x of shape {tuple(x.shape)}; "
                                 "give it a trailing axis of size 1")

    def _metric(self, xp: Any, state: Any, x: Array, *, required: bool = True) -> Any:
        """Diagonal M: the fixed one if given, else the wrapped rule's preconditioner at ``state``
        (the state *after* the inner update: the M that step used); 1.0 when not required and absent."""
        if self.fixed_preconditioner is not None:
            return hp(self.fixed_preconditioner, x, xp)
        M = self.inner.preconditioner(state)
        if M is None:
            if required:
                raise ValueError(f"rule {self.inner.name!r} returned no preconditioner; variables='z' needs one")
            return 1.0
        if len(M.shape) > len(x.shape) or not _broadcasts_to(tuple(M.shape), tuple(x.shape)):
            raise ValueError(f"the preconditioner of {self.inner.name!r} has shape {tuple(M.shape)}; the "
                             f"regularization wrappers need a diagonal M broadcastable to x's shape {tuple(x.shape)}")
        return M

    def _factor(self, xp: Any, state: Any, x: Array) -> Array:
        """P = M^{1/2} (diagonal), as an array broadcastable to x."""
        M = self._metric(xp, state, x)
        if isinstance(M, (int, float)):
            M = xp.full((1,), float(M), dtype=x.dtype)
        return xp.sqrt(M)


@rule_dataclass
class IntrinsicL2(_Penalty):
    r"""L2 penalty on the intrinsic variables z (p = P z, :math:`P = M^{1/2}`), around any rule
    with a preconditioner.

    Notes
    -----
    The wrapped rule makes its step :math:`\Delta p = -\eta M\nabla L` (for momentum rules,
    :math:`-\eta M\hat m`); then the penalty :math:`\tfrac\lambda2\|z\|^2` takes a gradient step in z:

    .. math::
        z = P^{-1}p,\qquad \Delta z = -\eta\lambda z,\qquad
        p_{k+1} = p_k + \Delta p + P\,\Delta z = p_k - \eta M\nabla L - \eta\lambda p_k

    In p the penalty is :math:`\tfrac\lambda2 p^\top M^{-1} p` (Ye 2024 §5, spec (B)), and the
    iteration is decoupled weight decay scaled by lr (AdamW, Loshchilov & Hutter 2019 Alg. 2) for
    any M: :func:`with_decoupled_decay` computes the same numbers, up to the round-off of
    :math:`P(P^{-1}p)` (a few ulp per step).  It is kept as its own wrapper so that this
    equivalence is checked rather than assumed.

    ====== ====================================================================
    symbol argument
    ====== ====================================================================
    λ      ``lam`` (≥ 0; float or array ``(*batch, 1)``)
    M      ``inner.preconditioner(state)`` after the inner step, or ``fixed_preconditioner``
    η      the learning rate passed to the step (scheduled, if a schedule wraps this)
    ====== ====================================================================

    References
    ----------
    .. [1] Q. Ye, arXiv:2410.00232, 2024, §5 (L2 on the intrinsic parameters = AdamW).
    .. [2] I. Loshchilov, F. Hutter, ICLR 2019, arXiv:1711.05101, Alg. 2.
    """

    variables: Variables = "z"
    kind_base: ClassVar[str] = "l2"

    def _validate(self) -> None:
        if self.variables != "z":
            raise ValueError("IntrinsicL2 regularizes z; for L2 in p use with_l2(rule, lam, variables='p') "
                             "(coupled weight decay)")
        super()._validate()

    def _step(self, xp, g, state, x, *, lr, value=None, hvp=None):
        dx, new = self.inner._step(xp, g, state, x, lr=lr, value=value, hvp=hvp)
        P = self._factor(xp, new, x)
        z = to_intrinsic(x, P, diagonal=True)  # p = P z
        dz = -lr * hp(self.lam, x, xp) * z  # gradient step on (λ/2)||z||²
        return dx + from_intrinsic(dz, P, diagonal=True), new


@rule_dataclass
class L1Penalty(_Penalty):
    r"""L1 penalty in p or in the intrinsic variables z, by subgradient or proximal steps.

    Notes
    -----
    With :math:`\Delta p = -\eta M\nabla L` the wrapped rule's step and :math:`P = M^{1/2}`:

    .. math::
        \texttt{p, subgradient}:&\quad p_{k+1} = p_k + \Delta p(\nabla L + \lambda\,\mathrm{sign}\,p_k)
            \quad(\text{the rule sees } g + \lambda\,\mathrm{sign}\,p) \\
        \texttt{p, prox}:&\quad p_{k+1} = S_{\eta\lambda M}(p_k + \Delta p) \\
        \texttt{z, subgradient}:&\quad p_{k+1} = p_k + \Delta p - \eta\lambda M^{1/2}\mathrm{sign}\,p_k \\
        \texttt{z, prox}:&\quad z_{k+1} = S_{\eta\lambda}\big(P^{-1}(p_k + \Delta p)\big),\quad p_{k+1} = P z_{k+1}

    The p-prox is the proximal map of :math:`\lambda\|\cdot\|_1` in the metric of the step,
    :math:`\arg\min_u \tfrac1{2\eta}\|u - q\|^2_{M^{-1}} + \lambda\|u\|_1 = S_{\eta\lambda M}(q)`,
    so that its fixed points are those of the subgradient version (lasso with weight λ); for a rule
    without a preconditioner M = 1 (ISTA).  The z versions minimise
    :math:`L + \lambda\|M^{-1/2}p\|_1` (Ye 2024 §5, spec "L1 in z"); since
    :math:`\mathrm{sign}\,z = \mathrm{sign}\,p`, the z-subgradient step is
    :math:`-\eta\lambda M^{1/2}\mathrm{sign}\,p`.  With a constant step the subgradient versions
    do not converge: zero coordinates oscillate with amplitude :math:`\eta\lambda M`
    (p) or :math:`\eta\lambda M^{1/2}` (z); the prox versions converge.

    ====== ===================================================================
    symbol argument
    ====== ===================================================================
    λ      ``lam``
    p / z  ``variables``
    S      ``method="prox"`` (soft threshold) or ``"subgradient"``
    M      ``inner.preconditioner`` after the inner step, or ``fixed_preconditioner``
    ====== ===================================================================

    References
    ----------
    .. [1] Q. Ye, arXiv:2410.00232, 2024 (v2), §5 (L1 generalization).
    .. [2] A. Beck, M. Teboulle, "A fast iterative shrinkage-thresholding algorithm", SIAM J.
           Imaging Sci. 2(1), 2009, eq. (1.4) (ISTA step).
    """

    method: L1Method = "subgradient"
    kind_base: ClassVar[str] = "l1"

    @property
    def kind(self) -> str:
        return f"l1_{self.variables}" + ("_prox" if self.method == "prox" else "")

    def _reads_metric(self) -> bool:
        return self.variables == "z" or self.method == "prox"

    def _step(self, xp, g, state, x, *, lr, value=None, hvp=None):
        lam = hp(self.lam, x, xp)
        if self.variables == "p" and self.method == "subgradient":  # coupled: the rule sees ∂(L + λ|p|)
            return self.inner._step(xp, g + lam * xp.sign(x), state, x, lr=lr, value=value, hvp=hvp)
        dx, new = self.inner._step(xp, g, state, x, lr=lr, value=value, hvp=hvp)
        if self.variables == "p":  # prox in the metric M^{-1} of the step: threshold ηλM
            M = self._metric(xp, new, x, required=False)
            return soft_threshold(x + dx, lr * lam * M, xp) - x, new
        P = self._factor(xp, new, x)
        if self.method == "subgradient":
            z = to_intrinsic(x, P, diagonal=True)
            return dx + from_intrinsic(-lr * lam * xp.sign(z), P, diagonal=True), new
        zq = to_intrinsic(x + dx, P, diagonal=True)  # z - η Pᵀ∇L  (Δp = -η M ∇L = P(-η Pᵀ∇L))
        return from_intrinsic(soft_threshold(zq, lr * lam, xp), P, diagonal=True) - x, new


@rule_dataclass
class GradientNormPenalty(_Penalty):
    r"""Gradient-norm regularization in p or in z, with exact or finite-difference Hessian-vector
    products.

    Notes
    -----
    .. math::
        \texttt{p}:&\quad R = \tfrac\lambda2\|\nabla L\|^2,\quad \nabla_p R = \lambda H\nabla L,\quad
            p_{k+1} = p_k + \Delta p(\nabla L + \lambda H\nabla L) \\
        \texttt{z}:&\quad R = \tfrac\lambda2\|P^\top\nabla L\|^2 = \tfrac\lambda2\nabla L^\top M\nabla L,\quad
            \nabla_z R = \lambda P^\top H M\nabla L,\quad
            p_{k+1} = p_k + \Delta p(\nabla L) - \eta P\,\nabla_z R = p_k - \eta M(\nabla L + \lambda HM\nabla L)

    In p the rule sees the penalised gradient :math:`g + \lambda Hg` (coupled); in z the
    penalty's gradient step is taken in z with the step's M (decoupled), as for
    :class:`IntrinsicL2`.  With a frozen M both are :math:`p - \eta M\nabla(L + R)` (Ye 2024
    §5, spec "gradient(-norm) regularization").  H is evaluated at the query point
    ``y = query(x, state)`` where the gradient was taken.

    Hessian-vector products: ``hvp_mode="exact"`` uses the ``hvp`` callable given to
    ``update`` (``run`` passes the problem's, because ``needs_hvp`` is then True);
    ``hvp_mode="finite_difference"`` needs the gradient function ``grad`` (``x -> ∇L(x)``; pass
    ``problem.grad``) and costs 2 extra gradient evaluations per step
    (:func:`finite_difference_hvp`; its error is stated there).

    ====== ======================================================================
    symbol argument
    ====== ======================================================================
    λ      ``lam``
    H v    ``hvp`` (exact) or :func:`finite_difference_hvp` of ``grad`` (``fd_scheme``, ``fd_step``)
    M      ``inner.preconditioner`` after the inner step, or ``fixed_preconditioner`` (z only)
    ====== ======================================================================

    References
    ----------
    .. [1] Q. Ye, arXiv:2410.00232, 2024 (v1), §5 (gradient regularization in the chosen variables).
    .. [2] H. Drucker, Y. LeCun, IEEE TNN 3(6):991-997, 1992 (double backpropagation).
    """

    hvp_mode: HvpMode = "exact"
    grad: Any = None
    fd_scheme: FdScheme = "central"
    fd_step: Any = None
    kind_base: ClassVar[str] = "gradnorm"

    @property
    def needs_hvp(self) -> bool:  # type: ignore[override]
        return self.hvp_mode == "exact" or self.inner.needs_hvp

    def _validate(self) -> None:
        super()._validate()
        if self.hvp_mode == "finite_difference" and not callable(self.grad):
            raise ValueError("hvp_mode='finite_difference' needs the gradient function: pass "
                             "grad=<callable x -> ∇L(x)> (e.g. grad=problem.grad) or problem=<problem>")
        if self.fd_step is not None:
            check_range("fd_step", self.fd_step, 0.0, lo_open=True)

    def check_inputs(self, g, state, x, *, value=None, hvp=None):
        if self.hvp_mode == "exact" and hvp is None:
            raise ValueError(f"{self.name!r}: gradient-norm regularization with hvp_mode='exact' needs "
                             "Hessian-vector products: call update(..., hvp=callable v -> H v) (run() passes "
                             "problem.hvp), or build it with hvp='finite_difference' and grad=<gradient function>")
        return super().check_inputs(g, state, x, value=value, hvp=hvp)

    def _hv(self, xp: Any, state: Any, x: Array, v: Array, hvp: Any) -> Array:
        if self.hvp_mode == "exact":
            if hvp is None:
                raise ValueError(f"{self.name!r} needs hvp=callable v -> H v "
                                 "(or hvp='finite_difference' with grad=...)")
            return hvp(v)
        y = self.inner.query(x, state)
        return finite_difference_hvp(self.grad, y, v, scheme=self.fd_scheme, step=self.fd_step)

    def _step(self, xp, g, state, x, *, lr, value=None, hvp=None):
        lam = hp(self.lam, x, xp)
        inner_hvp = hvp if self.inner.needs_hvp else None
        if self.variables == "p":
            hg = self._hv(xp, state, x, g, hvp)  # H ∇L
            return self.inner._step(xp, g + lam * hg, state, x, lr=lr, value=value, hvp=inner_hvp)
        dx, new = self.inner._step(xp, g, state, x, lr=lr, value=value, hvp=inner_hvp)
        P = self._factor(xp, new, x)
        gz = P * g  # ∇_z L̃ = Pᵀ ∇L
        grad_z_R = lam * P * self._hv(xp, state, x, from_intrinsic(gz, P, diagonal=True), hvp)  # λ Pᵀ H M ∇L
        return dx + from_intrinsic(-lr * grad_z_R, P, diagonal=True), new


# =================================================================================== factories
def _keep_schedule_outside(rule: AbstractRule, build: Callable[[AbstractRule], AbstractRule]) -> AbstractRule:
    """Apply ``build`` inside a schedule wrapper, so that the penalty sees the scheduled lr."""
    if isinstance(rule, WithSchedule):
        return dataclasses.replace(rule, inner=_keep_schedule_outside(rule.inner, build))
    return build(rule)


def _check_rule(rule: Any) -> None:
    if not isinstance(rule, AbstractRule):
        raise TypeError(f"rule must be a precond_theory rule (an AbstractRule instance); got {type(rule).__name__}")


def with_l2(rule: AbstractRule, lam: Any, *, variables: Variables = "p", preconditioner: Any = None) -> AbstractRule:
    r"""L2 regularization :math:`\tfrac\lambda2\|p\|^2` (``variables="p"``) or :math:`\tfrac\lambda2\|z\|^2`
    (``variables="z"``, p = P z).

    ``"p"`` is coupled weight decay, :func:`precond_theory.rules.with_weight_decay` with
    ``coupled=True`` (the rule sees :math:`g + \lambda p`; torch's ``weight_decay`` in Adam).
    ``"z"`` is :class:`IntrinsicL2` and needs a rule with a preconditioner or an explicit
    fixed ``preconditioner`` (the diagonal of M).

    Raises
    ------
    ValueError
        ``lam < 0``; ``variables="z"`` on a rule without a preconditioner and none given.
    """
    _check_rule(rule)
    _check_lam(lam)
    check_choice("variables", variables, ("p", "z"))
    if variables == "p":
        if preconditioner is not None:
            raise ValueError("preconditioner= only applies to variables='z'; L2 in p does not use M")
        return with_weight_decay(rule, lam, **({} if _no_decay(lam) else {"coupled": True}))
    return _keep_schedule_outside(rule, lambda r: IntrinsicL2(inner=r, lam=lam, fixed_preconditioner=preconditioner))


def with_decoupled_decay(rule: AbstractRule, lam: Any, *, scale_by_lr: bool = True) -> AbstractRule:
    r"""Decoupled weight decay :math:`p \leftarrow p + \Delta p - c\lambda p` with :math:`c = \eta_k`
    (``scale_by_lr=True``, torch AdamW) or :math:`c = 1` (fixed, Loshchilov & Hutter's
    :math:`\eta_t\lambda` with the schedule multiplier only).  A thin, validated front end to
    :func:`precond_theory.rules.with_weight_decay` (``coupled=False``)."""
    _check_rule(rule)
    _check_lam(lam)
    if not isinstance(scale_by_lr, bool):
        raise TypeError(f"scale_by_lr must be True or False; got {scale_by_lr!r}")
    return with_weight_decay(rule, lam, **({} if _no_decay(lam) else {"coupled": False, "scale_by_lr": scale_by_lr}))


def _no_decay(lam: Any) -> bool:
    """lam is the scalar 0: the decay options are not read (and would be refused as no-ops)."""
    return isinstance(lam, (int, float)) and lam == 0


def with_l1(rule: AbstractRule, lam: Any, *, variables: Variables = "p", method: L1Method = "subgradient",
            preconditioner: Any = None) -> AbstractRule:
    r"""L1 regularization :math:`\lambda\|p\|_1` or :math:`\lambda\|z\|_1` by subgradient or proximal
    (soft-threshold) steps; see :class:`L1Penalty`.

    Raises
    ------
    ValueError
        ``lam < 0``; unknown ``variables``/``method``; ``variables="z"`` on a rule without a
        preconditioner and none given.
    """
    _check_rule(rule)
    _check_lam(lam)
    check_choice("variables", variables, ("p", "z"))
    check_choice("method", method, ("subgradient", "prox"))
    return _keep_schedule_outside(rule, lambda r: L1Penalty(inner=r, lam=lam, variables=variables, method=method,
                                                           fixed_preconditioner=preconditioner))


def _problem_has_hvp(problem: Any) -> bool:
    if getattr(problem, "has_hvp", True) is False:
        return False
    return callable(getattr(problem, "hvp", None))


def with_gradient_norm(rule: AbstractRule, lam: Any, *, variables: Variables = "p",
                       hvp: HvpMode = "exact", grad: Callable[[Array], Array] | None = None, problem: Any = None,
                       fd_scheme: FdScheme = "central", fd_step: float | None = None,
                       preconditioner: Any = None) -> AbstractRule:
    r"""Gradient-norm regularization :math:`\tfrac\lambda2\|\nabla L\|^2` (p) or
    :math:`\tfrac\lambda2\|\nabla_z L\|^2 = \tfrac\lambda2\nabla L^\top M\nabla L` (z); see
    :class:`GradientNormPenalty`.

    Parameters
    ----------
    rule : AbstractRule
    lam : float or array ``(*batch, 1)``, ≥ 0
    variables : {"p", "z"}
    hvp : {"exact", "finite_difference"}
        ``"exact"``: Hessian-vector products come from ``update(..., hvp=...)`` (``run`` passes
        ``problem.hvp``).  ``"finite_difference"``: from gradients, :func:`finite_difference_hvp`.
    grad : callable ``x -> ∇L(x)``, optional
        Gradient function for ``"finite_difference"`` (default ``problem.grad``).
    problem : problem, optional
        Used to check that ``"exact"`` is possible (the problem has ``hvp``) and as the source of
        ``grad``.  Online problems (``grad(x, k)``) cannot give ``grad``.
    fd_scheme, fd_step : see :func:`finite_difference_hvp`.
    preconditioner : array ``(n,)`` or ``(*batch, n)``, optional
        Fixed diagonal of M for ``variables="z"`` (default: the rule's own).

    Raises
    ------
    ValueError
        ``lam < 0``; ``"exact"`` with a ``problem`` that has no ``hvp``; ``"finite_difference"``
        without ``grad`` or ``problem``; ``variables="z"`` without a preconditioner.
    """
    _check_rule(rule)
    _check_lam(lam)
    check_choice("variables", variables, ("p", "z"))
    check_choice("hvp", hvp, ("exact", "finite_difference"))
    if hvp == "exact" and problem is not None and not _problem_has_hvp(problem):
        raise ValueError(f"problem {getattr(problem, 'name', problem)!r} has no Hessian-vector product (hvp), which "
                         "gradient-norm regularization needs; use hvp='finite_difference' (with grad=problem.grad)")
    if hvp == "finite_difference" and grad is None:
        if problem is None:
            raise ValueError("hvp='finite_difference' needs the gradient function: pass grad=<callable x -> ∇L(x)> "
                             "or problem=<problem>; or use hvp='exact' on a problem with hvp")
        if getattr(problem, "online", False):
            raise ValueError(f"problem {getattr(problem, 'name', problem)!r} is online (grad(x, k)); pass grad= a "
                             "function of x alone for finite differences")
        grad = problem.grad
    return _keep_schedule_outside(rule, lambda r: GradientNormPenalty(
        inner=r, lam=lam, variables=variables, hvp_mode=hvp, grad=grad if hvp == "finite_difference" else None,
        fd_scheme=fd_scheme, fd_step=fd_step, fixed_preconditioner=preconditioner))


def regularize(rule: AbstractRule, kind: str, lam: Any, *, preconditioner: Any = None, hvp: HvpMode = "exact",
               grad: Callable[[Array], Array] | None = None, problem: Any = None, fd_scheme: FdScheme = "central",
               fd_step: float | None = None) -> AbstractRule:
    """Wrap ``rule`` with the regularization ``kind`` (one of :data:`KINDS`) of strength ``lam``.

    One entry point for loops over the choices.  ``preconditioner`` (a fixed diagonal of M) is
    used by the kinds whose wrapper reads M (``l2_z``, ``l1_z``, ``l1_z_prox``, ``l1_p_prox``,
    ``gradnorm_z``) and not passed to the others, whose update involves only the rule's own
    step.  ``hvp``, ``grad``, ``problem``, ``fd_scheme`` and ``fd_step`` are used by the
    gradient-norm kinds only (see :func:`with_gradient_norm`).  ``"none"`` returns ``rule``.
    """
    _check_rule(rule)
    check_choice("kind", kind, KINDS)
    _check_lam(lam)
    if kind == "none":
        return rule
    if kind == "l2_p":
        return with_l2(rule, lam, variables="p")
    if kind == "l2_z":
        return with_l2(rule, lam, variables="z", preconditioner=preconditioner)
    if kind in ("decoupled", "decoupled_fixed"):
        return with_decoupled_decay(rule, lam, scale_by_lr=kind == "decoupled")
    if kind in L1_KINDS:
        method = "prox" if kind.endswith("prox") else "subgradient"
        uses_m = kind != "l1_p"
        return with_l1(rule, lam, variables=kind[3], method=method, preconditioner=preconditioner if uses_m else None)
    return with_gradient_norm(rule, lam, variables=kind[-1], hvp=hvp, grad=grad, problem=problem, fd_scheme=fd_scheme,
                              fd_step=fd_step, preconditioner=preconditioner if kind == "gradnorm_z" else None)



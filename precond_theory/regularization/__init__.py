r"""Regularization under preconditioning: coupled L2, decoupled decay, intrinsic-variable L2,
L1 and gradient-norm penalties, with closed-form fixed points on quadratics.

A preconditioned rule takes steps :math:`p \leftarrow p - \eta M\nabla L(p)`.  Ye (2024) reads
this as plain gradient descent in the *intrinsic* variables :math:`z` with :math:`p = Pz`,
:math:`M = PP^\top` (diagonal :math:`M`: :math:`P = M^{1/2}`), since
:math:`\nabla_z L(Pz) = P^\top\nabla L`.  A penalty can then be put on :math:`p` or on :math:`z`,
and the two choices are different methods as soon as :math:`M \ne cI`:

=================== ============================================================ ===========================
kind                step (frozen diagonal M, step size η)                         penalty in p
=================== ============================================================ ===========================
``l2_p``            :math:`p - \eta M(\nabla L + \lambda p)` (coupled, "Adam+L2") :math:`\tfrac\lambda2\|p\|^2`
``l2_z``            :math:`p - \eta M\nabla L - \eta\lambda P z`                  :math:`\tfrac\lambda2 p^\top M^{-1}p`
``decoupled``       :math:`p - \eta M\nabla L - \eta\lambda p` (AdamW)            :math:`\tfrac\lambda2 p^\top M^{-1}p`
``decoupled_fixed`` :math:`p - \eta M\nabla L - \lambda p`                        :math:`\tfrac{\lambda}{2\eta} p^\top M^{-1}p`
``l1_p``            :math:`p - \eta M(\nabla L + \lambda\,\mathrm{sign}\,p)`      :math:`\lambda\|p\|_1`
``l1_p_prox``       :math:`S_{\eta\lambda M}(p - \eta M\nabla L)`                 :math:`\lambda\|p\|_1`
``l1_z``            :math:`p - \eta M\nabla L - \eta\lambda M^{1/2}\mathrm{sign}\,p` :math:`\lambda\|M^{-1/2}p\|_1`
``l1_z_prox``       :math:`P\,S_{\eta\lambda}(z - \eta P^\top\nabla L)`           :math:`\lambda\|M^{-1/2}p\|_1`
``gradnorm_p``      :math:`p - \eta M(\nabla L + \lambda H\nabla L)`              :math:`\tfrac\lambda2\|\nabla L\|^2`
``gradnorm_z``      :math:`p - \eta M(\nabla L + \lambda H M\nabla L)`            :math:`\tfrac\lambda2\nabla L^\top M\nabla L`
=================== ============================================================ ===========================

(:math:`S_t(u) = \mathrm{sign}(u)\max(|u|-t, 0)` elementwise, :math:`H = \nabla^2 L`.)  Since
:math:`Pz = p`, ``l2_z`` and ``decoupled`` are the same iteration for *every* M, frozen or
adaptive (Ye 2024 §5 / spec (B): "AdamW = L2 regularization of the intrinsic parameters");
they differ only in round-off, which the tests check.

The wrappers are rules (the pattern of :mod:`precond_theory.rules.wrappers`): a penalty on
``p`` changes the gradient the wrapped rule sees (so an adaptive rule also accumulates it in
its moments); a penalty on ``z`` is a gradient (or proximal) step in ``z``, taken with the
learning rate of the step and mapped back through :math:`P = M^{1/2}`, where M is the wrapped
rule's preconditioner *after* its update (the M that the step just used), or a fixed
``preconditioner`` given explicitly.

The second half of the module holds host-side (NumPy) closed forms for a quadratic
:math:`L(p) = \tfrac12 p^\top A p - b^\top p` (:math:`\nabla L = Ap - b`; least squares
:math:`\tfrac1{2n}\|Xp-y\|^2` has :math:`A = X^\top X/n`, :math:`b = X^\top y/n`) with a frozen
SPD preconditioner: :func:`effective_objective`, :func:`fixed_point`, :func:`shrinkage`,
:func:`linear_rate`, and :func:`ema_fixed_point` for the adaptive EMA preconditioners of Adam
and RMSProp, whose M is itself set by the fixed point.  Derivations: ``docs/regularization.md``.

References
----------
.. [1] Q. Ye, "Preconditioning for Accelerated Gradient Descent Optimization and
       Regularization", arXiv:2410.00232, 2024, §5 (L2 in p vs z, L1, gradient regularization);
       the equations used here are derived in ``docs/spec/ye_preconditioning.md``.
.. [2] I. Loshchilov, F. Hutter, "Decoupled Weight Decay Regularization", ICLR 2019,
       arXiv:1711.05101, Alg. 2 (AdamW) and Prop. 3 (decoupled decay = scale-adjusted L2 for a
       fixed preconditioner).
.. [3] S. Xie, Z. Li, "Implicit Bias of AdamW: ℓ∞ Norm Constrained Optimization", ICML 2024,
       arXiv:2404.04454 (the ε → 0 limit of :func:`ema_fixed_point` for ``decoupled``).
.. [4] H. Drucker, Y. LeCun, "Improving generalization performance using double
       backpropagation", IEEE TNN 3(6), 1992 (gradient-norm regularization).
"""


from .closed_forms import (
    EffectiveObjective,
    Shrinkage,
    effective_objective,
    ema_fixed_point,
    fixed_point,
    linear_rate,
    shrinkage,
)
from .wrappers import (
    KINDS,
    L1_KINDS,
    QUADRATIC_KINDS,
    GradientNormPenalty,
    IntrinsicL2,
    L1Penalty,
    finite_difference_hvp,
    regularize,
    soft_threshold,
    with_decoupled_decay,
    with_gradient_norm,
    with_l1,
    with_l2,
)

__all__ = [
    "KINDS", "QUADRATIC_KINDS", "L1_KINDS",
    "IntrinsicL2", "L1Penalty", "GradientNormPenalty",
    "with_l2", "with_decoupled_decay", "with_l1", "with_gradient_norm", "regularize",
    "finite_difference_hvp", "soft_threshold",
    "EffectiveObjective", "Shrinkage",
    "effective_objective", "fixed_point", "shrinkage", "linear_rate", "ema_fixed_point",
]

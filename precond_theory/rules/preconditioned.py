r"""Ye's preconditioning view: preconditioned gradient descent and the intrinsic variables.

With a preconditioner :math:`M = PP^\top` and parameters :math:`p = Pz`, the iteration
:math:`p \leftarrow p - \eta M\nabla L(p)` is gradient descent on :math:`\tilde L(z) = L(Pz)`
(``docs/spec/ye_preconditioning.md``): :math:`\nabla_z\tilde L = P^\top\nabla L` and
:math:`\nabla_z^2\tilde L = P^\top H P`, so the local rate is governed by
:math:`\kappa(M^{1/2} H M^{1/2})` instead of :math:`\kappa(H)`.
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

from .._checks import broadcast_shapes, host_values
from .._xp import array_namespace, asarray
from .base import AbstractRule, Hyper, _broadcasts_to, register, rule_dataclass

__all__ = ["Preconditioned", "PreconditionedState", "to_intrinsic", "from_intrinsic", "intrinsic_factor"]

Array = Any


class PreconditionedState(NamedTuple):
    k: int  # number of updates applied so far
    p: Array | None  # diagonal of M in x's backend and dtype (None when M comes from `source`)
    source: Any  # state of the source rule (None without one)


@register
@rule_dataclass
class Preconditioned(AbstractRule):
    r"""Preconditioned gradient descent :math:`p \leftarrow p - \eta M \nabla L(p)` with a fixed or
    borrowed preconditioner M.

    **Fidelity: RECON.**  Ye's paper [1] was read only through its abstracts and summaries: the
    transform :math:`p = Pz` and the conditioning argument are confirmed, the equations here are
    derived from them (``docs/spec/ye_preconditioning.md``).  The iteration itself is textbook
    preconditioned gradient descent and is implemented exactly; what is reconstructed is that it
    is the paper's formulation.

    Parameters
    ----------
    lr : float or array
        η (default 1e-3, as :class:`~precond_theory.rules.SGD`).
    diag : array, optional
        Fixed diagonal of M, shape ``(n,)`` or ``(*batch, n)``, entries ≥ 0.
    matrix : array, optional
        Fixed dense M, shape ``(n, n)`` (symmetric positive definite for a descent method; not
        checked).
    source : rule, optional
        A rule with ``has_preconditioner``; M is its :meth:`preconditioner` after its state has
        been advanced with the same gradient (so M includes the current gradient, as in
        Adam's or RMSProp's own step).  The source's own step is discarded.  Sources that need
        loss values or Hessian-vector products are rejected.

    Give at most one of ``diag``, ``matrix`` and ``source``; with none, M = I and the rule is
    gradient descent, identical to ``SGD(lr=η)`` bit for bit.

    Notes
    -----
    .. math::
        p_{k+1} = p_k - \eta\, M_k\, \nabla L(p_k),\qquad
        M_k = \operatorname{diag}(\texttt{diag})\ \text{or}\ \texttt{matrix}\ \text{or}\
        \operatorname{diag}(P^{\text{source}}_k)

    For a fixed M = PPᵀ (:func:`intrinsic_factor`), :math:`z_k = P^{-1}p_k`
    (:func:`to_intrinsic`) follows gradient descent on :math:`\tilde L(z) = L(Pz)`:
    :math:`z_{k+1} = z_k - \eta P^\top\nabla L(Pz_k)`.  Near a minimiser with H SPD, the step
    :math:`\eta = 2/(\lambda_{\max}+\lambda_{\min})` of :math:`M^{1/2}HM^{1/2}` gives
    :math:`\|z_k-z^\star\| \lesssim ((\kappa-1)/(\kappa+1))^k\|z_0-z^\star\|`, κ that matrix's
    condition number (same spectrum as MH) [1, 2].

    With ``source=RMSProp(...)`` (no momentum) the iterates are RMSProp's; with a momentum
    source (Adam) they are *not* Adam's: momentum-then-precondition differs from
    precondition-the-gradient.

    :meth:`preconditioner` returns the diagonal of M (for a dense M only its diagonal; the full
    matrix is ``matrix``).

    ====== ======================== ====================
    symbol argument                 default
    ====== ======================== ====================
    η      ``lr``                   1e-3
    M      ``diag``/``matrix``/     I
           ``source``
    ====== ======================== ====================

    References
    ----------
    .. [1] Q. Ye, "Preconditioning for accelerated gradient descent optimization and
           regularization", arXiv:2410.00232, 2024 (abstracts of v1 and v2; equation numbers
           unverified).
    .. [2] S. Lange, K. Helfrich, Q. Ye, "Batch normalization preconditioning for neural network
           training", JMLR 23(72):1-41, 2022, arXiv:2108.01110.
    .. [3] J. Nocedal, S. J. Wright, *Numerical Optimization*, 2nd ed., Springer 2006, §3.3
           (steepest descent under a change of variables).
    """

    name: ClassVar[str] = "preconditioned"
    fidelity: ClassVar[str] = "recon"
    reference: ClassVar[str] = "Ye, arXiv:2410.00232 (2024), p = P z framework (derived; §5 of the spec)"
    has_preconditioner: ClassVar[bool] = True

    lr: Hyper = 1e-3
    diag: Any = None
    matrix: Any = None
    source: AbstractRule | None = None

    def _validate(self) -> None:
        given = [nm for nm in ("diag", "matrix", "source") if getattr(self, nm) is not None]
        if len(given) > 1:
            raise ValueError(f"give at most one of diag, matrix and source; got {', '.join(given)}")
        if self.diag is not None:
            d = host_values("diag", self.diag)
            if d.ndim < 1:
                raise ValueError(f"diag must be an array of shape (n,) or (*batch, n); got a scalar {self.diag!r}")
            if not bool(((d >= 0) & (d < float("inf"))).all()):
                raise ValueError("diag must have finite entries >= 0 (M positive semidefinite)")
        if self.matrix is not None:
            a = host_values("matrix", self.matrix)
            if a.ndim != 2 or a.shape[0] != a.shape[1]:
                raise ValueError(f"matrix must be a square (n, n) array; got shape {a.shape}")
            if not bool((abs(a) < float("inf")).all()):
                raise ValueError("matrix must have finite entries")
        if self.source is not None:
            if not isinstance(self.source, AbstractRule):
                raise TypeError(f"source must be a rule (an AbstractRule instance); got {type(self.source).__name__}")
            if not self.source.has_preconditioner:
                raise ValueError(f"source rule {self.source.name!r} has no preconditioner (has_preconditioner=False)")
            if self.source.needs_value or self.source.needs_hvp:
                raise ValueError(f"source rule {self.source.name!r} needs loss values or Hessian-vector products; "
                                 "use a source that needs only gradients")

    # Array-valued M is not a (*batch, 1) hyperparameter: check its shape against x separately.
    def _check_hp_shapes(self, x: Array) -> None:
        if hasattr(self.lr, "shape") and len(self.lr.shape) > 0:
            want = (*tuple(x.shape[:-1]), 1)
            if not (self.lr.shape[-1] == 1 and _broadcasts_to(tuple(self.lr.shape), want)):
                raise ValueError(f"hyperparameter lr has shape {tuple(self.lr.shape)}, which does not broadcast to "
                                 f"(*batch, 1) = {want} for x of shape {tuple(x.shape)}")
        if self.diag is not None and not _broadcasts_to(_shape("diag", self.diag), tuple(x.shape)):
            raise ValueError(
                f"diag has shape {_shape('diag', self.diag)}, which does not broadcast to x's shape {tuple(x.shape)}"
            )
        if self.matrix is not None and _shape("matrix", self.matrix) != (x.shape[-1], x.shape[-1]):
            raise ValueError(f"matrix has shape {_shape('matrix', self.matrix)}; x has n={x.shape[-1]} parameters, "
                             "so it must be (n, n)")
        if self.source is not None:
            self.source._check_hp_shapes(x)

    def batch_shape(self) -> tuple[int, ...]:
        shapes = [tuple(self.lr.shape[:-1])] if hasattr(self.lr, "shape") and len(self.lr.shape) else []
        if self.diag is not None:
            shapes.append(_shape("diag", self.diag)[:-1])
        if self.source is not None:
            shapes.append(self.source.batch_shape())
        return broadcast_shapes(*shapes) if shapes else ()

    def init(self, x: Array) -> PreconditionedState:
        xp = array_namespace(x)
        if self.source is not None:
            return PreconditionedState(k=0, p=None, source=self.source.init(x))
        if self.diag is not None:
            p = asarray(self.diag, xp, dtype=x.dtype)
        elif self.matrix is not None:
            p = xp.linalg.diagonal(asarray(self.matrix, xp, dtype=x.dtype))
        else:
            p = xp.ones_like(x)
        return PreconditionedState(k=0, p=p, source=None)

    def _step(self, xp, g, state, x, *, lr, value=None, hvp=None):
        k = state.k + 1
        if self.source is not None:
            _, src = self.source._step(xp, g, state.source, x, lr=self.source.lr, value=value, hvp=hvp)
            return -lr * (self.source.preconditioner(src) * g), PreconditionedState(k=k, p=None, source=src)
        if self.matrix is not None:
            M = asarray(self.matrix, xp, dtype=x.dtype)
            # (M g)_i = sum_j M_ij g_j, reduced over the last axis so batched runs stay bitwise independent
            return -lr * xp.sum(M * g[..., None, :], axis=-1), PreconditionedState(k=k, p=state.p, source=None)
        if self.diag is not None:
            return -lr * (state.p * g), PreconditionedState(k=k, p=state.p, source=None)
        return -lr * g, PreconditionedState(k=k, p=state.p, source=None)  # M = I: gradient descent

    def preconditioner(self, state: PreconditionedState) -> Array:
        if self.source is not None:
            return self.source.preconditioner(state.source)
        return state.p


def _shape(name: str, v: Any) -> tuple[int, ...]:
    return tuple(v.shape) if hasattr(v, "shape") else tuple(host_values(name, v).shape)


# ------------------------------------------------------------------------------ intrinsic variables
def _is_diagonal(P: Array, p: Array, diagonal: bool | None) -> bool:
    """Whether the factor ``P`` is a diagonal (stored as a vector) or a dense matrix."""
    if diagonal is not None:
        return bool(diagonal)
    n = p.shape[-1]
    if len(P.shape) == 1:
        return True
    as_dense = (
        len(P.shape) >= 2 and P.shape[-1] == P.shape[-2] == n
        and _broadcasts_to(tuple(P.shape[:-2]), tuple(p.shape[:-1]))
    )
    as_diag = _broadcasts_to(tuple(P.shape), tuple(p.shape))
    if as_dense and as_diag:
        raise ValueError(f"P of shape {tuple(P.shape)} could be a batch of diagonals or a dense (n, n) factor for "
                         f"p of shape {tuple(p.shape)}; pass diagonal=True or diagonal=False")
    if as_dense or as_diag:
        return as_diag
    raise ValueError(f"P of shape {tuple(P.shape)} fits p of shape {tuple(p.shape)} neither as a diagonal "
                     f"(shape broadcastable to p) nor as a dense (..., n, n) factor")


def intrinsic_factor(M: Array, *, diagonal: bool | None = None) -> Array:
    r"""A factor P with :math:`M = PP^\top`: :math:`M^{1/2}` for a diagonal M (given as its vector),
    the lower Cholesky factor for a dense SPD M.

    ``diagonal=None`` treats a 1-D ``M`` as a diagonal and a square 2-D ``M`` as dense; a
    batch of diagonals ``(*batch, n)`` needs ``diagonal=True``.
    """
    xp = array_namespace(M)
    if diagonal is None:
        diagonal = len(M.shape) == 1
    if diagonal:
        return xp.sqrt(M)
    return xp.linalg.cholesky(M)


def to_intrinsic(p: Array, P: Array, *, diagonal: bool | None = None) -> Array:
    r"""Intrinsic variables :math:`z = P^{-1} p` (so that :math:`p = Pz`).

    Parameters
    ----------
    p : array, shape ``(*batch, n)``
        Parameters.
    P : array
        The factor of :math:`M = PP^\top`: a diagonal as a vector broadcastable to ``p``
        (:math:`P = M^{1/2}`, entries > 0), or a dense ``(n, n)`` / ``(*batch, n, n)`` matrix.
    diagonal : bool, optional
        Which of the two ``P`` is; inferred from the shapes when unambiguous.
    """
    xp = array_namespace(p, P)
    if _is_diagonal(P, p, diagonal):
        return p / P
    return xp.linalg.solve(P, p[..., None])[..., 0]


def from_intrinsic(z: Array, P: Array, *, diagonal: bool | None = None) -> Array:
    r"""Parameters :math:`p = Pz` from intrinsic variables (inverse of :func:`to_intrinsic`)."""
    xp = array_namespace(z, P)
    if _is_diagonal(P, z, diagonal):
        return P * z
    return xp.matmul(P, z[..., None])[..., 0]


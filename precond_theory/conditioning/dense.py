"""Dense spectra and condition numbers, batched, on any array-API backend."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .._checks import check_choice
from .._xp import array_namespace, to_numpy
from ._shared import Array


# ===================================================================================== dense
@dataclass(frozen=True, eq=False)
class ConditioningReport:
    r"""Spectrum and conditioning of a (batch of) symmetric matrices.

    Attributes
    ----------
    eigs : array, shape ``(*batch, n)``
        Eigenvalues in ascending order (same namespace and dtype as the input).
    kappa : array, shape ``(*batch,)``
        :math:`\lambda_{\max}/\lambda_{\min}` when :math:`\lambda_{\min} > \text{tol}`, ``inf``
        otherwise (singular or indefinite), ``nan`` for non-finite input.
    neg_count, zero_count : integer arrays, shape ``(*batch,)``
        Numbers of eigenvalues below ``-tol`` and within ``[-tol, tol]``.
    tol : array, shape ``(*batch,)``
        The zero cut-off :math:`n\,\varepsilon\,\max_i|\lambda_i|` (or ``rtol * max|λ|``).
    """

    eigs: Array
    kappa: Array
    neg_count: Array
    zero_count: Array
    tol: Array

    @property
    def lambda_min(self) -> Array:
        """Smallest eigenvalue, shape ``(*batch,)``."""
        return self.eigs[..., 0]

    @property
    def lambda_max(self) -> Array:
        """Largest eigenvalue, shape ``(*batch,)``."""
        return self.eigs[..., -1]

    def to_host(self) -> dict[str, np.ndarray]:
        """Host NumPy copies of every field (for tables)."""
        return {k: to_numpy(getattr(self, k)) for k in ("eigs", "kappa", "neg_count", "zero_count", "tol")}


def _check_matrix(name: str, H: Array, *, symmetry_rtol: float | None, check: bool) -> Any:
    """Validate a (batch of) square real matrices; return the namespace."""
    if not hasattr(H, "shape") or len(H.shape) < 2:
        raise ValueError(f"{name} must be a square matrix of shape (*batch, n, n); got "
                         f"{'shape ' + str(tuple(H.shape)) if hasattr(H, 'shape') else type(H).__name__}")
    xp = array_namespace(H)
    n = H.shape[-1]
    if H.shape[-2] != n:
        raise ValueError(f"{name} must be square (*batch, n, n); got shape {tuple(H.shape)}")
    if n == 0:
        raise ValueError(f"{name} must have n >= 1; got shape {tuple(H.shape)}")
    if not xp.isdtype(H.dtype, "real floating"):
        raise TypeError(f"{name} must have a real floating dtype; got {H.dtype}")
    if not check:
        return xp
    if not bool(xp.all(xp.isfinite(H))):
        raise ValueError(f"{name} has non-finite entries (nan or inf)")
    rtol = math.sqrt(float(xp.finfo(H.dtype).eps)) if symmetry_rtol is None else float(symmetry_rtol)
    asym = xp.max(xp.abs(H - xp.matrix_transpose(H)), axis=(-2, -1))
    scale = xp.max(xp.abs(H), axis=(-2, -1))
    bad = asym > rtol * scale
    if bool(xp.any(bad)):
        worst = float(to_numpy(xp.max(asym / xp.where(scale > 0, scale, xp.ones_like(scale)))))
        raise ValueError(f"{name} is not symmetric: max|{name} - {name}^T| / max|{name}| = {worst:.3g} exceeds "
                         f"symmetry_rtol = {rtol:.3g}; pass the symmetric part or a larger symmetry_rtol")
    return xp


def _symmetric_part(xp: Any, H: Array) -> Array:
    return (H + xp.matrix_transpose(H)) / 2


def _report_from_eigs(xp: Any, w: Array, rtol: float | None) -> ConditioningReport:
    """Apply the documented cut-offs to eigenvalues ``w`` (any order; non-finite allowed)."""
    w = xp.sort(w, axis=-1)
    n = w.shape[-1]
    eps = float(xp.finfo(w.dtype).eps)
    finite = xp.all(xp.isfinite(w), axis=-1)
    wf = xp.where(xp.isfinite(w), w, xp.zeros_like(w))
    amax = xp.max(xp.abs(wf), axis=-1)
    tol = amax * (n * eps if rtol is None else float(rtol))
    lmin, lmax = wf[..., 0], wf[..., -1]
    pos = lmin > tol
    kappa = xp.where(pos, lmax / xp.where(pos, lmin, xp.ones_like(lmin)), xp.full_like(lmin, math.inf))
    kappa = xp.where(finite, kappa, xp.full_like(kappa, math.nan))
    neg = xp.sum(xp.astype(wf < -tol[..., None], xp.int64), axis=-1)
    zero = xp.sum(xp.astype(xp.abs(wf) <= tol[..., None], xp.int64), axis=-1)
    return ConditioningReport(eigs=w, kappa=kappa, neg_count=neg, zero_count=zero, tol=tol)


def _eig_report(xp: Any, A: Array, rtol: float | None, *, guard_nonfinite: bool) -> ConditioningReport:
    A = _symmetric_part(xp, A)
    if guard_nonfinite:  # a diverged run must give nan, not a LAPACK error
        ok = xp.all(xp.isfinite(A), axis=(-2, -1))
        A = xp.where(ok[..., None, None], A, xp.zeros_like(A))
        w = xp.linalg.eigvalsh(A)
        w = xp.where(ok[..., None], w, xp.full_like(w, math.nan))
    else:
        w = xp.linalg.eigvalsh(A)
    return _report_from_eigs(xp, w, rtol)


def spectrum(H: Array, *, rtol: float | None = None, symmetry_rtol: float | None = None,
             check: bool = True) -> ConditioningReport:
    r"""Eigenvalues and condition number of a symmetric matrix (batched over leading axes).

    Parameters
    ----------
    H : array, shape ``(*batch, n, n)``
        Symmetric real matrices (e.g. Hessians), any array-API backend.
    rtol : float, optional
        Zero cut-off relative to :math:`\max_i|\lambda_i|`; default :math:`n\varepsilon`.
    symmetry_rtol : float, optional
        Accepted asymmetry :math:`\max|H-H^\top|/\max|H|`; default :math:`\sqrt\varepsilon`.
    check : bool
        Validate finiteness and symmetry (one host synchronisation).  With ``check=False``
        non-finite matrices give ``kappa = nan`` instead of an error.

    Returns
    -------
    ConditioningReport
        ``eigs`` (ascending), ``kappa``, ``neg_count``, ``zero_count``, ``tol``.

    Raises
    ------
    ValueError
        Non-square, empty, non-finite or non-symmetric input (the message gives the measured
        asymmetry).
    TypeError
        Non-floating dtype.

    Notes
    -----
    Computed with ``xp.linalg.eigvalsh`` on :math:`(H+H^\top)/2`.  Cut-offs (module
    docstring): :math:`\text{tol} = n\,\varepsilon\,\max_i|\lambda_i|` (NumPy ``matrix_rank``);
    :math:`\kappa=\lambda_{\max}/\lambda_{\min}` if :math:`\lambda_{\min}>\text{tol}` else
    :math:`\infty`; ``neg_count`` = #:math:`\{\lambda_i < -\text{tol}\}`.

    Examples
    --------
    >>> import numpy as np
    >>> spectrum(np.diag([1.0, 10.0])).kappa
    array(10.)
    """
    xp = _check_matrix("H", H, symmetry_rtol=symmetry_rtol, check=check)
    return _eig_report(xp, H, rtol, guard_nonfinite=not check)


def condition_number(H: Array, p: Array | None = None, *, M: Array | None = None,
                     factor: Literal["cholesky", "sqrt"] = "cholesky", rtol: float | None = None,
                     symmetry_rtol: float | None = None, check: bool = True) -> Array:
    r"""Condition number :math:`\kappa(H)`, or :math:`\kappa(P^{1/2}HP^{1/2})` when ``p``/``M`` is given.

    Shape ``(*batch,)``; ``inf`` for singular or indefinite matrices (cut-offs as in
    :func:`spectrum`).  See :func:`preconditioned_spectrum` for ``p`` and ``M``.
    """
    if p is None and M is None:
        return spectrum(H, rtol=rtol, symmetry_rtol=symmetry_rtol, check=check).kappa
    return preconditioned_spectrum(H, p, M=M, factor=factor, rtol=rtol, symmetry_rtol=symmetry_rtol,
                                  check=check).kappa


def _check_diagonal(name: str, p: Array, n: int, xp: Any, check: bool) -> Array:
    if not hasattr(p, "shape") or len(p.shape) < 1 or p.shape[-1] != n:
        got = tuple(p.shape) if hasattr(p, "shape") else type(p).__name__
        raise ValueError(f"{name} must be the diagonal of P with shape (*batch, {n}); got {got}")
    if check:
        bad = ~(xp.isfinite(p) & (p > 0))
        if bool(xp.any(bad)):
            pm = to_numpy(p)
            raise ValueError(f"{name} must have finite, strictly positive entries (P = diag({name}) must be SPD); "
                             f"got min {name} = {np.nanmin(pm):.3g} and {int(np.sum(~(np.isfinite(pm) & (pm > 0))))} "
                             "invalid entries")
    return p


def preconditioned_spectrum(H: Array, p: Array | None = None, *, M: Array | None = None,
                            factor: Literal["cholesky", "sqrt"] = "cholesky", rtol: float | None = None,
                            symmetry_rtol: float | None = None, check: bool = True) -> ConditioningReport:
    r"""Spectrum of the preconditioned Hessian :math:`P^{1/2} H P^{1/2}` (batched).

    Parameters
    ----------
    H : array, shape ``(*batch, n, n)``
        Symmetric matrices.
    p : array, shape ``(*batch, n)``, optional
        Diagonal of a diagonal preconditioner :math:`P=\mathrm{diag}(p)` (what
        ``rule.preconditioner(state)`` returns); entries must be finite and > 0.
    M : array, shape ``(*batch, n, n)``, keyword-only, optional
        A dense symmetric positive definite preconditioner instead of ``p``.
    factor : {"cholesky", "sqrt"}
        For ``M``: use its Cholesky factor :math:`M = LL^\top` and decompose :math:`L^\top H L`,
        or its symmetric square root :math:`M^{1/2} H M^{1/2}` (from ``eigh``).  Both are
        similar to :math:`MH` and have the same eigenvalues; Cholesky is cheaper.
    rtol, symmetry_rtol, check
        As in :func:`spectrum`.

    Returns
    -------
    ConditioningReport

    Raises
    ------
    ValueError
        Both or neither of ``p`` and ``M``; ``p`` of the wrong shape or with a non-positive or
        non-finite entry; ``M`` not symmetric positive definite; ``H`` as in :func:`spectrum`.

    Notes
    -----
    With :math:`s = \sqrt p`, :math:`P^{1/2} H P^{1/2} = \mathrm{diag}(s)\,H\,\mathrm{diag}(s)`,
    the Hessian of :math:`z \mapsto f(P^{1/2}z)` (Ye [3]_, docs/spec/ye_preconditioning.md): it is
    symmetric, and similar to :math:`PH` (the iteration matrix of preconditioned gradient
    descent is :math:`I - \eta PH`), so its eigenvalues are those that set the local rate.
    Cut-offs as in :func:`spectrum`, applied to the preconditioned eigenvalues.
    """
    xp = _check_matrix("H", H, symmetry_rtol=symmetry_rtol, check=check)
    n = H.shape[-1]
    if (p is None) == (M is None):
        raise ValueError("give exactly one of p (diagonal of P, shape (*batch, n)) and M (dense SPD, shape (*batch, n, n))")
    check_choice("factor", factor, ("cholesky", "sqrt"))
    if p is not None:
        p = _check_diagonal("p", p, n, array_namespace(H, p), check)
        s = xp.sqrt(p)
        A = s[..., :, None] * H * s[..., None, :]
        return _eig_report(xp, A, rtol, guard_nonfinite=not check)
    xp = array_namespace(H, M)
    if not hasattr(M, "shape") or len(M.shape) < 2 or M.shape[-1] != n or M.shape[-2] != n:
        raise ValueError(f"M must have shape (*batch, {n}, {n}) to match H; got "
                         f"{tuple(M.shape) if hasattr(M, 'shape') else type(M).__name__}")
    _check_matrix("M", M, symmetry_rtol=symmetry_rtol, check=check)
    Ms = _symmetric_part(xp, M)
    if factor == "cholesky":
        try:
            R = xp.linalg.cholesky(Ms)
        except Exception as exc:  # noqa: BLE001  (LinAlgError on NumPy; each backend raises its own)
            raise ValueError(f"M must be symmetric positive definite (Cholesky failed: {exc})") from None
        if check and not bool(xp.all(xp.isfinite(R))):
            raise ValueError("M must be symmetric positive definite (Cholesky factor is not finite)")
        A = xp.matrix_transpose(R) @ H @ R
    else:
        w, V = xp.linalg.eigh(Ms)
        if check and not bool(xp.all(w > 0)):
            raise ValueError(f"M must be symmetric positive definite; its smallest eigenvalue is "
                             f"{float(to_numpy(xp.min(w))):.3g}")
        R = (V * xp.sqrt(xp.where(w > 0, w, xp.zeros_like(w)))[..., None, :]) @ xp.matrix_transpose(V)
        A = R @ H @ R
    return _eig_report(xp, A, rtol, guard_nonfinite=not check)



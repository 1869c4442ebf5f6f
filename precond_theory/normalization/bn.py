"""BatchNorm as preconditioning (Ye; Lange, Helfrich, Ye 2022) and the closed-form kappa of mean-shifted features."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_int, check_range
from .._xp import array_namespace, asarray, to_numpy
from ._shared import Array
from .data import RegressionData, _dtype, input_statistics
from .models import make_normalized_model


# ================================================================ BN as preconditioning (Ye)
def bn_preconditioner(mean: Any, std: Any, *, xp: Any = None, dtype: Any = None) -> Array:
    r"""Ye's BatchNorm preconditioner :math:`P = \begin{pmatrix} S^{-1} & 0\\ -\mu^\top S^{-1} & 1\end{pmatrix}`.

    Parameters
    ----------
    mean, std : arrays ``(d,)``
        Input means :math:`\mu` and standard deviations :math:`S = \mathrm{diag}(\sigma)`
        (e.g. :func:`input_statistics`); ``std`` must be positive.

    Returns
    -------
    P : array ``(d+1, d+1)``
        Maps the parameters ``[w'; b']`` of the model on standardized inputs to those of the
        raw model, ``[w; b] = P [w'; b']``, parameters ordered as in :class:`NormalizedModel`
        (weights, then bias).

    Notes
    -----
    :math:`w'^\top S^{-1}(h - \mu) + b' = (S^{-1}w')^\top h + (b' - \mu^\top S^{-1}w')`, so the
    standardized model is the raw one at :math:`\theta = P\theta'`.  Hence
    :math:`\nabla_{\theta'} = P^\top\nabla_\theta`, and gradient descent on :math:`\theta'`,
    mapped through P, is :math:`\theta_{k+1} = \theta_k - \eta\,PP^\top\nabla f(\theta_k)`:
    preconditioned gradient descent with :math:`M = PP^\top` ([1]_ §4, [2]_ §3).  Its Hessian
    is :math:`P^\top H P = \mathbb E[\tilde h\tilde h^\top]` with
    :math:`\tilde h = [S^{-1}(h-\mu); 1]`, which is the identity for uncorrelated features.
    """
    xp = array_namespace(mean, std) if xp is None else xp
    m = np.asarray(to_numpy(mean), dtype=np.float64).ravel()
    s = np.asarray(to_numpy(std), dtype=np.float64).ravel()
    if m.shape != s.shape:
        raise ValueError(f"mean and std must have the same shape; got {m.shape} and {s.shape}")
    if not np.all(np.isfinite(s) & (s > 0)):
        raise ValueError(f"std must be finite and positive; got min std = {np.min(s):.3g}")
    d = m.size
    P = np.zeros((d + 1, d + 1))
    P[:d, :d] = np.diag(1 / s)
    P[d, :d] = -m / s
    P[d, d] = 1.0
    return asarray(P, xp, _dtype(xp, dtype))


@dataclass(frozen=True)
class BNPreconditioningCheck:
    """Result of :func:`check_bn_preconditioning` (host floats)."""

    max_param_gap: float  # max_k ||theta_k - P theta'_k|| / max(1, ||theta_k||)
    max_grad_gap: float  # max_k ||grad_std(theta'_k) - P^T grad_raw(P theta'_k)|| / ||grad_std||
    kappa_raw: float
    kappa_preconditioned: float  # kappa(M^1/2 H M^1/2), M = P P^T
    kappa_standardized: float  # kappa of the standardized model's Hessian
    steps: int


def check_bn_preconditioning(data: RegressionData, *, lr: float = 0.1, steps: int = 50,
                             theta0: Array | None = None) -> BNPreconditioningCheck:
    r"""Gradient descent on the BatchNorm reparameterization equals preconditioned GD with :math:`M=PP^\top`.

    Runs :math:`\theta'_{k+1} = \theta'_k - \eta\nabla f_{\text{std}}(\theta'_k)` on the
    standardized linear model (full-batch BN of the inputs) and
    :math:`\theta_{k+1} = \theta_k - \eta PP^\top\nabla f_{\text{raw}}(\theta_k)` on the raw one from
    :math:`\theta_0 = P\theta'_0`, and reports the largest gap between :math:`\theta_k` and
    :math:`P\theta'_k` (zero up to round-off), together with the condition numbers
    :math:`\kappa(H_{\text{raw}})`, :math:`\kappa(M^{1/2}H_{\text{raw}}M^{1/2})` and
    :math:`\kappa(H_{\text{std}})` (the last two equal: :math:`P^\top HP` is similar to :math:`MH`).
    """
    from ..conditioning import condition_number

    check_range("lr", lr, 0.0, lo_open=True)
    steps = check_int("steps", steps, 0)
    raw = make_normalized_model(data, "raw")
    std = make_normalized_model(data, "standardize")
    xp = raw.xp
    m, s = input_statistics(data.X)
    P = bn_preconditioner(m, s, xp=xp, dtype=raw.dtype)
    M = P @ xp.matrix_transpose(P)
    tp = std.default_x0() if theta0 is None else theta0
    th = P @ tp
    pgap = ggap = 0.0
    for _ in range(steps + 1):
        g_std = std.grad(tp)
        g_raw = raw.grad(th)
        ggap = max(ggap, _rel(xp, g_std - xp.matrix_transpose(P) @ raw.grad(P @ tp), g_std))
        pgap = max(pgap, _rel(xp, th - P @ tp, th))
        tp = tp - lr * g_std
        th = th - lr * (M @ g_raw)
    H = raw.hessian(raw.default_x0())
    return BNPreconditioningCheck(
        max_param_gap=pgap, max_grad_gap=ggap, kappa_raw=float(condition_number(H)),
        kappa_preconditioned=float(condition_number(H, M=M)),
        kappa_standardized=float(condition_number(std.hessian(std.default_x0()))), steps=steps)


def _rel(xp: Any, a: Array, ref: Array) -> float:
    na = float(to_numpy(xp.linalg.vector_norm(a)))
    nr = float(to_numpy(xp.linalg.vector_norm(ref)))
    return na / max(nr, 1.0)


# ======================================================================= closed-form kappa
def mean_shift_spectrum(dim: int, mean: float, std: float) -> np.ndarray:
    r"""Eigenvalues of :math:`\mathbb E[\hat h\hat h^\top]` for iid features of mean μ and std σ.

    The least-squares Hessian of :math:`w^\top h + b` (factor 1/N per sample) in :math:`[w; b]`
    is the second moment of :math:`\hat h = [h; 1]`:

    .. math:: A = \begin{pmatrix}\sigma^2 I_d + \mu^2\mathbf 1\mathbf 1^\top & \mu\mathbf 1\\
                 \mu\mathbf 1^\top & 1\end{pmatrix}.

    Returns the d + 1 eigenvalues ascending (host float64).

    Notes
    -----
    Derivation.  (i) For :math:`u \perp \mathbf 1`, :math:`A[u; 0] = \sigma^2[u; 0]`: eigenvalue
    :math:`\sigma^2` with multiplicity d − 1.  (ii) The orthogonal complement is spanned by
    :math:`[\mathbf 1/\sqrt d; 0]` and :math:`[0; 1]`, on which A acts as

    .. math:: B = \begin{pmatrix}\sigma^2 + d\mu^2 & \sqrt d\,\mu\\ \sqrt d\,\mu & 1\end{pmatrix},
       \qquad \operatorname{tr}B = 1 + \sigma^2 + d\mu^2 =: T,\qquad \det B = \sigma^2,

    so :math:`\lambda_\pm = \big(T \pm \sqrt{T^2 - 4\sigma^2}\big)/2`, with
    :math:`\lambda_+\lambda_- = \sigma^2`.  By interlacing (or from :math:`T \ge 1+\sigma^2`),
    :math:`\lambda_- \le \min(1, \sigma^2) \le \sigma^2 \le \lambda_+`, hence
    :math:`\kappa = \lambda_+/\lambda_- = \lambda_+^2/\sigma^2` (:func:`mean_shift_kappa`).
    For μ = 0 this is :math:`\max(\sigma^2, 1/\sigma^2)`; for large :math:`d\mu^2`,
    :math:`\kappa \approx (1 + \sigma^2 + d\mu^2)^2/\sigma^2`: the mean adds a rank-one spike
    (docs/spec/ye_preconditioning.md).  Standardization (BN) gives :math:`A = I`, κ = 1.
    """
    d = check_int("dim", dim, 1)
    check_range("std", std, 0.0, lo_open=True)
    mu, s2 = float(mean), float(std) ** 2
    T = 1 + s2 + d * mu * mu
    disc = math.sqrt(max(T * T - 4 * s2, 0.0))
    lam_plus = (T + disc) / 2
    lam_minus = s2 / lam_plus  # = (T - disc)/2 without cancellation
    return np.sort(np.concatenate([[lam_minus], np.full(d - 1, s2), [lam_plus]]))


def mean_shift_kappa(dim: int, mean: float, std: float) -> float:
    r""":math:`\kappa = \lambda_+^2/\sigma^2` with :math:`\lambda_+ = (T + \sqrt{T^2-4\sigma^2})/2`,
    :math:`T = 1+\sigma^2+d\mu^2` (derivation in :func:`mean_shift_spectrum`)."""
    w = mean_shift_spectrum(dim, mean, std)
    return float(w[-1] / w[0])



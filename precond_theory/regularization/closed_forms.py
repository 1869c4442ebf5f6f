r"""Host-side closed forms for regularized, preconditioned runs on quadratics with a frozen SPD
preconditioner (derivations: ``docs/regularization.md``)."""

from __future__ import annotations

import math
import warnings
from typing import Any, NamedTuple

import numpy as np

from .._checks import check_choice, check_range, host_values
from .._xp import to_numpy
from .wrappers import KINDS, L1_KINDS, _check_lam


# ============================================================================ closed forms (host)
class EffectiveObjective(NamedTuple):
    r"""The objective whose minimiser is the fixed point of a regularized, preconditioned run:

    .. math:: F(p) = \tfrac12 p^\top K p - r^\top p + \sum_i w_i |p_i| \;(+\text{const})

    ``hessian`` = K, ``rhs`` = r, ``l1_weights`` = w (None for the quadratic kinds),
    ``penalty`` a text formula of the penalty in p.
    """

    kind: str
    hessian: np.ndarray
    rhs: np.ndarray
    l1_weights: np.ndarray | None
    penalty: str

    def value(self, p: Any) -> np.ndarray:
        """F(p) for host points ``p`` of shape ``(..., n)`` (without the constant)."""
        p = np.asarray(p, dtype=np.float64)
        out = 0.5 * np.einsum("...i,ij,...j->...", p, self.hessian, p) - p @ self.rhs
        if self.l1_weights is not None:
            out = out + np.abs(p) @ self.l1_weights
        return out


class Shrinkage(NamedTuple):
    r"""Per-direction shrinkage of a regularized fixed point relative to the unregularized solution
    :math:`x_0 = A^{+}b`:

    .. math:: p_\lambda = B\,\mathrm{diag}(s)\,D^\top x_0

    ``factors`` = s, ``curvatures`` the curvature of each direction (eigenvalues of A, or of
    :math:`M^{1/2}AM^{1/2}` for the z/decoupled kinds, or the diagonal of A for L1),
    ``basis`` = B (columns: the directions in p), ``dual`` = D (:math:`D^\top B = I`).
    """

    kind: str
    factors: np.ndarray
    curvatures: np.ndarray
    basis: np.ndarray
    dual: np.ndarray


def _host_matrix(name: str, A: Any) -> np.ndarray:
    a = np.asarray(to_numpy(A), dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] < 1:
        raise ValueError(f"{name} must be a square matrix (n, n); got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite")
    scale = max(np.abs(a).max(), np.finfo(np.float64).tiny)
    if np.abs(a - a.T).max() > 1e3 * np.finfo(np.float64).eps * scale:
        raise ValueError(f"{name} must be symmetric (the Hessian of a quadratic); max |{name} - {name}^T| = "
                         f"{np.abs(a - a.T).max():.3g}")
    a = (a + a.T) / 2
    w = np.linalg.eigvalsh(a)
    if w[0] < -a.shape[0] * np.finfo(np.float64).eps * max(abs(w[-1]), 1e-300) * 10:
        raise ValueError(f"{name} must be positive semidefinite (a convex quadratic); "
                         f"its smallest eigenvalue is {w[0]:.3g}")
    return a


def _host_rhs(A: np.ndarray, b: Any, x_star: Any) -> np.ndarray:
    if (b is None) == (x_star is None):
        raise ValueError("give exactly one of b= (the linear term: ∇L(p) = A p - b) and x_star= (then b = A x_star)")
    n = A.shape[0]
    v = np.asarray(to_numpy(b if b is not None else x_star), dtype=np.float64)
    if v.shape != (n,):
        raise ValueError(f"{'b' if b is not None else 'x_star'} must have shape ({n},); got {v.shape}")
    return v if b is not None else A @ v


def _host_metric(M: Any, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """(M, M^{1/2}, M^{-1/2}) as dense (n, n) matrices, and whether M is diagonal."""
    if M is None:
        eye = np.eye(n)
        return eye, eye, eye, True
    m = np.asarray(to_numpy(M), dtype=np.float64)
    if m.ndim == 0:
        m = np.full(n, float(m))
    if m.ndim == 1:
        if m.shape != (n,):
            raise ValueError(f"M (diagonal preconditioner) must have shape ({n},); got {m.shape}")
        check_range("M", m, 0.0, lo_open=True)
        return np.diag(m), np.diag(np.sqrt(m)), np.diag(1 / np.sqrt(m)), True
    m = _host_matrix("M", m)
    if m.shape[0] != n:
        raise ValueError(f"M must be ({n}, {n}); got {m.shape}")
    w, V = np.linalg.eigh(m)
    if w[0] <= 0:
        raise ValueError(f"M must be symmetric positive definite; its smallest eigenvalue is {w[0]:.3g}")
    return m, (V * np.sqrt(w)) @ V.T, (V / np.sqrt(w)) @ V.T, bool(np.all(m == np.diag(np.diag(m))))


def _lam_lr(kind: str, lam: Any, lr: Any) -> float:
    lam = float(host_values("lam", lam))
    _check_lam(lam)
    if kind == "decoupled_fixed":
        if lr is None:
            raise ValueError("kind 'decoupled_fixed' (decay not scaled by lr) needs lr= (the step size η): "
                             "its penalty is (λ/(2η)) pᵀ M⁻¹ p")
        check_range("lr", lr, 0.0, lo_open=True)
        return lam / float(lr)
    return lam


def effective_objective(kind: str, A: Any, *, b: Any = None, x_star: Any = None, lam: float, M: Any = None,
                        lr: float | None = None) -> EffectiveObjective:
    r"""The effective objective each regularization choice minimises, for the quadratic
    :math:`L = \tfrac12 p^\top A p - b^\top p` and a frozen SPD preconditioner M.

    Notes
    -----
    Every choice with a frozen M is preconditioned gradient descent :math:`p - \eta M\nabla F`
    (or its proximal version) on (derivations in ``docs/regularization.md``):

    ==================== ===================================== ===============================
    kind                 K (Hessian of F)                      r / L1 weights w
    ==================== ===================================== ===============================
    none                 :math:`A`                             :math:`b`
    l2_p                 :math:`A + \lambda I`                 :math:`b`
    l2_z, decoupled      :math:`A + \lambda M^{-1}`            :math:`b`
    decoupled_fixed      :math:`A + (\lambda/\eta) M^{-1}`     :math:`b`
    l1_p, l1_p_prox      :math:`A`                             :math:`w = \lambda`
    l1_z, l1_z_prox      :math:`A`                             :math:`w_i = \lambda M_{ii}^{-1/2}` (M diagonal)
    gradnorm_p           :math:`A + \lambda A^2`               :math:`r = (I + \lambda A) b`
    gradnorm_z           :math:`A + \lambda AMA`               :math:`r = (I + \lambda AM) b`
    ==================== ===================================== ===============================

    Parameters
    ----------
    kind : one of :data:`KINDS`
    A : (n, n) symmetric positive semidefinite
    b, x_star : (n,), exactly one (``x_star`` gives ``b = A x_star``)
    lam : float ≥ 0
    M : None (identity), (n,) diagonal, or (n, n) SPD
    lr : float, only for ``decoupled_fixed``
    """
    check_choice("kind", kind, KINDS)
    A = _host_matrix("A", A)
    r = _host_rhs(A, b, x_star)
    n = A.shape[0]
    lam_e = _lam_lr(kind, lam, lr)
    Mm, _, Mh_inv, diag = _host_metric(M, n)
    if kind == "none":
        return EffectiveObjective(kind, A, r, None, "0")
    if kind == "l2_p":
        return EffectiveObjective(kind, A + lam_e * np.eye(n), r, None, "(λ/2)‖p‖²")
    if kind in ("l2_z", "decoupled", "decoupled_fixed"):
        Minv = Mh_inv @ Mh_inv
        txt = "(λ/2) pᵀM⁻¹p = (λ/2)‖z‖²" if kind != "decoupled_fixed" else "(λ/(2η)) pᵀM⁻¹p"
        return EffectiveObjective(kind, A + lam_e * (Minv + Minv.T) / 2, r, None, txt)
    if kind in ("l1_p", "l1_p_prox"):
        return EffectiveObjective(kind, A, r, np.full(n, lam_e), "λ‖p‖₁")
    if kind in ("l1_z", "l1_z_prox"):
        if not diag:
            raise ValueError(f"kind {kind!r} needs a diagonal M (L1 in z = λ‖M^(-1/2) p‖₁ is separable only then)")
        return EffectiveObjective(kind, A, r, lam_e / np.sqrt(np.diag(Mm)), "λ‖M^(-1/2) p‖₁ = λ‖z‖₁")
    if kind == "gradnorm_p":
        return EffectiveObjective(kind, A + lam_e * A @ A, r + lam_e * A @ r, None, "(λ/2)‖∇L‖²")
    K = A + lam_e * A @ Mm @ A
    return EffectiveObjective(kind, (K + K.T) / 2, r + lam_e * A @ (Mm @ r), None, "(λ/2) ∇LᵀM∇L = (λ/2)‖∇_z L‖²")


def _rank_tol(w: np.ndarray) -> float:
    # eigenvalues below n·eps·max|w| are round-off of zero (NumPy's matrix_rank convention)
    return w.size * np.finfo(np.float64).eps * max(float(np.abs(w).max()), np.finfo(np.float64).tiny)


def _weighted_lasso(A: np.ndarray, r: np.ndarray, w: np.ndarray) -> np.ndarray:
    """argmin ½pᵀAp − rᵀp + Σ w_i|p_i|: closed form for diagonal A; otherwise cyclic coordinate
    descent, polished by an exact solve on the support it identifies (accepted only when the
    KKT conditions then hold)."""
    d = np.diag(A)
    if np.any(d <= 0):
        raise ValueError("the L1 fixed point needs a positive diagonal of A")
    if np.all(A == np.diag(d)):
        return np.sign(r) * np.maximum(np.abs(r) - w, 0.0) / d
    eps = np.finfo(np.float64).eps
    p = np.zeros_like(r)
    for sweep in range(1, 100_001):
        delta = 0.0
        for i in range(r.size):
            u = r[i] - A[i] @ p + d[i] * p[i]
            new = np.sign(u) * max(abs(u) - w[i], 0.0) / d[i]
            delta = max(delta, abs(new - p[i]))
            p[i] = new
        if sweep % 20 == 0 or delta == 0.0:
            polished = _polish_lasso(A, r, w, p)
            if polished is not None:
                return polished
            if delta <= 1e3 * eps * max(np.abs(p).max(), 1e-300):
                return p
    raise RuntimeError("coordinate descent for the L1 fixed point did not converge in 100000 sweeps")


def _polish_lasso(A: np.ndarray, r: np.ndarray, w: np.ndarray, p: np.ndarray) -> np.ndarray | None:
    """Exact solution on the support S and signs s of ``p``: A_SS p_S = r_S - w_S s_S, if it
    keeps those signs and satisfies |(r - A p)_i| <= w_i off S (KKT, to round-off)."""
    S = p != 0
    q = np.zeros_like(p)
    if S.any():
        s = np.sign(p[S])
        try:
            q[S] = np.linalg.solve(A[np.ix_(S, S)], r[S] - w[S] * s)
        except np.linalg.LinAlgError:
            return None
        if np.any(np.sign(q[S]) != s):
            return None
    g = r - A @ q
    slack = 1e3 * np.finfo(np.float64).eps * (np.abs(A).sum(axis=1) * max(np.abs(q).max(), 1.0) + np.abs(r) + w)
    return q if np.all(np.abs(g[~S]) <= w[~S] + slack[~S]) else None


def fixed_point(kind: str, A: Any, *, b: Any = None, x_star: Any = None, lam: float, M: Any = None,
                lr: float | None = None, x0: Any = None) -> np.ndarray:
    r"""The point a regularized run with a *frozen* preconditioner M converges to (host array).

    Notes
    -----
    For the quadratic kinds (:data:`QUADRATIC_KINDS`) this is the limit of
    :math:`p \leftarrow p - \eta M(Kp - r)` (:func:`effective_objective`), for any step size
    with :func:`linear_rate` < 1.  In :math:`z = P^{-1}p` it is gradient descent on
    :math:`\tfrac12 z^\top\tilde K z - (Pr)^\top z`, :math:`\tilde K = PKP`, so

    .. math:: p_\infty = P\big(\tilde K^{+}P r + \Pi_{\ker\tilde K}\,P^{-1}x_0\big)

    which is :math:`K^{-1}r` when K is nonsingular (e.g. coupled L2:
    :math:`(A+\lambda I)^{-1}b`; decoupled: :math:`(A+\lambda M^{-1})^{-1}b`), and otherwise
    keeps the null-space part of the start (the implicit bias of preconditioned GD: with
    :math:`x_0 = 0` the minimum-:math:`\|p\|_{M^{-1}}` solution).  Eigenvalues of :math:`\tilde K`
    below :math:`n\varepsilon\max|\tilde k|` count as zero.  For the gradient-norm kinds with A
    nonsingular the fixed point is the unregularized :math:`A^{-1}b`: the penalty vanishes at
    every minimiser of L, it only changes the curvature (K) and hence the path.

    For the L1 kinds the fixed point is the weighted lasso
    :math:`\arg\min \tfrac12p^\top Ap - b^\top p + \sum_i w_i|p_i|`; for diagonal A in closed form,
    :math:`p_i = S_{w_i}(b_i)/A_{ii}`, otherwise by cyclic coordinate descent on the host,
    polished by an exact solve on the support and signs it finds (accepted only when the KKT
    conditions then hold to :math:`10^3\varepsilon` relative).  The prox versions converge to it; the
    subgradient versions with a constant step only reach a neighbourhood of size about
    :math:`\eta\lambda M` (p) or :math:`\eta\lambda M^{1/2}` (z) around it.

    Parameters
    ----------
    kind, A, b, x_star, lam, M, lr : as in :func:`effective_objective`
    x0 : (n,), optional
        Start of the run (default 0); matters only when K is singular.

    Raises
    ------
    ValueError
        When :math:`Pr` has a component in the null space of :math:`\tilde K` (the run then has
        no fixed point: it drifts linearly).
    """
    obj = effective_objective(kind, A, b=b, x_star=x_star, lam=lam, M=M, lr=lr)
    n = obj.rhs.size
    if obj.l1_weights is not None:
        return _weighted_lasso(obj.hessian, obj.rhs, obj.l1_weights)
    _, Ph, Ph_inv, _ = _host_metric(M, n)
    Kt = Ph @ obj.hessian @ Ph
    Kt = (Kt + Kt.T) / 2
    w, V = np.linalg.eigh(Kt)
    keep = w > _rank_tol(w)
    if np.all(keep):
        return np.linalg.solve(obj.hessian, obj.rhs)
    rt = Ph @ obj.rhs
    Vn = V[:, ~keep]
    if np.linalg.norm(Vn.T @ rt) > 1e3 * np.finfo(np.float64).eps * max(np.linalg.norm(rt), 1e-300) * np.sqrt(n):
        raise ValueError(f"kind {kind!r}: the linear term has a component in the null space of the effective Hessian; "
                         "the run has no fixed point (b must lie in the range of A)")
    z0 = np.zeros(n) if x0 is None else Ph_inv @ np.asarray(to_numpy(x0), dtype=np.float64)
    Vk = V[:, keep]
    z = Vk @ ((Vk.T @ rt) / w[keep]) + Vn @ (Vn.T @ z0)
    return Ph @ z


def shrinkage(kind: str, A: Any, *, lam: float, M: Any = None, lr: float | None = None, b: Any = None,
              x_star: Any = None) -> Shrinkage:
    r"""Effective shrinkage per eigendirection (see :class:`Shrinkage`).

    Notes
    -----
    * ``l2_p``: :math:`A = U\,\mathrm{diag}(a)U^\top`,
      :math:`(A+\lambda I)^{-1}A = U\,\mathrm{diag}\big(\tfrac{a_i}{a_i+\lambda}\big)U^\top`:
      ridge shrinkage along the eigenvectors of A, independent of M.
    * ``l2_z``/``decoupled`` (λ → λ/η for ``decoupled_fixed``): with :math:`P = M^{1/2}`,
      :math:`\tilde A = PAP = V\mathrm{diag}(\tilde a)V^\top`,
      :math:`(A+\lambda M^{-1})^{-1}A = PV\,\mathrm{diag}\big(\tfrac{\tilde a_i}{\tilde a_i+\lambda}\big)V^\top P^{-1}`:
      ridge shrinkage in the *preconditioned* eigenbasis; directions that M scales up
      (small curvature, large M) have large :math:`\tilde a` relative to λ and are shrunk less.
    * ``none``, ``gradnorm_*``: factors 1 (no shrinkage of the fixed point).
    * L1 kinds (diagonal A and M only): :math:`s_i = \max(0, 1 - w_i/(A_{ii}|x_{0,i}|))`, with w
      from :func:`effective_objective`; needs ``b`` or ``x_star``.
    """
    check_choice("kind", kind, KINDS)
    A_ = _host_matrix("A", A)
    n = A_.shape[0]
    lam_e = _lam_lr(kind, lam, lr)
    if kind in L1_KINDS:
        if not np.all(A_ == np.diag(np.diag(A_))):
            raise ValueError(f"kind {kind!r}: per-direction shrinkage of the L1 fixed point is closed-form only for a "
                             "diagonal A; use fixed_point() instead")
        obj = effective_objective(kind, A_, b=b, x_star=x_star, lam=lam, M=M, lr=lr)
        d = np.diag(A_)
        x_ref = obj.rhs / d
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.where(x_ref != 0, np.maximum(0.0, 1 - obj.l1_weights / (d * np.abs(x_ref))), 0.0)
        return Shrinkage(kind, s, d, np.eye(n), np.eye(n))
    if kind in ("l2_z", "decoupled", "decoupled_fixed"):
        _, Ph, Ph_inv, _ = _host_metric(M, n)
        w, V = np.linalg.eigh(Ph @ A_ @ Ph)
        w = np.maximum(w, 0.0)
        return Shrinkage(kind, w / (w + lam_e) if lam_e > 0 else np.ones(n), w, Ph @ V, Ph_inv @ V)
    w, U = np.linalg.eigh(A_)
    w = np.maximum(w, 0.0)
    if kind == "l2_p" and lam_e > 0:
        return Shrinkage(kind, w / (w + lam_e), w, U, U)
    return Shrinkage(kind, np.ones(n), w, U, U)


def linear_rate(kind: str, A: Any, *, lam: float, M: Any = None, lr: float) -> float:
    r"""Contraction factor per step of the frozen-M iteration:
    :math:`\rho = \max_i |1 - \eta\tilde k_i|` over the nonzero eigenvalues :math:`\tilde k_i` of
    :math:`M^{1/2}KM^{1/2}` (:func:`effective_objective`), so that
    :math:`\|z_k - z_\infty\| \le \rho^k\|z_0 - z_\infty\|` in :math:`z = M^{-1/2}p`.  For the L1
    kinds K = A: the forward-backward map is then a ρ-contraction in z (the prox is nonexpansive);
    the subgradient versions are not contractions near zero coordinates."""
    check_choice("kind", kind, KINDS)
    check_range("lr", lr, 0.0, lo_open=True)
    A_ = _host_matrix("A", A)
    n = A_.shape[0]
    if kind in L1_KINDS:
        K = A_
    else:
        K = effective_objective(kind, A_, b=np.zeros(n), lam=lam, M=M, lr=lr).hessian
    _, Ph, _, _ = _host_metric(M, n)
    w = np.linalg.eigvalsh(Ph @ K @ Ph)
    w = w[w > _rank_tol(w)]
    return float(np.max(np.abs(1 - float(lr) * w))) if w.size else 1.0


def ema_fixed_point(kind: str, A: Any, *, b: Any = None, x_star: Any = None, lam: float, eps: float,
                    lr: float | None = None, max_iter: int = 200) -> np.ndarray:
    r"""Fixed point of a regularized run whose preconditioner is the EMA one of Adam or RMSProp,
    :math:`M = 1/(\sqrt{v}+\epsilon)`, with exact gradients, once :math:`v \to (\nabla L)^2`,
    :math:`\hat m \to \nabla L` (bias corrections → 1; momentum on m does not move fixed points).

    Notes
    -----
    At a fixed point :math:`M_{ii} = 1/(|g_i| + \epsilon)` with :math:`g = \nabla L(p_\infty)` (the
    gradient the rule sees), so M is set by the fixed point itself:

    * penalty on the gradient the rule sees (``none``, ``l2_p``, ``l1_p*``, ``gradnorm_*``):
      stationarity :math:`g_{\text{seen}} = 0` does not involve M: same as :func:`fixed_point`.
    * ``decoupled``/``l2_z`` (and ``decoupled_fixed`` with λ/η):
      :math:`g_i/(|g_i|+\epsilon) = -\lambda p_i`, i.e. :math:`\nabla_i L = -\epsilon\lambda p_i/(1-\lambda|p_i|)`:
      the minimiser of :math:`L(p) + \epsilon\sum_i\psi(p_i)`,
      :math:`\psi(t) = -\tfrac1\lambda\log(1-\lambda|t|) - |t|`, a barrier for the box
      :math:`\|p\|_\infty < 1/\lambda`.  As ε → 0 this is :math:`\arg\min L` s.t.
      :math:`\|p\|_\infty \le 1/\lambda` (Xie & Li 2024).  Solved by damped Newton (strictly convex
      for λ > 0, ε > 0) to a gradient norm of :math:`10^3\varepsilon_{64}` relative.
    * ``l1_z``/``l1_z_prox``: on the support :math:`\sqrt{M_{ii}}|g_i| = \lambda`, i.e.
      :math:`|g_i| = u` with :math:`u/\sqrt{u+\epsilon} = \lambda`,
      :math:`u = (\lambda^2 + \lambda\sqrt{\lambda^2+4\epsilon})/2`, and off it :math:`|g_i| \le u`:
      a lasso with weight u (→ λ² as ε → 0), not λ.  (For the subgradient version, in the same
      neighbourhood sense as in :func:`fixed_point`.)

    AdaGrad is different: its accumulator grows without bound when the seen gradient does not
    vanish, so with decoupled decay M_k → 0 and :math:`p_k` tracks
    :func:`fixed_point` ("decoupled", M = M_k), drifting to 0 (shown in the experiment).
    """
    check_choice("kind", kind, KINDS)
    check_range("eps", eps, 0.0)
    A_ = _host_matrix("A", A)
    r = _host_rhs(A_, b, x_star)
    n = A_.shape[0]
    if kind in ("l1_z", "l1_z_prox"):
        lam_v = float(host_values("lam", lam))
        _check_lam(lam_v)
        u = (lam_v**2 + lam_v * math.sqrt(lam_v**2 + 4 * float(eps))) / 2
        return _weighted_lasso(A_, r, np.full(n, u))
    if kind not in ("decoupled", "l2_z", "decoupled_fixed"):
        return fixed_point(kind, A_, b=r, lam=lam, lr=lr)
    lam_e = _lam_lr(kind, lam, lr)
    if lam_e == 0:
        raise ValueError("the decoupled EMA fixed point needs lam > 0 (with lam = 0 it is argmin L)")
    eps = float(eps)
    if eps == 0:
        raise ValueError("ema_fixed_point for decoupled decay needs eps > 0 (eps = 0 is the box-constrained "
                         "problem min L s.t. ||p||_inf <= 1/lam, not solved here)")
    R = 1.0 / lam_e

    def parts(p: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        s = 1 - lam_e * np.abs(p)
        f = 0.5 * p @ A_ @ p - r @ p + eps * np.sum(-np.log(s) / lam_e - np.abs(p))
        grad = A_ @ p - r + eps * lam_e * p / s
        return f, grad, eps * lam_e / s**2

    p = np.zeros(n)
    f, grad, h = parts(p)
    for _ in range(max_iter):
        step = np.linalg.solve(A_ + np.diag(h), -grad)
        # largest t keeping |p + t step| < R in every coordinate, times 0.99 (stay strictly inside)
        with np.errstate(divide="ignore"):
            room = np.where(step > 0, (R - p) / step, np.where(step < 0, (R + p) / -step, np.inf))
        t = min(1.0, 0.99 * float(np.min(room)))
        while True:  # Armijo backtracking
            q = p + t * step
            fq, gq, hq = parts(q)
            if fq <= f + 1e-4 * t * (grad @ step) or t < 1e-16:
                break
            t /= 2
        moved = np.max(np.abs(q - p))
        p, f, grad, h = q, fq, gq, hq
        # converged when the Newton step no longer moves p beyond round-off (the barrier gradient
        # near |p| = 1/λ is only accurate to about eps_64 / (1 - λ|p|), so a gradient test would stall)
        if moved <= 1e2 * np.finfo(np.float64).eps * max(1.0, float(np.max(np.abs(p)))):
            return p
    warnings.warn(f"ema_fixed_point: Newton stopped after {max_iter} iterations with |grad| = "
                  f"{np.linalg.norm(grad):.3g}", RuntimeWarning, stacklevel=2)
    return p

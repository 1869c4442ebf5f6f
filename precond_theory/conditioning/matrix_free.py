"""Extreme eigenvalues from Hessian-vector products only (Lanczos by default; ARPACK, LOBPCG)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .._checks import check_choice, check_int, check_range
from .._xp import array_namespace, asarray, is_cupy, to_numpy
from ._shared import Array, ConvergenceWarning
from .dense import _check_diagonal


# =============================================================================== matrix-free
@dataclass(frozen=True, eq=False)
class ExtremeEigenvalues:
    r"""Result of :func:`extreme_eigenvalues`; unpacks as ``lambda_min, lambda_max``.

    Attributes
    ----------
    lambda_min, lambda_max : float
        Ritz values at the two ends of the spectrum.  Ritz values always lie inside the
        spectrum, so ``lambda_min`` is an upper bound of the true smallest eigenvalue and
        ``lambda_max`` a lower bound of the largest.
    residual_min, residual_max : float
        Residual norms :math:`\|Ay - \theta y\|` of the two Ritz pairs (unit y): an eigenvalue
        of A lies within this distance of each Ritz value (Krylov–Bogoliubov bound).  For the
        Lanczos method they are the standard estimates :math:`\beta_k|e_k^\top s|`.
    n_hvp : int
        Hessian-vector products used (including the two of the symmetry check).
    n_restarts : int
        Thick restarts (Lanczos) or solver passes (ARPACK: 2 or 3).
    converged : bool
        Every requested end met its tolerance.
    method : str
    n : int
    """

    lambda_min: float
    lambda_max: float
    residual_min: float
    residual_max: float
    n_hvp: int
    n_restarts: int
    converged: bool
    method: str
    n: int
    eps: float

    def __iter__(self) -> Iterator[float]:
        yield self.lambda_min
        yield self.lambda_max

    @property
    def tol(self) -> float:
        r"""Zero cut-off :math:`n\,\varepsilon\,\max(|\lambda_{\min}|, |\lambda_{\max}|)` (as in :func:`spectrum`)."""
        return self.n * self.eps * max(abs(self.lambda_min), abs(self.lambda_max))

    @property
    def kappa(self) -> float:
        """``lambda_max / lambda_min`` when ``lambda_min > tol``, else ``inf``."""
        return self.lambda_max / self.lambda_min if self.lambda_min > self.tol else math.inf

    @property
    def indefinite(self) -> bool:
        """``lambda_min < -tol`` (a saddle or maximum)."""
        return self.lambda_min < -self.tol


def _resolve_vector_space(p: Any, v0: Any, xp: Any, dtype: Any) -> tuple[Any, Any]:
    if v0 is not None:
        xp = array_namespace(v0)
        dtype = v0.dtype if dtype is None else dtype
    elif p is not None:
        xp = array_namespace(p)
        dtype = p.dtype if dtype is None else dtype
    elif xp is None:
        import array_api_compat.numpy as xp
    else:
        xp = array_namespace(xp.zeros(1))
    if dtype is None:
        dtype = xp.float64
    elif isinstance(dtype, str):
        dtype = getattr(xp, dtype.split(".")[-1])
    return xp, dtype


class _Operator:
    """``v -> s * hvp(s * v)`` on vectors of shape ``(n,)``, counting products.

    ``scan=False`` skips the scan of every product for non-finite entries: for a caller that checks
    the scalars the product feeds (a NaN or inf entry makes ``q.Hq`` or ``||r||`` non-finite) and
    raises :meth:`non_finite` itself.
    """

    def __init__(self, hvp: Callable[[Array], Array], n: int, s: Array | None, xp: Any, scan: bool = True) -> None:
        self.hvp, self.n, self.s, self.xp, self.count, self.scan = hvp, n, s, xp, 0, scan

    def non_finite(self) -> ValueError:
        return ValueError(f"hvp returned a non-finite value (NaN or inf) at product {self.count}; "
                          "the Hessian-vector product must be finite at the point where it is evaluated")

    def __call__(self, v: Array) -> Array:
        self.count += 1
        u = v if self.s is None else self.s * v
        w = self.hvp(u)
        if self.count == 1:
            if not hasattr(w, "shape") or tuple(w.shape) != (self.n,):
                raise ValueError(f"hvp must map a vector of shape ({self.n},) to one of shape ({self.n},); got "
                                 f"{tuple(w.shape) if hasattr(w, 'shape') else type(w).__name__}")
            array_namespace(w, v)  # same backend
        if self.scan and not bool(self.xp.all(self.xp.isfinite(w))):
            raise self.non_finite()
        return w if self.s is None else self.s * w


def _norm(xp: Any, v: Array) -> float:
    return float(to_numpy(xp.linalg.vector_norm(v)))


def _dot(xp: Any, a: Array, b: Array) -> float:
    return float(to_numpy(xp.sum(a * b)))


def _check_symmetric(op: _Operator, xp: Any, dtype: Any, n: int, eps: float, rng: Any) -> None:
    """Raise ``ValueError`` unless ``u.Hv = v.Hu`` to ``sqrt(eps)`` for two random vectors (two products)."""
    u = asarray(rng.standard_normal(n), xp, dtype)
    v = asarray(rng.standard_normal(n), xp, dtype)
    Au, Av = op(u), op(v)
    gap = abs(_dot(xp, u, Av) - _dot(xp, v, Au))
    scale = _norm(xp, Av) * _norm(xp, u) + _norm(xp, Au) * _norm(xp, v)
    if gap > math.sqrt(eps) * scale:
        raise ValueError(f"hvp is not symmetric: |u.Hv - v.Hu| = {gap:.3g} exceeds sqrt(eps) * "
                         f"(|Hv||u| + |Hu||v|) = {math.sqrt(eps) * scale:.3g}")


def _lanczos_step(xp: Any, w: Array, q: Array, q_prev: Array | None, beta_prev: float) -> tuple[Array, float]:
    """One three-term Lanczos recurrence on ``w = A q`` with a local reorthogonalization against ``q``.

    Returns the new residual ``w`` and the diagonal entry ``alpha``.
    """
    a = _dot(xp, q, w)
    w = w - a * q if q_prev is None else w - a * q - beta_prev * q_prev
    a2 = _dot(xp, q, w)  # local reorthogonalization against q
    return w - a2 * q, a + a2


def extreme_eigenvalues(
    hvp: Callable[[Array], Array],
    n: int,
    *,
    p: Array | None = None,
    which: Literal["both", "min", "max"] = "both",
    method: Literal["lanczos", "arpack", "lobpcg"] = "lanczos",
    rtol: float | None = None,
    maxiter: int | None = None,
    ncv: int | None = None,
    reorth: Literal["auto", "full", "none"] = "auto",
    memory_budget: int = 256 * 2**20,
    v0: Array | None = None,
    seed: int = 0,
    xp: Any = None,
    dtype: Any = None,
    check_symmetry: bool = True,
) -> ExtremeEigenvalues:
    r"""Smallest and largest eigenvalues of a symmetric operator given only by products ``v -> H v``.

    Parameters
    ----------
    hvp : callable
        ``hvp(v)`` returns :math:`Hv` for ``v`` of shape ``(n,)`` (e.g.
        ``lambda v: problem.hvp(x, v)``), on any array-API backend.
    n : int
        Dimension.
    p : array, shape ``(n,)``, optional
        Positive diagonal preconditioner: the operator becomes :math:`P^{1/2} H P^{1/2}`,
        applied as ``s * hvp(s * v)`` with :math:`s=\sqrt p` (one HVP per product).
    which : {"both", "min", "max"}
        Which ends must meet the tolerance (both Ritz values are returned anyway).
    method : {"lanczos", "arpack", "lobpcg"}
        ``"lanczos"`` (default; every backend): see Notes.  ``"arpack"``:
        ``scipy.sparse.linalg.eigsh`` on the CPU, ``cupyx.scipy.sparse.linalg.eigsh`` (thick-restart
        Lanczos) for CuPy arrays, with the lower end found by spectral shifting.  ``"lobpcg"``:
        ``scipy``/``cupyx`` ``lobpcg`` from a random vector (block size 1: SciPy stops only when
        every block vector has converged), without preconditioner.
    rtol : float, optional
        Target relative accuracy of each end; default :math:`\sqrt\varepsilon`.
    maxiter : int, optional
        Most HVPs for the iteration (default ``min(10 n, 20000)``).
    ncv : int, optional
        Lanczos basis size before a thick restart (default: ``n`` capped by ``memory_budget``,
        at least 20).  ARPACK's ``ncv`` for ``method="arpack"`` (default 40).
    reorth : {"auto", "full", "none"}
        Lanczos reorthogonalization: ``"full"`` (two passes of classical Gram–Schmidt against
        the stored basis, with thick restarts when the basis is full), ``"none"`` (three-term
        recurrence, O(n) memory and O(n) work per product).  ``"auto"``: ``"full"`` when ``ncv`` is
        given or the whole unrestarted basis (``min(n, maxiter)`` vectors) fits in ``memory_budget``
        and has at most 1,000 vectors, else ``"none"``.
    memory_budget : int
        Bytes for the stored Lanczos basis (default 256 MiB; ``ncv <= budget / (n * itemsize)``).
    v0 : array, shape ``(n,)``, optional
        Start vector (default: seeded standard normal).
    seed : int
    xp, dtype : optional
        Backend and dtype of the vectors when neither ``v0`` nor ``p`` fixes them (default
        NumPy float64).
    check_symmetry : bool
        Check :math:`|u^\top Hv - v^\top Hu| \le \sqrt\varepsilon(\|Hv\|\|u\| + \|Hu\|\|v\|)` for
        two random vectors (2 HVPs) and raise ``ValueError`` otherwise.

    Returns
    -------
    ExtremeEigenvalues
        Unpacks as ``(lambda_min, lambda_max)``; also residual bounds, ``n_hvp``, ``converged``.

    Notes
    -----
    **Why Lanczos with full reorthogonalization, not ARPACK's** ``which="SA"``.  The smallest
    eigenvalue of an ill-conditioned Hessian sits in a cluster: relative to the spread
    :math:`\lambda_{\max}-\lambda_{\min}`, its gap :math:`\gamma = (\lambda_2-\lambda_1)/(\lambda_n-\lambda_2)`
    is tiny, and every Krylov method (Lanczos, ARPACK, LOBPCG without a preconditioner)
    converges like :math:`T_k(1+2\gamma)^{-2} \approx e^{-4k\sqrt\gamma}` (Kaniel–Paige–Saad
    bound [2]_).  ARPACK fails for two further reasons: its implicit restarts keep only ``ncv``
    vectors, discarding the Krylov information that slowly resolves the cluster, and its stopping
    test :math:`\|r\| \le \text{tol}\,|\theta|` is relative to the tiny :math:`\lambda_{\min}`.
    Measured here (n = 500, geometric spectrum): ``eigsh(which="SA")`` does not converge in 2,000
    products at :math:`\kappa = 10^4`; spectral shifting (largest eigenvalue of
    :math:`\lambda_{\max}I - H`) leaves :math:`\gamma` unchanged and still fails at
    :math:`\kappa = 10^6` with ncv = 100 after 95,000 products; LOBPCG on 8 vectors is 70%
    off after 4,000 products.  An unrestarted Lanczos run with full reorthogonalization keeps
    all the information, gives both ends from one Krylov space, and is exact (up to round-off)
    after at most n steps, when the Krylov space is invariant; on that matrix it meets
    ``rtol`` in about 0.9 n products at :math:`\kappa = 10^8`.  No Krylov method can do much
    better without a preconditioner: resolving :math:`\lambda_1` needs a polynomial of degree
    :math:`\sim 1/\sqrt\gamma` (or n).  When ``n * ncv`` would exceed ``memory_budget``, the basis
    is thick-restarted [3]_: the Ritz vectors of the ``ncv // 4`` smallest and largest Ritz
    values are kept, so both ends keep improving.  Spectra whose ends are separated from the
    bulk (the usual case for Hessians with a few outliers, and the benchmark operator)
    converge in a number of products independent of n.

    **Large or gapless problems.** Full reorthogonalization costs O(k n) per product and thick
    restarts discard the Krylov information a gapless end needs, so beyond 1,000 vectors
    ``reorth="auto"`` runs the plain recurrence, whose cost grows with the number of products
    only; loss of orthogonality there creates copies of converged Ritz values, which never move
    the extreme ones.  For an anytime estimate with a (probabilistic) bracket within a budget of
    products or seconds, and progress reports, use :func:`~precond_theory.conditioning.eigenvalue_bracket`.

    **Stopping test.** An end converges when its Ritz residual
    :math:`\beta_k|e_k^\top s| \le \max(\text{rtol}\,|\theta|,\ 8\varepsilon\max(|\theta_{\min}|,|\theta_{\max}|))`.
    The second term is the accuracy any backward-stable method can reach (residuals below
    :math:`\varepsilon\|H\|` are round-off), so a zero or tiny :math:`\lambda_{\min}` converges
    to about :math:`\varepsilon\|H\|` absolute, which the cut-off :attr:`ExtremeEigenvalues.tol`
    then reports as zero.  The Krylov space is declared invariant (exact Ritz values) when
    :math:`\beta_k \le \varepsilon\,\|T_k\|`.

    **Cut-offs** on the result: :attr:`ExtremeEigenvalues.kappa` is ``inf`` unless
    :math:`\lambda_{\min} > n\varepsilon\max|\lambda|`, as in :func:`spectrum`.

    References
    ----------
    .. [1] C. Lanczos, "An iteration method for the solution of the eigenvalue problem of linear
           differential and integral operators", J. Res. Nat. Bur. Standards 45, 1950.
    .. [2] Y. Saad, *Numerical Methods for Large Eigenvalue Problems*, 2nd ed., SIAM, 2011,
           Theorem 6.4 (Kaniel–Paige–Saad convergence bound) and §6.3.
    .. [3] K. Wu, H. Simon, "Thick-restart Lanczos method for large symmetric eigenvalue
           problems", SIAM J. Matrix Anal. Appl. 22(2), 2000, Algorithm 1.
    .. [4] A. V. Knyazev, "Toward the optimal preconditioned eigensolver: locally optimal block
           preconditioned conjugate gradient method", SIAM J. Sci. Comput. 23(2), 2001 (LOBPCG).
    .. [5] R. B. Lehoucq, D. C. Sorensen, C. Yang, *ARPACK Users' Guide*, SIAM, 1998, §4.6
           (spectral transformations).
    """
    n = check_int("n", n, 1)
    if not callable(hvp):
        raise TypeError(f"hvp must be a callable v -> H v; got {type(hvp).__name__}")
    check_choice("which", which, ("both", "min", "max"))
    check_choice("method", method, ("lanczos", "arpack", "lobpcg"))
    check_choice("reorth", reorth, ("auto", "full", "none"))
    seed = check_int("seed", seed, 0)
    xp, dtype = _resolve_vector_space(p, v0, xp, dtype)
    eps = float(xp.finfo(dtype).eps)
    rtol = math.sqrt(eps) if rtol is None else float(rtol)
    check_range("rtol", rtol, 0.0, lo_open=True)
    maxiter = min(10 * n, 20000) if maxiter is None else check_int("maxiter", maxiter, 1)
    s = None
    if p is not None:
        if len(p.shape) != 1:
            raise ValueError(f"p must have shape ({n},) for the matrix-free path; got {tuple(p.shape)}")
        s = xp.sqrt(_check_diagonal("p", xp.astype(p, dtype), n, xp, True))
    op = _Operator(hvp, n, s, xp)
    if v0 is not None and tuple(v0.shape) != (n,):
        raise ValueError(f"v0 must have shape ({n},); got {tuple(v0.shape)}")

    rng = np.random.default_rng(seed)
    if check_symmetry and n > 1:
        _check_symmetric(op, xp, dtype, n, eps, rng)
    q0 = v0 if v0 is not None else asarray(rng.standard_normal(n), xp, dtype)
    q0 = xp.astype(q0, dtype)
    nrm = _norm(xp, q0)
    if not nrm > 0 or not math.isfinite(nrm):
        raise ValueError("v0 must be a finite non-zero vector")
    q0 = q0 / nrm

    if n == 1:
        lam = float(to_numpy(op(q0) * q0)[0])
        return ExtremeEigenvalues(lam, lam, 0.0, 0.0, op.count, 0, True, method, n, eps)
    if method == "lanczos":
        itemsize = 4 if dtype == xp.float32 else 8
        cap = max(20, int(memory_budget // (n * itemsize)))
        m = min(n, maxiter, cap) if ncv is None else check_int("ncv", ncv, 3)
        m = max(3, min(m, n)) if n >= 3 else n
        # "auto": full reorthogonalization only when the unrestarted basis is small enough that its
        # O(k^2 n) cost stays modest; beyond, the O(n)-per-product recurrence (see Notes)
        full = reorth == "full" or (
            reorth == "auto" and (ncv is not None or m == min(n, maxiter) <= AUTO_FULL_MAX))
        out = _lanczos(op, q0, xp=xp, n=n, rtol=rtol, eps=eps, maxiter=maxiter, ncv=m, full=full, which=which)
    elif method == "arpack":
        out = _arpack(op, q0, xp=xp, dtype=dtype, n=n, rtol=rtol, eps=eps, maxiter=maxiter, ncv=ncv, which=which)
    else:
        out = _lobpcg(op, xp=xp, dtype=dtype, n=n, rtol=rtol, eps=eps, maxiter=maxiter, rng=rng, which=which)
    lmin, lmax, rmin, rmax, restarts, converged = out
    if not converged:
        warnings.warn(f"extreme_eigenvalues({method}) stopped after {op.count} HVPs before reaching rtol={rtol:.2g}: "
                      f"lambda_min={lmin:.6g} (residual {rmin:.2g}), lambda_max={lmax:.6g} (residual {rmax:.2g}); "
                      "raise maxiter", ConvergenceWarning, stacklevel=2)
    return ExtremeEigenvalues(lmin, lmax, rmin, rmax, op.count, restarts, converged, method, n, eps)


#: largest unrestarted basis for which reorth="auto" reorthogonalizes fully (cost O(k^2 n))
AUTO_FULL_MAX = 1000


def _tridiag_end(alpha: np.ndarray, beta: np.ndarray, index: int) -> tuple[float, float]:
    """(Ritz value, last component of its unit eigenvector) of the symmetric tridiagonal T."""
    from scipy.linalg import eigh_tridiagonal

    k = alpha.size
    if k == 1:
        return float(alpha[0]), 1.0
    idx = index % k
    w, s = eigh_tridiagonal(alpha, beta, select="i", select_range=(idx, idx))
    return float(w[0]), float(s[-1, 0])


def _lanczos(op: _Operator, q: Array, *, xp: Any, n: int, rtol: float, eps: float, maxiter: int, ncv: int,
             full: bool, which: str) -> tuple[float, float, float, float, int, bool]:
    r"""Lanczos with full reorthogonalization (CGS2) and thick restart, or the plain recurrence.

    Maintains :math:`A V_j = V_j T_j + f e_j^\top` with :math:`V_j` orthonormal; after a thick
    restart T is diagonal (kept Ritz values) bordered by the coupling column, which the next
    step's Gram–Schmidt coefficients reproduce (Wu & Simon 2000, eq. (2.3)).
    """
    dtype = q.dtype
    m = ncv if full else 0
    V = xp.zeros((m, n), dtype=dtype) if full else None
    T = np.zeros((m, m)) if full else None
    alphas: list[float] = []
    betas: list[float] = []
    restarted = False
    n_restarts = 0
    j = 0  # position of q in the current basis
    q_prev = None
    beta_prev = 0.0
    tmin = tmax = 0.0
    rmin = rmax = math.inf
    want_min, want_max = which in ("both", "min"), which in ("both", "max")
    check_every = 1
    amax = bmax = 0.0
    for it in range(maxiter):
        w = op(q)
        if full:
            V[j, ...] = q
            B = V[: j + 1, ...]
            h = B @ w
            w = w - h @ B
            h2 = B @ w  # second classical Gram-Schmidt pass (CGS2): orthogonal to working precision
            w = w - h2 @ B
            hh = to_numpy(h + h2).astype(np.float64)
            T[: j + 1, j] = hh
            T[j, : j + 1] = hh
        else:
            w, a = _lanczos_step(xp, w, q, q_prev, beta_prev)
            alphas.append(a)
        beta = _norm(xp, w)
        k = j + 1
        last = it == maxiter - 1
        if full and not restarted:
            diag, off = np.diag(T[:k, :k]).copy(), np.diag(T[:k, :k], -1).copy()
            tnorm = float(np.max(np.abs(diag))) + 2 * (float(np.max(np.abs(off))) if k > 1 else 0.0)
        elif full:
            tnorm = float(np.max(np.abs(T[:k, :k]))) * 2
        else:  # running maxima: O(1) per product (the arrays are built at the checks only)
            amax, bmax = max(amax, abs(alphas[-1])), max(bmax, betas[-1] if betas else 0.0)
            tnorm = amax + 2 * bmax
        invariant = beta <= eps * tnorm
        complete = full and not restarted and k == n
        if invariant or complete or last or (it + 1) % check_every == 0 or (full and k == m):
            if not full:
                diag, off = np.asarray(alphas), np.asarray(betas)
            if full and restarted:
                theta, Y = np.linalg.eigh(T[:k, :k])
                tmin, tmax = float(theta[0]), float(theta[-1])
                ymin, ymax = float(Y[-1, 0]), float(Y[-1, -1])
            else:
                tmin, ymin = _tridiag_end(diag, off, 0)
                tmax, ymax = _tridiag_end(diag, off, -1)
            rmin, rmax = abs(beta * ymin), abs(beta * ymax)
            floor = 8 * eps * max(abs(tmin), abs(tmax))
            ok_min = rmin <= max(rtol * abs(tmin), floor)
            ok_max = rmax <= max(rtol * abs(tmax), floor)
            if invariant or complete:
                return tmin, tmax, 0.0, 0.0, n_restarts, True
            if (ok_min or not want_min) and (ok_max or not want_max):
                return tmin, tmax, rmin, rmax, n_restarts, True
            if not full:  # the tridiagonal solve costs O(k); space the checks out when k is large
                check_every = max(1, k // 50)
            elif restarted:
                check_every = max(1, m // 20)
        if last:
            break
        if full and k == m:  # thick restart: keep the Ritz vectors at both ends
            theta, Y = np.linalg.eigh(T[:k, :k])
            n_keep = max(1, m // 4)
            keep = np.unique(np.concatenate([np.arange(n_keep), np.arange(k - n_keep, k)]))
            Yk = asarray(np.ascontiguousarray(Y[:, keep].T), xp, dtype)
            U = Yk @ V[:k, ...]
            ell = keep.size
            V[:ell, ...] = U
            T[:] = 0.0
            T[np.arange(ell), np.arange(ell)] = theta[keep]
            restarted = True
            n_restarts += 1
            j = ell
            q = w / beta
            continue
        if not full:
            betas.append(beta)
            q_prev, beta_prev = q, beta
        q = w / beta
        j += 1
    return tmin, tmax, rmin, rmax, n_restarts, False


def _sparse_linalg(xp: Any) -> Any:
    if is_cupy(xp):  # native GPU path: cupyx's thick-restart Lanczos and LOBPCG
        import cupyx.scipy.sparse.linalg as spla  # pragma: no cover - needs a GPU
    else:
        import scipy.sparse.linalg as spla
    return spla


def _linear_operator(op: Callable[[Array], Array], xp: Any, dtype: Any, n: int, shift: float | None = None) -> Any:
    """A (cupyx or SciPy) LinearOperator for ``op`` or ``shift*I - op``."""
    spla = _sparse_linalg(xp)
    if is_cupy(xp):  # pragma: no cover - needs a GPU
        def mv(v):
            v = v.reshape(-1)
            w = op(v)
            return (shift * v - w) if shift is not None else w
        return spla.LinearOperator((n, n), matvec=mv, dtype=dtype)

    def host_mv(v):
        v = np.asarray(v, dtype=np.float64).reshape(-1)
        w = to_numpy(op(asarray(v, xp, dtype))).astype(np.float64)
        return (shift * v - w) if shift is not None else w

    def host_mm(X):
        X = np.asarray(X, dtype=np.float64)
        return np.stack([host_mv(X[:, i]) for i in range(X.shape[1])], axis=1)

    return spla.LinearOperator((n, n), matvec=host_mv, matmat=host_mm, dtype=np.float64)


def _residual(op: _Operator, xp: Any, y: Array, theta: float) -> float:
    return _norm(xp, op(y) - theta * y)


def _arpack(op: _Operator, q0: Array, *, xp: Any, dtype: Any, n: int, rtol: float, eps: float, maxiter: int,
            ncv: int | None, which: str) -> tuple[float, float, float, float, int, bool]:
    """ARPACK (SciPy) or cupyx thick-restart Lanczos; the lower end by spectral shifting."""
    spla = _sparse_linalg(xp)
    cupy_path = is_cupy(xp)
    ncv = min(n - 1, 40) if ncv is None else min(n - 1, check_int("ncv", ncv, 3))
    v0 = q0 if cupy_path else to_numpy(q0).astype(np.float64)
    iters = max(1, maxiter // max(ncv, 1))
    converged = True

    def largest(A: Any, tol: float, start: Any) -> tuple[float, Any, bool]:
        try:
            w, Y = spla.eigsh(A, k=1, which="LA", v0=start, ncv=ncv, maxiter=iters, tol=tol)
            return float(to_numpy(w)[0]), Y[:, 0], True
        except Exception as exc:  # scipy.sparse.linalg.ArpackNoConvergence
            ev = getattr(exc, "eigenvalues", None)
            vecs = getattr(exc, "eigenvectors", None)
            if ev is not None and len(ev):
                return float(np.real(ev[0])), vecs[:, 0], False
            if type(exc).__name__ == "ArpackNoConvergence":
                return math.nan, start, False
            raise

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tmax, ymax, ok_max = largest(_linear_operator(op, xp, dtype, n), rtol, v0)
        passes = 1
        tmin, ymin, ok_min = math.nan, v0, which == "max"
        if which != "max" and math.isfinite(tmax):
            sigma = tmax
            Bop = _linear_operator(op, xp, dtype, n, shift=sigma)
            phi, ymin, ok_min = largest(Bop, rtol, v0)
            passes += 1
            tmin = sigma - phi
            # ARPACK's test |r| <= tol*|phi| is relative to phi ~ lambda_max: tighten it so that
            # |r| <= rtol*|lambda_min| (floored at eps), warm-started from the first pass.
            if ok_min and math.isfinite(tmin) and abs(phi) > 0:
                tol2 = max(rtol * abs(tmin) / abs(phi), eps)
                if tol2 < rtol:
                    phi, ymin, ok_min = largest(Bop, tol2, ymin)
                    passes += 1
                    tmin = sigma - phi
    converged = (ok_min or which == "max") and (ok_max or which == "min")

    def to_xp_unit(y: Any) -> Array:
        y = y if cupy_path else asarray(np.asarray(y, dtype=np.float64), xp, dtype)
        return y / _norm(xp, y)

    rmax = _residual(op, xp, to_xp_unit(ymax), tmax) if math.isfinite(tmax) else math.inf
    rmin = _residual(op, xp, to_xp_unit(ymin), tmin) if math.isfinite(tmin) else math.inf
    return tmin, tmax, rmin, rmax, passes, bool(converged)


def _lobpcg(op: _Operator, *, xp: Any, dtype: Any, n: int, rtol: float, eps: float, maxiter: int,
            rng: np.random.Generator, which: str) -> tuple[float, float, float, float, int, bool]:
    """Unpreconditioned LOBPCG (Knyazev 2001) on one vector, once per end.

    SciPy's tolerance is on the absolute residual norm; it is set to ``rtol * |theta_max|``
    estimated from the first pass, so the lower end is accurate to ``rtol * kappa`` relatively.
    """
    spla = _sparse_linalg(xp)
    cupy_path = is_cupy(xp)
    m = 1  # SciPy stops only when every block vector converges; the interior ones are not wanted
    A = _linear_operator(op, xp, dtype, n)
    X = rng.standard_normal((n, m))
    if cupy_path:  # pragma: no cover - needs a GPU
        X = xp.asarray(X)
    iters = max(1, maxiter // (3 * m))
    x0 = X[:, 0] / np.linalg.norm(X[:, 0])
    scale = max(_norm(xp, op(asarray(x0, xp, dtype))), eps)  # <= lambda_max
    ok = {}
    out = {}
    for largest in (True, False):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            w, Y = spla.lobpcg(A, X, largest=largest, tol=rtol * scale, maxiter=iters)
        w = np.asarray(to_numpy(w), dtype=np.float64)
        i = int(np.argmax(w)) if largest else int(np.argmin(w))
        out[largest] = (float(w[i]), Y[:, i])
        ok[largest] = not any("not reaching the requested tolerance" in str(c.message) for c in caught)
        if largest:
            scale = max(abs(float(w[i])), eps)
    (tmax, ymax), (tmin, ymin) = out[True], out[False]

    def unit(y: Any) -> Array:
        y = y if cupy_path else asarray(np.asarray(y, dtype=np.float64), xp, dtype)
        return y / _norm(xp, y)

    rmax = _residual(op, xp, unit(ymax), tmax)
    rmin = _residual(op, xp, unit(ymin), tmin)
    converged = (ok[False] or which == "max") and (ok[True] or which == "min")
    return tmin, tmax, rmin, rmax, 2, bool(converged)



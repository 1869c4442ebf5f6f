"""Construction helpers shared by the problem factories (host side, run once per problem).

Everything here runs at construction time on the host: dtype resolution, moving seeded NumPy
data to the target namespace, and small dense linear algebra used to compute exact constants.
No function here is called inside a run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import check_range
from .._xp import asarray

__all__ = [
    "resolve_dtype", "to_xp", "host_float", "sym_eigvalsh", "refine_solve", "features",
    "kind_from_eigenvalues", "newton_refine",
]

Array = Any


def resolve_dtype(xp: Any, dtype: Any) -> Any:
    """``xp.float64`` when ``dtype`` is None; ``getattr(xp, dtype)`` for a name; else ``dtype``."""
    if dtype is None:
        return xp.float64
    if isinstance(dtype, str):
        name = dtype.split(".")[-1]
        if name not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64' (or an xp dtype); got {dtype!r}")
        return getattr(xp, name)
    return dtype


def to_xp(a: Any, xp: Any, dtype: Any) -> Array:
    """Host data (NumPy array or scalar) as an ``xp`` array of ``dtype``."""
    return asarray(np.asarray(a, dtype=np.float64), xp, dtype)


def host_float(v: Any) -> Any:
    """Python float for a 0-d host value, host float64 array otherwise (constants on the host)."""
    a = np.asarray(v, dtype=np.float64)
    return float(a) if a.ndim == 0 else a


def sym_eigvalsh(H: np.ndarray, *, zero_below: float | None = None) -> np.ndarray:
    r"""Ascending eigenvalues of a symmetric host matrix; values with
    :math:`|\lambda| \le n\,\varepsilon\,\|H\|_2` are set to exactly 0 (LAPACK's backward error
    is of that size, so smaller values are indistinguishable from 0)."""
    H = np.asarray(H, dtype=np.float64)
    w = np.linalg.eigvalsh((H + np.swapaxes(H, -1, -2)) / 2)
    scale = np.max(np.abs(w), axis=-1, keepdims=True)
    cut = H.shape[-1] * np.finfo(np.float64).eps * scale if zero_below is None else zero_below
    return np.where(np.abs(w) <= cut, 0.0, w)


def refine_solve(H: np.ndarray, rhs: np.ndarray, residual: Any, *, iters: int = 3) -> np.ndarray:
    r"""Solve ``H x = rhs`` (symmetric PSD) with iterative refinement.

    ``residual(x)`` must return ``rhs - H x`` computed in extended precision
    (``np.longdouble``); three refinement steps reduce the forward error from
    :math:`\kappa(H)\varepsilon` to about :math:`\varepsilon` when :math:`\kappa(H)\varepsilon < 1`
    (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., §12.1).  A singular
    ``H`` falls back to the minimum-norm least-squares solution.
    """
    solve = _solver(H)
    x = solve(rhs)
    for _ in range(iters):
        r = np.asarray(residual(x), dtype=np.float64)
        x = x + solve(r)
    return x


def _solver(H: np.ndarray) -> Any:
    w = np.linalg.eigvalsh(H)
    if w[0] > H.shape[0] * np.finfo(np.float64).eps * max(w[-1], 0.0) * 10:
        c = np.linalg.cholesky(H)
        return lambda r: np.linalg.solve(c.T, np.linalg.solve(c, r))
    pinv = np.linalg.pinv(H, hermitian=True)
    return lambda r: pinv @ r


def features(n_samples: int, dim: int, *, mean: Any = 0.0, scale: Any = 1.0, corr: Any = 0.0,
             rng: np.random.Generator) -> np.ndarray:
    r"""Synthetic design matrix ``(n_samples, dim)``: rows :math:`z = m + D R^{1/2} g`, g ~ N(0, I).

    ``mean`` (m) and ``scale`` (diagonal of D) are scalars or length-``dim`` sequences; ``corr``
    is the equicorrelation :math:`\rho \in (-1/(n-1), 1)` (R = (1-ρ)I + ρ11ᵀ) or a full
    correlation matrix.  These are the feature statistics that input normalization changes.
    """
    mean_v = _vector("mean", mean, dim)
    scale_v = _vector("scale", scale, dim)
    check_range("scale", scale_v, 0.0, lo_open=True)
    R = _correlation(corr, dim)
    chol = np.linalg.cholesky(R)
    g = rng.standard_normal((n_samples, dim))
    return mean_v + (g @ chol.T) * scale_v


def _vector(name: str, v: Any, dim: int) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64)
    if a.ndim == 0:
        a = np.full(dim, float(a))
    if a.shape != (dim,):
        raise ValueError(f"{name} must be a scalar or a sequence of length dim={dim}; got shape {a.shape}")
    check_range(name, a)
    return a


def _correlation(corr: Any, dim: int) -> np.ndarray:
    c = np.asarray(corr, dtype=np.float64)
    if c.ndim == 0:
        lo = -1.0 / (dim - 1) if dim > 1 else -np.inf
        if dim > 1:
            check_range("corr", float(c), lo, 1.0, lo_open=True, hi_open=True)
        return (1.0 - float(c)) * np.eye(dim) + float(c) * np.ones((dim, dim))
    if c.shape != (dim, dim) or not np.allclose(c, c.T) or not np.allclose(np.diag(c), 1.0):
        raise ValueError(f"corr must be a scalar or a symmetric ({dim}, {dim}) correlation matrix with unit diagonal")
    if np.linalg.eigvalsh(c)[0] <= 0:
        raise ValueError("corr must be positive definite")
    return c


def kind_from_eigenvalues(eigs: Any) -> str:
    """``"minimum"`` (all > 0), ``"maximum"`` (all < 0) or ``"saddle"``."""
    e = np.asarray(eigs, dtype=np.float64)
    if np.all(e > 0):
        return "minimum"
    if np.all(e < 0):
        return "maximum"
    return "saddle"


def newton_refine(grad: Any, hess: Any, x0: np.ndarray, *, iters: int = 60) -> np.ndarray:
    """Pure Newton steps on the host towards a stationary point of an analytic gradient;
    returns the iterate with the smallest gradient norm (Newton is not monotone far from the
    point, and near it the norm stalls at the round-off level)."""
    x = np.asarray(x0, dtype=np.float64)
    best, best_norm = x, np.linalg.norm(grad(x))
    for _ in range(iters):
        x = x - np.linalg.lstsq(hess(x), grad(x), rcond=None)[0]
        gn = np.linalg.norm(grad(x))
        if not np.isfinite(gn):
            break
        if gn < best_norm:
            best, best_norm = x, gn
    return best

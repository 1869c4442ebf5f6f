r"""Convex finite sums on synthetic data: least squares and L2-regularised logistic regression.

Both are :math:`f(x) = \frac1m\sum_{i=1}^m f_i(x)` over rows :math:`a_i` of a synthetic design
matrix whose feature means, scales and correlations are set by the caller (these are exactly
what input normalization changes).  Every finite sum exposes ``n_samples``,
``per_sample_grads(x, idx)``, ``grad_samples(x, idx)`` and ``value_samples(x, idx)`` for the
minibatch oracle (:class:`precond_theory.oracles.Minibatch`).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import check_int, check_range
from .._xp import array_namespace
from ._util import features, host_float, refine_solve, resolve_dtype, sym_eigvalsh, to_xp
from .base import AbstractProblem, ArrayBacked

__all__ = [
    "AbstractFiniteSum", "LeastSquares", "LogisticRegression", "make_least_squares",
    "make_logistic_regression", "gather",
]

Array = Any


def gather(data: Array, idx: Array) -> Array:
    """Rows ``data[idx]`` for an integer index array ``idx`` of shape ``(*batch, B)``:
    result ``(*batch, B, *data.shape[1:])`` (array-API ``take`` on the flattened indices)."""
    xp = array_namespace(data, idx)
    flat = xp.reshape(idx, (-1,))
    rows = xp.take(data, flat, axis=0)
    return xp.reshape(rows, (*tuple(idx.shape), *tuple(data.shape[1:])))


class AbstractFiniteSum(AbstractProblem):
    r"""A problem :math:`f = \frac1m\sum_i f_i` whose terms can be sampled.

    Subclasses implement :meth:`per_sample_grads` and :meth:`value_samples`; ``idx`` is an
    integer array of shape ``(*batch, B)`` (one minibatch per run) with entries in
    ``[0, n_samples)``.
    """

    @property
    @abc.abstractmethod
    def n_samples(self) -> int:
        """Number of terms m."""

    @abc.abstractmethod
    def per_sample_grads(self, x: Array, idx: Array) -> Array:
        r""":math:`\nabla f_i(x)` for i in ``idx``: shape ``(*batch, B, n)``."""

    @abc.abstractmethod
    def value_samples(self, x: Array, idx: Array) -> Array:
        r"""Minibatch loss :math:`\frac1B\sum_{i\in\text{idx}} f_i(x)`, shape ``(*batch,)``."""

    def grad_samples(self, x: Array, idx: Array) -> Array:
        r"""Minibatch gradient :math:`\frac1B\sum_{i\in\text{idx}} \nabla f_i(x)`, shape ``(*batch, n)``."""
        xp = array_namespace(x, idx)
        return xp.mean(self.per_sample_grads(x, idx), axis=-2)


def _row_dot(Ai: Array, x: Array) -> Array:
    """a_i^T x for rows Ai (*batch, B, n) and x (*batch, n)."""
    xp = array_namespace(Ai, x)
    return xp.sum(Ai * xp.expand_dims(x, axis=-2), axis=-1)


class DesignBacked(ArrayBacked):
    """A finite sum whose data are a design matrix ``A`` of shape ``(m, n)``: m terms, n parameters."""

    @property
    def n_samples(self) -> int:
        return int(self.A.shape[0])


@dataclass(frozen=True, kw_only=True, eq=False)
class _DataProblem(DesignBacked, AbstractFiniteSum):
    A: Array  # (m, n) design matrix on xp
    b: Array  # (m,) targets (least squares) or labels in {-1, +1} (logistic)
    lam: float = 0.0
    x_star: Array = None
    f_star: Any = None
    L: Any = None
    mu: Any = None
    eigs: np.ndarray | None = None  # host Hessian spectrum at x_star
    name: str = "finite_sum"
    params: dict = field(default_factory=dict)

    def _ridge(self, x: Array) -> Array:
        xp = array_namespace(x)
        return 0.5 * self.lam * xp.sum(x * x, axis=-1)


@dataclass(frozen=True, kw_only=True, eq=False)
class LeastSquares(_DataProblem):
    r"""Least squares with optional ridge term.

    Notes
    -----
    .. math::
        f(x) = \frac1{2m}\|Ax-b\|^2 + \frac\lambda2\|x\|^2 = \frac1m\sum_i f_i(x),\qquad
        f_i(x) = \tfrac12(a_i^\top x - b_i)^2 + \tfrac\lambda2\|x\|^2

    :math:`\nabla^2 f = A^\top A/m + \lambda I`; ``L`` and ``mu`` are its extreme eigenvalues
    (host ``eigvalsh``; ``mu = 0`` when the Hessian is singular, then ``x_star`` is the
    minimum-norm minimiser).  ``x_star`` solves the normal equations with iterative refinement
    (residuals in extended precision), so it is accurate to a few ulps.

    ====== ===========
    symbol argument
    ====== ===========
    A, b   ``A``, ``b``
    λ      ``lam``
    m      ``n_samples``
    ====== ===========
    """

    name: str = "least_squares"

    def value(self, x: Array) -> Array:
        xp = array_namespace(x, self.A)
        r = x @ self.A.T - self.b
        return xp.sum(r * r, axis=-1) / (2 * self.n_samples) + self._ridge(x)

    def grad(self, x: Array) -> Array:
        r = x @ self.A.T - self.b
        return (r @ self.A) / self.n_samples + self.lam * x

    def hvp(self, x: Array, v: Array) -> Array:
        return ((v @ self.A.T) @ self.A) / self.n_samples + self.lam * v

    def per_sample_grads(self, x: Array, idx: Array) -> Array:
        xp = array_namespace(x, self.A)
        Ai, bi = gather(self.A, idx), gather(self.b, idx)
        r = _row_dot(Ai, x) - bi
        return xp.expand_dims(r, axis=-1) * Ai + self.lam * xp.expand_dims(x, axis=-2)

    def value_samples(self, x: Array, idx: Array) -> Array:
        xp = array_namespace(x, self.A)
        r = _row_dot(gather(self.A, idx), x) - gather(self.b, idx)
        return 0.5 * xp.mean(r * r, axis=-1) + self._ridge(x)


def _softplus_neg(z: Array, xp: Any) -> Array:
    r"""Stable :math:`\log(1 + e^{-z})`."""
    return xp.maximum(-z, xp.zeros_like(z)) + xp.log1p(xp.exp(-xp.abs(z)))


def _sigmoid_neg(z: Array, xp: Any) -> Array:
    r"""Stable :math:`\sigma(-z) = 1/(1+e^{z})` (no overflow)."""
    e = xp.exp(-xp.abs(z))
    return xp.where(z >= 0, e / (1 + e), 1 / (1 + e))


@dataclass(frozen=True, kw_only=True, eq=False)
class LogisticRegression(_DataProblem):
    r"""L2-regularised logistic regression with labels :math:`y_i \in \{-1, +1\}`.

    Notes
    -----
    .. math::
        f(x) = \frac1m\sum_i \log\bigl(1 + e^{-y_i a_i^\top x}\bigr) + \frac\lambda2\|x\|^2,\qquad
        \nabla^2 f(x) = \frac1m A^\top \mathrm{diag}\bigl(\sigma(z_i)\sigma(-z_i)\bigr) A + \lambda I

    with :math:`z_i = y_i a_i^\top x`.  Since :math:`0 < \sigma\sigma' \le 1/4`, the stated
    constants are bounds valid at every x: ``L`` :math:`= \lambda_{\max}(A^\top A)/(4m) + \lambda`
    and ``mu`` :math:`= \lambda`; ``eigs`` is the exact spectrum at ``x_star``.  ``x_star`` is
    computed by damped Newton on the host until the gradient stops decreasing (round-off
    level).  Per-sample terms :math:`f_i` include the ridge term, so their mean is f.
    """

    name: str = "logistic_regression"

    def _margins(self, x: Array) -> Array:
        return (x @ self.A.T) * self.b

    def value(self, x: Array) -> Array:
        xp = array_namespace(x, self.A)
        return xp.mean(_softplus_neg(self._margins(x), xp), axis=-1) + self._ridge(x)

    def grad(self, x: Array) -> Array:
        xp = array_namespace(x, self.A)
        c = -self.b * _sigmoid_neg(self._margins(x), xp)
        return (c @ self.A) / self.n_samples + self.lam * x

    def hvp(self, x: Array, v: Array) -> Array:
        xp = array_namespace(x, v, self.A)
        z = self._margins(x)
        e = xp.exp(-xp.abs(z))
        w = e / ((1 + e) * (1 + e))  # sigma(z) sigma(-z), symmetric in z
        return ((w * (v @ self.A.T)) @ self.A) / self.n_samples + self.lam * v

    def per_sample_grads(self, x: Array, idx: Array) -> Array:
        xp = array_namespace(x, self.A)
        Ai, yi = gather(self.A, idx), gather(self.b, idx)
        c = -yi * _sigmoid_neg(yi * _row_dot(Ai, x), xp)
        return xp.expand_dims(c, axis=-1) * Ai + self.lam * xp.expand_dims(x, axis=-2)

    def value_samples(self, x: Array, idx: Array) -> Array:
        xp = array_namespace(x, self.A)
        z = gather(self.b, idx) * _row_dot(gather(self.A, idx), x)
        return xp.mean(_softplus_neg(z, xp), axis=-1) + self._ridge(x)


def _design(n_samples: int, dim: int, mean: Any, scale: Any, corr: Any,
            seed: int) -> tuple[np.ndarray, np.random.Generator]:
    n_samples = check_int("n_samples", n_samples, 1)
    dim = check_int("dim", dim, 1)
    rng = np.random.default_rng(check_int("seed", seed, 0))
    return features(n_samples, dim, mean=mean, scale=scale, corr=corr, rng=rng), rng


def make_least_squares(n_samples: int = 100, dim: int = 10, *, mean: Any = 0.0, scale: Any = 1.0, corr: Any = 0.0,
                       noise: float = 0.1, lam: float = 0.0, seed: int = 0, xp: Any = np,
                       dtype: Any = None) -> LeastSquares:
    r"""Least squares on synthetic data: :math:`b = A w + \text{noise}\cdot\varepsilon`.

    Parameters
    ----------
    n_samples, dim : int
        m >= 1 rows, n >= 1 features.
    mean, scale : float or sequence of length dim
        Feature means and standard deviations (scale > 0).
    corr : float or (dim, dim) array
        Equicorrelation ρ in (-1/(n-1), 1), or a full correlation matrix.
    noise : float
        Standard deviation of the label noise (>= 0); w ~ N(0, I).
    lam : float
        Ridge coefficient λ >= 0.
    seed : int
        Host seed for the data.
    """
    check_range("noise", noise, 0.0)
    check_range("lam", lam, 0.0)
    Z, rng = _design(n_samples, dim, mean, scale, corr, seed)
    m, n = Z.shape
    w = rng.standard_normal(n)
    b = Z @ w + noise * rng.standard_normal(m)
    H = Z.T @ Z / m + lam * np.eye(n)
    eigs = sym_eigvalsh(H)
    Zl, bl = Z.astype(np.longdouble), b.astype(np.longdouble)

    def residual(x: np.ndarray) -> np.ndarray:
        xl = x.astype(np.longdouble)
        return Zl.T @ (bl - Zl @ xl) / m - lam * xl

    x_star = refine_solve(H, Z.T @ b / m, residual)
    xl = x_star.astype(np.longdouble)
    r = Zl @ xl - bl
    f_star = float(r @ r / (2 * m) + lam * (xl @ xl) / 2)
    dt = resolve_dtype(xp, dtype)
    params = dict(n_samples=m, dim=n, mean=_p(mean), scale=_p(scale), corr=_p(corr), noise=float(noise),
                  lam=float(lam), seed=int(seed))
    return LeastSquares(A=to_xp(Z, xp, dt), b=to_xp(b, xp, dt), lam=float(lam), x_star=to_xp(x_star, xp, dt),
                        f_star=f_star, L=host_float(eigs[-1]), mu=host_float(max(eigs[0], 0.0)), eigs=eigs,
                        params=params)


def make_logistic_regression(n_samples: int = 200, dim: int = 10, *, mean: Any = 0.0, scale: Any = 1.0,
                             corr: Any = 0.0, lam: float = 1e-2, seed: int = 0, xp: Any = np,
                             dtype: Any = None) -> LogisticRegression:
    r"""L2-regularised logistic regression on synthetic data.

    Labels follow the logistic model: :math:`y_i = +1` with probability :math:`\sigma(a_i^\top w)`,
    w ~ N(0, I), else -1.  ``lam`` must be > 0 (without it separable data have no minimiser).
    Other parameters as in :func:`make_least_squares`.
    """
    check_range("lam", lam, 0.0, lo_open=True)
    Z, rng = _design(n_samples, dim, mean, scale, corr, seed)
    m, n = Z.shape
    w = rng.standard_normal(n)
    y = np.where(rng.random(m) < 1.0 / (1.0 + np.exp(-(Z @ w))), 1.0, -1.0)
    x_star = _newton_logistic(Z, y, lam)
    z = y * (Z @ x_star)
    f_star = float(np.mean(np.logaddexp(0.0, -z)) + lam * (x_star @ x_star) / 2)
    s = np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))) ** 2
    eigs = sym_eigvalsh((Z.T * s) @ Z / m + lam * np.eye(n))
    L = float(np.linalg.eigvalsh(Z.T @ Z)[-1] / (4 * m) + lam)
    dt = resolve_dtype(xp, dtype)
    params = dict(n_samples=m, dim=n, mean=_p(mean), scale=_p(scale), corr=_p(corr), lam=float(lam), seed=int(seed))
    return LogisticRegression(A=to_xp(Z, xp, dt), b=to_xp(y, xp, dt), lam=float(lam), x_star=to_xp(x_star, xp, dt),
                              f_star=f_star, L=L, mu=float(lam), eigs=eigs, params=params)


def _newton_logistic(Z: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """Damped Newton (Armijo backtracking) on the host, stopped when the gradient norm stops
    decreasing; the logistic objective is λ-strongly convex, so the limit is the minimiser."""
    m, n = Z.shape

    def fgh(x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        z = y * (Z @ x)
        e = np.exp(-np.abs(z))
        sneg = np.where(z >= 0, e / (1 + e), 1 / (1 + e))
        f = float(np.mean(np.logaddexp(0.0, -z)) + lam * (x @ x) / 2)
        g = Z.T @ (-y * sneg) / m + lam * x
        H = (Z.T * (e / (1 + e) ** 2)) @ Z / m + lam * np.eye(n)
        return f, g, H

    x = np.zeros(n)
    f, g, H = fgh(x)
    for _ in range(100):  # damped Newton until the quadratic-convergence region
        if np.linalg.norm(g) < 1e-6:
            break
        d = np.linalg.solve(H, g)
        t = 1.0
        f_new, g_new, H_new = fgh(x - d)
        while f_new > f - 0.25 * t * (g @ d) and t > 1e-10:
            t /= 2
            f_new, g_new, H_new = fgh(x - t * d)
        x, f, g, H = x - t * d, f_new, g_new, H_new
    for _ in range(10):  # pure Newton steps while the gradient norm still decreases
        x_new = x - np.linalg.solve(H, g)
        f_new, g_new, H_new = fgh(x_new)
        if not np.linalg.norm(g_new) < np.linalg.norm(g):
            break
        x, g, H = x_new, g_new, H_new
    return x


def _p(v: Any) -> Any:
    """Parameter value for metadata (scalars as floats, arrays as lists)."""
    a = np.asarray(v, dtype=np.float64)
    return float(a) if a.ndim == 0 else a.tolist()

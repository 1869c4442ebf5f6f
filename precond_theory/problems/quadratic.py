r"""Quadratics with a prescribed spectrum: :math:`f(x) = \tfrac12 (x-x^\star)^\top A (x-x^\star) + f^\star`.

Single instances (``A`` of shape ``(n, n)``) and batched ones (``A`` of shape ``(*batch, n, n)``,
one problem per run, e.g. a kappa sweep) share one class; every constant of a batched problem
has the batch shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .._checks import check_choice, check_int, check_range
from .._loop.memory import row_apply, row_sum
from .._xp import array_namespace, asarray
from ._util import resolve_dtype
from .base import AbstractProblem, ArrayBacked

__all__ = ["Quadratic", "make_quadratic", "quadratic_spectrum", "SPECTRA"]

Array = Any
SPECTRA = ("geometric", "linear", "two_cluster")


def quadratic_spectrum(dim: int, kappa: float, spectrum: str = "geometric", mu: float = 1.0) -> np.ndarray:
    """Host eigenvalues in ``[mu, kappa*mu]``, sorted ascending, both ends attained.

    ``geometric``: log-spaced; ``linear``: evenly spaced; ``two_cluster``: half at mu and half at
    kappa*mu (the first half rounded down).
    """
    dim = check_int("dim", dim, 1)
    check_range("kappa", kappa, 1.0)
    check_range("mu", mu, 0.0, lo_open=True)
    check_choice("spectrum", spectrum, SPECTRA)
    if spectrum == "geometric":
        eigs = np.geomspace(1.0, kappa, dim)
    elif spectrum == "linear":
        eigs = np.linspace(1.0, kappa, dim)
    else:
        eigs = np.where(np.arange(dim) < dim // 2, 1.0, kappa)
    eigs = np.asarray(eigs, dtype=np.float64) * mu
    if dim > 1:
        eigs[0], eigs[-1] = mu, kappa * mu
    else:
        eigs[0] = mu
    return np.sort(eigs)


@dataclass(frozen=True, kw_only=True, eq=False)
class Quadratic(ArrayBacked, AbstractProblem):
    r"""Strongly convex quadratic with exactly known spectrum (single or batched).

    Notes
    -----
    .. math:: f(x) = \tfrac12 (x - x^\star)^\top A (x - x^\star) + f^\star,\qquad A = Q\,\mathrm{diag}(\lambda)\,Q^\top

    :math:`\mu = \lambda_{\min}`, :math:`L = \lambda_{\max}`, :math:`\nabla f = A(x-x^\star)`,
    :math:`\nabla^2 f = A`.  ``Q = I`` (axis-aligned) or Haar-random (``rotate=True``): a
    diagonal preconditioner can only remove the ill-conditioning of the axis-aligned case.

    Batched: ``A`` has shape ``(*batch, n, n)``, ``x_star`` ``(*batch, n)``, ``eigs``
    ``(*batch, n)``; then ``L``, ``mu`` and ``kappa`` are host arrays of shape ``batch`` and points
    have shape ``(*extra, *batch, n)``.
    """

    A: Array
    x_star: Array
    eigs: np.ndarray  # exact spectrum on the host, ascending along the last axis
    f_star: Any = 0.0
    name: str = "quadratic"
    params: dict = field(default_factory=dict)
    x0: Array | None = None

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.A.shape[:-2])

    @property
    def mu(self) -> Any:  # type: ignore[override]
        e = np.asarray(self.eigs)[..., 0]
        return float(e) if e.ndim == 0 else e

    @property
    def L(self) -> Any:  # type: ignore[override]
        e = np.asarray(self.eigs)[..., -1]
        return float(e) if e.ndim == 0 else e

    @property
    def kappa(self) -> Any:
        """Condition number L/mu (host float or array)."""
        return self.L / self.mu

    def _apply(self, v: Array) -> Array:
        """A v for v of shape (*extra, *batch, n) (A symmetric)."""
        if len(self.A.shape) == 2:
            return v @ self.A
        xp = array_namespace(v, self.A)
        return xp.matmul(xp.expand_dims(v, axis=-2), self.A)[..., 0, :]

    def value(self, x: Array) -> Array:
        xp = array_namespace(x, self.A)
        if len(self.A.shape) == 2:  # on slices of runs when x is a large NumPy batch (see grad)
            return 0.5 * row_sum(xp, self._weighted, x, self.x_star) + self.f_star
        r = x - self.x_star
        return 0.5 * xp.sum(r * self._apply(r), axis=-1) + self.f_star

    def grad(self, x: Array) -> Array:
        """``(x - x*) A``; with the shared ``A`` and a NumPy batch larger than
        :data:`precond_theory._xp.SLICE_BYTES`, one product per slice of runs: no temporary of
        x's size, and the products every stepping path takes (the compiled segments multiply
        the same slices), so that all paths give the same numbers whatever BLAS does with the
        number of rows."""
        if len(self.A.shape) == 2:
            return row_apply(self._residual_product, x, self.x_star)
        return self._apply(x - self.x_star)

    def _residual_product(self, x: Array, x_star: Array) -> Array:
        return (x - x_star) @ self.A

    def _weighted(self, x: Array, x_star: Array) -> Array:
        r = x - x_star
        return r * (r @ self.A)

    def hvp(self, x: Array, v: Array) -> Array:
        return self._apply(v)

    def hessian(self, x: Array) -> Array:
        xp = array_namespace(x, self.A)
        shape = tuple(np.broadcast_shapes(tuple(x.shape[:-1]), self.batch_shape))
        return xp.broadcast_to(self.A, (*shape, self.dim, self.dim))

    def default_x0(self) -> Array:
        if self.x0 is not None:
            return self.x0
        return self.xp.zeros((*self.batch_shape, self.dim), dtype=self.dtype)


class _DefaultInt(int):
    """A default that knows it was not passed (same value and repr as the int)."""


class _DefaultFloat(float):
    """A default that knows it was not passed (same value and repr as the float)."""


class _DefaultStr(str):
    """A default that knows it was not passed (same value and repr as the str)."""


_DIM, _KAPPA, _MU, _SPECTRUM = _DefaultInt(10), _DefaultFloat(100.0), _DefaultFloat(1.0), _DefaultStr("geometric")


def make_quadratic(
    dim: int = _DIM,
    kappa: Any = _KAPPA,
    *,
    spectrum: Literal["geometric", "linear", "two_cluster"] = _SPECTRUM,
    eigenvalues: Any = None,
    rotate: bool = True,
    mu: Any = _MU,
    f_star: Any = 0.0,
    seed: Any = 0,
    xp: Any = np,
    dtype: Any = None,
) -> Quadratic:
    """Quadratic with spectrum ``eigenvalues`` (if given) or ``spectrum`` in ``[mu, kappa*mu]``.

    Parameters
    ----------
    dim : int
        Dimension n >= 1.  With ``eigenvalues`` it may only repeat their length.
    kappa, mu : float or array-like
        Condition number (>= 1) and smallest eigenvalue (> 0); refused together with
        ``eigenvalues``, which fix the spectrum.  Arrays make a *batched* problem
        whose batch shape is the broadcast of the shapes of ``kappa``, ``mu`` and ``seed`` — a
        kappa sweep is ``make_quadratic(8, kappa=[10, 100, 1000])``.
    spectrum : {"geometric", "linear", "two_cluster"}
        Shape of the spectrum; refused together with ``eigenvalues``.
    eigenvalues : array-like, optional
        Exact spectrum, shape ``(n,)`` or ``(*batch, n)`` (positive, finite).
    rotate : bool
        Haar-random eigenbasis (True) or axis-aligned (False).
    f_star : float or array-like
        Minimum value (broadcast to the batch shape).
    seed : int or array-like of int
        Host seed for the rotation and ``x_star ~ N(0, I)``.  One int gives every member of a
        batch the *same* rotation and ``x_star``, so that only the spectrum changes across the
        batch; an array of seeds draws each member independently.
    xp, dtype
        Target namespace and floating dtype (default float64).

    Notes
    -----
    Randomness is drawn on the host with NumPy, so every backend gets the same problem.  The
    default start is ``x0 = 0``.
    """
    if not isinstance(rotate, (bool, np.bool_)):
        raise TypeError(f"rotate must be True or False; got {rotate!r}")
    seeds = np.asarray(seed)
    if seeds.dtype.kind not in "iu" or np.any(seeds < 0):
        raise ValueError(f"seed must be a non-negative integer or an array of them; got {seed!r}")
    if eigenvalues is not None:
        unused = [nm for nm, v, d in (("kappa", kappa, _KAPPA), ("mu", mu, _MU), ("spectrum", spectrum, _SPECTRUM))
                  if v is not d]
        if unused:
            raise ValueError(f"{' and '.join(unused)} cannot be combined with eigenvalues, which fix the spectrum "
                             f"exactly; drop {' and '.join(unused)} or eigenvalues")
        eigs = np.sort(np.asarray(eigenvalues, dtype=np.float64), axis=-1)
        if eigs.ndim < 1 or eigs.shape[-1] < 1 or not np.all(np.isfinite(eigs)) or np.any(eigs <= 0):
            raise ValueError(f"eigenvalues must be a non-empty array of finite, positive numbers; got {eigenvalues!r}")
        if dim is not _DIM and (isinstance(dim, bool) or not isinstance(dim, (int, np.integer))
                                or dim != eigs.shape[-1]):
            raise ValueError(f"dim={dim!r} contradicts eigenvalues, which give n={eigs.shape[-1]}; "
                             "drop dim (the length of eigenvalues is the dimension)")
        batch = _batch_shape(eigenvalues=eigs.shape[:-1], seed=seeds.shape)
        eigs = np.broadcast_to(eigs, (*batch, eigs.shape[-1])).copy()
        kappa_v = eigs[..., -1] / eigs[..., 0]
    else:
        dim = check_int("dim", dim, 1)
        spectrum = str(spectrum)
        check_choice("spectrum", spectrum, SPECTRA)
        kap, muv = np.asarray(kappa, dtype=np.float64), np.asarray(mu, dtype=np.float64)
        check_range("kappa", kap, 1.0)
        check_range("mu", muv, 0.0, lo_open=True)
        batch = _batch_shape(kappa=kap.shape, mu=muv.shape, seed=seeds.shape)
        kap, muv = np.broadcast_to(kap, batch), np.broadcast_to(muv, batch)
        eigs = np.empty((*batch, dim))
        for idx in np.ndindex(*batch):
            eigs[idx] = quadratic_spectrum(dim, float(kap[idx]), spectrum, float(muv[idx]))
        kappa_v = kap
    n = eigs.shape[-1]
    seeds = np.broadcast_to(seeds, batch)
    A = np.empty((*batch, n, n))
    x_star = np.empty((*batch, n))
    cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for idx in np.ndindex(*batch):
        s = int(seeds[idx])
        if s not in cache:
            cache[s] = _draw_basis(n, s, rotate)
        q, xs = cache[s]
        A[idx] = (q * eigs[idx]) @ q.T
        A[idx] = (A[idx] + A[idx].T) / 2
        x_star[idx] = xs
    check_range("f_star", f_star)
    fs = np.asarray(f_star, dtype=np.float64)
    dt = resolve_dtype(xp, dtype)
    f_out: Any = float(fs) if fs.ndim == 0 else asarray(np.broadcast_to(fs, batch).copy(), xp, dt)
    params = {"dim": int(n), "kappa": float(kappa_v) if kappa_v.ndim == 0 else kappa_v.tolist(),
              "spectrum": "given" if eigenvalues is not None else spectrum,
              "rotate": bool(rotate), "seed": int(seeds) if seeds.ndim == 0 else seeds.tolist()}
    return Quadratic(A=asarray(A, xp, dt), x_star=asarray(x_star, xp, dt), eigs=eigs, f_star=f_out,
                     name="quadratic", params=params)


def _batch_shape(**shapes: tuple[int, ...]) -> tuple[int, ...]:
    """Broadcast batch shape of the array-valued arguments (ValueError naming them otherwise)."""
    try:
        return tuple(np.broadcast_shapes(*shapes.values()))
    except ValueError:
        got = ", ".join(f"{k} {v}" for k, v in shapes.items())
        raise ValueError(f"the batch shapes of {', '.join(shapes)} must broadcast together; got {got}") from None


def _draw_basis(n: int, seed: int, rotate: bool) -> tuple[np.ndarray, np.ndarray]:
    """Haar-random orthogonal Q (or I) and x_star ~ N(0, I) from one host seed."""
    rng = np.random.default_rng(seed)
    if rotate and n > 1:
        q, r = np.linalg.qr(rng.standard_normal((n, n)))
        q = q * np.sign(np.diag(r))  # Haar-distributed (Mezzadri 2007)
    else:
        q = np.eye(n)
    return q, rng.standard_normal(n)

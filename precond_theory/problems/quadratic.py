r"""Quadratics with a prescribed spectrum: :math:`f(x) = \tfrac12 (x-x^\star)^\top A (x-x^\star) + f^\star`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .._checks import check_choice, check_int, check_range
from .._xp import array_namespace, asarray
from .base import AbstractProblem

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
class Quadratic(AbstractProblem):
    r"""Strongly convex quadratic with exactly known spectrum.

    Notes
    -----
    .. math:: f(x) = \tfrac12 (x - x^\star)^\top A (x - x^\star) + f^\star,\qquad A = Q\,\mathrm{diag}(\lambda)\,Q^\top

    :math:`\mu = \lambda_{\min}`, :math:`L = \lambda_{\max}`, :math:`\nabla f = A(x-x^\star)`,
    :math:`\nabla^2 f = A`.  ``Q = I`` (axis-aligned) or Haar-random (``rotate=True``): a
    diagonal preconditioner can only remove the ill-conditioning of the axis-aligned case.
    """

    A: Array
    x_star: Array
    eigs: np.ndarray  # exact spectrum on the host, ascending
    f_star: float = 0.0
    name: str = "quadratic"
    params: dict = field(default_factory=dict)
    x0: Array | None = None

    @property
    def dim(self) -> int:  # type: ignore[override]
        return int(self.A.shape[-1])

    @property
    def xp(self) -> Any:  # type: ignore[override]
        return array_namespace(self.A)

    @property
    def dtype(self) -> Any:  # type: ignore[override]
        return self.A.dtype

    @property
    def mu(self) -> float:  # type: ignore[override]
        return float(self.eigs[0])

    @property
    def L(self) -> float:  # type: ignore[override]
        return float(self.eigs[-1])

    def value(self, x: Array) -> Array:
        xp = array_namespace(x, self.A)
        r = x - self.x_star
        return 0.5 * xp.sum(r * (r @ self.A), axis=-1) + self.f_star

    def grad(self, x: Array) -> Array:
        return (x - self.x_star) @ self.A  # A symmetric

    def hvp(self, x: Array, v: Array) -> Array:
        return v @ self.A

    def hessian(self, x: Array) -> Array:
        xp = array_namespace(x, self.A)
        return xp.broadcast_to(self.A, (*x.shape[:-1], self.dim, self.dim))

    def default_x0(self) -> Array:
        return self.x0 if self.x0 is not None else self.xp.zeros((self.dim,), dtype=self.dtype)


def make_quadratic(
    dim: int = 10,
    kappa: float = 100.0,
    *,
    spectrum: Literal["geometric", "linear", "two_cluster"] = "geometric",
    eigenvalues: Any = None,
    rotate: bool = True,
    mu: float = 1.0,
    f_star: float = 0.0,
    seed: int = 0,
    xp: Any = np,
    dtype: Any = None,
) -> Quadratic:
    """Quadratic with spectrum ``eigenvalues`` (if given) or ``spectrum`` in ``[mu, kappa*mu]``.

    Randomness (rotation, x_star ~ N(0, I)) is drawn on the host from ``seed``, so every
    backend gets the same problem.  The default start is ``x0 = 0``.
    """
    if eigenvalues is not None:
        eigs = np.sort(np.asarray(eigenvalues, dtype=np.float64).ravel())
        if eigs.size < 1 or not np.all(np.isfinite(eigs)) or eigs[0] <= 0:
            raise ValueError(f"eigenvalues must be finite and positive; got {eigenvalues!r}")
        dim, kappa = eigs.size, float(eigs[-1] / eigs[0])
    else:
        eigs = quadratic_spectrum(dim, kappa, spectrum, mu)
    rng = np.random.default_rng(seed)
    if rotate and eigs.size > 1:
        q, r = np.linalg.qr(rng.standard_normal((eigs.size, eigs.size)))
        q = q * np.sign(np.diag(r))  # Haar-distributed
        A = (q * eigs) @ q.T
        A = (A + A.T) / 2
    else:
        A = np.diag(eigs)
    x_star = rng.standard_normal(eigs.size)
    dt = xp.float64 if dtype is None else (getattr(xp, dtype) if isinstance(dtype, str) else dtype)
    params = {"dim": int(eigs.size), "kappa": float(kappa), "spectrum": "given" if eigenvalues is not None else spectrum,
              "rotate": bool(rotate), "seed": int(seed)}
    return Quadratic(A=asarray(A, xp, dt), x_star=asarray(x_star, xp, dt), eigs=eigs, f_star=float(f_star),
                     name="quadratic", params=params)

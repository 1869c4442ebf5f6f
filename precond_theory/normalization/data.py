"""Synthetic regression data with controlled input means, scales and correlations."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .._checks import check_choice, check_int, check_range
from .._xp import array_namespace, asarray
from ._shared import Array


# ====================================================================================== data
@dataclass(frozen=True, eq=False)
class RegressionData:
    r"""Synthetic regression data.

    Attributes
    ----------
    X : array ``(N, d)``
        Inputs :math:`x_i = \mu + S L z_i` (:math:`LL^\top` the equicorrelation matrix).
    y : array ``(N,)``
        Targets from a teacher acting on the latent :math:`z_i` (so the task is the same for
        every input mean and scale) plus Gaussian noise.
    mean, scale : host arrays ``(d,)``
        The :math:`\mu` and :math:`\sigma` used.
    correlation : float
    params : dict
    """

    X: Array
    y: Array
    mean: np.ndarray
    scale: np.ndarray
    correlation: float
    params: dict = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def dim(self) -> int:
        return int(self.X.shape[1])


def _per_feature(name: str, value: Any, d: int) -> np.ndarray:
    a = np.asarray(value, dtype=np.float64)
    if a.ndim == 0:
        a = np.full(d, float(a))
    if a.shape != (d,) or not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be a finite scalar or a length-{d} vector; got {value!r}")
    return a


def make_regression_data(
    n_samples: int = 256,
    dim: int = 8,
    *,
    mean: Any = 0.0,
    scale: Any = 1.0,
    correlation: float = 0.0,
    noise: float = 0.1,
    teacher: Literal["linear", "tanh"] = "linear",
    exact_moments: bool = False,
    seed: int = 0,
    xp: Any = np,
    dtype: Any = None,
) -> RegressionData:
    r"""Inputs with controlled mean, scale and correlation, and a teacher target (host-seeded).

    Parameters
    ----------
    n_samples, dim : int
        N and d.
    mean : float or array ``(d,)``
        Feature means :math:`\mu`.
    scale : float or array ``(d,)``
        Feature standard deviations :math:`\sigma > 0` (e.g. ``np.geomspace(1, 100, d)``).
    correlation : float in ``(-1/(d-1), 1)``
        Equicorrelation :math:`\rho`: :math:`\mathrm{Corr}(x) = (1-\rho)I + \rho\,\mathbf 1\mathbf 1^\top`.
    noise : float
        Standard deviation of the additive target noise.
    teacher : {"linear", "tanh"}
        :math:`y = w_t^\top z + \text{noise}` or :math:`y = v_t^\top\tanh(W_t z) + \text{noise}`
        with :math:`z` the standardized latent inputs.
    exact_moments : bool
        Whiten the latent sample so that its sample mean is exactly 0 and its (1/N) sample
        covariance exactly the identity; then the sample moments of X equal the population
        ones, :math:`\tfrac1N\sum x_i = \mu` and :math:`\tfrac1N\sum (x_i-\mu)(x_i-\mu)^\top = S R S`
        (needs N > d).  Used to compare with closed forms (:func:`mean_shift_kappa`).
    seed : int
    xp, dtype : backend and dtype of ``X`` and ``y`` (default NumPy float64).

    Returns
    -------
    RegressionData
    """
    N = check_int("n_samples", n_samples, 2)
    d = check_int("dim", dim, 1)
    mu = _per_feature("mean", mean, d)
    sig = _per_feature("scale", scale, d)
    if not np.all(sig > 0):
        raise ValueError(f"scale must be positive; got {scale!r}")
    lo = -1.0 / (d - 1) if d > 1 else -1.0
    check_range("correlation", correlation, lo, 1.0, lo_open=True, hi_open=True)
    check_range("noise", noise, 0.0)
    check_choice("teacher", teacher, ("linear", "tanh"))
    if not isinstance(exact_moments, bool):
        raise TypeError(f"exact_moments must be True or False; got {exact_moments!r}")
    if exact_moments and N <= d:
        raise ValueError(f"exact_moments needs n_samples > dim; got n_samples={N}, dim={d}")
    seed = check_int("seed", seed, 0)
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((N, d))
    if exact_moments:
        Z = Z - Z.mean(axis=0)
        Lc = np.linalg.cholesky(Z.T @ Z / N)
        Z = np.linalg.solve(Lc, Z.T).T  # (1/N) Z^T Z = I exactly (to round-off)
    R = (1 - correlation) * np.eye(d) + correlation * np.ones((d, d))
    Lr = np.linalg.cholesky(R)
    X = mu + (Z @ Lr.T) * sig
    if teacher == "linear":
        w_t = rng.standard_normal(d) / math.sqrt(d)
        y = Z @ w_t
    else:
        Wt = rng.standard_normal((4 * d, d)) / math.sqrt(d)
        vt = rng.standard_normal(4 * d) / math.sqrt(4 * d)
        y = np.tanh(Z @ Wt.T) @ vt
    y = y + noise * rng.standard_normal(N)
    dt = _dtype(xp, dtype)
    params = {"n_samples": N, "dim": d, "mean": float(mu.mean()), "scale": float(sig.mean()),
              "scale_spread": float(sig.max() / sig.min()), "correlation": float(correlation), "noise": float(noise),
              "teacher": teacher, "exact_moments": exact_moments, "seed": seed}
    return RegressionData(X=asarray(X, xp, dt), y=asarray(y, xp, dt), mean=mu, scale=sig,
                          correlation=float(correlation), params=params)


def _dtype(xp: Any, dtype: Any) -> Any:
    if dtype is None:
        return xp.float64
    if isinstance(dtype, str):
        return getattr(xp, dtype.split(".")[-1])
    return dtype


def input_statistics(X: Array) -> tuple[Array, Array]:
    r"""Batch mean and (biased, 1/N) standard deviation of the columns of ``X`` ``(N, d)``.

    These are BatchNorm's train-mode statistics for a full batch [3]_ (Alg. 1) and the
    :math:`\mu`, :math:`S` of Ye's preconditioner (:func:`bn_preconditioner`).
    """
    xp = array_namespace(X)
    m = xp.mean(X, axis=0)
    s = xp.sqrt(xp.mean((X - m) ** 2, axis=0))
    return m, s



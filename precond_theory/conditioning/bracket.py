r"""Anytime brackets of the extreme eigenvalues from HVPs: Lanczos in O(n) memory and O(n) work per product.

:func:`eigenvalue_bracket` runs the Lanczos three-term recurrence (with local
reorthogonalization against the current vector only) from a random start and returns, at any
point of a budget of products or seconds, the extreme Ritz values and a bracket of each end:

* the Ritz values bound the spectrum from inside: :math:`\lambda_{\min} \le \theta_{\min}` and
  :math:`\lambda_{\max} \ge \theta_{\max}` (Cauchy interlacing; up to rounding, see Notes);
* the outer bounds come from Kuczyński and Woźniakowski's probabilistic bound for Lanczos with
  a random start [1]_, which holds for every symmetric positive semidefinite matrix, here
  :math:`A - \lambda_{\min} I` and :math:`\lambda_{\max} I - A`; together they give
  :math:`\lambda_{\min} \ge (\theta_{\min}(1-\epsilon) - \epsilon\,\theta_{\max})/(1-2\epsilon)` and
  :math:`\lambda_{\max} \le (\theta_{\max}(1-\epsilon) - \epsilon\,\theta_{\min})/(1-2\epsilon)`, both
  with probability at least ``confidence``, where :math:`\epsilon = (\ln(1.648\sqrt n/\delta)/(2k-1))^2`
  after k products and :math:`\delta = (1-\text{confidence})/2`;
* the residual norms :math:`\beta_k|e_k^\top s|` of the two Ritz pairs, within which *an*
  eigenvalue lies (Krylov–Bogoliubov), are reported too; they do not bound the extreme
  eigenvalue from outside when the spectrum has no gap at its ends.

The cost grows with the number of products only: no basis is stored, so there is no
reorthogonalization cost and no restart; loss of orthogonality only creates copies ("ghosts")
of Ritz values that have already converged, which never move the extreme Ritz values outward
and which this function never reports as separate eigenvalues (it only uses the two extremes).
For NumPy float vectors the recurrence runs in place on three rotating buffers
(:mod:`._lanczos_lean`: one fused three-pass kernel with numba, else in-place BLAS), so a step
costs a few passes over memory besides the product itself.

The bracket is honest about gapless spectra: resolving :math:`\lambda_{\min}` to relative
accuracy r needs about :math:`\ln(3.3\sqrt n/\delta)/(4\sqrt{r\,\lambda_{\min}/\lambda_{\max}})`
products (e.g. 7·10⁴ at n = 10⁶, κ = 10⁵, r = 10⁻³), and no Krylov method without a
preconditioner can do better than order :math:`\sqrt{\kappa/r}` [2]_.  Within a smaller budget the
bracket is returned with ``certified=False``.

References
----------
.. [1] J. Kuczyński, H. Woźniakowski, "Estimating the largest eigenvalue by the power and Lanczos
       algorithms with a random start", SIAM J. Matrix Anal. Appl. 13(4), 1992, Theorem 4.2.
.. [2] M. Simchowitz, A. El Alaoui, B. Recht, "Tight query complexity lower bounds for PCA via
       finite sample deformed Wigner law", STOC 2018.
.. [3] C. C. Paige, "Accuracy and effectiveness of the Lanczos algorithm for the symmetric
       eigenproblem", Linear Algebra Appl. 34, 1980 (Ritz values in finite precision).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .._checks import check_choice, check_int, check_range
from .._xp import asarray
from ._shared import Array
from ._lanczos_lean import lean_step
from .dense import _check_diagonal
from .matrix_free import _check_symmetric, _lanczos_step, _norm, _Operator, _resolve_vector_space, _tridiag_end

__all__ = ["EigenvalueBracket", "eigenvalue_bracket", "kw_epsilon"]


def kw_epsilon(k: int, n: int, delta: float) -> float:
    r"""Relative error :math:`\epsilon` that k Lanczos steps from a random start exceed with
    probability at most ``delta`` (Kuczyński–Woźniakowski 1992, Thm 4.2): :math:`(\ln(1.648\sqrt n/\delta)/(2k-1))^2`."""
    if k < 1:
        return math.inf
    return (math.log(1.648 * math.sqrt(n) / delta) / (2 * k - 1)) ** 2


@dataclass(frozen=True, eq=False)
class EigenvalueBracket:
    r"""Anytime result of :func:`eigenvalue_bracket`; unpacks as ``lambda_min, lambda_max`` (Ritz values).

    Attributes
    ----------
    lambda_min, lambda_max : float
        Extreme Ritz values: :math:`\lambda_{\min} \le` ``lambda_min + rounding`` and
        :math:`\lambda_{\max} \ge` ``lambda_max - rounding`` always.
    lower_min, upper_max : float
        Outer bounds: :math:`\lambda_{\min} \ge` ``lower_min`` and :math:`\lambda_{\max} \le`
        ``upper_max``, jointly with probability at least ``confidence`` (``-inf``/``inf`` while the
        bound is vacuous).
    residual_min, residual_max : float
        Residual norms of the two Ritz pairs (an eigenvalue lies within each of its Ritz value).
    rounding : float
        Allowance :math:`8\sqrt k\,\varepsilon\,\|T_k\|` for floating-point Lanczos, included in
        the outer bounds.
    certified : bool
        Every requested end's bracket is narrower than ``max(rtol |Ritz value|, atol)``.
    stopped : str
        ``"converged"``, ``"invariant"`` (the Krylov space is invariant: the Ritz values are
        eigenvalues), ``"max_hvp"`` or ``"max_seconds"``.
    confidence : float
    n_hvp : int
        Products used, the two of the symmetry check included.
    seconds : float
    n : int
    """

    lambda_min: float
    lambda_max: float
    lower_min: float
    upper_max: float
    residual_min: float
    residual_max: float
    rounding: float
    certified: bool
    stopped: str
    confidence: float
    n_hvp: int
    seconds: float
    n: int

    def __iter__(self) -> Iterator[float]:
        yield self.lambda_min
        yield self.lambda_max

    @property
    def width_min(self) -> float:
        """``lambda_min - lower_min`` (the bracket of the smallest eigenvalue)."""
        return self.lambda_min - self.lower_min

    @property
    def width_max(self) -> float:
        """``upper_max - lambda_max``."""
        return self.upper_max - self.lambda_max


def eigenvalue_bracket(
    hvp: Callable[[Array], Array],
    n: int,
    *,
    p: Array | None = None,
    which: Literal["both", "min", "max"] = "both",
    rtol: float = 1e-3,
    atol: float = 0.0,
    confidence: float = 0.999,
    max_hvp: int | None = None,
    max_seconds: float | None = None,
    callback: Callable[[dict[str, Any]], Any] | None = None,
    seed: int = 0,
    xp: Any = None,
    dtype: Any = None,
    check_symmetry: bool = True,
) -> EigenvalueBracket:
    r"""Bracket the extreme eigenvalues of a symmetric operator given only by products ``v -> H v``.

    Parameters
    ----------
    hvp : callable
        ``hvp(v)`` returns :math:`Hv` for ``v`` of shape ``(n,)``, on any array-API backend.
    n : int
    p : array, shape ``(n,)``, optional
        Positive diagonal preconditioner: bracket the spectrum of :math:`P^{1/2} H P^{1/2}`.
    which : {"both", "min", "max"}
        Which ends must meet the tolerance (both are always returned).
    rtol, atol : float
        Stop when each requested end's bracket is narrower than ``max(rtol*|Ritz value|, atol)``.
    confidence : float in (0, 1)
        Probability with which the outer bounds hold (over the random start vector).
    max_hvp : int, optional
        Budget of products (default ``100 * n`` capped at 10^6).
    max_seconds : float, optional
        Budget of wall-clock seconds (checked between products).
    callback : callable, optional
        Called with a dict (``n_hvp``, ``seconds``, ``lambda_min``, ``lower_min``, ``lambda_max``,
        ``upper_max``) at every check (about 50 per doubling of the Krylov dimension): progress.
    seed : int
        Seed of the random start vector (the probabilistic bound needs a random start, so no
        user start vector is accepted).
    xp, dtype : optional
        Backend and dtype of the vectors when ``p`` does not fix them (default NumPy float64).
    check_symmetry : bool
        As in :func:`extreme_eigenvalues` (2 products).

    Returns
    -------
    EigenvalueBracket

    Notes
    -----
    In floating point the computed tridiagonal matrix :math:`T_k` is the exact Lanczos matrix of
    an operator whose eigenvalues lie in tiny intervals around those of H (Greenbaum; Paige [3]
    in :mod:`.bracket`), so the Ritz-value bounds and the random-start bound hold up to an
    allowance of order :math:`\sqrt k\,\varepsilon\|H\|`; ``rounding`` adds
    :math:`8\sqrt k\,\varepsilon\|T_k\|` to both outer bounds.
    """
    n = check_int("n", n, 1)
    if not callable(hvp):
        raise TypeError(f"hvp must be a callable v -> H v; got {type(hvp).__name__}")
    check_choice("which", which, ("both", "min", "max"))
    check_range("rtol", rtol, 0.0)
    check_range("atol", atol, 0.0)
    check_range("confidence", confidence, 0.0, 1.0, lo_open=True, hi_open=True)
    max_hvp = min(100 * n, 10**6) if max_hvp is None else check_int("max_hvp", max_hvp, 1)
    if max_seconds is not None:
        check_range("max_seconds", max_seconds, 0.0, lo_open=True)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable; got {type(callback).__name__}")
    seed = check_int("seed", seed, 0)
    xp, dtype = _resolve_vector_space(p, None, xp, dtype)
    eps = float(xp.finfo(dtype).eps)
    s = None
    if p is not None:
        if len(p.shape) != 1:
            raise ValueError(f"p must have shape ({n},); got {tuple(p.shape)}")
        s = xp.sqrt(_check_diagonal("p", xp.astype(p, dtype), n, xp, True))
    lean = lean_step(xp, dtype, n)
    op = _Operator(hvp, n, s, xp)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    if check_symmetry and n > 1:
        _check_symmetric(op, xp, dtype, n, eps, rng)
    q = asarray(rng.standard_normal(n), xp, dtype)
    q = q / _norm(xp, q)
    if lean is not None:  # three rotating buffers, filled in place; products scanned through their scalars
        op.scan, spare = False, np.empty_like(q)
    delta = (1.0 - confidence) / 2
    want_min, want_max = which in ("both", "min"), which in ("both", "max")

    alphas: list[float] = []
    betas: list[float] = []
    q_prev = None
    beta_prev = 0.0
    next_check = 1
    amax = bmax = 0.0
    out: dict[str, Any] = {}
    stopped = ""
    while True:
        if lean is None:
            w, a = _lanczos_step(xp, op(q), q, q_prev, beta_prev)
            beta = _norm(xp, w)
        else:
            w = spare
            a, beta = lean(op(q), q, q_prev, beta_prev, w)
            if not (math.isfinite(a) and math.isfinite(beta)):
                raise op.non_finite()
        alphas.append(a)
        k = len(alphas)
        amax, bmax = max(amax, abs(a)), max(bmax, beta_prev)
        tnorm = amax + 2 * bmax  # >= ||T_k||
        invariant = not beta > 8 * math.sqrt(k) * eps * tnorm  # = the rounding allowance
        seconds = time.perf_counter() - t0
        out_of_budget = op.count >= max_hvp or (max_seconds is not None and seconds >= max_seconds)
        if invariant or out_of_budget or k >= next_check:
            out = _bracket(np.asarray(alphas), np.asarray(betas), beta, k, n, delta, eps, tnorm, invariant)
            out.update(n_hvp=op.count, seconds=seconds)
            if callback is not None:
                callback({key: out[key] for key in ("n_hvp", "seconds", "lambda_min", "lower_min",
                                                     "lambda_max", "upper_max")})
            ok_min = out["lambda_min"] - out["lower_min"] <= max(rtol * abs(out["lambda_min"]), atol)
            ok_max = out["upper_max"] - out["lambda_max"] <= max(rtol * abs(out["lambda_max"]), atol)
            out["certified"] = bool((ok_min or not want_min) and (ok_max or not want_max))
            if invariant:
                stopped = "invariant"
            elif out["certified"]:
                stopped = "converged"
            elif op.count >= max_hvp:
                stopped = "max_hvp"
            elif out_of_budget:
                stopped = "max_seconds"
            if stopped:
                break
            next_check = k + max(1, k // 50)
        betas.append(beta)
        if lean is None:
            q_prev, beta_prev, q = q, beta, w / beta
        else:  # w is already q_{k+1}; the oldest vector becomes the next spare buffer
            spare = q_prev if q_prev is not None else np.empty_like(q)
            q_prev, beta_prev, q = q, beta, w
    return EigenvalueBracket(
        lambda_min=out["lambda_min"], lambda_max=out["lambda_max"], lower_min=out["lower_min"],
        upper_max=out["upper_max"], residual_min=out["residual_min"], residual_max=out["residual_max"],
        rounding=out["rounding"], certified=out["certified"], stopped=stopped, confidence=confidence,
        n_hvp=op.count, seconds=time.perf_counter() - t0, n=n,
    )


def _bracket(diag: np.ndarray, off: np.ndarray, beta: float, k: int, n: int, delta: float, eps: float,
             tnorm: float, invariant: bool) -> dict[str, Any]:
    """Ritz values, residuals and the random-start outer bounds after k steps."""
    tmin, ymin = _tridiag_end(diag, off, 0)
    tmax, ymax = _tridiag_end(diag, off, -1)
    rounding = 8 * math.sqrt(k) * eps * tnorm
    if invariant:  # the Ritz values are eigenvalues (of the part of H the start vector sees)
        e = 0.0
    else:
        e = kw_epsilon(k, n, delta)
    if e < 0.5:
        lower = (tmin * (1 - e) - e * tmax) / (1 - 2 * e) - rounding
        upper = (tmax * (1 - e) - e * tmin) / (1 - 2 * e) + rounding
    else:
        lower, upper = -math.inf, math.inf
    return {"lambda_min": tmin, "lambda_max": tmax, "lower_min": lower, "upper_max": upper,
            "residual_min": abs(beta * ymin), "residual_max": abs(beta * ymax), "rounding": rounding}


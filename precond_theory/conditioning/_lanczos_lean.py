r"""A lean Lanczos recurrence for NumPy vectors: in-place, no temporaries, fused passes.

:func:`lean_step` returns a function ``step(hq, q, q_prev, beta_prev, out) -> (alpha, beta)`` that
does what :func:`.matrix_free._lanczos_step` does (three-term recurrence on ``hq = H q`` with a
local reorthogonalization against ``q``) and also normalizes: on return ``out`` holds the next
Lanczos vector :math:`q_{k+1} = r/\beta` (or the raw residual when :math:`\beta = 0`).  ``hq`` is
only read, so an ``hvp`` that returns its input or a buffer it keeps is safe.

With numba (the ``fast`` extra) the step is three passes over memory instead of about a dozen
with temporaries:

1. :math:`\alpha = q^\top (Hq)`;
2. :math:`r = Hq - \alpha q - \beta_{k-1} q_{k-1}`, accumulating :math:`c = q^\top r` and
   :math:`\|r\|^2`;
3. :math:`q_{k+1} = (r - c\,q)/\beta` with :math:`\beta^2 = \|r\|^2 - c^2` (exact for
   :math:`\|q\| = 1`; :math:`c` is of the order of rounding after step 2).

Without numba, in-place BLAS calls (``ddot``/``daxpy``/``dnrm2``/``dscal``) do the same with no
temporary arrays.  Both return ``alpha + c`` as the diagonal entry, as the reference does.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["lean_step"]

NUMBA_MIN_N = 2**14  # below this the reference's temporaries are cheap and numba's compile is not


def lean_step(xp: Any, dtype: Any, n: int) -> Callable[..., tuple[float, float]] | None:
    """The lean step for ``n``-vectors of ``dtype`` in ``xp``, or ``None`` (use the reference step).

    Taken for NumPy float32/float64 only; numba when installed and ``n >= NUMBA_MIN_N``, else BLAS.
    """
    from .._xp import is_numpy

    if not is_numpy(xp) or np.dtype(dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
        return None
    if n >= NUMBA_MIN_N and importlib.util.find_spec("numba") is not None:
        return _numba_step()
    return _blas_step(np.dtype(dtype))


def _blas_step(dtype: np.dtype) -> Callable[..., tuple[float, float]]:
    from scipy.linalg import get_blas_funcs

    probe = np.zeros(1, dtype)
    dot, axpy, nrm2, scal, copy = get_blas_funcs(("dot", "axpy", "nrm2", "scal", "copy"), (probe,))

    def step(hq: np.ndarray, q: np.ndarray, q_prev: np.ndarray | None, beta_prev: float,
             out: np.ndarray) -> tuple[float, float]:
        copy(hq, out)
        a = float(dot(q, out))
        axpy(q, out, a=-a)
        if q_prev is not None:
            axpy(q_prev, out, a=-beta_prev)
        c = float(dot(q, out))
        axpy(q, out, a=-c)
        beta = float(nrm2(out))
        if beta > 0:
            scal(1.0 / beta, out)
        return a + c, beta

    return step


_NUMBA: Callable[..., tuple[float, float]] | None = None


def _numba_step() -> Callable[..., tuple[float, float]]:
    global _NUMBA
    if _NUMBA is None:
        import numba

        @numba.njit(cache=True, fastmath={"reassoc", "contract"})  # reductions vectorize; see module doc
        def kernel(hq, q, q_prev, beta_prev, out):  # pragma: no cover - compiled
            n = q.shape[0]
            a = 0.0
            for i in range(n):
                a += q[i] * hq[i]
            c = 0.0
            s = 0.0
            for i in range(n):
                r = hq[i] - a * q[i] - beta_prev * q_prev[i]
                out[i] = r
                c += q[i] * r
                s += r * r
            b2 = s - c * c
            beta = np.sqrt(b2) if b2 > 0.0 else 0.0
            if beta > 0.0:
                inv = 1.0 / beta
                for i in range(n):
                    out[i] = (out[i] - c * q[i]) * inv
            else:
                for i in range(n):
                    out[i] = out[i] - c * q[i]
            return a + c, beta

        def step(hq: np.ndarray, q: np.ndarray, q_prev: np.ndarray | None, beta_prev: float,
                 out: np.ndarray) -> tuple[float, float]:
            if hq.dtype != q.dtype or not hq.flags.c_contiguous:
                hq = np.ascontiguousarray(hq, dtype=q.dtype)
            a, beta = kernel(hq, q, q if q_prev is None else q_prev, 0.0 if q_prev is None else beta_prev, out)
            return float(a), float(beta)

        _NUMBA = step
    return _NUMBA

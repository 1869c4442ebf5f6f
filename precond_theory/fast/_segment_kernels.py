"""numba segment drivers: many updates of a covered rule on a quadratic in one compiled call.

A driver applies the updates k0, k0+1, ... of one rule (the very kernels of
:mod:`._kernels`/:mod:`._kernels_adaptive`, with the per-step coefficient rows of a table the host
filled with :meth:`Plan.coefs <precond_theory.fast._plan_base.Plan.coefs>`), and after each update
does what :func:`precond_theory.run`'s loop does at a step that is not a record point:

* the gradient at the new iterate, :func:`quad_grad` (``g = A (x - x*)``, the quadratic family of
  :mod:`precond_theory.problems.quadratic`); in "host GEMM" mode the driver stops after each update
  with ``x - x*`` in a buffer, and the host multiplies by the shared ``A`` with NumPy (the very
  product the reference takes);
* ``min_grad_norm="every_step"``: :math:`\\|g\\|^2` per run (:func:`pairwise_sum_sq`, NumPy's
  summation order) and the running minimum;
* ``divergence="every_step"``: the scan of x right after the update (while G still holds the
  gradient it used) and of the norm when computed, for every run still "ok"; a newly non-finite
  run ends the segment at that step so that the host's health code classifies it (exact step,
  0/0 at a zero gradient: the host copies G before computing the new gradient) as the
  reference does.

Arguments shared by every driver (``W``, the work tuple): ``(G, A, xs, pidx, rbuf, gn, rmin, code, K)``
with G ``(R, n)`` the gradient (the update reads it, then the gradient at the new x overwrites
it), A ``(P, n, n)``, xs ``(P, n)``, pidx ``(R,)`` the problem index of each run, rbuf
``(R, n)``, gn and rmin ``(R,)``, code ``(R,)`` int8 (0 = ok), K the typed constants 0 and 1;
and the int tuple
``O = (n_upd, grad_inside, grad_at_end, want_gn, want_min, scan)``.
Each driver returns ``(updates applied, why it stopped)``: :data:`STOP`, or :data:`STOP_BAD_X` when
a run still "ok" turned non-finite in x, with G still the gradient of that update.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from . import _kernels as kf
from . import _kernels_adaptive as ka
from ._kernels import JIT

#: below this many elements NumPy's pairwise summation adds sequentially; up to the block size it
#: uses eight accumulators (numpy/_core/src/umath/loops_utils.h.src)
_PW_UNROLL = 8
_PW_BLOCKSIZE = 128
#: what :func:`after_update` returns: take the next update; the segment ends here; it ends
#: here because a run still "ok" turned non-finite in x (G: the gradient of the update)
GO_ON, STOP, STOP_BAD_X = 0, 1, 2


@njit(**JIT)
def _block(a, lo, n, zero):
    """NumPy's ``pairwise_sum`` of ``a[lo:lo+n]`` for n <= 128 (the same additions in the same order)."""
    if n < _PW_UNROLL:
        res = zero
        for i in range(n):
            res += a[lo + i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    stop = n - (n % 8)
    while i < stop:
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@njit(**JIT)
def _pairwise(a, lo, n, zero):
    """NumPy's ``pairwise_sum``: blocks of at most 128, halves (rounded to a multiple of 8)
    above; the recursion unrolled on an explicit stack (numba cannot cache recursive functions)."""
    if n <= _PW_BLOCKSIZE:
        return _block(a, lo, n, zero)
    t_lo = np.empty(256, dtype=np.int64)
    t_n = np.empty(256, dtype=np.int64)  # -1: add the top two values
    vals = np.empty(128, dtype=a.dtype)
    nt, nv = 1, 0
    t_lo[0], t_n[0] = lo, n
    while nt > 0:
        nt -= 1
        l, m = t_lo[nt], t_n[nt]
        if m < 0:
            vals[nv - 2] = vals[nv - 2] + vals[nv - 1]
            nv -= 1
        elif m <= _PW_BLOCKSIZE:
            vals[nv] = _block(a, l, m, zero)
            nv += 1
        else:
            m2 = m // 2
            m2 -= m2 % 8
            t_lo[nt], t_n[nt] = 0, -1
            t_lo[nt + 1], t_n[nt + 1] = l + m2, m - m2
            t_lo[nt + 2], t_n[nt + 2] = l, m2
            nt += 3
    return vals[0]


@njit(**JIT)
def pairwise_sum_sq(g, sq, zero):
    """``np.sum(g * g, axis=-1)`` of one run ``g`` (1-D) bit for bit: NumPy's pairwise sum of
    the squares (``sq`` is scratch space of g's size)."""
    n = g.shape[0]
    for i in range(n):
        sq[i] = g[i] * g[i]
    return _pairwise(sq, 0, n, zero)


@njit(**JIT)
def residual(x, xs, pidx, rbuf):
    """``rbuf = x - x*`` (each run against its problem's minimiser)."""
    R, n = x.shape
    for r in range(R):
        p = pidx[r]
        for i in range(n):
            rbuf[r, i] = x[r, i] - xs[p, i]


@njit(**JIT)
def quad_grad(x, A, xs, pidx, rbuf, out):
    """``out = (x - x*) A`` row by row, summed over j in order (vectorized over the output
    coordinate): :math:`g_i = (\\ldots(r_0 A_{0i} + r_1 A_{1i}) + \\ldots) + r_{n-1} A_{n-1,i}`."""
    residual(x, xs, pidx, rbuf)
    R, n = x.shape
    for r in range(R):
        Ap = A[pidx[r]]
        o = out[r]
        rj = rbuf[r, 0]
        for i in range(n):
            o[i] = rj * Ap[0, i]
        for j in range(1, n):
            rj = rbuf[r, j]
            for i in range(n):
                o[i] = o[i] + rj * Ap[j, i]


@njit(**JIT)
def x_turned_bad(x, code):
    """True when a run still "ok" (``code == 0``) has a non-finite entry of x.

    Branch-free over a run (x - x is NaN exactly when x is not finite; the flags are OR-ed as
    integers), which LLVM vectorizes, unlike a test of each entry that returns at the first."""
    R, n = x.shape
    for r in range(R):
        if code[r] != 0:
            continue
        bad = 0
        for i in range(n):
            d = x[r, i] - x[r, i]
            bad |= d != d
        if bad:
            return True
    return False


@njit(**JIT)
def after_update(x, W, O, i):
    """The work after update i (1-based) of a segment: :data:`GO_ON`, :data:`STOP` or :data:`STOP_BAD_X`.

    With the scan on, x is scanned first, while G still holds the gradient the update used: a
    run still "ok" that turned non-finite ends the segment with :data:`STOP_BAD_X`, the
    gradient at x not computed (the host keeps G to tell a 0/0 from divergence, then computes it).
    """
    G, A, xs, pidx, rbuf, gn, rmin, code, K = W
    n_upd, grad_inside, grad_at_end, want_gn, want_min, scan = O
    if scan and x_turned_bad(x, code):
        return STOP_BAD_X
    if not grad_inside:  # the host multiplies rbuf by A, then calls :func:`post_grad`
        residual(x, xs, pidx, rbuf)
        return STOP
    if i < n_upd or grad_at_end:
        quad_grad(x, A, xs, pidx, rbuf, G)
    if i >= n_upd:
        return STOP
    return STOP if post_grad(x, W, O) else GO_ON


@njit(**JIT)
def post_grad(x, W, O):
    """Norm and running minimum at a step that is not a record point; True when the squared
    norm of a run still "ok" is not finite (the host then takes this step)."""
    G, A, xs, pidx, rbuf, gn, rmin, code, K = W
    n_upd, grad_inside, grad_at_end, want_gn, want_min, scan = O
    R, n = x.shape
    if want_gn:
        for r in range(R):
            s = pairwise_sum_sq(G[r], rbuf[r], K[0])
            gn[r] = s
            if want_min and s < rmin[r]:
                rmin[r] = s
        if scan:
            for r in range(R):
                if code[r] == 0 and not math.isfinite(gn[r]):
                    return True
    return False


@njit(**JIT)
def load(C, krow, T, i):
    """The step-dependent coefficient rows of update i from the table T ``(L, len(krow), Rc)``."""
    for t in range(krow.shape[0]):
        C[krow[t], :] = T[i, t, :]


# ------------------------------------------------------------------------- one driver per rule
# Each: for i in updates: load the coefficients, run the rule's kernel on G, then
# :func:`after_update`; returns (updates applied, why the segment ended).  F holds the kernel's
# flags (bools as 0/1), M the per-update modes.

@njit(**JIT)
def seg_sgd(x, S, C, K, F, krow, T, M, W, O):
    i = 0
    while True:
        load(C, krow, T, i)
        kf.sgd_kernel(x, W[0], S[0], C, K, F[0] != 0, M[i], F[1] != 0)
        i += 1
        why = after_update(x, W, O, i)
        if why != GO_ON:
            return i, why


@njit(**JIT)
def seg_heavy_ball(x, S, C, K, F, krow, T, M, W, O):
    i = 0
    while True:
        load(C, krow, T, i)
        kf.heavy_ball_kernel(x, W[0], S[0], C, K)
        i += 1
        why = after_update(x, W, O, i)
        if why != GO_ON:
            return i, why


@njit(**JIT)
def seg_ravine(x, S, C, K, F, krow, T, M, W, O):
    i = 0
    while True:
        load(C, krow, T, i)
        kf.ravine_kernel(x, W[0], S[0], C, K)
        i += 1
        why = after_update(x, W, O, i)
        if why != GO_ON:
            return i, why


@njit(**JIT)
def seg_signsgd(x, S, C, K, F, krow, T, M, W, O):
    i = 0
    while True:
        load(C, krow, T, i)
        kf.signsgd_kernel(x, W[0], S[0], C, K)
        i += 1
        why = after_update(x, W, O, i)
        if why != GO_ON:
            return i, why


@njit(**JIT)
def seg_lion(x, S, C, K, F, krow, T, M, W, O):
    i = 0
    while True:
        load(C, krow, T, i)
        kf.lion_kernel(x, W[0], S[0], C, K, F[0] != 0)
        i += 1
        why = after_update(x, W, O, i)
        if why != GO_ON:
            return i, why


@njit(**JIT)
def seg_rprop(x, S, C, K, F, krow, T, M, W, O):
    i = 0
    while True:
        load(C, krow, T, i)
        kf.rprop_kernel(x, W[0], S[0], S[1], C, K)
        i += 1
        why = after_update(x, W, O, i)
        if why != GO_ON:
            return i, why


@njit(**JIT)
def seg_adagrad(x, S, C, K, F, krow, T, M, W, O):
    i = 0
    while True:
        load(C, krow, T, i)
        ka.adagrad_kernel(x, W[0], S[0], C, K, F[0] != 0, F[1] != 0)
        i += 1
        why = after_update(x, W, O, i)
        if why != GO_ON:
            return i, why


@njit(**JIT)
def seg_rmsprop(x, S, C, K, F, krow, T, M, W, O):
    i = 0
    while True:
        load(C, krow, T, i)
        ka.rmsprop_kernel(x, W[0], S[0], S[1], S[2], C, K, F[0] != 0, F[1] != 0, F[2] != 0, F[3] != 0)
        i += 1
        why = after_update(x, W, O, i)
        if why != GO_ON:
            return i, why


@njit(**JIT)
def seg_adam(x, S, C, K, F, krow, T, M, W, O):
    i = 0
    while True:
        load(C, krow, T, i)
        ka.adam_kernel(x, W[0], S[0], S[1], S[2], C, K, F[0] != 0, F[1] != 0, F[2], F[3])
        i += 1
        why = after_update(x, W, O, i)
        if why != GO_ON:
            return i, why


@njit(**JIT)
def seg_nadam(x, S, C, K, F, krow, T, M, W, O):
    i = 0
    while True:
        load(C, krow, T, i)
        ka.nadam_kernel(x, W[0], S[0], S[1], C, K, F[0] != 0, F[1] != 0)
        i += 1
        why = after_update(x, W, O, i)
        if why != GO_ON:
            return i, why


@njit(**JIT)
def seg_adarem(x, S, C, K, F, krow, T, M, W, O):
    i = 0
    while True:
        load(C, krow, T, i)
        ka.adarem_kernel(x, W[0], S[0], S[1], C, K, F[0], F[1] != 0, F[2] != 0)
        i += 1
        why = after_update(x, W, O, i)
        if why != GO_ON:
            return i, why


#: kernel id of a plan (:attr:`Plan.kid`) -> its segment driver
DRIVERS = {0: seg_sgd, 1: seg_heavy_ball, 3: seg_ravine, 4: seg_signsgd, 5: seg_lion, 6: seg_rprop,
           7: seg_adagrad, 8: seg_rmsprop, 9: seg_adam, 10: seg_nadam, 11: seg_adarem}


def as_int_tuple(values: tuple, size: int) -> tuple[int, ...]:
    """Pad ``values`` with zeros to ``size`` ints (one tuple type for every driver call)."""
    return tuple(int(v) for v in values) + (0,) * (size - len(values))


__all__ = ["DRIVERS", "quad_grad", "pairwise_sum_sq", "residual", "post_grad", "x_turned_bad", "as_int_tuple", "np",
           "GO_ON", "STOP", "STOP_BAD_X"]

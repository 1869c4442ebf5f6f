"""numba kernels of the RECON families AdapGradm and HAdapGradm (conventions in :mod:`._kernels`).

Per-run sums (Apollo's weak-secant coefficient, the switched fraction) use NumPy's pairwise
summation order (:func:`._segment_kernels._pairwise`), so they are the reference's sums bit for
bit; the one power with a non-integer exponent (Apollo's ``** 0.25``) is taken on the host by
NumPy between :func:`apollo_norm_sums` and the update.
"""

from __future__ import annotations

import math

from numba import njit

from ._kernels import JIT, nan_max, nan_min
from ._segment_kernels import _pairwise

# curvature estimates
APOLLO, SECANT, AGD, BELIEF = 0, 1, 2, 3
# switches (HAdapGradm); -1: none (AdapGradm)
CLIP, FLOOR, BLEND = 0, 1, 2
# mode bits
HAS_PAIR = 1  # k > 1: a secant pair / a previous momentum exists
NO_SAMPLE = 2  # c == 0: h-hat is h0
SWITCHED = 4  # k > switch_at: the SGD rate


@njit(**JIT)
def apollo_norm_sums(x, xprev, out, sq, K):
    """``out[r] = sum_i ((x - x_prev)**2)**2`` per run (NumPy's order)."""
    R, n = x.shape
    for r in range(R):
        for i in range(n):
            s = x[r, i] - xprev[r, i]
            t = s * s
            sq[i] = t * t
        out[r] = _pairwise(sq, 0, n, K[0])


@njit(**JIT)
def adapgradm_kernel(x, g, m, h, D, xprev, yprev, rate, frac, swk, nrm, C, K, T, curv, mom_pair, sqrt_pow,
                     use_cap, mode, switch):
    """AdapGradm (``switch = -1``) and HAdapGradm.  C rows: b1, 1-b1, b2, 1-b2, eps_s, delta, cap,
    h0, bc1, lr/bc1, 1-b1^(k-1), 1-b2^c, eta, lo, hi, rho, (1-rho) eta, 1-rho, k, n.
    nrm ``(R,)``: Apollo's ``||s||_4 + eps_s``; T ``(3, n)`` scratch."""
    R, n = x.shape
    per_run = C.shape[1] > 1
    pair = (mode & HAS_PAIR) != 0
    no_sample = (mode & NO_SAMPLE) != 0
    switched = (mode & SWITCHED) != 0
    for r in range(R):
        j = r if per_run else 0
        b1, omb1, b2, omb2, eps_s = C[0, j], C[1, j], C[2, j], C[3, j], C[4, j]
        delta, cap, h0, bc1, lrbc1 = C[5, j], C[6, j], C[7, j], C[8, j], C[9, j]
        bc1p, bc2c, eta, lo, hi = C[10, j], C[11, j], C[12, j], C[13, j], C[14, j]
        rho, omr_eta, wbl, kf, nf = C[15, j], C[16, j], C[17, j], C[18, j], C[19, j]
        coef = K[0]
        if curv == APOLLO and pair:
            nr = nrm[r]
            for i in range(n):
                mi = b1 * m[r, i] + omb1 * g[r, i]
                y_now = mi / bc1 if mom_pair else g[r, i]
                s = x[r, i] - xprev[r, i]
                sn = s / nr
                sn2 = sn * sn
                T[0, i] = sn * ((y_now - yprev[r, i]) / nr)
                T[1, i] = h[r, i] * sn2
                T[2, i] = sn2
            coef = _pairwise(T[0], 0, n, K[0]) - _pairwise(T[1], 0, n, K[0])
        cnt = K[0]
        for i in range(n):
            xi, gi, m_old = x[r, i], g[r, i], m[r, i]
            mi = b1 * m_old + omb1 * gi
            hi_ = h[r, i]
            if curv == APOLLO or curv == SECANT:
                y_now = mi / bc1 if mom_pair else gi
                if pair:
                    if curv == SECANT:
                        s = xi - xprev[r, i]
                        hi_ = b2 * hi_ + omb2 * (abs(y_now - yprev[r, i]) / (abs(s) + eps_s))
                    else:
                        hi_ = hi_ + coef * T[2, i]
                xprev[r, i] = xi
                yprev[r, i] = y_now
            elif curv == AGD:
                sd = mi / bc1 - m_old / bc1p if pair else mi / bc1
                hi_ = b2 * hi_ + omb2 * (sd * sd)
            else:
                e = gi - mi
                hi_ = b2 * hi_ + omb2 * (e * e)
            if curv == APOLLO:
                hhat = hi_
            elif no_sample:
                hhat = h0
            else:
                hhat = hi_ / bc2c
            a = abs(hhat)
            Di = nan_max(math.sqrt(a) if sqrt_pow else a, delta)
            if use_cap:
                Di = nan_min(Di, cap)
            ri = lrbc1 / Di
            if switch >= 0:
                if switched:
                    ri = eta
                elif switch == CLIP:
                    r2 = nan_min(nan_max(ri, lo), hi)
                    if r2 != ri:
                        cnt += K[1]
                    ri = r2
                elif switch == FLOOR:
                    if ri >= eta:
                        cnt += K[1]
                    ri = nan_min(ri, eta)
                else:
                    ri = rho * ri + omr_eta
                rate[r, i] = ri
            m[r, i] = mi
            h[r, i] = hi_
            D[r, i] = Di
            x[r, i] = xi + -(ri * mi)
        if switch >= 0:
            if switched:
                fr = K[1]
            elif switch == BLEND:
                fr = wbl
            else:
                fr = cnt / nf
            fr = K[0] + fr
            frac[r, 0] = fr
            if swk[r, 0] < K[0] and fr >= K[1]:
                swk[r, 0] = kf


@njit(**JIT)
def soaa_kernel(x, g, m, v, d, d_last, p, lbar, ell, bounds, C, K, T, ratio_of_sums, fold, tadam, consistent,
                use_wd, mode):
    """SOAA.  C rows: b1, 1-b1, b2, 1-b2, eps, bc1, bc2, -lr, (lr or 1) wd, lo, hi, gamma, 1-gamma,
    1-b1^(k-1), lr, 0.5 lr^2, 0.5.  d, d_last, p, lbar: ``(R, 1)`` columns; ell ``(R,)`` the loss;
    bounds: the Fisher blocks' edges (``[0, n]`` for global sums); T ``(4, n)`` scratch.
    mode 1: a previous loss EMA exists (``past_only``)."""
    R, n = x.shape
    per_run = C.shape[1] > 1
    nb = bounds.shape[0] - 1
    for r in range(R):
        j = r if per_run else 0
        b1, omb1, b2, omb2, eps = C[0, j], C[1, j], C[2, j], C[3, j], C[4, j]
        bc1, bc2, nlr, cwd, lo = C[5, j], C[6, j], C[7, j], C[8, j], C[9, j]
        hi, gamma, omg, bc1p, lr = C[10, j], C[11, j], C[12, j], C[13, j], C[14, j]
        hl2, half = C[15, j], C[16, j]
        dr = d[r, 0]
        for i in range(n):
            gi = g[r, i]
            mi = b1 * m[r, i] + omb1 * gi
            vi = b2 * v[r, i] + omb2 * (gi * gi)
            m[r, i] = mi
            v[r, i] = vi
            mh, vh = mi / bc1, vi / bc2
            if ratio_of_sums:
                T[0, i] = mh * mh
                T[1, i] = vh + eps
            else:
                T[0, i] = mh * mh / (vh + eps)
        for b in range(nb):
            lo_b, hi_b = bounds[b], bounds[b + 1]
            if ratio_of_sums:
                s = _pairwise(T[0], lo_b, hi_b - lo_b, K[0]) / _pairwise(T[1], lo_b, hi_b - lo_b, K[0])
            else:
                s = _pairwise(T[0], lo_b, hi_b - lo_b, K[0])
            for i in range(lo_b, hi_b):
                mh, vh = m[r, i] / bc1, v[r, i] / bc2
                F = (K[1] + s) * vh
                rr = nan_max(dr * F, math.sqrt(vh))
                u = dr * mh / (rr + eps)
                T[2, i] = mh * u
                T[3, i] = vh * (u * u)
                xi = x[r, i]
                dx = nlr * u
                if use_wd:
                    dx = dx - cwd * xi
                x[r, i] = xi + dx
        red1 = _pairwise(T[2], 0, n, K[0])
        red2 = _pairwise(T[3], 0, n, K[0])
        e = ell[r]
        lb = lbar[r, 0]
        if fold:
            lb = b1 * lb + omb1 * e
            l_hat = lb / bc1
        else:
            l_hat = lb / bc1p if mode == 1 else lb
            lb = b1 * lb + omb1 * e
        rho = (l_hat - e) / nan_max(p[r, 0], eps)
        if tadam:
            if rho < gamma:
                dn = nan_max(dr, K[1]) * lo
            elif rho > omg:
                dn = nan_min(dr, K[1]) * hi
            else:
                dn = dr
        else:
            dn = nan_min(nan_max(rho * dr, lo), hi)
        p[r, 0] = lr * red1 - hl2 * red2 if consistent else lr * (red1 - half * red2)
        d_last[r, 0] = dr
        d[r, 0] = dn
        lbar[r, 0] = lb

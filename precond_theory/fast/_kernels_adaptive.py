"""numba kernels of the adaptive rules (conventions in :mod:`._kernels`)."""

from __future__ import annotations

import math

from numba import njit, prange

from ._kernels import JIT, nan_max, nan_min, sign


@njit(**JIT)
def adagrad_kernel(x, g, s, C, K, use_wd, inside):
    """AdaGrad.  C rows: wd, -clr (clr = lr / (1 + (k-1) lr_decay)), eps."""
    R, n = x.shape
    per_run = C.shape[1] > 1
    for r in range(R):
        j = r if per_run else 0
        wd, nclr, eps = C[0, j], C[1, j], C[2, j]
        for i in range(n):
            xi, gi = x[r, i], g[r, i]
            if use_wd:
                gi = gi + wd * xi
            si = s[r, i] + gi * gi
            s[r, i] = si
            den = math.sqrt(si + eps) if inside else math.sqrt(si) + eps
            x[r, i] = xi + nclr * gi / den


@njit(**JIT)
def rmsprop_kernel(x, g, v, gbar, b, C, K, use_wd, centered, use_mom, inside):
    """RMSProp (torch).  C rows: wd, alpha, 1 - alpha, eps, momentum, -lr."""
    R, n = x.shape
    per_run = C.shape[1] > 1
    for r in range(R):
        j = r if per_run else 0
        wd, a, oma, eps, mom, nlr = C[0, j], C[1, j], C[2, j], C[3, j], C[4, j], C[5, j]
        for i in range(n):
            xi, gi = x[r, i], g[r, i]
            if use_wd:
                gi = gi + wd * xi
            vi = a * v[r, i] + oma * (gi * gi)
            v[r, i] = vi
            if centered:
                gb = a * gbar[r, i] + oma * gi
                gbar[r, i] = gb
                vi = vi - gb * gb
            den = math.sqrt(vi + eps) if inside else math.sqrt(vi) + eps
            u = gi / den
            if use_mom:
                u = mom * b[r, i] + u
                b[r, i] = u
            x[r, i] = xi + nlr * u


@njit(**JIT)
def _adam_element(xi, gi, mi, vi, vmi, wd, b1, omb1, b2, omb2, eps, bc2, sbc2, nc, dc,
                  coupled, decoupled, ams, dmode):
    if coupled:
        gi = gi + wd * xi
    mi = b1 * mi + omb1 * gi
    vi = b2 * vi + omb2 * (gi * gi)
    vv = vi
    if ams == 1:
        vmi = nan_max(vmi, vi)
        vv = vmi
    elif ams == 2:
        vmi = nan_max(vmi, vi / bc2)
        vv = vmi
    if dmode == 0:
        den = math.sqrt(vv) + eps
    elif dmode == 1:
        den = math.sqrt(vv + eps)
    elif dmode == 2:
        den = math.sqrt(vv) / sbc2 + eps
    elif dmode == 4:
        den = math.sqrt(vv * bc2) + eps
    else:
        den = math.sqrt(vv / bc2 + eps)
    dx = nc * mi / den
    if decoupled:
        dx = dx - dc * xi
    return xi + dx, mi, vi, vmi


@njit(**JIT)
def _adam_row(x, g, m, v, vmax, C, j, K, coupled, decoupled, ams, dmode, lo, hi):
    """Coordinates lo..hi-1 of one run (1-D views); the torch defaults (and AdamW) take a
    branch-free loop that LLVM vectorizes, every other option the general element function."""
    wd, b1, omb1, b2, omb2 = C[0, j], C[1, j], C[2, j], C[3, j], C[4, j]
    eps, bc2, sbc2, nc, dc = C[5, j], C[6, j], C[7, j], C[8, j], C[9, j]
    if not coupled and ams == 0 and dmode == 2:
        if decoupled:
            for i in range(lo, hi):
                xi, gi = x[i], g[i]
                mi = b1 * m[i] + omb1 * gi
                vi = b2 * v[i] + omb2 * (gi * gi)
                m[i] = mi
                v[i] = vi
                x[i] = xi + (nc * mi / (math.sqrt(vi) / sbc2 + eps) - dc * xi)
        else:
            for i in range(lo, hi):
                gi = g[i]
                mi = b1 * m[i] + omb1 * gi
                vi = b2 * v[i] + omb2 * (gi * gi)
                m[i] = mi
                v[i] = vi
                x[i] = x[i] + nc * mi / (math.sqrt(vi) / sbc2 + eps)
        return
    for i in range(lo, hi):
        vm = vmax[i] if ams else K[0]
        x[i], m[i], v[i], vm = _adam_element(x[i], g[i], m[i], v[i], vm, wd, b1, omb1, b2, omb2, eps, bc2, sbc2,
                                             nc, dc, coupled, decoupled, ams, dmode)
        if ams:
            vmax[i] = vm


@njit(**JIT)
def adam_kernel(x, g, m, v, vmax, C, K, coupled, decoupled, ams, dmode):
    """Adam family.  C rows: wd, b1, 1-b1, b2, 1-b2, eps, bc2, bc2**0.5, -(lr c), decoupled factor.
    ams 0: none, 1: max of raw v, 2: max of v / bc2.  dmode 0: sqrt(vv)+eps, 1: sqrt(vv+eps),
    2: sqrt(vv)/bc2**0.5 + eps, 3: sqrt(vv/bc2 + eps), 4: sqrt(vv*bc2) + eps."""
    R, n = x.shape
    per_run = C.shape[1] > 1
    for r in range(R):
        vm = vmax[r] if ams else vmax[0]
        _adam_row(x[r], g[r], m[r], v[r], vm, C, r if per_run else 0, K, coupled, decoupled, ams, dmode, 0, n)


@njit(cache=True, fastmath=False, error_model="numpy", nogil=True, parallel=True)
def adam_kernel_parallel(x, g, m, v, vmax, C, K, coupled, decoupled, ams, dmode, chunk):
    """:func:`adam_kernel` for large n: the ``R * ceil(n / chunk)`` chunks are shared among numba's threads.

    Each chunk is passed as its own slices, looped from 0: the row's loop then vectorizes as in
    the serial kernel.  (Passing the whole row with an offset range did not vectorize: with one
    thread, 8 GB/s instead of 48 for one Adam step at n = 10^7 float32 on the development machine.)
    """
    R, n = x.shape
    per_run = C.shape[1] > 1
    nch = (n + chunk - 1) // chunk
    for t in prange(R * nch):
        r = t // nch
        lo = (t % nch) * chunk
        hi = min(n, lo + chunk)
        vm = vmax[r] if ams else vmax[0]
        vs = vm[lo:hi] if ams else vm
        _adam_row(x[r, lo:hi], g[r, lo:hi], m[r, lo:hi], v[r, lo:hi], vs, C, r if per_run else 0, K, coupled,
                  decoupled, ams, dmode, 0, hi - lo)


@njit(**JIT)
def nadam_kernel(x, g, m, v, C, K, coupled, decoupled):
    """NAdam (torch).  C rows: wd, b1, 1-b1, b2, 1-b2, bc2, eps, c1, c2, lr*wd, where
    dx = (c1 g) / den - (c2 m) / den with c1 = -lr (1-mu)/(1-prod), c2 = lr mu'/(1 - prod mu')."""
    R, n = x.shape
    per_run = C.shape[1] > 1
    for r in range(R):
        j = r if per_run else 0
        wd, b1, omb1, b2, omb2 = C[0, j], C[1, j], C[2, j], C[3, j], C[4, j]
        bc2, eps, c1, c2, dc = C[5, j], C[6, j], C[7, j], C[8, j], C[9, j]
        for i in range(n):
            xi, gi = x[r, i], g[r, i]
            if coupled:
                gi = gi + wd * xi
            mi = b1 * m[r, i] + omb1 * gi
            vi = b2 * v[r, i] + omb2 * (gi * gi)
            m[r, i] = mi
            v[r, i] = vi
            den = math.sqrt(vi / bc2) + eps
            dx = c1 * gi / den - c2 * mi / den
            if decoupled:
                dx = dx - dc * xi
            x[r, i] = xi + dx


@njit(**JIT)
def adarem_kernel(x, g, m, buf, C, K, normalizer, use_wd, use_mom):
    """AdaRem.  C rows: c (= lambda^k or lambda), eps, wd, b1, 1 - b1, momentum, -lr.
    normalizer 0: tensor max (per run), 1: elementwise, 2: clip to [-1, 1]."""
    R, n = x.shape
    per_run = C.shape[1] > 1
    for r in range(R):
        j = r if per_run else 0
        c, eps, wd, b1, omb1, mom, nlr = C[0, j], C[1, j], C[2, j], C[3, j], C[4, j], C[5, j], C[6, j]
        mx = K[0]
        if normalizer == 0:
            mx = abs(m[r, 0])
            for i in range(1, n):
                mx = nan_max(mx, abs(m[r, i]))
            mx = mx + eps
        for i in range(n):
            xi, gi, mp = x[r, i], g[r, i], m[r, i]
            sm = sign(gi, K) * mp
            if normalizer == 0:
                bt = sm / mx
            elif normalizer == 1:
                bt = sm / (abs(mp) + eps)
            else:
                bt = nan_min(nan_max(sm, -K[1]), K[1])
            delta = (K[1] + c * bt) * gi
            if use_wd:
                delta = delta + wd * xi
            m[r, i] = b1 * mp + omb1 * gi
            if use_mom:
                delta = mom * buf[r, i] + delta
                buf[r, i] = delta
            x[r, i] = xi + nlr * delta


@njit(**JIT)
def adamrag_kernel(x, g, m, v, w_prev, C, K, extrapolate, mhat):
    """AdamRAG.  C rows: alpha, b1, 1-b1, b2, 1-b2, bc2**0.5, eps, -(lr (1/bc1)), -lr.
    y = x + alpha (x - w_prev) when ``extrapolate``; dx = (y - x) + step (or step); w_prev <- x."""
    R, n = x.shape
    per_run = C.shape[1] > 1
    for r in range(R):
        j = r if per_run else 0
        alpha, b1, omb1, b2, omb2 = C[0, j], C[1, j], C[2, j], C[3, j], C[4, j]
        sbc2, eps, nc, nlr = C[5, j], C[6, j], C[7, j], C[8, j]
        for i in range(n):
            xi, gi = x[r, i], g[r, i]
            mi = b1 * m[r, i] + omb1 * gi
            vi = b2 * v[r, i] + omb2 * (gi * gi)
            m[r, i] = mi
            v[r, i] = vi
            den = math.sqrt(vi) / sbc2 + eps
            step = nc * mi / den if mhat else nlr * gi / den
            if extrapolate:
                dx = (xi + alpha * (xi - w_prev[r, i]) - xi) + step
            else:
                dx = step
            w_prev[r, i] = xi
            x[r, i] = xi + dx

"""numba kernels of the first-order, sign and resilient rules: one fused pass over x, g and the state.

Conventions shared by every kernel (here and in :mod:`._kernels_adaptive`):

* arrays are C-contiguous ``(R, n)`` views (R runs, n coordinates), updated in place;
* ``C`` is a ``(n_coef, R)`` or ``(n_coef, 1)`` array, in the dtype of ``x``, of per-run coefficients
  computed on the host by the reference's own expressions (so a Python-float hyperparameter is
  rounded once, as NumPy rounds it when it meets an array);
* the per-element arithmetic is the reference ``_step``'s, operation for operation and in the
  same order; no literal constants appear (they would promote float32 to float64): the typed
  constants 0 and 1 come in ``K``;
* ``fastmath=False`` (no reassociation, no FMA contraction) and ``error_model="numpy"``
  (x/0 gives inf or NaN, as in NumPy).
"""

from __future__ import annotations

from numba import njit

JIT = dict(cache=True, fastmath=False, error_model="numpy", nogil=True)


@njit(**JIT)
def nan_max(a, b):
    """``np.maximum`` of two scalars (NaN propagates)."""
    if a != a:
        return a
    if b != b:
        return b
    return a if a >= b else b


@njit(**JIT)
def nan_min(a, b):
    """``np.minimum`` of two scalars (NaN propagates)."""
    if a != a:
        return a
    if b != b:
        return b
    return a if a <= b else b


@njit(**JIT)
def sign(a, K):
    """``np.sign``: -1, 0 or 1 in the dtype of ``K``; NaN stays NaN."""
    if a > 0:
        return K[1]
    if a < 0:
        return -K[1]
    if a == 0:
        return K[0]
    return a


@njit(**JIT)
def sgd_kernel(x, g, b, C, K, use_wd, mode, nesterov):
    """SGD (torch form).  C rows: -lr, wd, momentum, 1 - dampening.
    mode 0: no momentum; 1: first update (b = g); 2: b = mu b + (1 - tau) g."""
    R, n = x.shape
    per_run = C.shape[1] > 1
    for r in range(R):
        j = r if per_run else 0
        nlr, wd, mom, omd = C[0, j], C[1, j], C[2, j], C[3, j]
        for i in range(n):
            gi = g[r, i]
            if use_wd:
                gi = gi + wd * x[r, i]
            if mode == 0:
                d = gi
            else:
                if mode == 1:
                    bi = gi
                else:
                    bi = mom * b[r, i] + omd * gi
                b[r, i] = bi
                d = gi + mom * bi if nesterov else bi
            x[r, i] = x[r, i] + nlr * d


@njit(**JIT)
def heavy_ball_kernel(x, g, x_prev, C, K):
    """Heavy ball.  C rows: -lr, momentum.  dx = -lr g + beta (x - x_prev); x_prev <- x."""
    R, n = x.shape
    per_run = C.shape[1] > 1
    for r in range(R):
        j = r if per_run else 0
        nlr, mom = C[0, j], C[1, j]
        for i in range(n):
            xi = x[r, i]
            dx = nlr * g[r, i] + mom * (xi - x_prev[r, i])
            x_prev[r, i] = xi
            x[r, i] = xi + dx


@njit(**JIT)
def nesterov_kernel(x, g, x_prev, C, K):
    """Nesterov (extrapolate then step).  C rows: alpha, lr.
    y = x + alpha (x - x_prev); dx = (y - lr g) - x; x_prev <- x."""
    R, n = x.shape
    per_run = C.shape[1] > 1
    for r in range(R):
        j = r if per_run else 0
        alpha, lr = C[0, j], C[1, j]
        for i in range(n):
            xi = x[r, i]
            y = xi + alpha * (xi - x_prev[r, i])
            dx = (y - lr * g[r, i]) - xi
            x_prev[r, i] = xi
            x[r, i] = xi + dx


@njit(**JIT)
def ravine_kernel(x, g, w_prev, C, K):
    """Ravine.  C rows: alpha, lr.  w = x - lr g; dx = (w + alpha (w - w_prev)) - x; w_prev <- w."""
    R, n = x.shape
    per_run = C.shape[1] > 1
    for r in range(R):
        j = r if per_run else 0
        alpha, lr = C[0, j], C[1, j]
        for i in range(n):
            xi = x[r, i]
            w = xi - lr * g[r, i]
            dx = (w + alpha * (w - w_prev[r, i])) - xi
            w_prev[r, i] = w
            x[r, i] = xi + dx


@njit(**JIT)
def signsgd_kernel(x, g, m, C, K):
    """signSGD / Signum.  C rows: -lr, beta, 1 - beta.  m = beta m + (1-beta) g; dx = -lr sign(m)."""
    R, n = x.shape
    per_run = C.shape[1] > 1
    for r in range(R):
        j = r if per_run else 0
        nlr, b, omb = C[0, j], C[1, j], C[2, j]
        for i in range(n):
            mi = b * m[r, i] + omb * g[r, i]
            m[r, i] = mi
            x[r, i] = x[r, i] + nlr * sign(mi, K)


@njit(**JIT)
def lion_kernel(x, g, m, C, K, use_wd):
    """Lion.  C rows: -lr, b1, 1 - b1, b2, 1 - b2, wd."""
    R, n = x.shape
    per_run = C.shape[1] > 1
    for r in range(R):
        j = r if per_run else 0
        nlr, b1, omb1, b2, omb2, wd = C[0, j], C[1, j], C[2, j], C[3, j], C[4, j], C[5, j]
        for i in range(n):
            xi, gi, mi = x[r, i], g[r, i], m[r, i]
            d = sign(b1 * mi + omb1 * gi, K)
            if use_wd:
                d = d + wd * xi
            m[r, i] = b2 * mi + omb2 * gi
            x[r, i] = xi + nlr * d


@njit(**JIT)
def rprop_kernel(x, g, prev, step, C, K):
    """Rprop (torch).  C rows: eta_plus, eta_minus, step_min, step_max."""
    R, n = x.shape
    per_run = C.shape[1] > 1
    for r in range(R):
        j = r if per_run else 0
        ep, em, lo, hi = C[0, j], C[1, j], C[2, j], C[3, j]
        for i in range(n):
            gi = g[r, i]
            s = sign(gi * prev[r, i], K)
            if s > 0:
                f = ep
            elif s < 0:
                f = em
            else:
                f = K[1]
            st = nan_min(nan_max(step[r, i] * f, lo), hi)
            if s < 0:
                gi = K[0]
            step[r, i] = st
            prev[r, i] = gi
            x[r, i] = x[r, i] + -(sign(gi, K) * st)

r"""Worst-case instances: problems on which a bound is attained, each with its exact constants.

* :func:`huber` — Drori & Teboulle's Huber function, on which gradient descent with step h/L
  attains :math:`LR^2/(4Nh+2)` exactly (:func:`precond_theory.problems.make_gd_worst_case`).
* :func:`nesterov_function` — Nesterov's tridiagonal quadratic, the lower bound of every
  first-order method (:func:`precond_theory.problems.make_nesterov_worst_case`).
* :func:`gd_worst_quadratic` — the quadratic whose eigenvalue :math:`\lambda = 1/(\gamma(2n+1))`
  maximises :math:`f(x_n) - f^\star` of gradient descent with step γ among quadratics.
* :func:`reddi_online` — Reddi, Kale & Kumar's online problems on which Adam fails.
* :func:`lessard` — Lessard, Recht & Packard's piecewise quadratic on which heavy ball cycles.
* :func:`pep_instance` — the function that *attains* a performance-estimation worst case: a
  smooth (strongly) convex or smooth interpolant of the PEP's worst-case example (Taylor,
  Hendrickx & Glineur 2017), on which a run of the rule reproduces the PEP value.

Every function returns ``(problem, x0, value)``: the problem, the start, and the value of the
measured quantity that the method attains there (exact, from the construction), so that a run
can be compared with it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import check_int, check_range
from ..problems import (
    make_gd_worst_case,
    make_lessard_piecewise,
    make_nesterov_worst_case,
    make_reddi_periodic,
    make_reddi_stochastic,
)
from ..problems.quadratic import Quadratic

__all__ = ["huber", "nesterov_function", "gd_worst_quadratic", "reddi_online", "lessard", "pep_instance",
           "PepInterpolant"]


def huber(N: int, *, L: float = 1.0, R: float = 1.0, h: float = 1.0, dim: int = 1) -> tuple[Any, Any, float]:
    r"""Drori–Teboulle worst case of gradient descent (step h/L, N steps, ``||x0 - x*|| = R``).

    ``value`` = :math:`f(x_N) - f^\star` that GD attains: :math:`LR^2/(4Nh+2)` for h <= 1 (the
    Huber function), or the larger quadratic value :math:`\frac{LR^2}2(1-h)^{2N}` for 1 < h < 2.

    References
    ----------
    .. [1] Drori & Teboulle, Math. Program. 145, 2014, Theorems 3.1-3.2.
    """
    p = make_gd_worst_case(dim, L=L, R=R, N=N, h=h, kind="auto" if h > 1 else "huber")
    return p, p.default_x0(), float(p.worst_case_gap)


def nesterov_function(t: int, *, L: float = 1.0, mu: float = 0.0, dim: int | None = None) -> tuple[Any, Any, float]:
    r"""Nesterov's worst function for ``t`` steps (``active = 2t + 1`` coupled coordinates), x0 = 0.

    ``value`` = the lower bound :math:`3L\|x_0-x^\star\|^2/(32(t+1)^2)` that *every* Krylov
    method's :math:`f(x_t) - f^\star` exceeds on it (mu = 0), a lower bound to compare runs with.

    References
    ----------
    .. [1] Nesterov, Introductory Lectures on Convex Optimization, 2004, Theorem 2.1.7.
    """
    t = check_int("t", t, 1)
    n = 2 * t + 1 if dim is None else dim
    p = make_nesterov_worst_case(n, active=2 * t + 1, L=L, mu=mu)
    return p, p.default_x0(), float(p.lower_bound(t)) if mu == 0 else float("nan")


def gd_worst_quadratic(n: int, *, lr: float, L: float = 1.0, R: float = 1.0) -> tuple[Any, Any, float]:
    r"""The quadratic on which gradient descent with step γ = ``lr`` is slowest after n steps.

    Among :math:`f = \frac\lambda2 x^2`, :math:`f(x_n) - f^\star = \frac\lambda2(1-\gamma\lambda)^{2n}R^2`
    is maximal at :math:`\lambda = 1/(\gamma(2n+1))` (set the derivative to zero), with value
    :math:`\frac{R^2}{2\gamma(2n+1)}\bigl(\frac{2n}{2n+1}\bigr)^{2n}`.  The instance is the
    two-dimensional diagonal quadratic with eigenvalues :math:`(\lambda, L)` (so that its
    smoothness constant is exactly L; needs :math:`\lambda \le L`, i.e. γ ≥ 1/(L(2n+1))), started at
    :math:`x_0 = R e_1` on the λ eigenvector, :math:`x^\star = 0`.
    """
    n = check_int("n", n, 1)
    check_range("lr", lr, 0.0, lo_open=True)
    check_range("L", L, 0.0, lo_open=True)
    check_range("R", R, 0.0, lo_open=True)
    lam = 1.0 / (lr * (2 * n + 1))
    if lam > L:
        raise ValueError(f"lr must be >= 1/(L(2n+1)) = {1 / (L * (2 * n + 1)):.6g} so that lambda = 1/(lr(2n+1)) <= L; "
                         f"got lr={lr}")
    eigs = np.array([lam, L])
    A = np.diag(eigs)
    value = 0.5 * lam * (1 - lr * lam) ** (2 * n) * R**2
    x0 = np.array([R, 0.0])
    p = Quadratic(A=A, x_star=np.zeros(2), eigs=eigs, f_star=0.0, x0=x0, name="gd_worst_quadratic",
                  params=dict(n=n, lr=float(lr), L=float(L), R=float(R), lam=lam))
    return p, x0, float(value)


def reddi_online(C: float = 3.0, *, period: int = 3, stochastic: bool = False, delta: float = 1.0,
                 seed: int = 0) -> tuple[Any, Any, float]:
    r"""Reddi–Kale–Kumar's online problem on [-1, 1] (periodic, or stochastic with ``delta``).

    ``value`` = the average per-step regret that a method converging to the worst point +1
    incurs: :math:`2\,\bar c` with :math:`\bar c` the mean gradient (Theorem 1: Adam with
    β1 = 0, β2 = 1/(1+C²) does this on the periodic problem with period 3).

    References
    ----------
    .. [1] Reddi, Kale, Kumar, "On the convergence of Adam and beyond", ICLR 2018, Theorems 1-3.
    """
    p = make_reddi_stochastic(C, delta=delta, seed=seed) if stochastic else make_reddi_periodic(C, period=period)
    return p, p.default_x0(), 2.0 * float(p.mean_coefficient)


def lessard(x0: float = 3.3, *, dim: int = 1) -> tuple[Any, Any, float]:
    r"""Lessard–Recht–Packard's function (μ = 1, L = 25) on which heavy ball with Polyak's
    parameters cycles from :math:`x_0 \in [3.07, 3.46]`.  ``value`` = the claimed contraction
    factor per step, :math:`(\sqrt\kappa - 1)/(\sqrt\kappa + 1) = 2/3`, that the run violates.
    """
    p = make_lessard_piecewise(dim, x0=x0)
    return p, p.default_x0(), 2.0 / 3.0


# ------------------------------------------------------------------------------ PEP interpolant
_SNAP = 1e-9  # relative distance under which a query point is an example point (floats of one formula)

class PepInterpolant:
    r"""A function of the PEP class that interpolates a worst-case example exactly.

    Given points :math:`x_i`, gradients :math:`g_i` and values :math:`f_i` satisfying the
    interpolation conditions of L-smooth μ-strongly convex functions, :math:`h = f - \frac\mu2\|x\|^2`
    has data that are (L-μ)-smooth-convex interpolable, and with :math:`M = L - \mu`,
    :math:`s_i = g_i - \mu x_i`, :math:`h_i = f_i - \frac\mu2\|x_i\|^2`,

    .. math::
        h(x) = \min_{\lambda\in\Delta}\ \frac M2\|x\|^2 + \sum_i\lambda_i\Bigl(h_i - \frac{\|s_i\|^2}{2M}
               + \langle x, s_i - M x_i\rangle\Bigr) + \frac M2\Bigl\|\sum_i\lambda_i (x_i - s_i/M)\Bigr\|^2

    is the conjugate of :math:`\max_i\{h_i^* + \langle x_i, s - s_i\rangle + \|s-s_i\|^2/(2M)\}`, an
    M-smooth convex function with :math:`h(x_i) = h_i`, :math:`\nabla h(x_i) = s_i`
    ([1], Theorem 4), and :math:`\nabla h(x) = M(x - \sum_i\lambda^\star_i(x_i - s_i/M))`.  For the
    nonconvex (L-smooth) class, :math:`f + \frac L2\|x\|^2` is convex and 2L-smooth: μ = -L.  Each
    evaluation solves the small QP over the simplex with CVXPY (host, float64).  At the example's
    own points (within relative distance 1e-9, i.e. the same formula in floating point) the data
    are returned exactly; elsewhere the gradient is accurate to about the square root of the QP
    solver's tolerance (1e-5: worst-case examples make many interpolation conditions tight).
    The example satisfies the interpolation conditions to the SDP solver's accuracy (~1e-9).

    References
    ----------
    .. [1] A. Taylor, J. Hendrickx, F. Glineur, Math. Program. 161:307-345, 2017, Theorem 4 and
           Theorem 3.10 (smooth nonconvex).
    """

    def __init__(self, X: np.ndarray, G: np.ndarray, F: np.ndarray, L: float, mu: float) -> None:
        import cvxpy as cp

        self.mu, self.M = float(mu), float(L - mu)
        X, G, F = (np.asarray(a, dtype=np.float64) for a in (X, G, F))
        S = G - self.mu * X
        H = F - 0.5 * self.mu * np.sum(X * X, axis=1)
        self._W = X - S / self.M
        self._base = H - np.sum(S * S, axis=1) / (2 * self.M)
        self._D = S - self.M * X  # row i: s_i - M x_i
        m, d = X.shape
        self._x = cp.Parameter(d)
        self._lam = cp.Variable(m, nonneg=True)
        obj = (self._base + self._D @ self._x) @ self._lam + self.M / 2 * cp.sum_squares(self._W.T @ self._lam)
        self._prob = cp.Problem(cp.Minimize(obj), [cp.sum(self._lam) == 1])
        self.dim = d
        self._X, self._G, self._F = X, G, F

    def _solve(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        from .pep import solver_name

        # at an example point the interpolant's value and gradient are the data (exactly); the QP
        # below recovers them only to about sqrt(solver tolerance) because worst-case examples make
        # many interpolation conditions tight (a flat optimal face in lambda)
        dist = np.linalg.norm(self._X - x, axis=1)
        j = int(np.argmin(dist))
        if dist[j] <= _SNAP * max(1.0, float(np.linalg.norm(self._X[j]))):
            return float(self._F[j]), self._G[j].copy()
        self._x.value = x
        name = solver_name()
        self._prob.solve(solver=name, **({"eps": 1e-10} if name == "SCS" else {}))
        lam = np.clip(np.asarray(self._lam.value, dtype=np.float64), 0.0, None)
        lam = lam / lam.sum()
        w = self._W.T @ lam
        h = 0.5 * self.M * x @ x + (self._base + self._D @ x) @ lam + 0.5 * self.M * w @ w
        return float(h + 0.5 * self.mu * x @ x), self.M * (x - w) + self.mu * x

    def value(self, x: Any) -> np.ndarray:
        a = np.asarray(x, dtype=np.float64)
        flat = a.reshape(-1, self.dim)
        return np.array([self._solve(r)[0] for r in flat]).reshape(a.shape[:-1])

    def grad(self, x: Any) -> np.ndarray:
        a = np.asarray(x, dtype=np.float64)
        flat = a.reshape(-1, self.dim)
        return np.array([self._solve(r)[1] for r in flat]).reshape(a.shape)


def pep_instance(result: Any) -> tuple[Any, Any, float]:
    r"""The worst-case function of a :class:`~precond_theory.verify.pep.PepResult` as a problem.

    Returns ``(problem, x0, value)``: a :func:`~precond_theory.problems.from_functions` problem
    evaluating :class:`PepInterpolant` (exact ``L``, ``mu``, ``x_star``, ``f_star`` of the example),
    the example's start x0, and the PEP's primal value, which a run of the *same* method reaches
    on it (a different step or momentum leaves the example's points and does not).  Only the
    classes ``convex`` and ``nonconvex`` (quadratic examples are interpolated by
    ``function_class="convex"`` data too, but their class is narrower: refused).
    """
    from ..problems import from_functions

    if result.function_class == "quadratic":
        raise ValueError("pep_instance interpolates the classes 'convex' and 'nonconvex'; got 'quadratic'")
    d = result.data
    if not d:
        raise ValueError(f"the PEP result has no worst-case example (solver status {result.status!r})")
    X, G, F = d["x"], d["g"], d["f"]
    mu = -result.L if result.function_class == "nonconvex" else result.mu
    interp = PepInterpolant(X, G, F, result.L, mu)
    x0 = d["iterate_points"][0]
    nonconvex = result.function_class == "nonconvex"
    problem = from_functions(value=interp.value, grad=interp.grad, dim=interp.dim,
                             x_star=None if nonconvex else d["x_star"], f_star=None if nonconvex else d["f_star"],
                             L=result.L, mu=None if nonconvex else result.mu, x0=x0,
                             name=f"pep_worst_{result.method}")
    return problem, x0, float(result.primal)


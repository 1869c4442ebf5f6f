r"""Closed-form rates, bounds and optimal parameters: one cited function per theorem.

Every function states the problem class, the algorithm, the guarantee and the reference
(theorem or equation number), in the manner of PEPit's examples.  Values are plain
arithmetic on their arguments, so each function accepts Python floats, NumPy arrays or
**SymPy symbols** (``gd_quadratic_optimal_step(sympy.Symbol("mu"), sympy.Symbol("L"))`` returns
``2/(L + mu)``): square roots, maxima and minima go through small helpers that call SymPy when
they are given SymPy objects and the array's namespace when they are given arrays.

Results that are *templates* (an order in k or T with an unspecified constant) and the rates
that the seed papers claim are returned as :class:`StatedRate` records, which carry a
``fidelity`` flag: ``"exact"`` (the cited theorem), ``"recon"`` (a reconstruction: the paper's
text was not available, see ``docs/spec/index.md``) or ``"none"`` (the paper states no rate).
:mod:`precond_theory.claims` turns them into checkable :class:`~precond_theory.claims.Claim`\ s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ._xp import array_namespace

__all__ = [
    "StatedRate",
    "gd_convex_bound", "gd_convex_tight_bound", "gd_quadratic_optimal_step", "gd_quadratic_rate",
    "gd_strongly_convex_bound", "linear_rate_of_metric",
    "heavy_ball_optimal_parameters", "heavy_ball_quadratic_rate",
    "nesterov_convex_bound", "nesterov_strongly_convex_parameters", "nesterov_strongly_convex_rate",
    "nesterov_strongly_convex_bound", "nesterov_min_grad_norm_rate",
    "adagrad_regret_bound", "sgd_nonconvex_step", "sgd_nonconvex_bound",
    "adam_type_nonconvex", "amsgrad_regret", "amsgrad_regret_bound", "amsgrad_nonconvex", "adam_regret_kingma_ba",
    "preconditioned_gd_local_rate",
    "soaa_stated_rate", "adarem_stated_rate", "adamrag_stated_rate", "adapgradm_stated_rate",
    "hadapgradm_stated_rate", "ye_stated_rate", "seed_stated_rates",
]

Number = Any  # float, int, array or sympy expression


# --------------------------------------------------------------------------------------- helpers
def _is_sympy(*xs: Any) -> bool:
    return any(type(x).__module__.startswith("sympy") for x in xs)


def _sqrt(x: Number) -> Number:
    if _is_sympy(x):
        import sympy

        return sympy.sqrt(x)
    return x**0.5


def _max(a: Number, b: Number) -> Number:
    if _is_sympy(a, b):
        import sympy

        return sympy.Max(a, b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return max(a, b)
    xp = array_namespace(a, b)
    return xp.maximum(xp.asarray(a), xp.asarray(b))


def _numeric(x: Any) -> Any:
    """Host array of ``x``, or None for SymPy objects (symbolic inputs are not range-checked)."""
    if x is None or _is_sympy(x):
        return None
    import numpy as np

    try:
        return np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        return None


def _require(fn: str, name: str, value: Any, lo: float, hi: float, *, lo_open: bool = False,
             hi_open: bool = False, why: str = "") -> None:
    """Raise ValueError unless every entry of ``value`` lies in the theorem's range of ``fn``."""
    import numpy as np

    a = _numeric(value)
    if a is None:
        return
    ok = np.isfinite(a) | (np.isinf(a) & (a > 0) & (hi == float("inf")))
    ok &= (a > lo) if lo_open else (a >= lo)
    ok &= (a < hi) if hi_open else (a <= hi)
    if not np.all(ok):
        bad = a[~ok].ravel()[0] if a.ndim else float(a)
        rng = f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
        raise ValueError(f"{fn}: {name} = {bad!r} is outside the theorem's range {rng}" + (f" ({why})" if why else ""))


def _step_h(fn: str, L: Any, lr: Any, hi: float = 1.0) -> Any:
    """h = lr * L (1 when lr is None), refused outside (0, hi]."""
    _require(fn, "L", L, 0.0, float("inf"), lo_open=True)
    if lr is None:
        return 1
    h = lr * L
    _require(fn, "lr * L", h, 0.0, hi, lo_open=True, why=f"the theorem needs 0 < lr <= {hi:g}/L")
    return h


def _close(fn: str, name: str, value: Any, expected: Any) -> None:
    import numpy as np

    a, e = _numeric(value), _numeric(expected)
    if a is None or e is None:
        return
    if not np.allclose(a, e, rtol=1e-9, atol=0):
        raise ValueError(f"{fn}: {name} = {float(np.ravel(a)[0])!r}, but the theorem holds for {name} = "
                         f"{float(np.ravel(e)[0])!r} only")


@dataclass(frozen=True)
class StatedRate:
    """A rate as a paper states it (or as far as the project knows it).

    Attributes
    ----------
    method : str
        Registry name of the rule (``"adam"``, ``"soaa"``, ...).
    metric : str or None
        Trace metric the statement is about (``"min_grad_norm_sq"``, ``"regret"``, ...); None when
        the paper states no rate.
    order, log_power : float or None
        The statement is ``metric = O(k^order (log k)^log_power)`` (k the step or horizon T).
    kind : {"upper_bound", "rate", "limit", "none"}
    fidelity : {"exact", "recon", "none"}
        ``"exact"``: the cited theorem; ``"recon"``: a reconstruction (the paper's text was not
        read; RECON in ``docs/spec/index.md``); ``"none"``: no stated rate.
    statement, assumptions, reference : str
    """

    method: str
    metric: str | None
    order: float | None
    log_power: float
    kind: Literal["upper_bound", "rate", "limit", "none"]
    fidelity: Literal["exact", "recon", "none"]
    statement: str
    assumptions: tuple[str, ...]
    reference: str

    @property
    def is_reconstruction(self) -> bool:
        """True when the statement is a RECON (not read from the paper)."""
        return self.fidelity == "recon"

    @property
    def has_rate(self) -> bool:
        """False when the paper states no rate."""
        return self.fidelity != "none"


# --------------------------------------------------------------------------------- gradient descent
def gd_convex_bound(L: Number, dist0_sq: Number, k: Number, lr: Number = None) -> Number:
    r"""Classical bound of gradient descent on L-smooth convex functions.

    **Problem class**: f convex and L-smooth, with a minimizer x⋆.

    **Algorithm**: :math:`x_{k+1} = x_k - \gamma \nabla f(x_k)`, :math:`0 < \gamma \le 1/L`
    (``rules.make("sgd", lr=gamma)``; default γ = 1/L).

    **Guarantee** (k ≥ 1):

    .. math:: f(x_k) - f_\star \le \frac{\|x_0 - x_\star\|^2}{2k\gamma}
              \quad\bigl(= L\|x_0 - x_\star\|^2/(2k) \text{ at } \gamma = 1/L\bigr).

    Parameters
    ----------
    L : smoothness constant; dist0_sq : :math:`\|x_0-x_\star\|^2`; k : number of steps;
    lr : the step γ (refused outside (0, 1/L]: the theorem says nothing there).

    References
    ----------
    .. [1] A. Beck, *First-Order Methods in Optimization*, SIAM 2017, Theorem 10.21 (proximal
           gradient with constant step 1/L; g = 0 gives gradient descent; the same proof gives
           :math:`R^2/(2k\gamma)` for any γ ≤ 1/L).
    """
    h = _step_h("gd_convex_bound", L, lr)
    _require("gd_convex_bound", "dist0_sq", dist0_sq, 0.0, float("inf"))
    _require("gd_convex_bound", "k", k, 0.0, float("inf"), lo_open=True)
    return L * dist0_sq / (2 * k * h)


def gd_convex_tight_bound(L: Number, dist0_sq: Number, k: Number, lr: Number = None) -> Number:
    r"""Tight worst case of gradient descent on L-smooth convex functions.

    **Problem class**: f convex and L-smooth.

    **Algorithm**: :math:`x_{k+1} = x_k - \gamma \nabla f(x_k)` with :math:`0 < \gamma \le 1/L`
    (default :math:`\gamma = 1/L`); other steps are refused (for 1 < h < 2 the worst case is
    the larger quantity of :class:`~precond_theory.problems.GDWorstCase`).

    **Guarantee** (tight: attained by a Huber function in one dimension):

    .. math:: f(x_k) - f_\star \le \frac{L\,\|x_0 - x_\star\|^2}{4kL\gamma + 2}
              \quad\bigl(= L\|x_0-x_\star\|^2/(4k+2) \text{ for } \gamma = 1/L\bigr).

    References
    ----------
    .. [1] Y. Drori, M. Teboulle, "Performance of first-order methods for smooth convex
           minimization: a novel approach", Math. Program. 145(1-2):451-482, 2014,
           arXiv:1206.3209, Theorem 3.1 (bound) and Theorem 3.2 (tightness).
    .. [2] A. Taylor, J. Hendrickx, F. Glineur, "Smooth strongly convex interpolation and exact
           worst-case performance of first-order methods", Math. Program. 161:307-345, 2017
           (the same value computed by performance estimation; PEPit ``wc_gradient_descent``).
    """
    h = _step_h("gd_convex_tight_bound", L, lr)
    _require("gd_convex_tight_bound", "dist0_sq", dist0_sq, 0.0, float("inf"))
    _require("gd_convex_tight_bound", "k", k, 0.0, float("inf"), lo_open=True)
    return L * dist0_sq / (4 * k * h + 2)


def gd_quadratic_optimal_step(mu: Number, L: Number) -> Number:
    r"""Step that minimises the contraction factor of gradient descent on [μ, L].

    **Problem class**: f μ-strongly convex and L-smooth (on quadratics: spectrum in [μ, L]).

    **Guarantee**: :math:`\gamma^\star = 2/(\mu + L)` equalises :math:`|1-\gamma\mu|` and
    :math:`|1-\gamma L|`, giving the rate of :func:`gd_quadratic_rate`.

    References
    ----------
    .. [1] Y. Nesterov, *Introductory Lectures on Convex Optimization*, Kluwer 2004,
           Theorem 2.1.15 (step h = 2/(μ+L)).
    .. [2] B. T. Polyak, *Introduction to Optimization*, Optimization Software 1987, §1.4.
    """
    return 2 / (mu + L)


def gd_quadratic_rate(mu: Number, L: Number, lr: Number = None) -> Number:
    r"""Contraction factor ρ of gradient descent on a quadratic with spectrum in [μ, L].

    **Problem class**: :math:`f(x) = \tfrac12 (x-x_\star)^\top A (x-x_\star)`, eig(A) ⊂ [μ, L].

    **Algorithm**: :math:`x_{k+1} = x_k - \gamma\nabla f(x_k)`.

    **Guarantee**: :math:`\|x_k - x_\star\| \le \rho^k \|x_0 - x_\star\|` with

    .. math:: \rho(\gamma) = \max(|1-\gamma\mu|, |1-\gamma L|),\qquad
              \rho(2/(\mu+L)) = \frac{\kappa-1}{\kappa+1},\ \kappa = L/\mu.

    With ``lr=None`` the optimal step is used.  The rate is attained when x₀ − x⋆ has components
    along the extreme eigenvectors.  Squared metrics (``f_gap``, ``dist_sq``, ``grad_norm_sq``)
    contract by ρ² per step (:func:`linear_rate_of_metric`).  The same rate bounds
    ‖x_k − x⋆‖ for μ-strongly convex L-smooth f at γ = 2/(μ+L) ([1]).

    References
    ----------
    .. [1] Y. Nesterov, *Introductory Lectures on Convex Optimization*, 2004, Theorem 2.1.15.
    .. [2] B. T. Polyak, *Introduction to Optimization*, 1987, §1.4.
    """
    if lr is None:
        return (L - mu) / (L + mu)
    return _max(abs(1 - lr * mu), abs(1 - lr * L))


def gd_strongly_convex_bound(mu: Number, L: Number, dist0_sq: Number, k: Number, lr: Number = None) -> Number:
    r"""Bound on :math:`\|x_k-x_\star\|^2` for gradient descent, μ-strongly convex L-smooth f.

    For :math:`0 < \gamma \le 2/(\mu+L)` (default γ = 2/(μ+L); other steps refused):

    .. math:: \|x_k - x_\star\|^2 \le \Bigl(1 - \frac{2\gamma\mu L}{\mu+L}\Bigr)^{k}\|x_0-x_\star\|^2
              \quad\Bigl(= \Bigl(\frac{\kappa-1}{\kappa+1}\Bigr)^{2k}\|x_0-x_\star\|^2
              \text{ at } \gamma = \tfrac{2}{\mu+L}\Bigr).

    References
    ----------
    .. [1] Y. Nesterov, *Introductory Lectures on Convex Optimization*, 2004, Theorem 2.1.15.
    """
    fn = "gd_strongly_convex_bound"
    _require(fn, "mu", mu, 0.0, float("inf"), lo_open=True)
    _require(fn, "L", L, 0.0, float("inf"), lo_open=True)
    if _numeric(mu) is not None and _numeric(L) is not None and float(mu) > float(L):
        raise ValueError(f"{fn}: mu = {mu!r} > L = {L!r}")
    if lr is None:
        return gd_quadratic_rate(mu, L) ** (2 * k) * dist0_sq
    _require(fn, "lr * (mu + L) / 2", lr * (mu + L) / 2, 0.0, 1.0, lo_open=True,
             why="the theorem needs 0 < lr <= 2/(mu + L)")
    return (1 - 2 * lr * mu * L / (mu + L)) ** k * dist0_sq


def linear_rate_of_metric(rho: Number, metric: str) -> Number:
    """Per-step factor of ``metric`` when the iterate error contracts by ``rho`` per step.

    ``f_gap``, ``dist_sq``, ``grad_norm_sq`` and ``min_grad_norm_sq`` are quadratic in the error
    near a non-degenerate minimum, so they contract by ``rho**2``; other metrics by ``rho``.
    """
    return rho**2 if metric in ("f_gap", "dist_sq", "grad_norm_sq", "min_grad_norm_sq") else rho


# ------------------------------------------------------------------------------------- heavy ball
def heavy_ball_optimal_parameters(mu: Number, L: Number) -> tuple[Number, Number]:
    r"""Polyak's optimal heavy-ball parameters on quadratics with spectrum in [μ, L].

    **Algorithm**: :math:`x_{k+1} = x_k - \eta\nabla f(x_k) + \beta (x_k - x_{k-1})`
    (``rules.make("heavy_ball", lr=eta, momentum=beta)``).

    **Returns** ``(eta, beta)`` with

    .. math:: \eta = \frac{4}{(\sqrt L + \sqrt\mu)^2},\qquad
              \beta = \Bigl(\frac{\sqrt\kappa - 1}{\sqrt\kappa + 1}\Bigr)^2.

    References
    ----------
    .. [1] B. T. Polyak, "Some methods of speeding up the convergence of iteration methods",
           USSR Comput. Math. Math. Phys. 4(5):1-17, 1964, eq. (9).
    .. [2] L. Lessard, B. Recht, A. Packard, "Analysis and design of optimization algorithms via
           integral quadratic constraints", SIAM J. Optim. 26(1), 2016, §2 (parameters) and §4.6
           (heavy ball can fail to converge on strongly convex non-quadratic f).
    """
    sq_mu, sq_L = _sqrt(mu), _sqrt(L)
    eta = 4 / (sq_L + sq_mu) ** 2
    beta = ((sq_L - sq_mu) / (sq_L + sq_mu)) ** 2
    return eta, beta


def heavy_ball_quadratic_rate(mu: Number, L: Number) -> Number:
    r"""Asymptotic rate of heavy ball with :func:`heavy_ball_optimal_parameters` on quadratics.

    **Guarantee**: the spectral radius of the iteration matrix is

    .. math:: \rho = \frac{\sqrt\kappa - 1}{\sqrt\kappa + 1} = \sqrt\beta,

    so :math:`\|x_k - x_\star\| = O(k\,\rho^k)` (the extreme eigenvalues give double roots, hence
    the factor k; for any ε > 0 the error is :math:`O((\rho+\varepsilon)^k)`).

    References
    ----------
    .. [1] B. T. Polyak 1964, eq. (9); see :func:`heavy_ball_optimal_parameters`.
    """
    sq_mu, sq_L = _sqrt(mu), _sqrt(L)
    return (sq_L - sq_mu) / (sq_L + sq_mu)


# --------------------------------------------------------------------------------------- Nesterov
def nesterov_convex_bound(L: Number, dist0_sq: Number, k: Number, lr: Number = None) -> Number:
    r"""Nesterov's accelerated gradient (FISTA form) on L-smooth convex functions.

    **Algorithm**: :math:`y_k = x_k + \alpha_k(x_k - x_{k-1})`, :math:`x_{k+1} = y_k - \frac1L\nabla f(y_k)`
    with the FISTA sequence or :math:`\alpha_k = (k-1)/(k+2)` (``rules.make("nesterov", lr=1/L)``).

    **Guarantee** (k ≥ 1):

    .. math:: f(x_k) - f_\star \le \frac{2L\,\|x_0 - x_\star\|^2}{(k+1)^2}
              \quad\Bigl(\frac{2\|x_0 - x_\star\|^2}{s(k+1)^2} \text{ for a step } s \le 1/L\Bigr).

    ``lr`` (the step s) is refused outside (0, 1/L].  The exact worst case of the (k-1)/(k+2)
    variant, computed by performance estimation, is
    :math:`2L\|x_0-x_\star\|^2/(k^2+5k+6)` ([2], Table 1).

    References
    ----------
    .. [1] A. Beck, M. Teboulle, "A fast iterative shrinkage-thresholding algorithm for linear
           inverse problems", SIAM J. Imaging Sci. 2(1):183-202, 2009, Theorem 4.4.
    .. [2] A. Taylor, J. Hendrickx, F. Glineur, "Exact worst-case performance of first-order
           methods for composite convex optimization", SIAM J. Optim. 27(3), 2017, Table 1.
    """
    h = _step_h("nesterov_convex_bound", L, lr)
    _require("nesterov_convex_bound", "dist0_sq", dist0_sq, 0.0, float("inf"))
    return 2 * L * dist0_sq / (h * (k + 1) ** 2)


def nesterov_strongly_convex_parameters(mu: Number, L: Number) -> tuple[Number, Number]:
    r"""Constant-momentum Nesterov parameters for μ-strongly convex L-smooth f.

    **Returns** ``(s, alpha)`` = :math:`(1/L,\ (\sqrt\kappa-1)/(\sqrt\kappa+1))`
    (``rules.make("nesterov", lr=s, schedule="constant", momentum=alpha)``).

    References
    ----------
    .. [1] Y. Nesterov, *Introductory Lectures on Convex Optimization*, 2004, §2.2.1,
           constant step scheme III (2.2.19).
    """
    sq_mu, sq_L = _sqrt(mu), _sqrt(L)
    return 1 / L, (sq_L - sq_mu) / (sq_L + sq_mu)


def nesterov_strongly_convex_rate(mu: Number, L: Number) -> Number:
    r"""Linear rate :math:`1 - \sqrt{\mu/L}` of constant-momentum Nesterov (see
    :func:`nesterov_strongly_convex_bound`)."""
    return 1 - _sqrt(mu / L)


def nesterov_strongly_convex_bound(mu: Number, L: Number, f_gap0: Number, dist0_sq: Number, k: Number,
                                   lr: Number = None, momentum: Number = None) -> Number:
    r"""Nesterov with :func:`nesterov_strongly_convex_parameters` on μ-strongly convex L-smooth f.

    **Guarantee**:

    .. math:: f(x_k) - f_\star \le \Bigl(1 - \frac{1}{\sqrt\kappa}\Bigr)^k
              \Bigl(f(x_0) - f_\star + \frac{\mu}{2}\|x_0-x_\star\|^2\Bigr).

    ``lr``/``momentum`` other than those parameters are refused (the theorem is about them only).

    References
    ----------
    .. [1] Y. Nesterov, *Introductory Lectures on Convex Optimization*, 2004, Theorem 2.2.3 with
           scheme (2.2.19).
    """
    fn = "nesterov_strongly_convex_bound"
    _require(fn, "mu", mu, 0.0, float("inf"), lo_open=True)
    _require(fn, "L", L, 0.0, float("inf"), lo_open=True)
    s_opt, a_opt = nesterov_strongly_convex_parameters(mu, L)
    if lr is not None:
        _close(fn, "lr", lr, s_opt)
    if momentum is not None:
        _close(fn, "momentum", momentum, a_opt)
    return nesterov_strongly_convex_rate(mu, L) ** k * (f_gap0 + mu * dist0_sq / 2)


def nesterov_min_grad_norm_rate() -> StatedRate:
    r"""NAG-C drives the best squared gradient norm down at rate :math:`O(1/k^3)`.

    **Guarantee**: for convex L-smooth f, step :math:`s \le 1/(3L)`,
    :math:`\min_{i\le k}\|\nabla f(x_i)\|^2 = O(\|x_0-x_\star\|^2/(s^2 k^3))`.

    References
    ----------
    .. [1] B. Shi, S. S. Du, M. I. Jordan, W. J. Su, "Understanding the acceleration phenomenon
           via high-resolution differential equations", Math. Program. 195:79-148, 2022,
           arXiv:1810.08907, Theorem 6.
    """
    return StatedRate("nesterov", "min_grad_norm_sq", -3.0, 0.0, "upper_bound", "exact",
                      "min_{i<=k} ||grad f(x_i)||^2 = O(1/k^3)", ("convex", "L-smooth", "s <= 1/(3L)"),
                      "Shi, Du, Jordan, Su, Math. Program. 2022, Theorem 6")


# ---------------------------------------------------------------------------- adaptive & stochastic
def adagrad_regret_bound(T: Number, D_inf: Number, G_inf: Number, dim: Number, lr: Number = None) -> Number:
    r"""Worst-case regret bound of diagonal AdaGrad (online convex optimisation).

    **Problem class**: convex losses f_t on a set of ℓ∞-diameter :math:`D_\infty`, subgradients
    with :math:`\|g_t\|_\infty \le G_\infty`, dimension d.

    **Algorithm**: :math:`x_{t+1} = \Pi\bigl(x_t - \eta\, g_t/(\delta + \sqrt{\textstyle\sum_{s\le t} g_s^2})\bigr)`
    (``rules.make("adagrad", lr=eta)`` with a projection).

    **Guarantee**: [1] gives :math:`R_T \le \frac{D_\infty^2}{2\eta}\sum_i\|g_{1:T,i}\|_2 + \eta\sum_i\|g_{1:T,i}\|_2`;
    with :math:`\|g_{1:T,i}\|_2 \le G_\infty\sqrt T`,

    .. math:: R_T \le \Bigl(\frac{D_\infty^2}{2\eta} + \eta\Bigr) d\, G_\infty \sqrt T
              \quad\bigl(= \sqrt2\, D_\infty\, d\, G_\infty\sqrt T \text{ at } \eta = D_\infty/\sqrt2\bigr).

    ``lr=None`` uses η = D∞/√2.

    References
    ----------
    .. [1] J. Duchi, E. Hazan, Y. Singer, "Adaptive subgradient methods for online learning and
           stochastic optimization", JMLR 12:2121-2159, 2011, Theorem 5 and Corollary 6.
    """
    fn = "adagrad_regret_bound"
    _require(fn, "D_inf", D_inf, 0.0, float("inf"), lo_open=True)
    _require(fn, "G_inf", G_inf, 0.0, float("inf"))
    if lr is not None:
        _require(fn, "lr", lr, 0.0, float("inf"), lo_open=True)
    eta = _sqrt(D_inf**2 / 2) if lr is None else lr
    return (D_inf**2 / (2 * eta) + eta) * dim * G_inf * _sqrt(T)


def sgd_nonconvex_step(T: Number, L: Number, f_gap0: Number, sigma: Number) -> Number:
    r"""Horizon-dependent step of :func:`sgd_nonconvex_bound`:
    :math:`\gamma_T = \min\bigl(1/L,\ \sqrt{2(f(x_0)-f_\star)/(L\sigma^2 T)}\bigr)` (∝ 1/√T)."""
    return _min(1 / L, _sqrt(2 * f_gap0 / (L * sigma**2 * T)))


def _min(a: Number, b: Number) -> Number:
    if _is_sympy(a, b):
        import sympy

        return sympy.Min(a, b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return min(a, b)
    xp = array_namespace(a, b)
    return xp.minimum(xp.asarray(a), xp.asarray(b))


def sgd_nonconvex_bound(T: Number, L: Number, f_gap0: Number, sigma: Number, lr: Number = None) -> Number:
    r"""SGD with a constant, horizon-dependent step on smooth nonconvex functions.

    **Problem class**: f L-smooth, bounded below by f⋆; unbiased stochastic gradients with
    variance :math:`\mathbb E\|g - \nabla f\|^2 \le \sigma^2`.

    **Algorithm**: :math:`x_{t+1} = x_t - \gamma g_t`, t < T, with :math:`\gamma \le 1/L`
    (default :func:`sgd_nonconvex_step`, ∝ 1/√T).

    **Guarantee**:

    .. math:: \min_{t<T}\mathbb E\|\nabla f(x_t)\|^2 \le \frac1T\sum_{t<T}\mathbb E\|\nabla f(x_t)\|^2
              \le \frac{2(f(x_0)-f_\star)}{T\gamma} + L\gamma\sigma^2,

    which at the default step is :math:`\le 2L(f(x_0)-f_\star)/T + 2\sigma\sqrt{2L(f(x_0)-f_\star)/T}
    = O(1/\sqrt T)`.  Derivation: the descent lemma gives
    :math:`\mathbb E f(x_{t+1}) \le \mathbb E f(x_t) - \gamma(1-L\gamma/2)\mathbb E\|\nabla f(x_t)\|^2
    + L\gamma^2\sigma^2/2`; sum over t and use γ ≤ 1/L.

    References
    ----------
    .. [1] S. Ghadimi, G. Lan, "Stochastic first- and zeroth-order methods for nonconvex
           stochastic programming", SIAM J. Optim. 23(4):2341-2368, 2013, Theorem 2.1 and
           Corollary 2.2 (same order; their constants differ).
    """
    fn = "sgd_nonconvex_bound"
    _require(fn, "L", L, 0.0, float("inf"), lo_open=True)
    _require(fn, "f_gap0", f_gap0, 0.0, float("inf"))
    _require(fn, "sigma", sigma, 0.0, float("inf"))
    if lr is not None:
        _step_h(fn, L, lr)
    gamma = sgd_nonconvex_step(T, L, f_gap0, sigma) if lr is None else lr
    return 2 * f_gap0 / (T * gamma) + L * gamma * sigma**2


def adam_type_nonconvex() -> StatedRate:
    r"""Adam-type methods (AMSGrad, AdaFom) on smooth nonconvex problems.

    **Problem class**: f L-smooth, bounded below; stochastic gradients unbiased and bounded,
    :math:`\|g_t\|\le G`.

    **Algorithm**: generalized Adam with :math:`\alpha_t = \alpha/\sqrt t`, non-increasing
    effective step (e.g. AMSGrad's max), :math:`\beta_{1,t} \le \beta_1 < 1`.

    **Guarantee**: :math:`\min_{t\le T}\mathbb E\|\nabla f(x_t)\|^2 \le (Q_1 + Q_2\log T)/\sqrt T
    = O(\log T/\sqrt T)`.

    References
    ----------
    .. [1] X. Chen, S. Liu, R. Sun, M. Hong, "On the convergence of a class of Adam-type
           algorithms for non-convex optimization", ICLR 2019, arXiv:1808.02941, Theorem 3.1
           and Corollary 3.1 (AMSGrad), Corollary 3.2 (AdaFom).
    .. [2] A. Défossez, L. Bottou, F. Bach, N. Usunier, "A simple convergence proof of Adam and
           Adagrad", TMLR 2022: O(d ln T/√T) for Adam with β1 < β2.
    """
    return StatedRate("amsgrad", "min_grad_norm_sq", -0.5, 1.0, "upper_bound", "exact",
                      "min_{t<=T} E||grad f(x_t)||^2 = O(log T / sqrt T) (AMSGrad, AdaFom; not constant-beta2 Adam)",
                      ("L-smooth", "bounded below", "bounded gradients", "alpha_t = alpha/sqrt(t)"),
                      "Chen, Liu, Sun, Hong, ICLR 2019, Theorem 3.1 and Corollary 3.1")


def amsgrad_nonconvex() -> StatedRate:
    """AMSGrad with α_t = α/√t on smooth nonconvex problems: O(log T/√T) ([1] Corollary 3.1).

    References
    ----------
    .. [1] Chen, Liu, Sun, Hong, ICLR 2019, Corollary 3.1 (see :func:`adam_type_nonconvex`).
    """
    r = adam_type_nonconvex()
    return StatedRate("amsgrad", r.metric, r.order, r.log_power, r.kind, "exact", r.statement, r.assumptions,
                      "Chen, Liu, Sun, Hong, ICLR 2019, Corollary 3.1")


def amsgrad_regret() -> StatedRate:
    r"""AMSGrad's online-convex regret :math:`O(\sqrt{T\log T})` in the worst case.

    **Assumptions**: convex f_t, bounded feasible set (diameter D∞), ‖g_t‖∞ ≤ G∞,
    :math:`\alpha_t = \alpha/\sqrt t`, :math:`\beta_{1,t}\le\beta_1`, :math:`\beta_1/\sqrt{\beta_2} < 1`.
    The bound's last term carries a :math:`\sqrt{1+\log T}` factor times
    :math:`\sum_i\|g_{1:T,i}\|_2`, which is o(√T) only for sparse gradients; in the worst case
    the bound is :math:`O(\sqrt{T\log T})`.

    References
    ----------
    .. [1] S. J. Reddi, S. Kale, S. Kumar, "On the convergence of Adam and beyond", ICLR 2018,
           Theorem 4 and Corollary 1.
    """
    return StatedRate("amsgrad", "regret", 0.5, 0.5, "upper_bound", "exact",
                      "R_T = O(sqrt(T log T)) (O(sqrt T) for sparse gradients)",
                      ("online convex", "bounded feasible set", "bounded gradients", "alpha_t = alpha/sqrt(t)"),
                      "Reddi, Kale, Kumar, ICLR 2018, Theorem 4")


def amsgrad_regret_bound(T: Number, D_inf: Number, G_inf: Number, dim: Number, lr: Number, b1: Number = 0.0,
                         b2: Number = 0.999) -> Number:
    r"""Reddi, Kale and Kumar's explicit regret bound of AMSGrad with :math:`\alpha_t = \alpha/\sqrt t`.

    **Problem class**: convex losses on a set of ℓ∞-diameter :math:`D_\infty`, gradients with
    :math:`\|g_t\|_\infty \le G_\infty`, dimension d.

    **Algorithm**: AMSGrad (Algorithm 2 of [1]) with :math:`\alpha_t = \alpha/\sqrt t`
    (``rules.with_schedule(rules.make("amsgrad", lr=alpha, b1=b1, b2=b2), "inverse_sqrt")``),
    constant :math:`\beta_{1t} = \beta_1`, :math:`\gamma = \beta_1/\sqrt{\beta_2} < 1`.

    **Guarantee** ([1], Theorem 4, with :math:`\hat v_{t,i}^{1/2} \le G_\infty` and
    :math:`\|g_{1:T,i}\|_2 \le G_\infty\sqrt T`):

    .. math:: R_T \le dG_\infty\Bigl[\frac{D_\infty^2\sqrt T}{\alpha(1-\beta_1)}
              + \frac{D_\infty^2\beta_1}{2\alpha(1-\beta_1)}\sum_{t\le T}\sqrt t
              + \frac{\alpha\sqrt{1+\log T}\,\sqrt T}{(1-\beta_1)^2(1-\gamma)\sqrt{1-\beta_2}}\Bigr],

    with :math:`\sum_{t\le T}\sqrt t \le \frac23(T+1)^{3/2}` used for the middle term (zero at
    :math:`\beta_1 = 0`; a constant :math:`\beta_1 > 0` makes it grow like :math:`T^{3/2}`, which
    is why [1]'s Corollary 1 takes a decaying :math:`\beta_{1t}`).  Refused: ``lr <= 0``,
    ``b1`` outside [0, 1), ``b2`` outside (0, 1), :math:`\beta_1 \ge \sqrt{\beta_2}`, T < 1.

    References
    ----------
    .. [1] S. J. Reddi, S. Kale, S. Kumar, "On the convergence of Adam and beyond", ICLR 2018,
           arXiv:1904.09237, Theorem 4.
    """
    fn = "amsgrad_regret_bound"
    _require(fn, "D_inf", D_inf, 0.0, float("inf"), lo_open=True)
    _require(fn, "G_inf", G_inf, 0.0, float("inf"))
    _require(fn, "lr", lr, 0.0, float("inf"), lo_open=True)
    _require(fn, "b1", b1, 0.0, 1.0, hi_open=True)
    _require(fn, "b2", b2, 0.0, 1.0, lo_open=True, hi_open=True)
    _require(fn, "T", T, 1.0, float("inf"))
    gamma = b1 / _sqrt(b2)
    _require(fn, "b1/sqrt(b2)", gamma, 0.0, 1.0, hi_open=True, why="the theorem needs beta1 < sqrt(beta2)")
    if _is_sympy(T):
        import sympy

        log = sympy.log
    elif isinstance(T, (int, float)):
        import math

        log = math.log
    else:
        log = array_namespace(T).log
    first = D_inf**2 * _sqrt(T) / (lr * (1 - b1))
    middle = D_inf**2 * b1 / (2 * lr * (1 - b1)) * (2 * (T + 1) ** 1.5 / 3)
    last = lr * _sqrt(1 + log(T)) * _sqrt(T) / ((1 - b1) ** 2 * (1 - gamma) * _sqrt(1 - b2))
    return dim * G_inf * (first + middle + last)


def adam_regret_kingma_ba() -> StatedRate:
    r"""Adam's claimed O(√T) regret — **false in general**.

    Kingma & Ba claim :math:`R_T = O(\sqrt T)`; the proof is flawed, and Reddi et al. exhibit a
    one-dimensional online convex problem on [-1, 1] on which Adam converges to the worst point
    and has linear regret ([2], Theorems 1-3).  Kept as a claim the toolkit must *refute*.

    References
    ----------
    .. [1] D. P. Kingma, J. Ba, "Adam: a method for stochastic optimization", ICLR 2015, Theorem 4.1.
    .. [2] S. J. Reddi, S. Kale, S. Kumar, ICLR 2018, Theorems 1, 2 and 3.
    """
    return StatedRate("adam", "regret", 0.5, 0.0, "upper_bound", "exact", "R_T = O(sqrt T) (refuted)",
                      ("online convex", "bounded feasible set", "bounded gradients"),
                      "Kingma & Ba, ICLR 2015, Theorem 4.1; counterexample Reddi et al., ICLR 2018, Theorem 1")


def preconditioned_gd_local_rate(lam_min: Number, lam_max: Number, lr: Number = None) -> Number:
    r"""Local rate of preconditioned gradient descent :math:`p \leftarrow p - \eta M \nabla f(p)`.

    **Problem class**: f twice differentiable near a minimum p⋆ with :math:`H = \nabla^2 f(p_\star)`
    positive definite; M = PPᵀ symmetric positive definite and fixed.

    **Guarantee**: in the variables z = P⁻¹p the iteration is gradient descent on a function
    with Hessian PᵀHP, whose spectrum equals that of :math:`M^{1/2} H M^{1/2}`; with
    λ_min, λ_max its extreme eigenvalues (``conditioning.preconditioned_spectrum``),
    :math:`\|z_k - z_\star\| \lesssim \rho^k\|z_0 - z_\star\|` with
    :math:`\rho = \max(|1-\eta\lambda_{\min}|, |1-\eta\lambda_{\max}|)`, and at
    :math:`\eta = 2/(\lambda_{\min}+\lambda_{\max})`, :math:`\rho = (\kappa-1)/(\kappa+1)`,
    :math:`\kappa = \lambda_{\max}/\lambda_{\min}`.

    RECON as a statement of Ye's paper (the framework p = Pz and a "local convergence result
    related to the condition number" are confirmed by its abstract; the formula is derived,
    see :func:`ye_stated_rate`); as mathematics it is :func:`gd_quadratic_rate` in z.

    References
    ----------
    .. [1] Q. Ye, "Preconditioning for accelerated gradient descent optimization and
           regularization", arXiv:2410.00232, 2024 (local convergence result; equation not read).
    """
    return gd_quadratic_rate(lam_min, lam_max, lr)


# ------------------------------------------------------------------------------------ seed papers
def soaa_stated_rate() -> StatedRate:
    """SOAA (Vo & Vo, arXiv:2410.02293): **no stated rate** (the abstract claims "robust
    convergence" only; ``docs/spec/soaa.md``).  The catalog checks the generic Adam-type
    template (:func:`adam_type_nonconvex`) for it, labelled as a template."""
    return StatedRate("soaa", None, None, 0.0, "none", "none", "no stated rate", (),
                      "J. Vo, A.-D. Vo, arXiv:2410.02293, 2024 (abstract: 'robust convergence')")


def adarem_stated_rate() -> StatedRate:
    """AdaRem (Liu et al., arXiv:2010.11041): the paper states a convergence proof of unknown form;
    RECON: the 2020-era online-convex template, regret O(√T) with η_t = η/√t (specs §2)."""
    return StatedRate("adarem", "regret", 0.5, 0.0, "upper_bound", "recon", "R_T = O(sqrt T) (RECON)",
                      ("online convex", "bounded gradients", "bounded feasible set", "eta_t = eta/sqrt(t)"),
                      "Liu et al., arXiv:2010.11041, 2020 (theorem not read; RECON)")


def adamrag_stated_rate() -> StatedRate:
    """AdamRAG (Zhang et al., Neural Process. Lett. 57:53, 2025): "sublinear non-convex
    convergence"; RECON: min_{t≤T} E‖∇f(y_t)‖² = O(log T/√T) (specs §3b)."""
    return StatedRate("adamrag", "min_grad_norm_sq", -0.5, 1.0, "upper_bound", "recon",
                      "min_{t<=T} E||grad f(y_t)||^2 = O(log T / sqrt T) (RECON)",
                      ("L-smooth", "bounded below", "bounded gradients", "bounded variance", "eta_t ~ 1/sqrt(t)",
                       "alpha_t bounded away from 1"),
                      "Zhang, Zhao, Li, Pan, Neural Process. Lett. 57(3):53, 2025 (theorem not read; RECON)")


def adapgradm_stated_rate(setting: Literal["nonconvex", "online_convex"] = "nonconvex") -> StatedRate:
    """AdapGradm (Chen, Zhang, Zhou, Neural Networks 199:108758, 2026): convergence "under mild
    conditions"; RECON template (specs §4): O(log T/√T) nonconvex, or O(√T) online regret."""
    return _adapgrad_family("adapgradm", setting)


def hadapgradm_stated_rate(setting: Literal["nonconvex", "online_convex"] = "nonconvex") -> StatedRate:
    """HAdapGradm: as :func:`adapgradm_stated_rate` (RECON; bounded D_t is the key condition)."""
    return _adapgrad_family("hadapgradm", setting)


def _adapgrad_family(method: str, setting: str) -> StatedRate:
    if setting not in ("nonconvex", "online_convex"):
        raise ValueError(f"setting must be one of ['nonconvex', 'online_convex']; got {setting!r}")
    ref = "Chen, Zhang, Zhou, Neural Networks 199:108758, 2026 (theorems not read; RECON)"
    assumptions = ("bounded gradients", "bounded preconditioner delta <= D_t <= C", "eta_t = eta/sqrt(t)")
    if setting == "nonconvex":
        return StatedRate(method, "min_grad_norm_sq", -0.5, 1.0, "upper_bound", "recon",
                          "min_{t<=T} E||grad f||^2 = O(log T / sqrt T) (RECON)",
                          ("L-smooth", "bounded below", "bounded variance", *assumptions), ref)
    return StatedRate(method, "regret", 0.5, 0.0, "upper_bound", "recon", "R_T = O(sqrt T) (RECON)",
                      ("online convex", "bounded feasible set", *assumptions), ref)


def ye_stated_rate() -> StatedRate:
    """Ye (arXiv:2410.00232): local linear rate (κ−1)/(κ+1), κ = cond(M^{1/2} H M^{1/2}), at the
    optimal step; RECON as a statement of the paper (derived, specs §5); the closed form is
    :func:`preconditioned_gd_local_rate`."""
    return StatedRate("preconditioned", "dist_sq", None, 0.0, "rate", "recon",
                      "||z_k - z*|| <= ((kappa-1)/(kappa+1))^k ||z_0 - z*||, kappa = cond(M^1/2 H M^1/2) (RECON)",
                      ("H(p*) positive definite", "M fixed", "local", "eta = 2/(lam_min + lam_max)"),
                      "Q. Ye, arXiv:2410.00232, 2024 (local convergence result; equations not read; RECON)")


def seed_stated_rates() -> dict[str, StatedRate]:
    """The stated (or reconstructed) rate of every seed method, by registry name."""
    return {"soaa": soaa_stated_rate(), "adarem": adarem_stated_rate(), "adamrag": adamrag_stated_rate(),
            "adapgradm": adapgradm_stated_rate(), "hadapgradm": hadapgradm_stated_rate(),
            "preconditioned": ye_stated_rate()}

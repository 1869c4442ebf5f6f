r"""Linear analysis on a quadratic: iteration matrices, spectra, optimal parameters, stability.

On :math:`f(x) = \tfrac12\lambda x^2` (one eigen-direction of a quadratic) each method is a
linear recurrence.  For GD, heavy ball, Nesterov (constant momentum) and Ravine the checks
build the iteration matrix, its characteristic polynomial, the spectral radius as a function
of the parameters, **derive** the optimal parameters and rate with :func:`sympy.solve` (never
typed in) and compare them with :mod:`precond_theory.theory` exactly
(``simplify(derived - theory(...)) == 0``), and derive the stability regions with the
bilinear map :math:`z = (1+w)/(1-w)` (unit disc → left half-plane) and the Routh–Hurwitz
criterion (a real polynomial of degree ≤ 2 is Hurwitz iff its coefficients have one sign).

Parametrisation: :math:`\sqrt\mu = m > 0`, :math:`\sqrt L = m + \delta`, δ > 0 (so L > μ is
built in and square roots simplify); the theory functions are called with
:math:`\mu = m^2`, :math:`L = (m+\delta)^2`.

Checks: ``gd_quadratic``, ``heavy_ball_quadratic``, ``nesterov_quadratic``, ``ravine_quadratic``.
"""

from __future__ import annotations

import sympy as sp

from ._core import Derivation, Step, check

__all__ = [
    "gd_quadratic",
    "heavy_ball_quadratic",
    "hurwitz_coefficients",
    "iteration_matrix",
    "nesterov_quadratic",
    "ravine_quadratic",
]

z, w = sp.symbols("z w")
lam = sp.Symbol("lambda", positive=True)
m_, d_ = sp.symbols("m delta", positive=True)  # sqrt(mu) = m, sqrt(L) = m + delta
MU, L_ = m_**2, (m_ + d_) ** 2
kappa = sp.Symbol("kappa", positive=True)


def iteration_matrix(method: str) -> tuple[sp.Matrix, tuple[sp.Symbol, ...]]:
    r"""The iteration matrix on :math:`f = \tfrac12\lambda x^2`, *derived from the rule's symbolic
    twin* (:mod:`proofs_checks.twins`, itself checked against the numeric rule), and its parameters.

    The twin's one-step map with :math:`g = \lambda y` at its query point y is linear in the
    iterate and the state; its Jacobian is the matrix.  ``"gd"``: ``sgd`` without momentum,
    state x, step α.  ``"heavy_ball"``: state :math:`(x_k, x_{k-1})`, step α, momentum β.
    ``"nesterov"``: ``nesterov`` with ``schedule="constant"``, state :math:`(x_k, x_{k-1})`, step s,
    momentum β.  ``"ravine"``: ``ravine`` with ``schedule="constant"``, in the rule's own state
    :math:`(y_k, w_{k-1})`, step s, momentum β.
    """
    from .twins import V, get_twin, make_params

    a, s = sp.symbols("alpha s", positive=True)
    b = sp.Symbol("beta", nonnegative=True)
    spec = {
        "gd": ("sgd", {"lr": a, "momentum": 0.0}, (), (a,)),
        "heavy_ball": ("heavy_ball", {"lr": a, "momentum": b}, ("x_prev",), (a, b)),
        "nesterov": ("nesterov", {"lr": s, "momentum": b, "schedule": "constant"}, ("x_prev",), (s, b)),
        "ravine": ("ravine", {"lr": s, "momentum": b, "schedule": "constant"}, ("w_prev",), (s, b)),
    }
    if method not in spec:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(spec)}")
    name, values, fields, params = spec[method]
    twin, P = get_twin(name), make_params(name, values)
    x = V([sp.Symbol("x")])
    state = dict(twin.init(x, P))
    svars = [sp.Symbol(f"{f}") for f in fields]
    for f, sv in zip(fields, svars):
        state[f] = V([sv])
    t = sp.Symbol("t", integer=True, positive=True)
    y = twin.query(x, state, P, t)
    dx, new = twin.step(t, lam * y, state, x, P)
    out = [x[0] + dx[0], *[new[f][0] for f in fields]]
    return sp.Matrix(out).jacobian([x[0], *svars]).applyfunc(sp.expand), params


def hurwitz_coefficients(p: sp.Expr) -> list[sp.Expr]:
    r"""Coefficients (highest first) of :math:`(1-w)^n p((1+w)/(1-w))`; p is Schur stable (roots
    in the open unit disc) iff this polynomial is Hurwitz."""
    n = sp.degree(p, z)
    return sp.Poly(sp.expand(sp.cancel((1 - w) ** n * p.subs(z, (1 + w) / (1 - w)))), w).all_coeffs()


def _theory():
    from precond_theory import theory

    return theory


def _positive(e: sp.Expr) -> bool:
    """SymPy's assumptions decide e > 0 (after bringing e over a common denominator)."""
    return bool(sp.factor(sp.together(e)).is_positive)


def _pick(solutions, var, below_one=False):
    """The unique positive solution (and below 1 when asked), decided by SymPy's assumptions."""
    vals = [s[var] if isinstance(s, dict) else s for s in solutions]
    keep = [v for v in vals if _positive(v) and (not below_one or _positive(1 - v))]
    if len(keep) != 1:
        raise AssertionError(f"expected one admissible solution for {var}, got {vals}")
    return sp.simplify(keep[0])


# ------------------------------------------------------------------------------------------ GD
@check("gd_quadratic", "quadratic")
def gd_quadratic() -> Derivation:
    r"""GD on a quadratic: :math:`\rho = |1-\alpha\lambda|`, :math:`\alpha^\star = 2/(\mu+L)`, stable iff α < 2/L."""
    th = _theory()
    T, (a,) = iteration_matrix("gd")
    p = T.charpoly(z).as_expr()
    rho = sp.Abs(T[0, 0])
    # worst case over [mu, L]: |1 - a lam| is convex in lam, so its max is at an end point; the
    # max over the two ends is smallest where the decreasing branch 1 - a mu meets a L - 1
    a_star = _pick(sp.solve(sp.Eq(1 - a * MU, a * L_ - 1), a), a)
    rate = sp.simplify(1 - a_star * MU)
    stable = sp.solve_univariate_inequality(sp.Abs(1 - a * lam) < 1, a, relational=False)
    coeffs = hurwitz_coefficients(p)
    th_step = th.gd_quadratic_optimal_step(MU, L_)
    th_rate = th.gd_quadratic_rate(MU, L_)
    th_rate_at = th.gd_quadratic_rate(MU, L_, a_star)
    steps = (
        Step("iteration matrix on f = λx²/2 (state x)", sp.Eq(sp.Symbol("T"), T, evaluate=False)),
        Step("characteristic polynomial", sp.Eq(sp.Symbol("p(z)"), p)),
        Step("spectral radius", sp.Eq(sp.Symbol("ρ(α, λ)"), rho)),
        Step("over λ ∈ [μ, L] (μ = m², L = (m+δ)²) the worst case is an end point; equalise 1 - αμ = αL - 1",
             sp.Eq(a, a_star)),
        Step("optimal rate 1 - α*μ (= (κ-1)/(κ+1))", sp.Eq(sp.Symbol("ρ*"), rate)),
        Step("theory.gd_quadratic_optimal_step(μ, L), theory.gd_quadratic_rate(μ, L)", sp.Tuple(th_step, th_rate)),
        Step("stability: |1 - αλ| < 1 solved for α", sp.Eq(sp.Symbol("α"), stable, evaluate=False)),
        Step("the same from Routh–Hurwitz: coefficients of (1-w) p((1+w)/(1-w)) must share a sign",
             sp.Tuple(*coeffs)),
        Step("so every λ ∈ [μ, L] is stable iff 0 < α < 2/L", None),
    )
    return Derivation(
        name="gd_quadratic",
        title="Gradient descent on a quadratic: ρ(α) = max|1-αλ|, α* = 2/(μ+L), stable iff 0 < α < 2/L",
        steps=steps,
        residuals=(
            ("charpoly", p - (z - (1 - a * lam))),
            ("α* equals theory.gd_quadratic_optimal_step", a_star - th_step),
            ("rate equals theory.gd_quadratic_rate", rate - th_rate),
            ("theory.gd_quadratic_rate(μ, L, α*) equals the derived rate", sp.simplify(th_rate_at - rate)),
            ("rate is (κ-1)/(κ+1)", rate - (L_ / MU - 1) / (L_ / MU + 1)),
            ("stability interval is (0, 2/λ)", sp.Eq(stable, sp.Interval.open(0, 2 / lam))),
            ("Hurwitz coefficients (2 - αλ, αλ)", sp.Matrix(coeffs) - sp.Matrix([2 - a * lam, a * lam])),
        ),
        reference="Polyak 1987 §1.4; Nesterov 2004 Thm 2.1.15; precond_theory.theory",
    )


# ----------------------------------------------------------------------------------- heavy ball
@check("heavy_ball_quadratic", "quadratic")
def heavy_ball_quadratic() -> Derivation:
    r"""Heavy ball on a quadratic: spectral radius, Polyak's optimal (η, β) derived, stability region."""
    th = _theory()
    T, (a, b) = iteration_matrix("heavy_ball")
    p = T.charpoly(z).as_expr()
    disc = sp.discriminant(p, z)
    r = sp.Symbol("r", positive=True)  # r = sqrt(beta)
    factored = ((1 - r) ** 2 - a * lam) * ((1 + r) ** 2 - a * lam)
    z1, z2 = sp.solve(p, z)
    D = sp.Symbol("Δ", real=True)
    # real roots (tr ± √Δ)/2 with tr = 1 + β - αλ: the larger modulus is (|tr| + √Δ)/2
    radius = sp.Piecewise((sp.sqrt(b), D <= 0), ((sp.Abs(1 + b - a * lam) + sp.sqrt(D)) / 2, True))
    # complex roots (disc <= 0) have |z|^2 = z1 z2 = beta (Vieta); real roots have max |z| >= sqrt(beta)
    vieta = sp.simplify(z1 * z2 - b)
    # optimal: [mu, L] inside the complex band (1-r)^2 <= a lam <= (1+r)^2 with r minimal
    rk = sp.Symbol("sqrt_kappa", positive=True)
    r_min = sp.solve(sp.Eq((1 + r) / (1 - r), rk), r)[0].subs(rk, sp.sqrt(kappa))
    sol = sp.solve([a * MU - (1 - r) ** 2, a * L_ - (1 + r) ** 2], [a, r], dict=True)
    admissible = [s for s in sol if _positive(s[r]) and _positive(1 - s[r])]  # 0 < r = sqrt(beta) < 1
    if len(admissible) != 1:
        raise AssertionError(f"expected one solution with 0 < r < 1, got {sol}")
    a_star, r_star = sp.simplify(admissible[0][a]), sp.simplify(admissible[0][r])
    beta_star = sp.simplify(r_star**2)
    th_eta, th_beta = th.heavy_ball_optimal_parameters(MU, L_)
    th_rate = th.heavy_ball_quadratic_rate(MU, L_)
    coeffs = hurwitz_coefficients(p)
    steps = (
        Step("state (x_k, x_{k-1}); x_{k+1} = x_k - αλ x_k + β (x_k - x_{k-1})", sp.Eq(sp.Symbol("T"), T, evaluate=False)),
        Step("characteristic polynomial", sp.Eq(sp.Symbol("p(z)"), p)),
        Step("discriminant, which factors with r = √β", sp.Eq(disc.subs(b, r**2), sp.factor(disc.subs(b, r**2)))),
        Step("complex roots (Δ ≤ 0, i.e. (1-√β)² ≤ αλ ≤ (1+√β)²): |z|² = z₁z₂ = β; real roots: max|z| ≥ √β",
             sp.Eq(sp.Symbol("z₁z₂"), sp.simplify(z1 * z2))),
        Step("spectral radius ρ(α, β, λ), Δ the discriminant", sp.Eq(sp.Symbol("ρ"), radius, evaluate=False)),
        Step("hence max_λ ρ ≥ √β, with equality iff [μ, L] lies in the complex band; that needs "
             "(1+r)/(1-r) ≥ √κ, so the smallest r = √β is", sp.Eq(r, r_min)),
        Step("solve αμ = (1-r)², αL = (1+r)² (μ = m², L = (m+δ)²)", sp.Tuple(sp.Eq(a, a_star), sp.Eq(r, r_star))),
        Step("β* = r², rate ρ* = r", sp.Tuple(sp.Eq(b, beta_star), sp.Eq(sp.Symbol("ρ*"), r_star))),
        Step("theory.heavy_ball_optimal_parameters(μ, L), theory.heavy_ball_quadratic_rate(μ, L)",
             sp.Tuple(th_eta, th_beta, th_rate)),
        Step("stability: (1-w)² p((1+w)/(1-w)) must have coefficients of one sign", sp.Tuple(*coeffs)),
        Step("they sum to 4, so all must be positive: αλ > 0, β < 1, αλ < 2(1+β); with momentum β ≥ 0 the "
             "region is 0 ≤ β < 1, 0 < αλ < 2(1+β)", sp.Eq(sp.Add(*coeffs), 4, evaluate=False)),
    )
    return Derivation(
        name="heavy_ball_quadratic",
        title="Heavy ball: ρ = √β in the complex band; Polyak's η = 4/(√L+√μ)², β = ((√κ-1)/(√κ+1))² derived",
        steps=steps,
        residuals=(
            ("charpoly", p - (z**2 - (1 + b - a * lam) * z + b)),
            ("discriminant factors", sp.expand(disc.subs(b, r**2) - factored)),
            ("Vieta: z₁z₂ = β", vieta),
            ("smallest r is (√κ-1)/(√κ+1)", r_min - (sp.sqrt(kappa) - 1) / (sp.sqrt(kappa) + 1)),
            ("η* equals theory", a_star - th_eta),
            ("β* equals theory", beta_star - th_beta),
            ("rate equals theory.heavy_ball_quadratic_rate", r_star - th_rate),
            ("rate r* solves the κ condition", r_star - r_min.subs(kappa, L_ / MU)),
            ("Hurwitz coefficients", sp.Matrix(coeffs) - sp.Matrix([2 * (1 + b) - a * lam, 2 * (1 - b), a * lam])),
            ("they sum to 4", sp.Add(*coeffs) - 4),
        ),
        reference="Polyak 1964 eq. (9); Lessard, Recht, Packard 2016 §2; precond_theory.theory",
    )


# ------------------------------------------------------------------------------------- Nesterov
def _nesterov_like(method: str):
    th = _theory()
    T, (s, b) = iteration_matrix(method)
    p = T.charpoly(z).as_expr()
    q = sp.Symbol("q", real=True)  # q = 1 - s lam
    pq = sp.expand(p.subs(s, (1 - q) / lam))
    disc = sp.discriminant(pq, z)
    # s = 1/L; the slowest mode lam = mu has q_mu = 1 - 1/kappa; critical damping there: disc = 0
    beta_sol = sp.solve(sp.Eq((1 + b) ** 2 * (1 - 1 / kappa), 4 * b), b)
    sols = [sp.simplify(v.subs(kappa, (1 + d_) ** 2)) for v in beta_sol]  # sqrt(kappa) = 1 + delta > 1
    keep = [v for v in sols if _positive(v) and _positive(1 - v)]
    if len(keep) != 1:
        raise AssertionError(f"expected one critical-damping momentum in (0, 1), got {sols}")
    beta_star = sp.simplify(keep[0].subs(d_, sp.sqrt(kappa) - 1))
    q_mu = 1 - 1 / kappa
    root = sp.simplify((1 + beta_star) * q_mu / 2)  # the double root at lam = mu
    # for lam > mu (q < q_mu): disc/q = (1+b)^2 q - 4b increases with q and vanishes at q_mu
    slope = sp.diff(sp.expand(disc / q), q)
    kap = L_ / MU
    th_s, th_beta = th.nesterov_strongly_convex_parameters(MU, L_)
    th_rate = th.nesterov_strongly_convex_rate(MU, L_)
    coeffs = hurwitz_coefficients(p)
    return T, p, pq, disc, beta_star, root, slope, th_s, th_beta, th_rate, coeffs, s, b, kap


@check("nesterov_quadratic", "quadratic")
def nesterov_quadratic() -> Derivation:
    r"""Nesterov (constant momentum) on a quadratic: critical damping of the slowest mode gives
    :math:`\beta = (\sqrt\kappa-1)/(\sqrt\kappa+1)` and rate :math:`1-1/\sqrt\kappa` (with s = 1/L)."""
    T, _, pq, disc, beta_star, root, slope, th_s, th_beta, th_rate, coeffs, s, b, kap = _nesterov_like("nesterov")
    q = sp.Symbol("q", real=True)
    steps = (
        Step("state (x_k, x_{k-1}); y = x_k + β(x_k - x_{k-1}), x_{k+1} = (1 - sλ) y", sp.Eq(sp.Symbol("T"), T, evaluate=False)),
        Step("characteristic polynomial, with q = 1 - sλ", sp.Eq(sp.Symbol("p(z)"), pq)),
        Step("discriminant", sp.Eq(sp.Symbol("Δ"), sp.factor(disc))),
        Step("complex roots have |z| = √(βq); take s = 1/L, so q ∈ [0, 1 - 1/κ], the slowest mode λ = μ at "
             "q_μ = 1 - 1/κ; critically damp it (Δ = 0 there), β ∈ (0, 1):", sp.Eq(b, beta_star)),
        Step("the double root there is the rate", sp.Eq(sp.Symbol("ρ*"), root)),
        Step("Δ/q = (1+β)² q - 4β increases with q, so every λ ∈ (μ, L] has complex roots of modulus "
             "√(βq) < ρ*; d(Δ/q)/dq", slope),
        Step("theory.nesterov_strongly_convex_parameters(μ, L), theory.nesterov_strongly_convex_rate(μ, L)",
             sp.Tuple(th_s, th_beta, th_rate)),
        Step("stability: coefficients of (1-w)² p((1+w)/(1-w)) (all positive: sλ > 0, βq < 1, "
             "1 + (1+2β) q > 0)", sp.Tuple(*coeffs)),
    )
    return Derivation(
        name="nesterov_quadratic",
        title="Nesterov on a quadratic: s = 1/L, β = (√κ-1)/(√κ+1) (critical damping at μ), rate 1 - 1/√κ",
        steps=steps,
        residuals=(
            ("charpoly", pq - (z**2 - (1 + b) * q * z + b * q)),
            ("β* equals theory", beta_star.subs(kappa, kap) - th_beta),
            ("s = 1/L is theory's step", th_s - 1 / L_),
            ("rate equals theory.nesterov_strongly_convex_rate", root.subs(kappa, kap) - th_rate),
            ("rate is 1 - 1/√κ", root - (1 - 1 / sp.sqrt(kappa))),
            ("double root: Δ(q_μ) = 0", disc.subs({b: beta_star, q: 1 - 1 / kappa})),
            ("Δ/q increasing in q", sp.Eq(sp.Gt(slope, 0), True)),
            ("Hurwitz coefficients", sp.Matrix(coeffs) - sp.Matrix(
                [1 + (1 + 2 * b) * (1 - s * lam), 2 * (1 - b * (1 - s * lam)), s * lam]).applyfunc(sp.expand)),
        ),
        reference="Nesterov 2004 §2.2.1 (2.2.19); Lessard, Recht, Packard 2016 §2; precond_theory.theory",
    )


@check("ravine_quadratic", "quadratic")
def ravine_quadratic() -> Derivation:
    r"""Ravine on a quadratic has Nesterov's characteristic polynomial, hence the same parameters and rate."""
    T, p, _, _, beta_star, root, _, _, th_beta, th_rate, _, s, _, kap = _nesterov_like("ravine")
    Tn, _ = iteration_matrix("nesterov")
    pn = Tn.charpoly(z).as_expr()
    # in (y_k, y_{k-1}) coordinates: w_{k-1} = (1 - s lam) y_{k-1}
    qq = 1 - s * lam
    change = sp.Matrix([[1, 0], [0, qq]])  # (y_k, w_{k-1}) = C (y_k, y_{k-1})
    T_y = (change.inv() * T * change).applyfunc(sp.simplify)
    steps = (
        Step("from the twin, in the rule's state (y_k, w_{k-1}): w_k = y_k - sλ y_k, y_{k+1} = (1+β) w_k - β w_{k-1}",
             sp.Eq(sp.Symbol("T"), T, evaluate=False)),
        Step("in (y_k, y_{k-1}), since w_{k-1} = (1 - sλ) y_{k-1}", sp.Eq(sp.Symbol("T_y"), T_y, evaluate=False)),
        Step("Nesterov's matrix (from its twin, state (x_k, x_{k-1}))", sp.Eq(sp.Symbol("T_N"), Tn, evaluate=False)),
        Step("characteristic polynomials (Ravine, Nesterov)", sp.Tuple(p, pn)),
        Step("identical, so Ravine inherits Nesterov's critical damping β and rate", sp.Tuple(beta_star, root)),
    )
    return Derivation(
        name="ravine_quadratic",
        title="Ravine on a quadratic: same characteristic polynomial, parameters and rate as Nesterov",
        steps=steps,
        residuals=(
            ("Ravine charpoly equals Nesterov's", sp.expand(p - pn)),
            ("in (y_k, y_{k-1}) Ravine's matrix is Nesterov's", T_y - Tn),
            ("β* equals theory", beta_star.subs(kappa, kap) - th_beta),
            ("rate equals theory", root.subs(kappa, kap) - th_rate),
        ),
        reference="Attouch & Fadili 2022; docs/spec/ravine_adamrag.md; precond_theory.theory",
    )

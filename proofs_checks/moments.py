r"""Moment estimates: Adam's bias correction, its "efficient" form, AMSGrad's orderings.

Checks
------
``adam_bias_correction``
    The factor :math:`1/(1-\beta^k)` derived from the expectation of an EMA started at zero
    over a stationary sequence (by summation and, independently, by solving the recurrence);
    compared with :func:`precond_theory.rules._moments.bias_correction`.
``adam_efficient_epsilon``
    Kingma–Ba's efficient form :math:`\alpha_k = \gamma\sqrt{1-\beta_2^k}/(1-\beta_1^k)`,
    :math:`x \leftarrow x - \alpha_k m_k/(\sqrt{v_k}+\hat\epsilon)` equals the standard form
    with :math:`\epsilon = \hat\epsilon/\sqrt{1-\beta_2^k}` (solved for, not assumed).
``amsgrad_orderings``
    For the three places to take AMSGrad's maximum (Reddi et al. without correction, torch's
    max of the raw :math:`v` then correction, max of the corrected :math:`\hat v`):
    :math:`\max_i v_i \le \max_i v_i/(1-\beta_2^k) \le \max_i v_i/(1-\beta_2^i)`, strict on a
    two-step example.
"""

from __future__ import annotations

import sympy as sp

from ._core import Derivation, Step, check

__all__ = ["adam_bias_correction", "adam_efficient_epsilon", "amsgrad_orderings"]

_SPEC = "docs/spec/baselines.md (Adam, AMSGrad)"


@check("adam_bias_correction", "moments")
def adam_bias_correction() -> Derivation:
    r"""Bias correction :math:`1/(1-\beta^k)` from :math:`E[m_k]` for a stationary sequence.

    References
    ----------
    D. P. Kingma, J. Ba, "Adam: A method for stochastic optimization", ICLR 2015, §3.
    """
    from precond_theory.rules._moments import bias_correction, debias

    b = sp.Symbol("beta", positive=True)
    k = sp.Symbol("k", integer=True, positive=True)
    i = sp.Symbol("i", integer=True, positive=True)
    gam = sp.Symbol("gamma", real=True)  # E[g_i] (for v: E[g_i^2])
    E = sp.Function("E")
    m, m_prev, g_k = sp.symbols("m_k m_{k-1} g_k")

    # E[m_k] by summing the unrolled EMA, m_k = (1-beta) sum_i beta^(k-i) g_i.
    by_sum = sp.simplify(sp.summation((1 - b) * b ** (k - i) * gam, (i, 1, k)))
    # E[m_k] by solving the recurrence E_k = beta E_{k-1} + (1-beta) gamma, E_0 = 0.
    by_rec = sp.rsolve(E(k) - b * E(k - 1) - (1 - b) * gam, E(k), {E(0): 0})
    c = sp.Symbol("c_k")
    c_star = sp.solve(sp.Eq(c * by_sum, gam), c)[0]
    numeric_factor = 1 / bias_correction(b, k)  # the numeric rules' helper, on symbols
    # unrolled form satisfies the recurrence: checked for k = 1..6 with concrete sums
    gs = sp.symbols("g_1:8")
    unroll = [sum((1 - b) * b ** (kk - ii) * gs[ii - 1] for ii in range(1, kk + 1)) for kk in range(7)]
    rec_res = sum(sp.expand(unroll[kk] - b * unroll[kk - 1] - (1 - b) * gs[kk - 1]) ** 2 for kk in range(1, 7))
    steps = (
        Step("EMA started at zero (Adam's m; v is the same with g_k^2)", sp.Eq(m, b * m_prev + (1 - b) * g_k)),
        Step("unrolled: m_k = (1-β) Σ_{i=1..k} β^(k-i) g_i  (satisfies the recurrence, k = 1..6)", sp.Eq(rec_res, 0)),
        Step("stationary sequence, E[g_i] = γ: sum the geometric series", sp.Eq(E(k), by_sum)),
        Step("the same from the recurrence E_k = β E_{k-1} + (1-β) γ, E_0 = 0 (rsolve)", sp.Eq(E(k), by_rec)),
        Step("the factor c_k with E[c_k m_k] = γ (solved)", sp.Eq(c, c_star)),
        Step("precond_theory.rules._moments.debias(m, β, k)", sp.Eq(sp.Symbol("m̂_k"), debias(m, b, k))),
        Step("as k → ∞ the correction vanishes (β = e^{-r}, r > 0)",
             sp.Eq(sp.Limit(c_star.subs(b, sp.exp(-sp.Symbol("r", positive=True))), k, sp.oo),
                   sp.limit(c_star.subs(b, sp.exp(-sp.Symbol("r", positive=True))), k, sp.oo))),
    )
    return Derivation(
        name="adam_bias_correction",
        title="Adam's bias correction 1/(1-β^k) is E[EMA] of a stationary sequence, inverted",
        steps=steps,
        residuals=(
            ("summation and recurrence agree", by_sum - by_rec),
            ("unrolled EMA satisfies the recurrence", rec_res),
            ("derived factor equals the numeric helper 1/bias_correction(β, k)", c_star - numeric_factor),
            ("E[m̂_k] = γ", sp.simplify(debias(by_sum, b, k)) - gam),
        ),
        reference="Kingma & Ba, ICLR 2015, §3; " + _SPEC,
    )


@check("adam_efficient_epsilon", "moments")
def adam_efficient_epsilon() -> Derivation:
    r"""Kingma–Ba's efficient form equals the standard form with :math:`\epsilon=\hat\epsilon/\sqrt{1-\beta_2^k}`.

    References
    ----------
    D. P. Kingma, J. Ba, ICLR 2015, §2 (last paragraph before §2.1).
    """
    lr, m, v, eps, eps_hat = sp.symbols("gamma m v epsilon epsilon_hat", positive=True)
    # c1 = 1 - beta_1^k and c2 = 1 - beta_2^k are positive numbers (at most 1)
    bc1, bc2 = sp.symbols("c_1 c_2", positive=True)
    standard = -lr * (m / bc1) / (sp.sqrt(v / bc2) + eps)
    alpha_k = lr * sp.sqrt(bc2) / bc1
    efficient = -alpha_k * m / (sp.sqrt(v) + eps_hat)
    eps_equiv = sp.solve(sp.Eq(standard, efficient), eps)
    if len(eps_equiv) != 1:
        raise AssertionError(f"expected one solution for epsilon, got {eps_equiv}")
    eps_equiv = sp.simplify(eps_equiv[0])
    k = sp.Symbol("k", integer=True, positive=True)
    r = sp.Symbol("r", positive=True)
    ratio = sp.simplify(eps_equiv / eps_hat)
    ratio_k = ratio.subs(bc2, 1 - sp.exp(-r * k))  # beta_2 = exp(-r)
    ratio_limit = sp.limit(ratio_k, k, sp.oo)
    gap_same_eps = sp.factor(sp.simplify(standard - efficient.subs(eps_hat, eps)))
    steps = (
        Step("standard (torch) step, c₁ = 1-β₁^k, c₂ = 1-β₂^k", sp.Eq(sp.Symbol("Δx_std"), standard)),
        Step("Kingma–Ba efficient step, α_k = γ √c₂ / c₁", sp.Eq(sp.Symbol("Δx_eff"), efficient)),
        Step("solve Δx_std(ε) = Δx_eff(ε̂) for ε", sp.Eq(eps, eps_equiv)),
        Step("the efficient ε̂ acts as ε = ε̂/√(1-β₂^k) ≥ ε̂ in the standard form (31.6 ε̂ at k = 1, β₂ = 0.999)",
             sp.Eq(sp.Symbol("ε/ε̂"), ratio)),
        Step("ratio as k → ∞ (β₂ = e^{-r})", sp.Eq(sp.Limit(ratio_k, k, sp.oo), ratio_limit)),
        Step("with the same ε in both forms the steps differ by", gap_same_eps),
        Step("which vanishes for every k only when ε = 0", sp.simplify(gap_same_eps.subs(eps, 0))),
    )
    return Derivation(
        name="adam_efficient_epsilon",
        title="Adam's efficient form ≡ standard form with ε = ε̂/√(1-β₂^k)",
        steps=steps,
        residuals=(
            ("solved ε equals ε̂/√(1-β₂^k)", eps_equiv - eps_hat / sp.sqrt(bc2)),
            ("substituting back gives the efficient step", standard.subs(eps, eps_hat / sp.sqrt(bc2)) - efficient),
            ("the ratio tends to 1", ratio_limit - 1),
            ("same ε, ε = 0: identical", gap_same_eps.subs(eps, 0)),
            ("same ε > 0, c₂ = 1/2: not identical", sp.Ne(sp.simplify(gap_same_eps.subs(bc2, sp.Rational(1, 2))), 0)),
        ),
        reference="Kingma & Ba, ICLR 2015, §2; " + _SPEC,
    )


@check("amsgrad_orderings", "moments")
def amsgrad_orderings() -> Derivation:
    r"""Reddi ≤ torch ≤ debiased-max for AMSGrad's second-moment estimate.

    With :math:`c_i = 1-\beta_2^i` (increasing in i, at most 1):
    :math:`\max_{i\le k} v_i \le \max_{i\le k} v_i / c_k \le \max_{i\le k} v_i/c_i`.
    The proof needs :math:`c_k - c_i \ge 0` for :math:`i \le k`, shown by factoring
    :math:`c_k - c_i = \beta^i (1-\beta)\sum_{l<k-i}\beta^l` (each factor positive; β = 1/(1+ρ)).
    """
    rho = sp.Symbol("rho", positive=True)
    b = 1 / (1 + rho)  # any beta in (0, 1)
    i, j = sp.symbols("i j", integer=True, positive=True)  # j = k - i >= 1
    l_ = sp.Symbol("l", integer=True, nonnegative=True)
    k = i + j
    c = lambda n: 1 - b**n
    geometric = sp.Sum(b**l_, (l_, 0, j - 1))
    factored = b**i * (1 - b) * geometric
    identity = sp.simplify(c(k) - c(i) - factored.doit())
    # two-step example: g_1 = 1, g_2 = 0, so v_1 = 1 - beta, v_2 = beta (1 - beta)
    B = sp.Symbol("beta_2", positive=True)
    v1, v2 = (1 - B), B * (1 - B)
    reddi = v1  # max(v1, v2) since beta < 1
    torch_raw = sp.simplify(v1 / (1 - B**2))
    debiased = sp.Max(v1 / (1 - B), sp.simplify(v2 / (1 - B**2)))
    debiased_val = sp.Integer(1)  # v1 / c_1 = 1 >= beta / (1 + beta)
    Bs = 1 / (1 + rho)
    steps = (
        Step("variants at step k: Reddi  v̂ = max_i v_i;  torch  v̂ = max_i v_i / c_k;  debiased  v̂ = max_i (v_i / c_i), "
             "with c_i = 1 - β₂^i", None),
        Step("c_k - c_i factors as β^i (1-β) Σ_{l<k-i} β^l (identity, β = 1/(1+ρ))", sp.Eq(c(k) - c(i), factored)),
        Step("each factor is positive, so c_i < c_k ≤ 1 for i < k (SymPy's assumptions decide each)",
             sp.Tuple(*(sp.Gt(f, 0, evaluate=False) for f in (b**i, 1 - b, geometric)))),
        Step("hence max_i v_i ≤ max_i v_i / c_k ≤ max_i v_i / c_i (termwise)", None),
        Step("two-step example g = (1, 0): v₁ = 1-β₂, v₂ = β₂(1-β₂)", sp.Tuple(v1, v2)),
        Step("Reddi, torch, debiased", sp.Tuple(reddi, torch_raw, debiased)),
        Step("debiased: max(v₁/c₁, v₂/c₂) = max(1, β₂/(1+β₂)), attained by v₁/c₁",
             sp.Eq(sp.Max(1, B / (1 + B), evaluate=False), debiased, evaluate=False)),
        Step("torch - Reddi and debiased - torch", sp.Tuple(sp.simplify(torch_raw - reddi), sp.simplify(debiased_val - torch_raw))),
    )
    return Derivation(
        name="amsgrad_orderings",
        title="AMSGrad: max before correction (torch) lies between Reddi's and the max of corrected v̂",
        steps=steps,
        residuals=(
            ("c_k - c_i = β^i (1-β) Σ β^l", identity),
            ("factors positive", sp.And(sp.Gt(b**i, 0), sp.Gt(1 - b, 0), sp.Gt(geometric, 0))),
            ("example: torch - Reddi > 0", sp.Gt(sp.simplify((torch_raw - reddi).subs(B, Bs)), 0)),
            ("example: debiased - torch > 0", sp.Gt(sp.simplify((debiased_val - torch_raw).subs(B, Bs)), 0)),
            ("example: debiased max equals 1", sp.simplify(debiased.subs(B, Bs)) - debiased_val),
        ),
        reference="Reddi, Kale, Kumar, ICLR 2018, Alg. 2; torch.optim.Adam(amsgrad=True); " + _SPEC,
    )

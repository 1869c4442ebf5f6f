r"""SOAA's trust-region step as the smaller of a Fisher–Newton step and d × the Adam step.

``soaa_min_form`` (``docs/spec/soaa.md``): for d, F, √v̂ > 0,

.. math::
    \frac{d\,\hat m}{\max(dF, \sqrt{\hat v})} = \hat m\,\min\Big(\frac1F, \frac{d}{\sqrt{\hat v}}\Big),
    \qquad
    \frac{d\,\hat m}{\max(dF, \sqrt{\hat v}) + \epsilon}
      = \hat m\,\min\Big(\frac{1}{F+\epsilon/d}, \frac{d}{\sqrt{\hat v}+\epsilon}\Big).

Proof without cases: write :math:`\max(a,b) = (a+b+|a-b|)/2`, :math:`\min = (a+b-|a-b|)/2`,
replace :math:`|a-b|` by a symbol A and reduce the numerator of the difference modulo
:math:`A^2 - (a-b)^2` (the only property of |·| used); the remainder is 0.  The two cases
(:math:`dF \ge \sqrt{\hat v}` or not) are shown as well: above the radius :math:`\sqrt{\hat v}/F`
the step is exactly the Fisher–Newton step, below it exactly d × the Adam step.
"""

from __future__ import annotations

import sympy as sp

from ._core import Derivation, Step, check

__all__ = ["soaa_min_form"]


def _reduce_abs(expr: sp.Expr, A: sp.Symbol, D: sp.Expr) -> sp.Expr:
    """Numerator of ``expr`` reduced modulo A² - D² (A stands for |D|)."""
    num, _ = sp.fraction(sp.together(expr))
    return sp.rem(sp.expand(num), sp.expand(A**2 - D**2), A)


@check("soaa_min_form", "soaa")
def soaa_min_form() -> Derivation:
    r"""SOAA: :math:`d\hat m/\max(dF,\sqrt{\hat v}) = \hat m\min(1/F, d/\sqrt{\hat v})`, with and without ε."""
    d, F, s, m, eps = sp.symbols("d F s m epsilon", positive=True)  # s = sqrt(v-hat) > 0
    A = sp.Symbol("A", nonnegative=True)  # stands for |dF - s|
    D = d * F - s
    Max = (d * F + s + A) / 2
    # |1/F - d/s| = |s - dF| / (F s) = A / (F s)
    Min = (1 / F + d / s - A / (F * s)) / 2
    exact = _reduce_abs(d * m / Max - m * Min, A, D)
    # with eps: 1/(max(a, b) + eps) = min(1/(a+eps), 1/(b+eps)); |1/(a+eps) - 1/(b+eps)| = |a-b|/((a+eps)(b+eps))
    a_, b_ = d * F + eps, s + eps
    Min_eps = (1 / a_ + 1 / b_ - A / (a_ * b_)) / 2
    with_eps = _reduce_abs(d * m / (Max + eps) - d * m * Min_eps, A, D)
    rewrite = sp.simplify(d / a_ - 1 / (F + eps / d))
    u = sp.Symbol("u", nonnegative=True)

    def min_abs(a, b):  # min(a, b) = (a + b - |a - b|)/2, which SymPy evaluates under assumptions
        return (a + b - sp.Abs(a - b)) / 2

    def max_abs(a, b):
        return (a + b + sp.Abs(a - b)) / 2

    lhs, rhs = d * m / max_abs(d * F, s), m * min_abs(1 / F, d / s)
    # case dF >= s: s = dF/(1+u), u >= 0; case dF < s: s = dF(1+u), u > 0 (here u >= 0 covers the tie)
    c1 = sp.simplify((lhs - rhs).subs(s, d * F / (1 + u)))
    c2 = sp.simplify((lhs - rhs).subs(s, d * F * (1 + u)))
    # radius above the threshold s/F: exactly the Fisher-Newton step; below: exactly d x the Adam step
    big = sp.simplify(rhs.subs(d, s / F * (1 + u)))
    small = sp.simplify(rhs.subs(d, s / (F * (1 + u))))
    steps = (
        Step("SOAA's step (spec §1): u = d·m̂ / (max(d·F, √v̂) + ε), with F = (1 + Σm̂²/Σ(v̂+ε)) v̂ ≥ v̂; "
             "write s = √v̂ > 0", sp.Eq(sp.Symbol("u"), d * m / (sp.Max(d * F, s) + eps), evaluate=False)),
        Step("claim (ε = 0)", sp.Eq(d * m / sp.Max(d * F, s), m * sp.Min(1 / F, d / s), evaluate=False)),
        Step("max(a, b) = (a + b + A)/2, min(1/F, d/s) = (1/F + d/s - A/(Fs))/2 with A = |dF - s|; numerator of "
             "the difference modulo A² - (dF - s)²", exact),
        Step("case dF ≥ s (dF = s(1+u)): both sides are m̂/F", c1),
        Step("case dF < s (s = dF(1+u)): both sides are d·m̂/s", c2),
        Step("with ε: d/(max(dF, s) + ε) = min(d/(dF + ε), d/(s + ε)), and d/(dF + ε) = 1/(F + ε/d)", rewrite),
        Step("same reduction with ε", with_eps),
        Step("radius d = (√v̂/F)(1+u) at or above the threshold √v̂/F: exactly the Fisher–Newton step m̂/F", big),
        Step("radius d = (√v̂/F)/(1+u) below it: exactly d times the Adam step, d·m̂/√v̂", small),
    )
    return Derivation(
        name="soaa_min_form",
        title="SOAA: d·m̂/max(d·F, √v̂) = m̂·min(1/F, d/√v̂) (trust-region reading), and its ε form",
        steps=steps,
        residuals=(
            ("min form, ε = 0 (reduced numerator)", exact),
            ("min form with ε (reduced numerator)", with_eps),
            ("d/(dF+ε) = 1/(F+ε/d)", rewrite),
            ("case dF ≥ √v̂", c1),
            ("case dF < √v̂", c2),
            ("large radius gives m̂/F", big - m / F),
            ("small radius gives d·m̂/√v̂", small - m / (F * (1 + u))),
        ),
        reference="docs/spec/soaa.md (zij soaa.md, nadir soaa.cc)",
    )

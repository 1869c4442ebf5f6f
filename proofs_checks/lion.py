r"""Lion with decoupled decay λ stays in (and is drawn into) the box :math:`\|x\|_\infty \le 1/\lambda`.

``lion_box_fixed_point`` (``docs/spec/baselines.md``, Lion; Chen, Liu et al. 2023): per
coordinate the step is :math:`x^+ = x - \eta(s + \lambda x)` with :math:`s = \mathrm{sign}(c) \in \{-1, 0, 1\}`.

* fixed points: :math:`s + \lambda x = 0`, so :math:`x \in \{-1/\lambda, 0, 1/\lambda\}`, inside the box;
  with :math:`c = \nabla f` (stationary momentum) each is a KKT point of
  :math:`\min f` s.t. :math:`\|x\|_\infty \le 1/\lambda`;
* invariance: for :math:`\eta\lambda \le 1`, :math:`|x| \le 1/\lambda \Rightarrow |x^+| \le 1/\lambda`
  (the worst case is attained, so the bound is tight);
* attraction: outside, the distance to the box contracts by :math:`1-\eta\lambda` per step.
"""

from __future__ import annotations

import sympy as sp

from ._core import Derivation, Step, check

__all__ = ["lion_box_fixed_point"]


@check("lion_box_fixed_point", "lion")
def lion_box_fixed_point() -> Derivation:
    r"""Lion's fixed points satisfy :math:`\|x\|_\infty \le 1/\lambda`; the box is invariant and attracting."""
    eta, lam = sp.symbols("eta lambda", positive=True)
    x, s = sp.symbols("x s", real=True)
    step = x - eta * (s + lam * x)
    fixed = {sv: sp.solve(sp.Eq(step.subs(s, sv), x), x) for sv in (-1, 0, 1)}
    in_box = sp.And(*[sp.Le(sp.Abs(sol), 1 / lam) for sols in fixed.values() for sol in sols])
    one = sp.And(*[len(sols) == 1 for sols in fixed.values()])
    # invariance: rho = eta*lam in (0, 1]; the image of [-1/lam, 1/lam] under x -> (1-rho) x - eta s is an
    # interval whose end points are the images of the ends; the largest |.| is (1-rho)/lam + eta
    rho = sp.Symbol("rho", positive=True)
    worst = (1 - eta * lam) / lam + eta
    invariance = sp.simplify(worst - 1 / lam)
    ends = [sp.simplify(step.subs({x: e, s: sv})) for e in (-1 / lam, 1 / lam) for sv in (-1, 0, 1)]
    tau = sp.Symbol("tau", nonnegative=True)  # rho = eta lam = 1/(1 + tau) covers (0, 1]
    slope = sp.diff(step, x).subs(eta, rho / lam)
    slope_ok = sp.simplify(slope.subs(rho, 1 / (1 + tau))).is_nonnegative
    # attraction: for x > 1/lam and any s >= -1, x+ - 1/lam <= (1 - eta lam)(x - 1/lam)
    attraction = sp.expand((step.subs(s, -1) - 1 / lam) - (1 - eta * lam) * (x - 1 / lam))
    # KKT of min f s.t. |x| <= 1/lam at a fixed point with s = sign(grad f):
    #   x = 1/lam needs grad f <= 0 (s = -1); x = -1/lam needs grad f >= 0 (s = 1); x = 0 needs grad f = 0
    kkt = sp.And(sp.Eq(fixed[-1][0], 1 / lam), sp.Eq(fixed[1][0], -1 / lam), sp.Eq(fixed[0][0], 0))
    steps = (
        Step("one coordinate of Lion with decoupled decay (s = sign(c) ∈ {-1, 0, 1})", sp.Eq(sp.Symbol("x⁺"), step)),
        Step("fixed points x⁺ = x for s = -1, 0, 1 (solved)", sp.Tuple(*[sp.Tuple(sv, *fixed[sv]) for sv in fixed])),
        Step("each satisfies |x| ≤ 1/λ", sp.Tuple(*[sp.Le(sp.Abs(sol), 1 / lam, evaluate=False)
                                                   for sols in fixed.values() for sol in sols])),
        Step("with c = ∇f at rest, s = -1 ⇔ ∇f < 0 at x = 1/λ, s = 1 ⇔ ∇f > 0 at x = -1/λ, s = 0 ⇔ ∇f = 0: "
             "exactly the KKT conditions of min f s.t. ‖x‖∞ ≤ 1/λ",
             sp.Tuple(*[sp.Eq(sp.Symbol(f"x(s={sv})"), fixed[sv][0], evaluate=False) for sv in fixed])),
        Step("invariance (ηλ = ρ ≤ 1): x ↦ x⁺ is affine with slope 1 - ρ ≥ 0, so the box maps onto the interval "
             "between the images of its ends; those images for every s", sp.Tuple(*ends)),
        Step("largest |x⁺| from the box is (1 - ηλ)/λ + η, which equals 1/λ (tight)", invariance),
        Step("outside (x > 1/λ; x < -1/λ is symmetric): x⁺ - 1/λ ≤ (1 - ηλ)(x - 1/λ), with equality at s = -1",
             attraction),
    )
    return Derivation(
        name="lion_box_fixed_point",
        title="Lion with decoupled λ: fixed points in ‖x‖∞ ≤ 1/λ (KKT points there); the box is invariant and attracting",
        steps=steps,
        residuals=(
            ("one fixed point per sign", one),
            ("fixed points inside the box", in_box),
            ("fixed points are the KKT candidates", kkt),
            ("invariance bound is exactly 1/λ", invariance),
            ("slope 1 - ηλ ≥ 0 for ηλ ≤ 1", sp.sympify(bool(slope_ok))),
            ("contraction towards the box", attraction),
        ),
        reference="Chen, Liu, Liang, Liu, 'Lion secretly solves constrained optimization', ICLR 2024 (arXiv:2310.05898)",
    )

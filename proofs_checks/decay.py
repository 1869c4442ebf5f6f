r"""Regularisation in intrinsic variables (Ye's p = Pz view, ``docs/spec/ye_preconditioning.md``).

With a frozen preconditioner :math:`M = PP^\top` and :math:`p = Pz`, a gradient step on
:math:`\tilde L(z) = L(Pz) + R(z)` mapped back to p gives:

``decoupled_decay_intrinsic``
    :math:`R = \tfrac\lambda2\|z\|^2`: :math:`p^+ = p - \eta M\nabla L - \eta\lambda p`, decoupled
    decay (AdamW), whereas L2 on p gives :math:`p - \eta M(\nabla L + \lambda p)`; they differ by
    :math:`\eta\lambda(M - I)p`.  AdamW's twin adds exactly :math:`-\eta\lambda p` to Adam's step.
``l1_intrinsic``
    :math:`R = \lambda\|z\|_1`, diagonal :math:`P = M^{1/2}`:
    :math:`p^+ = p - \eta M\nabla L - \eta\lambda M^{1/2}\operatorname{sign}(p)`.
``gradient_regularization_intrinsic``
    :math:`R = \tfrac\lambda2\|\nabla_z L(Pz)\|^2 = \tfrac\lambda2\nabla L^\top M\nabla L`:
    :math:`p^+ = p - \eta M(\nabla L + \lambda H M\nabla L)`.

The chain rule is done by SymPy on an arbitrary (undefined) function L of two variables and a
general 2×2 factor P (the diagonal cases use a diagonal P).
"""

from __future__ import annotations

import sympy as sp

from ._core import Derivation, Step, check

__all__ = ["decoupled_decay_intrinsic", "gradient_regularization_intrinsic", "l1_intrinsic"]

_REF = "Ye, arXiv:2410.00232 (abstract: AdamW = L2 of the intrinsic variables); docs/spec/ye_preconditioning.md"


def _setup(diagonal: bool = False):
    eta, lam = sp.symbols("eta lambda", positive=True)
    if diagonal:
        P = sp.diag(*sp.symbols("P_1 P_2", positive=True))
    else:
        P = sp.Matrix(2, 2, sp.symbols("P_11 P_12 P_21 P_22", real=True))
    p = sp.Matrix(sp.symbols("p_1 p_2", real=True))
    g = sp.Matrix(sp.symbols("g_1 g_2", real=True))  # grad L at p
    return eta, lam, P, p, g


def _grad_z_of_loss(P: sp.Matrix, z: sp.Matrix, g: sp.Matrix) -> sp.Matrix:
    """∇_z L(Pz) by SymPy's chain rule on an undefined L, with ∂_j L(Pz) replaced by g_j."""
    L = sp.Function("L")
    expr = L(*(P * z))
    grad = sp.Matrix([sp.diff(expr, zi) for zi in z])
    subs = {}
    for s in grad.atoms(sp.Subs):
        deriv = s.expr
        var = deriv.variables[0]
        subs[s] = g[list(deriv.expr.args).index(var)]
    return grad.xreplace(subs)


@check("decoupled_decay_intrinsic", "decay")
def decoupled_decay_intrinsic() -> Derivation:
    r"""Decoupled weight decay is L2 regularisation of the intrinsic variables z (frozen M = PPᵀ)."""
    from .twins import V, get_twin, make_params

    eta, lam, P, p, g = _setup()
    z = sp.Matrix(sp.symbols("z_1 z_2", real=True))
    M = P * P.T
    grad_z = _grad_z_of_loss(P, z, g) + lam * z  # d/dz [L(Pz) + lam/2 |z|^2]
    chain = grad_z - (P.T * g + lam * z)
    z_new = z - eta * grad_z
    zp = P.inv() * p
    p_new = P * z_new  # in terms of z; compare with the p-form at p = P z (a polynomial identity)
    decoupled = p - eta * M * g - eta * lam * p
    at_pz = dict(zip(p, P * z))
    l2_on_p = p - eta * M * (g + lam * p)
    regulariser = sp.simplify((zp.T * zp)[0] - (p.T * M.inv() * p)[0])
    gap = (decoupled - l2_on_p).applyfunc(sp.expand) - (eta * lam * (M - sp.eye(2)) * p).applyfunc(sp.expand)
    # AdamW's twin: the decoupled step minus Adam's step (same state, same gradient) is -lr*wd*x
    names = sp.symbols("lr b1 b2 eps wd", positive=True)
    lr, b1, b2, eps, wd = names
    t = sp.Symbol("t", integer=True, positive=True)
    x, gg = V(sp.symbols("x_1 x_2", real=True)), V(sp.symbols("g_1 g_2", real=True))
    state = {"m": V(sp.symbols("m_1 m_2", real=True)), "v": V(sp.symbols("v_1 v_2", positive=True)), "vmax": None}
    adamw = get_twin("adamw")
    vals = {"lr": lr, "b1": b1, "b2": b2, "eps": eps}
    dx_w, _ = adamw.step(t, gg, state, x, make_params("adamw", {**vals, "wd": wd}))
    dx_0, _ = adamw.step(t, gg, state, x, make_params("adamw", {**vals, "wd": 0}))
    twin_gap = sp.Matrix([sp.simplify(a - b + lr * wd * xi) for a, b, xi in zip(dx_w, dx_0, x)])
    dx_c, _ = get_twin("adam").step(t, gg, state, x, make_params("adam", {**vals, "wd": wd}))
    at = {b1: sp.Rational(1, 2), b2: sp.Rational(1, 2), t: 1, eps: 0, lr: 1, wd: 1, x[0]: 1, gg[0]: 1,
          state["m"][0]: 0, state["v"][0]: 1}
    coupled_gap = sp.nsimplify(sp.simplify((dx_c[0] - dx_0[0] + lr * wd * x[0]).subs(at)))
    steps = (
        Step("intrinsic variables p = P z, M = P Pᵀ (general invertible 2×2 P, frozen during the step)",
             sp.Eq(sp.Symbol("M"), M, evaluate=False)),
        Step("regularise z: L̃(z) = L(Pz) + (λ/2)‖z‖²; chain rule on an arbitrary L gives ∇_z L̃ = Pᵀ∇L + λz",
             sp.Eq(sp.Symbol("∇_z L̃"), P.T * g + lam * z, evaluate=False)),
        Step("in p-coordinates the regulariser is (λ/2) pᵀ M⁻¹ p (difference of the two forms)", regulariser),
        Step("gradient step in z, mapped back: p⁺ = P(z - η∇_z L̃)", sp.Eq(sp.Symbol("p⁺"), p_new.applyfunc(sp.expand),
                                                                        evaluate=False)),
        Step("= p - ηM∇L - ηλp: decoupled decay (AdamW with M = diag(1/(√v̂+ε)) and ∇L → m̂)",
             sp.Eq(sp.Symbol("p⁺"), decoupled, evaluate=False)),
        Step("L2 on p instead: p - ηM(∇L + λp); decoupled minus L2 equals ηλ(M - I)p (zero iff M = I)",
             sp.Eq(sp.Symbol("Δ"), (decoupled - l2_on_p).applyfunc(sp.factor), evaluate=False)),
        Step("AdamW's twin: its step minus Adam's step (wd = 0, same state) plus η·wd·x, per coordinate", twin_gap),
        Step("Adam with coupled wd is not that: the same difference at t = 1, β₁ = β₂ = 1/2, ε = 0, η = λ = x = g = v = 1, "
             "m = 0", coupled_gap),
    )
    return Derivation(
        name="decoupled_decay_intrinsic",
        title="Decoupled decay (AdamW) = L2 of the intrinsic variables z, p = Pz, frozen M = PPᵀ",
        steps=steps,
        residuals=(
            ("chain rule ∇_z L(Pz) = Pᵀ∇L", chain),
            ("p⁺ = p - ηM∇L - ηλp", (p_new - decoupled.subs(at_pz)).applyfunc(sp.expand)),
            ("‖z‖² = pᵀM⁻¹p", regulariser),
            ("decoupled - L2 = ηλ(M - I)p", gap),
            ("AdamW twin adds exactly -η λ x to Adam's step", twin_gap),
            ("coupled wd differs (a nonzero number)", sp.Ne(coupled_gap, 0)),
        ),
        reference=_REF + "; Loshchilov & Hutter, ICLR 2019",
    )


@check("l1_intrinsic", "decay")
def l1_intrinsic() -> Derivation:
    r"""L1 of the intrinsic variables with diagonal :math:`P = M^{1/2}`: decay :math:`\eta\lambda M^{1/2}\mathrm{sign}(p)`."""
    eta, lam, P, p, g = _setup(diagonal=True)
    z = sp.Matrix(sp.symbols("z_1 z_2", real=True))
    M = P * P.T
    grad_z = _grad_z_of_loss(P, z, g) + lam * z.applyfunc(sp.sign)  # (sub)gradient of lam |z|_1
    zp = P.inv() * p
    p_new = (P * (z - eta * grad_z)).subs(dict(zip(z, zp)))
    expected = p - eta * M * g - eta * lam * P * p.applyfunc(sp.sign)
    steps = (
        Step("diagonal P = M^{1/2} > 0; R(z) = λ‖z‖₁, subgradient λ sign(z), and sign(z) = sign(P⁻¹p) = sign(p)",
             sp.Eq(sp.Symbol("sign(z)"), zp.applyfunc(sp.sign), evaluate=False)),
        Step("step in z mapped back", sp.Eq(sp.Symbol("p⁺"), p_new, evaluate=False)),
        Step("= p - ηM∇L - ηλ M^{1/2} sign(p)", sp.Eq(sp.Symbol("p⁺"), expected, evaluate=False)),
    )
    return Derivation(
        name="l1_intrinsic",
        title="L1 of the intrinsic variables: p⁺ = p - ηM∇L - ηλ M^{1/2} sign(p)",
        steps=steps,
        residuals=(("p⁺ matches", (p_new - expected).applyfunc(sp.simplify)),),
        reference=_REF + " (v2: L1 generalisation)",
    )


@check("gradient_regularization_intrinsic", "decay")
def gradient_regularization_intrinsic() -> Derivation:
    r"""Gradient-norm regularisation in z: :math:`\nabla_p\,\tfrac\lambda2\nabla L^\top M\nabla L = \lambda HM\nabla L`."""
    eta, lam, P, p, _ = _setup()
    h11, h12, h22 = sp.symbols("h_11 h_12 h_22", real=True)
    H = sp.Matrix([[h11, h12], [h12, h22]])
    c = sp.Matrix(sp.symbols("c_1 c_2", real=True))
    z = sp.Matrix(sp.symbols("z_1 z_2", real=True))
    M = P * P.T

    def loss(q):  # a quadratic model of L at p (exact for quadratics; H its Hessian)
        return (q.T * H * q / 2 + c.T * q)[0]

    gz = sp.Matrix([sp.diff(loss(P * z), zi) for zi in z])  # grad_z L(Pz)
    R = lam / 2 * (gz.T * gz)[0]
    total = sp.Matrix([sp.diff(loss(P * z) + R, zi) for zi in z])
    p_new = P * (z - eta * total)  # in terms of z; compare at p = P z (polynomial identities)
    g = H * p + c
    expected = p - eta * M * (g + lam * H * M * g)
    at_pz = dict(zip(p, P * z))
    r_in_p = sp.expand(R - lam / 2 * (g.T * M * g)[0].subs(at_pz))
    steps = (
        Step("R(z) = (λ/2)‖∇_z L(Pz)‖² with ∇_z L(Pz) = Pᵀ∇L, so R = (λ/2) ∇Lᵀ M ∇L (difference)", r_in_p),
        Step("gradient step on L(Pz) + R(z), mapped back (L quadratic with Hessian H; shown for diagonal P)",
             sp.Eq(sp.Symbol("p⁺"), p_new.subs({P[0, 1]: 0, P[1, 0]: 0}).applyfunc(sp.factor), evaluate=False)),
        Step("= p - ηM(∇L + λ H M ∇L); in p instead: p - ηM(∇L + λH∇L)", sp.Eq(sp.Symbol("p⁺"), expected, evaluate=False)),
    )
    return Derivation(
        name="gradient_regularization_intrinsic",
        title="Gradient regularisation in z: p⁺ = p - ηM(∇L + λHM∇L)",
        steps=steps,
        residuals=(("R in p-coordinates", r_in_p), ("p⁺ matches", (p_new - expected.subs(at_pz)).applyfunc(sp.expand))),
        reference=_REF + " (v1: gradient regularisation in the chosen variables)",
    )

r"""AdamRAG (RECON, ``docs/spec/ravine_adamrag.md``) and its reductions.

``adamrag_zero_extrapolation``
    With :math:`\alpha_t = 0` the Ravine extrapolation disappears and AdamRAG *is* Adam: the
    symbolic twins of ``adamrag`` (``schedule="zero"``) and ``adam`` (torch form, no decay) give
    the same iterates for three steps with an arbitrary gradient field (undefined functions
    :math:`G_i`), and the y-coordinate form
    :math:`y_{t+1}-y_t = (1+\alpha)\Delta_t - \alpha\Delta_{t-1} + \alpha(y_t-y_{t-1})` follows from
    :math:`w_t = y_t + \Delta_t`, :math:`y_{t+1} = w_t + \alpha(w_t - w_{t-1})`.  With a constant
    α ≠ 0 the first step is still Adam's and the second is not (the negative control).
"""

from __future__ import annotations

import sympy as sp

from ._core import Derivation, Step, check

__all__ = ["adamrag_zero_extrapolation"]


def _run(name: str, values: dict, steps: int, n: int = 2, field: dict | None = None):
    """Iterates x_1..x_steps of a twin from symbolic x_0 with gradient field G (undefined functions,
    or ``field["G"]`` mapping the query point to the gradient)."""
    from .twins import V, get_twin, make_params

    twin, P = get_twin(name), make_params(name, values)
    Gs = [sp.Function(f"G_{i + 1}") for i in range(n)]
    x = V([sp.Integer(1), sp.Integer(-2)] if field else sp.symbols(f"x0_1:{n + 1}", real=True))
    state = twin.init(x, P)
    xs = []
    for t in range(1, steps + 1):
        y = twin.query(x, state, P, sp.Integer(t))
        g = field["G"](y) if field else V([G(*y) for G in Gs])
        dx, state = twin.step(sp.Integer(t), g, state, x, P)
        x = x + dx
        xs.append(x)
    return xs


@check("adamrag_zero_extrapolation", "adamrag")
def adamrag_zero_extrapolation() -> Derivation:
    r"""AdamRAG with zero extrapolation is Adam (three symbolic steps, arbitrary gradient field)."""
    lr, b1, b2, eps, alpha = sp.symbols("lr b1 b2 eps alpha", positive=True)
    hyper = {"lr": lr, "b1": b1, "b2": b2, "eps": eps}
    K = 3
    rag = _run("adamrag", {**hyper, "schedule": "zero"}, K)
    adam = _run("adam", {**hyper, "wd": 0}, K)
    # identical expressions: the difference cancels without expanding (expanding nested G's is slow)
    diff = sp.Matrix([[a - b for a, b in zip(xr, xa)] for xr, xa in zip(rag, adam)])
    const = _run("adamrag", {**hyper, "schedule": "constant", "momentum": alpha}, 2)
    first_same = sp.Matrix([a - b for a, b in zip(const[0], adam[0])])
    # negative control on f = |y|^2/2 (G(y) = y) with numbers: the second iterates differ
    half = sp.Rational(1, 2)
    nums = {lr: half, b1: half, b2: half, eps: sp.Rational(1, 10), alpha: half}
    lin = {"G": lambda y: y}
    c2 = _run("adamrag", {**{k.name: v for k, v in nums.items() if k is not alpha}, "schedule": "constant",
                          "momentum": half}, 2, field=lin)
    a2 = _run("adam", {**{k.name: v for k, v in nums.items() if k is not alpha}, "wd": 0}, 2, field=lin)
    second_gap = sp.nsimplify(sp.simplify(c2[1][0] - a2[1][0]))
    # y-coordinates
    y_t, y_tm1, d_t, d_tm1 = sp.symbols("y_t y_{t-1} Delta_t Delta_{t-1}", real=True)
    w_t, w_tm1 = y_t + d_t, y_tm1 + d_tm1
    y_next = w_t + alpha * (w_t - w_tm1)
    y_form = sp.expand((y_next - y_t) - ((1 + alpha) * d_t - alpha * d_tm1 + alpha * (y_t - y_tm1)))
    steps = (
        Step("AdamRAG (spec §3b): g_t = ∇f(y_t), Adam moments, w_t = y_t + Δ_t with Δ_t = -η m̂_t/(√v̂_t + ε), "
             "y_{t+1} = w_t + α_t (w_t - w_{t-1}), w_{-1} = y_0", None),
        Step("in y-coordinates: y_{t+1} - y_t - [(1+α)Δ_t - αΔ_{t-1} + α(y_t - y_{t-1})]", y_form),
        Step("α = 0: y_{t+1} = w_t = y_t + Δ_t, Adam's update; the twins of adamrag (schedule='zero') and adam "
             "(wd = 0), three steps from x_0 with gradient field G: x_t^AdamRAG - x_t^Adam", diff),
        Step("negative control, constant α: first step equal to Adam's", first_same),
        Step("second step differs: on f = ‖y‖²/2 from x_0 = (1, -2) with η = β₁ = β₂ = α = 1/2, ε = 1/10, the "
             "first coordinates of x_2 differ by", second_gap),
    )
    return Derivation(
        name="adamrag_zero_extrapolation",
        title="AdamRAG with zero extrapolation is Adam; its y-form is heavy-ball momentum α on Adam's steps",
        steps=steps,
        residuals=(
            ("y-coordinate form", y_form),
            ("α = 0: three steps equal Adam's", diff),
            ("constant α: first step is Adam's", first_same),
            ("constant α: second step differs (a nonzero number)", sp.Ne(second_gap, 0)),
        ),
        reference="docs/spec/ravine_adamrag.md (RECON); Attouch & Fadili 2022 (RAG); Kingma & Ba 2015",
    )

r"""The Ravine method and Nesterov's method are the same sequence read at different points.

Checks
------
``ravine_nesterov``
    If :math:`(x_k)` is Nesterov's sequence (:math:`y_k = x_k + a_k(x_k-x_{k-1})`,
    :math:`x_{k+1} = y_k - s\nabla f(y_k)`, :math:`x_{-1}=x_0`), its extrapolated points
    :math:`y_k` form a Ravine sequence (:math:`w_k = y_k - s\nabla f(y_k)`,
    :math:`y_{k+1} = w_k + \alpha_k(w_k-w_{k-1})`, :math:`w_{-1}=y_0`) with
    :math:`w_k = x_{k+1}` and the coefficient index shifted by one, :math:`\alpha_k = a_{k+1}`.
    Proved by induction (one symbolic step) and by three unrolled steps with an arbitrary
    gradient field.
``torch_nesterov_ravine``
    ``torch.optim.SGD(momentum=μ, nesterov=True, dampening=0)`` produces exactly the Ravine
    sequence with constant α = μ and s = γ (``docs/spec/baselines.md``): the step
    differences obey the same recursion, with the same first step.
"""

from __future__ import annotations

import sympy as sp

from ._core import Derivation, Step, check

__all__ = ["ravine_nesterov", "torch_nesterov_ravine"]


def _field(n: int = 2):
    """An arbitrary gradient field on R^n: undefined functions G_i(y_1, ..., y_n)."""
    Gs = [sp.Function(f"G_{i + 1}") for i in range(n)]
    return lambda y: [G(*y) for G in Gs]


def _vec(name: str, n: int = 2) -> list[sp.Symbol]:
    return list(sp.symbols(f"{name}_1:{n + 1}", real=True))


def _canon(v):
    return [sp.expand(e) for e in v]


@check("ravine_nesterov", "ravine")
def ravine_nesterov() -> Derivation:
    r"""Nesterov's extrapolated points are a Ravine sequence (Attouch & Fadili 2022).

    References
    ----------
    H. Attouch, J. Fadili, "From the Ravine method to the Nesterov method and vice versa: a
    dynamical system perspective", SIAM J. Optim. 32(3), 2022, arXiv:2201.11643, §1.
    """
    n, K = 2, 3
    G = _field(n)
    s = sp.Symbol("s", positive=True)
    a = sp.symbols(f"a_0:{K + 1}", real=True)  # Nesterov's coefficients a_0..a_K
    # --- induction step: from x_{k-1}, x_k (with y_k) to y_{k+1}
    xkm1, xk = _vec("xprev", n), _vec("x", n)
    ak, ak1 = sp.symbols("a_k a_{k+1}", real=True)
    yk = [xi + ak * (xi - xp) for xi, xp in zip(xk, xkm1)]
    xk1 = [yi - s * gi for yi, gi in zip(yk, G(yk))]
    yk1_nag = [x1 + ak1 * (x1 - x0) for x1, x0 in zip(xk1, xk)]
    wk = [yi - s * gi for yi, gi in zip(yk, G(yk))]  # Ravine gradient step from y_k
    wkm1 = xk  # induction hypothesis: w_{k-1} = x_k
    yk1_rav = [w1 + ak1 * (w1 - w0) for w1, w0 in zip(wk, wkm1)]
    step_res = sp.Matrix([sp.expand(p - q) for p, q in zip(yk1_rav, yk1_nag)])
    wk_res = sp.Matrix([sp.expand(p - q) for p, q in zip(wk, xk1)])
    # --- three unrolled steps from x_0 (x_{-1} = x_0) with an arbitrary field
    x0 = _vec("x0", n)
    x_prev, x = x0, x0
    y_nag = []
    for k in range(K + 1):
        y = _canon([xi + a[k] * (xi - xp) for xi, xp in zip(x, x_prev)])
        y_nag.append(y)
        x_prev, x = x, _canon([yi - s * gi for yi, gi in zip(y, G(y))])
    y = x0
    w_prev = x0  # w_{-1} = y_0
    y_rav = [y]
    for k in range(K):
        w = _canon([yi - s * gi for yi, gi in zip(y, G(y))])
        y = _canon([wi + a[k + 1] * (wi - wp) for wi, wp in zip(w, w_prev)])  # alpha_k = a_{k+1}
        y_rav.append(y)
        w_prev = w
    unrolled = sp.Matrix([[sp.expand(p - q) for p, q in zip(yr, yn)] for yr, yn in zip(y_rav, y_nag)])
    # negative control: without the index shift (alpha_k = a_k) the sequences differ at y_1
    w0 = [yi - s * gi for yi, gi in zip(x0, G(x0))]
    y1_unshifted = [wi + a[0] * (wi - wp) for wi, wp in zip(w0, x0)]
    unshifted = sp.expand(y1_unshifted[0] - y_nag[1][0])
    steps = (
        Step("Nesterov: y_k = x_k + a_k (x_k - x_{k-1}),  x_{k+1} = y_k - s ∇f(y_k),  x_{-1} = x_0", None),
        Step("Ravine:   w_k = y_k - s ∇f(y_k),  y_{k+1} = w_k + α_k (w_k - w_{k-1}),  w_{-1} = y_0", None),
        Step("Ravine's gradient step from Nesterov's y_k is Nesterov's next iterate: w_k - x_{k+1}", wk_res),
        Step("induction: with w_{k-1} = x_k and α_k = a_{k+1}, Ravine's y_{k+1} minus Nesterov's", step_res),
        Step("base: x_{-1} = x_0 gives y_0 = x_0 = w_{-1}; unrolled three steps with an arbitrary field "
             "G = ∇f on R², y^Ravine_k - y^Nesterov_k for k = 0..3", unrolled),
        Step("negative control: with α_k = a_k (no shift), y^Ravine_1 - y^Nesterov_1 (first coordinate) is "
             "(a_1 - a_0) s ∇₁f(x_0), not 0 unless a_1 = a_0", unshifted),
        Step("so with constant coefficients (a_k = α) the two methods' extrapolated points coincide; with a "
             "schedule the Ravine coefficient at step k is Nesterov's a_{k+1}", None),
    )
    return Derivation(
        name="ravine_nesterov",
        title="Nesterov's extrapolated points y_k form a Ravine sequence with w_k = x_{k+1}, α_k = a_{k+1}",
        steps=steps,
        residuals=(
            ("w_k = x_{k+1}", wk_res),
            ("induction step", step_res),
            ("three unrolled steps", unrolled),
            ("without the shift they differ by (a_1 - a_0) s ∇f(x_0)", unshifted - (a[1] - a[0]) * s * G(x0)[0]),
        ),
        reference="Attouch & Fadili, SIAM J. Optim. 2022 (arXiv:2201.11643); docs/spec/ravine_adamrag.md",
    )


@check("torch_nesterov_ravine", "ravine")
def torch_nesterov_ravine() -> Derivation:
    r"""torch's ``nesterov=True`` iterates are the Ravine sequence with α = μ, s = γ.

    With :math:`d_k = y_{k+1}-y_k`, Ravine gives
    :math:`d_k = -\gamma g_k + \mu(d_{k-1} - \gamma g_k + \gamma g_{k-1})` and torch gives
    :math:`d_k = -\gamma(g_k + \mu b_k)`, :math:`b_k = \mu b_{k-1} + g_k`, :math:`b_0 = g_0`.
    """
    g_k, g_km1, b_km1 = sp.symbols("g_k g_{k-1} b_{k-1}", real=True)
    mu, gam = sp.symbols("mu gamma", positive=True)
    # induction hypothesis: the previous differences agree, d_{k-1} = -gamma (g_{k-1} + mu b_{k-1})
    d_km1 = -gam * (g_km1 + mu * b_km1)
    d_rav = -gam * g_k + mu * (d_km1 - gam * g_k + gam * g_km1)
    b_k = mu * b_km1 + g_k
    d_torch = -gam * (g_k + mu * b_k)
    induction = sp.expand(d_rav - d_torch)
    g0 = sp.Symbol("g_0", real=True)
    base = sp.expand((-gam * g0 + mu * (-gam * g0)) - (-gam * (g0 + mu * g0)))  # w_{-1} = y_0, b_0 = g_0
    # four unrolled steps with an arbitrary field
    n, K = 2, 4
    G = _field(n)
    th0 = _vec("theta0", n)
    th, b = th0, None
    torch_seq = [th0]
    for k in range(K):
        g = G(th)
        b = g if k == 0 else [mu * bi + gi for bi, gi in zip(b, g)]
        th = _canon([ti - gam * (gi + mu * bi) for ti, gi, bi in zip(th, g, b)])
        torch_seq.append(th)
    y, w_prev = th0, th0
    rav_seq = [th0]
    for k in range(K):
        w = _canon([yi - gam * gi for yi, gi in zip(y, G(y))])
        y = _canon([wi + mu * (wi - wp) for wi, wp in zip(w, w_prev)])
        rav_seq.append(y)
        w_prev = w
    unrolled = sp.Matrix([[sp.expand(p - q) for p, q in zip(r, t)] for r, t in zip(rav_seq, torch_seq)])
    steps = (
        Step("torch SGD(momentum=μ, nesterov=True): b_k = μ b_{k-1} + g_k (b_0 = g_0), θ_{k+1} = θ_k - γ (g_k + μ b_k)", None),
        Step("Ravine with α = μ, s = γ: w_k = y_k - γ g_k, y_{k+1} = w_k + μ (w_k - w_{k-1}), w_{-1} = y_0", None),
        Step("Ravine differences d_k = y_{k+1} - y_k, assuming d_{k-1} = -γ (g_{k-1} + μ b_{k-1})",
             sp.Eq(sp.Symbol("d_k"), d_rav)),
        Step("torch's difference", sp.Eq(sp.Symbol("d_k"), d_torch)),
        Step("Ravine minus torch (induction step)", induction),
        Step("first step: Ravine -γ(1+μ) g_0 (since w_{-1} = y_0) minus torch -γ (g_0 + μ b_0), b_0 = g_0", base),
        Step("four unrolled steps with an arbitrary field on R²: y_k - θ_k", unrolled),
    )
    return Derivation(
        name="torch_nesterov_ravine",
        title="torch's Nesterov SGD iterates are the Ravine sequence (α = μ, s = γ)",
        steps=steps,
        residuals=(("induction step", induction), ("first step", base), ("four unrolled steps", unrolled)),
        reference="docs/spec/baselines.md (Nesterov, useful identity) and §3a; torch.optim.SGD",
    )

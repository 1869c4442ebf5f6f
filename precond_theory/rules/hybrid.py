r"""AdapGradm and HAdapGradm (RECON): momentum preconditioned by a bounded diagonal curvature
estimate built from first-order information, and its hybrid hand-over to SGD with momentum.

Chen, Zhang & Zhou (Neural Networks 199:108758, 2026) describe AdapGradm only in their abstract:
a "second-order adaptive optimizer" whose "diagonal approximate Hessian matrix [is] based on
first-order derivatives" at Adam's cost, and HAdapGradm, a "seamless transition between
AdapGradm and SGD".  Neither text nor code was available, so both rules are the configurable
reconstruction of ``docs/spec/adapgradm.md``, built from the EXACT relatives Apollo, AGD,
AdaBelief (:mod:`.relatives`), AdaBound and SWATS (:mod:`.relatives_switch`).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal, NamedTuple

from array_api_compat import device as _device

from .._checks import check_choice, check_int, check_range, host_values
from .._xp import array_namespace
from ._moments import bias_correction, ema
from .base import AbstractRule, Hyper, Needs, hp, option, register, rule_dataclass
from .relatives_switch import SWATS, lr_factor

__all__ = [
    "AdapGradm", "AdapGradmState", "HAdapGradm", "HAdapGradmState", "rademacher_probe",
    "switch_fraction_metric", "switch_step_metric", "CURVATURE_KIND",
]

Array = Any

Curvature = Literal["apollo", "secant", "agd", "belief", "hutchinson"]
SecantPair = Literal["gradient", "momentum"]
Switch = Literal["clip", "floor", "swats", "blend"]

#: estimate -> "curvature" (h ~ diag H: power 1, floor 1e-2) or "squared" (h ~ (H dx)^2: power 1/2, floor 1e-8)
CURVATURE_KIND = {"apollo": "curvature", "secant": "curvature", "hutchinson": "curvature",
                  "agd": "squared", "belief": "squared"}
_DEFAULT_DELTA = {"curvature": 1e-2, "squared": 1e-8}

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _host_mix(z: int) -> int:
    """splitmix64's finaliser on a Python int (host side, exact)."""
    z &= _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def rademacher_probe(xp: Any, seed: int, k: int, n: int, dtype: Any, device: Any = None) -> Array:
    r"""Rademacher vector :math:`z \in \{-1, 1\}^n` for update ``k``, a pure function of ``(seed, k)``.

    Entry j is the sign bit of splitmix64 at counter j+1 of a stream keyed by ``(seed, k)``,
    computed with array-API integer operations (uint64 arithmetic wraps), so the probes are
    identical on every backend, need no generator state, and are the same for every run of a
    batch (which keeps a ``(K, n)`` batch equal to K single runs).
    """
    key = _host_mix(_host_mix(seed + _GOLDEN) + (k * _GOLDEN & _MASK))
    z = xp.arange(1, n + 1, dtype=xp.uint64, device=device) * _GOLDEN + key
    z = xp.bitwise_xor(z, xp.bitwise_right_shift(z, 30)) * 0xBF58476D1CE4E5B9
    z = xp.bitwise_xor(z, xp.bitwise_right_shift(z, 27)) * 0x94D049BB133111EB
    z = xp.bitwise_xor(z, xp.bitwise_right_shift(z, 31))
    return 1.0 - 2.0 * xp.astype(xp.bitwise_right_shift(z, 63), dtype)


class AdapGradmState(NamedTuple):
    k: int
    m: Array  # EMA of g (not debiased)
    h: Array  # EMA of the raw curvature samples; for "apollo" the weak-secant matrix B itself
    D: Array  # D_k = clip(|h-hat|^p, delta, cap), the last denominator
    x_prev: Array | None  # x_{k-1} (apollo, secant)
    y_prev: Array | None  # g_{k-1} or m-hat_{k-1} (apollo, secant: the secant pair's y)


_ESTIMATES = r"""
    Curvature estimates (``curvature``), with :math:`s = x_k - x_{k-1}` and
    :math:`y = g_k - g_{k-1}` (``secant_pair="gradient"``) or :math:`y = \hat m_k - \hat m_{k-1}`
    (``"momentum"``, Apollo's noise-smoothed pair); default power p and floor δ in brackets:

    * ``"apollo"`` (p = 1, δ = 1e-2): the weak-secant diagonal update [2, 3]
      :math:`B_k = B_{k-1} + (\tilde s^\top \tilde y - \tilde s^\top \mathrm{Diag}(B_{k-1})\tilde s)\,\tilde s^2`,
      :math:`\tilde s = s/(\|s\|_4+\epsilon_s)`, :math:`\tilde y = y/(\|s\|_4+\epsilon_s)`;
      :math:`\hat h_k = B_k`, :math:`B_0 = h_0` (a recursion, not an EMA: β₂ is unused).
    * ``"secant"`` (1, 1e-2): EMA with β₂ of :math:`|y|/(|s|+\epsilon_s)`, debiased over its k-1 samples.
    * ``"hutchinson"`` (1, 1e-2): EMA with β₂ of :math:`z\odot Hz`, z Rademacher, through ``hvp`` [6].
    * ``"agd"`` (1/2, 1e-8): EMA with β₂ of :math:`(\hat m_k - \hat m_{k-1})^2` (:math:`\hat m_1^2` at k = 1) [4].
    * ``"belief"`` (1/2, 1e-8): EMA with β₂ of :math:`(g_k - m_k)^2` [5].

    Fields an estimate does not read are refused when given explicitly: ``b2`` with
    ``"apollo"`` (a recursion, not an EMA), ``seed`` unless ``"hutchinson"``, ``h0``, ``eps_s``
    and ``secant_pair`` unless ``"apollo"`` or ``"secant"``.

    The EMAs are debiased, :math:`\hat h_k = h_k/(1-\beta_2^c)` after c samples.  ``apollo`` and
    ``secant`` have no sample at k = 1, and until the first sample :math:`\hat h = h_0`
    (default 0), so the first step is :math:`(\eta/\max(h_0,\delta))\,g_1`: give ``h0`` an upper
    bound on the curvature (e.g. L) for a safe first step.  On a quadratic :math:`y = Hs`
    exactly, so with ``secant_pair="gradient"`` (and ``eps_s = 0``) the weak-secant condition
    :math:`s^\top B_k s = s^\top H s` holds after every update and, for a diagonal H, ``apollo``
    is a Kaczmarz projection onto a set that contains diag(H) (its error never grows), and
    ``secant`` samples :math:`H_{ii}|s_i|/(|s_i|+\epsilon_s)`.  Hutchinson's sample is exact for a
    diagonal H (:math:`z_i^2 = 1`).  Probes come from :func:`rademacher_probe` with
    ``(seed, k)``, so the update stays a pure, deterministic function of its inputs.
"""


_DIFFERENCE = ("apollo", "secant")  # the estimates built on the pair (s, y)
#: Which curvature estimate reads which field (an explicit field the estimate does not read is refused).
_FAMILY_READS = {
    "b2": option("curvature", "secant", "agd", "belief", "hutchinson"),
    "seed": option("curvature", "hutchinson"),
    "h0": option("curvature", *_DIFFERENCE),
    "eps_s": option("curvature", *_DIFFERENCE),
    "secant_pair": option("curvature", *_DIFFERENCE),
}


@rule_dataclass
class _AdapGradmFamily(AbstractRule):
    """Shared fields and the preconditioned-momentum core of AdapGradm and HAdapGradm."""

    fidelity: ClassVar[str] = "recon"
    has_preconditioner: ClassVar[bool] = True
    reads: ClassVar = _FAMILY_READS
    allow_inf: ClassVar = frozenset({"cap"})

    lr: Hyper = 1e-2
    b1: Hyper = 0.9
    b2: Hyper = 0.999
    curvature: Curvature = "apollo"
    power: float | None = None
    delta: Hyper = None
    cap: Hyper = math.inf
    h0: Hyper = 0.0
    eps_s: Hyper = 1e-12
    secant_pair: SecantPair = "gradient"
    seed: int = 0

    @property
    def needs_hvp(self) -> bool:  # type: ignore[override]
        """True only for ``curvature="hutchinson"`` (read it from the instance, not the class)."""
        return self.curvature == "hutchinson"

    def _validate(self) -> None:
        check_range("b1", self.b1, 0.0, 1.0, hi_open=True)
        check_range("b2", self.b2, 0.0, 1.0, hi_open=True)
        if self.power is not None:
            check_choice("power", self.power, (1.0, 0.5))
        if self.delta is not None:
            check_range("delta", self.delta, 0.0)
        check_range("cap", self.cap, 0.0, lo_open=True)
        if not bool((host_values("cap", self.cap) >= host_values("delta", self._delta())).all()):
            raise ValueError(f"cap must be >= delta (the bounds delta <= D <= cap); "
                             f"got cap={self.cap!r}, delta={self._delta()!r}")
        check_range("h0", self.h0, 0.0)
        check_range("eps_s", self.eps_s, 0.0)
        check_int("seed", self.seed, 0)

    def _power(self) -> float:
        if self.power is not None:
            return float(self.power)
        return 1.0 if CURVATURE_KIND[self.curvature] == "curvature" else 0.5

    def _delta(self) -> Any:
        return _DEFAULT_DELTA[CURVATURE_KIND[self.curvature]] if self.delta is None else self.delta

    def _bound(self, xp: Any, hhat: Array, like: Array) -> Array:
        """D = clip(|h-hat|^p, delta, cap)."""
        a = xp.abs(hhat)
        D = xp.maximum(a if self._power() == 1.0 else xp.sqrt(a), hp(self._delta(), like, xp))
        if isinstance(self.cap, (int, float)) and self.cap == math.inf:
            return D
        return xp.minimum(D, hp(self.cap, like, xp))

    def _init_core(self, x: Array) -> tuple[Array, Array, Array, Array | None, Array | None]:
        xp = array_namespace(x)
        z = xp.zeros_like(x)
        h0 = z + hp(self.h0, x, xp)
        diff = self.curvature in ("apollo", "secant")
        h = h0 if self.curvature == "apollo" else z
        return z, h, self._bound(xp, h0, x), (x if diff else None), (z if diff else None)

    def _core(self, xp: Any, g: Array, state: Any, x: Array, lr: Any, hvp: Any):
        """One AdapGradm update up to the rate: returns k, m, h, D, x_prev, y_prev, r with
        ``r = (lr / (1 - b1^k)) / D`` the rate that multiplies the raw momentum m."""
        k = state.k + 1
        b1, b2 = hp(self.b1, x, xp), hp(self.b2, x, xp)
        m = ema(state.m, g, b1)  # docs/spec/adapgradm.md: m_t = b1 m + (1 - b1) g
        bc1 = bias_correction(b1, k)
        c = k  # number of curvature samples so far
        x_prev, y_prev, h = state.x_prev, state.y_prev, state.h
        if self.curvature in ("apollo", "secant"):
            y_now = g if self.secant_pair == "gradient" else m / bc1
            c = k - 1
            if k > 1:
                s, y = x - state.x_prev, y_now - state.y_prev
                eps_s = hp(self.eps_s, x, xp)
                if self.curvature == "secant":  # docs/spec/adapgradm.md: |g_t - g_{t-1}| / (|x_t - x_{t-1}| + eps_s)
                    h = ema(state.h, xp.abs(y) / (xp.abs(s) + eps_s), b2)
                else:  # Apollo's weak-secant update [2] Alg. 1 l.6, on the pair (s, y)
                    nrm = xp.sum((s * s) ** 2, axis=-1, keepdims=True) ** 0.25 + eps_s
                    sn = s / nrm
                    sn2 = sn * sn
                    coef = (xp.sum(sn * (y / nrm), axis=-1, keepdims=True)
                            - xp.sum(state.h * sn2, axis=-1, keepdims=True))
                    h = state.h + coef * sn2
            x_prev, y_prev = x, y_now
        elif self.curvature == "agd":  # AGD's stepwise difference [4] Alg. 1
            sd = m / bc1 - state.m / bias_correction(b1, k - 1) if k > 1 else m / bc1
            h = ema(state.h, sd * sd, b2)
        elif self.curvature == "belief":  # AdaBelief's deviation [5] Alg. 2
            r = g - m
            h = ema(state.h, r * r, b2)
        else:  # Hutchinson [6]: z * (H z)
            if hvp is None:
                raise ValueError(f"rule {self.name!r} with curvature='hutchinson' needs Hessian-vector products: "
                                 "call update(..., hvp=callable v -> H v); run() supplies it because needs_hvp is True")
            z = xp.broadcast_to(rademacher_probe(xp, self.seed, k, x.shape[-1], x.dtype, _device(x)), x.shape)
            h = ema(state.h, z * hvp(z), b2)
        if self.curvature == "apollo":
            hhat = h
        elif c == 0:
            hhat = xp.zeros_like(x) + hp(self.h0, x, xp)
        else:
            hhat = h / bias_correction(b2, c)  # docs/spec/adapgradm.md: h-hat = h / bc2
        D = self._bound(xp, hhat, x)  # docs/spec/adapgradm.md: D = max(h-hat^p, delta), and <= cap
        return k, m, h, D, x_prev, y_prev, (lr / bc1) / D

    def _rate_to_p(self, rate: Array, k: int, xp: Any) -> Array:
        bc1 = 1 - hp(self.b1, rate, xp) ** k
        lr = hp(self.lr, rate, xp)
        return rate * bc1 / lr if not (isinstance(lr, (int, float)) and lr == 0) else rate * bc1


_ADAPGRADM_TABLE = r"""
    ====== ==============================================================
    symbol argument
    ====== ==============================================================
    η      ``lr`` (1e-2; about 1e-3 for the squared estimates)
    β₁     ``b1`` (0.9)
    β₂     ``b2`` (0.999)
    p      ``power`` (None: 1 for curvature estimates, 1/2 for squared ones)
    δ      ``delta`` (None: 1e-2 for curvature estimates, 1e-8 for squared)
    C      ``cap`` (inf)
    h₀     ``h0`` (0, the estimate before the first sample)
    ε_s    ``eps_s`` (1e-12)
    —      ``curvature`` ("apollo"), ``secant_pair`` ("gradient"), ``seed`` (0)
    ====== ==============================================================
"""

_ADAPGRADM_REFS = r"""
    References
    ----------
    .. [1] Z. Chen, H. Zhang, Z. Zhou, "A hybrid adaptive preconditioned gradient method with
           momentum for deep learning", Neural Networks 199:108758, 2026,
           doi:10.1016/j.neunet.2026.108758 (abstract only; no equations were available).
    .. [2] X. Ma, "Apollo: an adaptive parameter-wise diagonal quasi-Newton method for nonconvex
           stochastic optimization", arXiv:2009.13586, 2020, Algorithm 1.
    .. [3] M. Zhu, J. L. Nazareth, H. Wolkowicz, "The quasi-Cauchy relation and diagonal
           updating", SIAM J. Optim. 9(4), 1999 (the weak-secant diagonal update).
    .. [4] Y. Yue et al., "AGD", NeurIPS 2023, arXiv:2312.01658, Algorithm 1.
    .. [5] J. Zhuang et al., "AdaBelief", NeurIPS 2020, arXiv:2010.07468, Algorithm 2.
    .. [6] Z. Yao et al., "AdaHessian", AAAI 2021, arXiv:2006.00719, eq. (8)-(9) (Hutchinson's
           diagonal); M. F. Hutchinson, Commun. Stat. Simul. Comput. 18(3), 1989.
"""


@register
@rule_dataclass
class AdapGradm(_AdapGradmFamily):
    __doc__ = r"""AdapGradm: momentum preconditioned by a bounded diagonal curvature estimate (RECON).

    Notes
    -----
    **Fidelity: RECON** — reconstructed from the abstract of [1] and its nearest published
    relatives (``docs/spec/adapgradm.md``); a configurable hypothesis, not the paper's
    verified algorithm.

    .. math::
        m_k &= \beta_1 m_{k-1} + (1-\beta_1) g_k, \qquad \hat m_k = m_k/(1-\beta_1^k) \\
        \hat h_k &= \text{curvature estimate (table below)} \\
        D_k &= \min\big(\max(|\hat h_k|^p, \delta),\ C\big) \\
        x_{k+1} &= x_k - \eta\, \hat m_k / D_k

    Momentum is applied before preconditioning (Adam/Apollo order).  The bounds
    :math:`\delta \le D_k \le C` are the "bounded preconditioner" condition of the usual
    O(log T/√T) convergence template, enforced in code.  Implied preconditioner
    :math:`P_k = 1/D_k` (step :math:`-\eta P_k \hat m_k`).  The step is computed as
    :math:`-(\eta/(1-\beta_1^k))/D_k \cdot m_k`, the same arithmetic as :class:`HAdapGradm`.

    **Default variant: the weak-secant (Apollo-type) estimate on the raw pair (s, y), p = 1,
    δ = 0.01.**  Why: the abstract promises a "diagonal approximate Hessian ... based on
    first-order derivatives" at Adam's cost; the published method that builds exactly that is
    Apollo's diagonal quasi-Newton update ([2], from the quasi-Cauchy relation [3]), ranked
    first in the spec; its projection form never increases the distance to the true diagonal
    on quadratics (unlike the elementwise secant, which divides by small displacements), and
    its rectified floor max(|B|, σ) is the bound that HAdapGradm's switch needs.  The pair
    (s, y) = (x_k - x_{k-1}, g_k - g_{k-1}) makes :math:`\hat h` estimate diag(H) itself (not
    Apollo's η diag(H)), so η is a Newton damping factor; ``secant_pair="momentum"`` uses
    Apollo's smoothed y for noisy gradients.
""" + _ESTIMATES + _ADAPGRADM_TABLE + _ADAPGRADM_REFS

    name: ClassVar[str] = "adapgradm"
    reference: ClassVar[str] = ("Chen, Zhang & Zhou, Neural Networks 199:108758 (2026), abstract; RECON per "
                                "docs/spec/adapgradm.md (Apollo/AGD/AdaBelief/Hutchinson estimates)")

    def init(self, x: Array) -> AdapGradmState:
        m, h, D, x_prev, y_prev = self._init_core(x)
        return AdapGradmState(k=0, m=m, h=h, D=D, x_prev=x_prev, y_prev=y_prev)

    def _step(self, xp, g, state, x, *, lr, value=None, hvp=None):
        k, m, h, D, x_prev, y_prev, r = self._core(xp, g, state, x, lr, hvp)
        return -(r * m), AdapGradmState(k=k, m=m, h=h, D=D, x_prev=x_prev, y_prev=y_prev)

    def preconditioner(self, state: AdapGradmState) -> Array:
        return 1 / state.D


#: HAdapGradm's adaptive part is used at all (``switch_at=0`` is SGD from the first update).
_ADAPTIVE = Needs(lambda r: r.switch_at != 0, "switch_at != 0", ("switch_at",))


class HAdapGradmState(NamedTuple):
    k: int
    m: Array
    h: Array
    D: Array
    x_prev: Array | None
    y_prev: Array | None
    rate: Array  # effective per-coordinate rate on the raw momentum m (after the switch rule)
    frac: Array  # (*batch, 1) fraction of coordinates on the SGD rate at the last update (blend: 1 - rho)
    switch_k: Array  # (*batch, 1) first update whose step was entirely SGD, -1 if none yet
    lam: Array | None  # (*batch, 1) EMA of projected SGD rates (swats only)
    sgd: Array | None  # (*batch, 1) 1.0 once switched (swats only)
    sgd_lr: Array | None  # (*batch, 1) projected SGD rate Lambda fixed at the switch (swats only)


@register
@rule_dataclass
class HAdapGradm(_AdapGradmFamily):
    __doc__ = r"""HAdapGradm: AdapGradm with a hand-over to SGD with momentum (RECON).

    Notes
    -----
    **Fidelity: RECON** — reconstructed from the abstract of [1] ("a seamless transition
    between AdapGradm and SGD") and the EXACT relatives AdaBound, AGD and SWATS
    (``docs/spec/adapgradm.md``); a configurable hypothesis, not the paper's algorithm.

    AdapGradm's step is :math:`-r_k\odot m_k` with the per-coordinate rate
    :math:`r_k = \eta/((1-\beta_1^k) D_k)` on the raw EMA :math:`m_k`.  The switch replaces
    :math:`r_k` by :math:`r'_k`, which tends to the SGD rate :math:`\eta^\star_k = \eta^\star\,\gamma_k/\eta`
    (``final_lr``, rescaled by the schedule factor when ``rescale_final_lr``):

    .. math::
        x_{k+1} = x_k - r'_k \odot m_k

    * ``"clip"`` (default; AdaBound [7], the best match for "seamless"):
      :math:`r' = \mathrm{clip}(r, \eta^\star(1 - 1/(\gamma_b k+1)), \eta^\star(1 + 1/(\gamma_b k)))`;
      ``gamma=0`` never clips, ``gamma=inf`` is SGD from the first step.
    * ``"floor"`` (AGD [4]): :math:`r' = \min(r, \eta^\star)`, i.e. the floor
      :math:`D \ge \eta/((1-\beta_1^k)\eta^\star)`: flat coordinates move at the SGD rate.
    * ``"blend"``: :math:`r' = \rho_k r + (1-\rho_k)\eta^\star`, :math:`\rho_k = 1/(1+\gamma_b k) \downarrow 0`.
    * ``"swats"`` (SWATS [8], per run): with the AdapGradm step :math:`p_k = -r\odot m_k`,
      :math:`\gamma_k = p_k^\top p_k/(-p_k^\top g_k)`, :math:`\lambda_k = \beta_2\lambda_{k-1} + (1-\beta_2)\gamma_k`,
      :math:`\Lambda_k = \lambda_k/(1-\beta_2^k)`; once :math:`k>1`, :math:`\Lambda_k>0` and
      :math:`|\Lambda_k-\gamma_k| <` ``switch_tol`` ([8] Alg. 1), every later step uses
      :math:`r' = \Lambda_k` (times the schedule factor).  Unlike SWATS the EMA :math:`m_k` continues.
    * ``switch_at=s`` (any mode): updates after the s-th use :math:`r' = \eta^\star`; ``switch_at=0``
      is SGD throughout.

    Each switch reads its own fields; explicit values of the others are refused: ``gamma``
    with ``"clip"``/``"blend"``, ``switch_tol`` with ``"swats"``, ``final_lr`` with
    ``"clip"``/``"floor"``/``"blend"`` or a ``switch_at``; ``b2`` also with ``"swats"`` (the EMA of
    the projected rates).  With ``switch_at=0`` nothing adaptive is read, so ``switch``,
    ``curvature`` and the estimate's fields are refused there too.

    **SGD convention.**  A fully switched step is :math:`x_{k+1} = x_k - \eta^\star m_k` with
    :math:`m_k` the EMA of gradients without bias correction (AdaBound's limit).  Since
    :math:`m_k = (1-\beta_1) b_k` for torch's buffer :math:`b_k = \beta_1 b_{k-1} + g_k`, this is
    ``SGD(lr=(1-b1)*final_lr, momentum=b1, dampening=0)`` (:class:`~precond_theory.rules.SGD`),
    equal up to round-off.  Never switched (clip/blend with ``gamma=0``, floor with
    ``final_lr=inf``, swats with ``switch_tol=0``) the iterates equal :class:`AdapGradm`'s bit for bit.

    **Switch state.**  ``state.frac`` holds the fraction of coordinates on the SGD rate at the
    last update (clip: clipped coordinates; floor: coordinates at the floor; blend: the SGD
    weight :math:`1-\rho_k`; swats/``switch_at``: 0 or 1) and ``state.switch_k`` the first update
    taken entirely at the SGD rate.  Record them with
    ``run(..., metrics={"switch_fraction": switch_fraction_metric, "switch_step": switch_step_metric})``
    or read :meth:`switch_fraction` / :meth:`switch_step`.  Implied preconditioner of
    :math:`\hat m_k`: :math:`P_k = r'_k (1-\beta_1^k)/\eta`.
""" + _ESTIMATES + _ADAPGRADM_TABLE + r"""
    Switch arguments: η* ``final_lr`` (0.1), γ_b ``gamma`` (1e-3), ``switch`` ("clip"),
    ``switch_tol`` (1e-9), ``switch_at`` (None), ``rescale_final_lr`` (True).
""" + _ADAPGRADM_REFS + r"""    .. [7] L. Luo et al., "Adaptive gradient methods with dynamic bound of learning rate",
           ICLR 2019, Algorithm 2.
    .. [8] N. S. Keskar, R. Socher, "Improving generalization performance by switching from Adam
           to SGD", arXiv:1712.07628, Algorithm 1.
"""

    name: ClassVar[str] = "hadapgradm"
    reference: ClassVar[str] = ("Chen, Zhang & Zhou, Neural Networks 199:108758 (2026), abstract; RECON per "
                                "docs/spec/adapgradm.md (AdaBound clip, AGD floor, SWATS switch, blend)")

    reads: ClassVar = {
        **{k: v & _ADAPTIVE for k, v in _FAMILY_READS.items() if k != "b2"},
        "b2": (_FAMILY_READS["b2"] | option("switch", "swats")) & _ADAPTIVE,
        **{k: _ADAPTIVE for k in ("curvature", "power", "delta", "cap", "switch")},
        "gamma": option("switch", "clip", "blend") & _ADAPTIVE,
        "switch_tol": option("switch", "swats") & _ADAPTIVE,
        "final_lr": option("switch", "clip", "floor", "blend") | Needs(
            lambda r: r.switch_at is not None, "switch_at is given", ("switch_at",)),
    }
    allow_inf: ClassVar = frozenset({"cap", "final_lr", "gamma"})

    switch: Switch = "clip"
    final_lr: Hyper = 0.1
    gamma: Hyper = 1e-3
    switch_tol: Hyper = 1e-9
    switch_at: int | None = None
    rescale_final_lr: bool = True

    def _validate(self) -> None:
        super()._validate()
        check_range("final_lr", self.final_lr, 0.0)
        if self.switch != "floor" and not bool((host_values("final_lr", self.final_lr) < math.inf).all()):
            raise ValueError(f"final_lr must be finite with switch={self.switch!r} (final_lr=inf, 'never switch', "
                             f"is allowed only with switch='floor'); got final_lr={self.final_lr!r}")
        check_range("gamma", self.gamma, 0.0)
        check_range("switch_tol", self.switch_tol, 0.0)
        if self.switch_at is not None:
            check_int("switch_at", self.switch_at, 0)

    def init(self, x: Array) -> HAdapGradmState:
        xp = array_namespace(x)
        m, h, D, x_prev, y_prev = self._init_core(x)
        z1 = xp.zeros_like(x[..., :1])
        sw = self.switch == "swats"
        return HAdapGradmState(k=0, m=m, h=h, D=D, x_prev=x_prev, y_prev=y_prev, rate=xp.zeros_like(x), frac=z1,
                               switch_k=z1 - 1.0, lam=z1 if sw else None, sgd=z1 if sw else None,
                               sgd_lr=z1 if sw else None)

    def _bounds(self, xp: Any, eta: Any, k: int, like: Array) -> tuple[Any, Any]:
        gam = hp(self.gamma, like, xp)
        if isinstance(gam, (int, float)):
            if gam == 0:
                return 0.0, math.inf
            return eta * (1 - 1 / (gam * k + 1)), eta * (1 + 1 / (gam * k))
        safe = xp.where(gam > 0, gam, 1.0)
        return eta * (1 - 1 / (gam * k + 1)), xp.where(gam > 0, eta * (1 + 1 / (safe * k)), math.inf)

    def _step(self, xp, g, state, x, *, lr, value=None, hvp=None):
        k, m, h, D, x_prev, y_prev, r = self._core(xp, g, state, x, lr, hvp)
        factor = lr_factor(xp, lr, hp(self.lr, x, xp)) if self.rescale_final_lr else 1.0
        eta = hp(self.final_lr, x, xp) * factor
        lam = sgd = sgd_lr = None
        if self.switch == "clip":  # AdaBound [7] Alg. 2
            lo, hi = self._bounds(xp, eta, k, x)
            r2 = xp.minimum(xp.maximum(r, lo), hi)
            w = xp.astype(r2 != r, x.dtype)
        elif self.switch == "floor":  # AGD [4]: max(D, delta) == min(rate, SGD rate)
            r2 = xp.minimum(r, eta)
            w = xp.astype(r >= eta, x.dtype)
        elif self.switch == "blend":  # docs/spec/adapgradm.md: rho_t eta/D + (1 - rho_t) eta*
            gam = hp(self.gamma, x, xp)
            rho = 1 / (1 + gam * k)
            r2 = rho * r + (1 - rho) * eta
            w = 1 - rho
        else:  # SWATS [8] Alg. 1, per run
            b2 = hp(self.b2, x, xp)
            on = state.sgd > 0
            p = -(r * m)
            pg = xp.sum(p * g, axis=-1, keepdims=True)
            valid = pg != 0
            gam_k = xp.sum(p * p, axis=-1, keepdims=True) / xp.where(valid, -pg, 1.0)
            lam = xp.where(valid & ~on, ema(state.lam, gam_k, b2), state.lam)
            Lam = lam / bias_correction(b2, k)
            switch = valid & ~on & (Lam > 0) & (xp.abs(Lam - gam_k) < hp(self.switch_tol, x, xp))
            if k <= 1:
                switch = xp.zeros_like(switch)
            sgd = xp.astype(on | switch, x.dtype)
            sgd_lr = xp.where(switch, Lam, state.sgd_lr)
            r2 = xp.where(on, state.sgd_lr * factor, r)
            w = xp.astype(on, x.dtype)
        if self.switch_at is not None and k > self.switch_at:
            r2 = xp.zeros_like(r) + eta
            w = 1.0
        dx = -(r2 * m)
        z1 = xp.zeros_like(x[..., :1])
        frac = z1 + (w if isinstance(w, (int, float)) else xp.mean(w, axis=-1, keepdims=True))
        switch_k = xp.where((state.switch_k < 0) & (frac >= 1), float(k), state.switch_k)
        return dx, HAdapGradmState(k=k, m=m, h=h, D=D, x_prev=x_prev, y_prev=y_prev, rate=r2, frac=frac,
                                   switch_k=switch_k, lam=lam, sgd=sgd, sgd_lr=sgd_lr)

    def preconditioner(self, state: HAdapGradmState) -> Array:
        if state.k == 0:
            return 1 / state.D
        return self._rate_to_p(state.rate, state.k, array_namespace(state.rate))

    def switch_fraction(self, state: HAdapGradmState) -> Array:
        """Fraction of coordinates on the SGD rate at the last update, shape ``(*batch,)``."""
        return state.frac[..., 0]

    def switch_step(self, state: HAdapGradmState) -> Array:
        """First update taken entirely at the SGD rate (``-1`` if none yet), shape ``(*batch,)``."""
        return state.switch_k[..., 0]


def _unwrap(rule: Any, state: Any) -> tuple[Any, Any]:
    while not isinstance(rule, (HAdapGradm, SWATS)) and hasattr(rule, "inner"):
        rule = rule.inner
        if hasattr(state, "_fields") and "inner" in state._fields:
            state = state.inner
    if not isinstance(rule, (HAdapGradm, SWATS)):
        raise TypeError(f"switch metrics need an HAdapGradm or SWATS rule (possibly wrapped); "
                        f"got {type(rule).__name__}")
    return rule, state


def switch_fraction_metric(x: Array, state: Any, rule: Any, problem: Any) -> Array:
    """``run`` metric: fraction of coordinates switched to SGD, shape ``(*batch,)`` (HAdapGradm, SWATS)."""
    rule, state = _unwrap(rule, state)
    return rule.switch_fraction(state)


def switch_step_metric(x: Array, state: Any, rule: Any, problem: Any) -> Array:
    """``run`` metric: the update at which the run became pure SGD (-1 if not yet), shape ``(*batch,)``."""
    rule, state = _unwrap(rule, state)
    return rule.switch_step(state)

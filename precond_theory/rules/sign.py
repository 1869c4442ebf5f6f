r"""Sign-based methods: sign descent (signSGD / Signum) and Lion."""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

from .._checks import check_range
from ._moments import ema
from .base import AbstractRule, Hyper, hp, register, rule_dataclass

__all__ = ["SignSGD", "SignSGDState", "Lion", "LionState"]

Array = Any


class SignSGDState(NamedTuple):
    k: int
    m: Array  # EMA of g (Signum); zeros when momentum == 0


@register
@rule_dataclass
class SignSGD(AbstractRule):
    r"""Sign descent, with optional EMA momentum (Signum).

    Notes
    -----
    .. math:: m_k = \beta m_{k-1} + (1-\beta) g_k,\qquad x_{k+1} = x_k - \gamma\,\mathrm{sign}(m_k)

    With β = 0 (default) this is signSGD, :math:`x_{k+1} = x_k - \gamma\,\mathrm{sign}(g_k)`;
    sign(0) = 0.  Invariant to any positive per-coordinate rescaling of the gradient.

    ====== ===========
    symbol argument
    ====== ===========
    γ      ``lr``
    β      ``momentum``
    ====== ===========

    References
    ----------
    .. [1] J. Bernstein, Y.-X. Wang, K. Azizzadenesheli, A. Anandkumar, "signSGD: compressed
           optimisation for non-convex problems", ICML 2018, Algorithms 1 (signSGD) and 3 (Signum).
    """

    name: ClassVar[str] = "signsgd"
    reference: ClassVar[str] = "Bernstein et al., ICML 2018, Algorithms 1 and 3"

    lr: Hyper = 1e-3
    momentum: Hyper = 0.0

    def _validate(self) -> None:
        check_range("momentum", self.momentum, 0.0, 1.0, hi_open=True)

    def init(self, x: Array) -> SignSGDState:
        return SignSGDState(k=0, m=x * 0)

    def _step(self, xp, g, state, x, *, lr, value=None, hvp=None):
        m = ema(state.m, g, hp(self.momentum, x, xp))
        return -lr * xp.sign(m), SignSGDState(k=state.k + 1, m=m)


class LionState(NamedTuple):
    k: int
    m: Array  # EMA of g with rate b2, updated after the step


@register
@rule_dataclass
class Lion(AbstractRule):
    r"""Lion (EvoLved Sign Momentum), Chen et al. 2023.

    Notes
    -----
    .. math::
        c_k &= \beta_1 m_{k-1} + (1-\beta_1) g_k \\
        x_{k+1} &= x_k - \eta\,(\mathrm{sign}(c_k) + \lambda x_k) \\
        m_k &= \beta_2 m_{k-1} + (1-\beta_2) g_k

    The momentum is updated after the step and with a different β.  With decoupled λ > 0 Lion
    solves :math:`\min f` subject to :math:`\|x\|_\infty \le 1/\lambda` [2].  With
    β₁ = β₂ = 0 and λ = 0 it is sign descent.

    ====== ==================
    symbol argument
    ====== ==================
    η      ``lr`` (1e-4)
    β₁     ``b1`` (0.9)
    β₂     ``b2`` (0.99)
    λ      ``wd`` (0, decoupled)
    ====== ==================

    References
    ----------
    .. [1] X. Chen et al., "Symbolic discovery of optimization algorithms", NeurIPS 2023,
           arXiv:2302.06675, Program 1 / Algorithm 2.
    .. [2] L. Chen, B. Liu, K. Liang, Q. Liu, "Lion secretly solves constrained optimization:
           as Lyapunov predicts", ICLR 2024, arXiv:2310.05898, Theorem 3.1 (the box constraint).
    """

    name: ClassVar[str] = "lion"
    reference: ClassVar[str] = "Chen et al., NeurIPS 2023 (arXiv:2302.06675), Algorithm 2"

    lr: Hyper = 1e-4
    b1: Hyper = 0.9
    b2: Hyper = 0.99
    wd: Hyper = 0.0

    def _validate(self) -> None:
        check_range("b1", self.b1, 0.0, 1.0, hi_open=True)
        check_range("b2", self.b2, 0.0, 1.0, hi_open=True)
        check_range("wd", self.wd, 0.0)

    def init(self, x: Array) -> LionState:
        return LionState(k=0, m=x * 0)

    def _step(self, xp, g, state, x, *, lr, value=None, hvp=None):
        c = ema(state.m, g, hp(self.b1, x, xp))  # [1] Alg. 2 l.5
        d = xp.sign(c)
        if not (isinstance(self.wd, (int, float)) and self.wd == 0):
            d = d + hp(self.wd, x, xp) * x  # [1] Alg. 2 l.6
        m = ema(state.m, g, hp(self.b2, x, xp))  # [1] Alg. 2 l.7
        return -lr * d, LionState(k=state.k + 1, m=m)

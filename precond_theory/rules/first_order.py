r"""First-order momentum methods: SGD (torch form), heavy ball (Polyak form), Nesterov, Ravine."""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal, NamedTuple

from .._checks import check_range, host_values
from .._xp import array_namespace
from .base import AbstractRule, Hyper, hp, nonzero, option, register, rule_dataclass

__all__ = ["SGD", "SGDState", "HeavyBall", "HeavyBallState", "Nesterov", "NesterovState", "Ravine", "RavineState"]

Array = Any


class SGDState(NamedTuple):
    k: int  # number of updates applied so far
    b: Array  # momentum buffer, shape (*batch, n); zeros until the first update


@register
@rule_dataclass
class SGD(AbstractRule):
    r"""Stochastic gradient descent with momentum, dampening and Nesterov, as ``torch.optim.SGD``.

    Parameters
    ----------
    lr : float or array
        Learning rate :math:`\gamma` (torch >= 2.12 default 1e-3).
    momentum : float or array
        Momentum :math:`\mu \ge 0` (default 0: plain gradient descent).
    dampening : float or array
        Dampening :math:`\tau \in [0, 1]` of the gradient in the buffer; read only with
        ``momentum != 0`` (an explicit ``dampening`` with ``momentum=0`` is refused).
    wd : float or array
        torch's ``weight_decay`` :math:`\lambda`: coupled L2, ``g <- g + wd * x``.
    nesterov : bool
        torch's Nesterov form (needs ``momentum > 0`` and ``dampening == 0``).

    Notes
    -----
    .. math::
        g_k &\leftarrow g_k + \lambda x_k \\
        b_k &= \mu b_{k-1} + (1-\tau) g_k \quad (b_1 = g_1,\ \text{no } (1-\tau) \text{ at the first step}) \\
        d_k &= g_k + \mu b_k \ (\text{nesterov}) \quad\text{or}\quad d_k = b_k \\
        x_{k+1} &= x_k - \gamma d_k

    ======== ============
    symbol   argument
    ======== ============
    γ        ``lr``
    μ        ``momentum``
    τ        ``dampening``
    λ        ``wd``
    ======== ============

    torch's momentum is not an EMA: the steady step is about :math:`\gamma/(1-\mu)`.  With
    ``dampening=0`` this is Polyak's heavy ball with :math:`x_{-1}=x_0` (see :class:`HeavyBall`);
    with ``nesterov=True`` its iterates form a Ravine sequence (see :class:`Ravine`).

    References
    ----------
    .. [1] PyTorch ``torch.optim.SGD`` documentation, algorithm box (v2.12).
    .. [2] I. Sutskever, J. Martens, G. Dahl, G. Hinton, "On the importance of initialization and
           momentum in deep learning", ICML 2013, eq. (3)-(4).
    """

    name: ClassVar[str] = "sgd"
    reference: ClassVar[str] = "torch.optim.SGD (v2.12) algorithm; Sutskever et al. ICML 2013 eq. (3)-(4)"
    reads: ClassVar = {"dampening": nonzero("momentum")}

    lr: Hyper = 1e-3
    momentum: Hyper = 0.0
    dampening: Hyper = 0.0
    wd: Hyper = 0.0
    nesterov: bool = False

    def _validate(self) -> None:
        check_range("momentum", self.momentum, 0.0)
        check_range("dampening", self.dampening, 0.0, 1.0)
        check_range("wd", self.wd, 0.0)
        if self.nesterov:
            if not bool((host_values("momentum", self.momentum) > 0).all()):
                raise ValueError(f"nesterov=True needs momentum > 0; got momentum={self.momentum!r}")
            if not bool((host_values("dampening", self.dampening) == 0).all()):
                raise ValueError(f"nesterov=True needs dampening=0; got dampening={self.dampening!r}")

    def init(self, x: Array) -> SGDState:
        return SGDState(k=0, b=x * 0)

    def _step(self, xp, g, state, x, *, lr, value=None, hvp=None):
        wd, mom = hp(self.wd, x, xp), hp(self.momentum, x, xp)
        if not _is_zero(self.wd):
            g = g + wd * x
        if _is_zero(self.momentum):
            return -lr * g, SGDState(k=state.k + 1, b=state.b)
        if state.k == 0:
            b = g  # [1]: the buffer starts at g_1, without (1 - dampening)
        else:
            b = mom * state.b + (1 - hp(self.dampening, x, xp)) * g
        d = g + mom * b if self.nesterov else b
        return -lr * d, SGDState(k=state.k + 1, b=b)


class HeavyBallState(NamedTuple):
    k: int
    x_prev: Array  # x_{k-1}; equals x_0 before the first update


@register
@rule_dataclass
class HeavyBall(AbstractRule):
    r"""Polyak's heavy-ball method.

    Notes
    -----
    .. math:: x_{k+1} = x_k - \eta \nabla f(x_k) + \beta (x_k - x_{k-1}),\qquad x_{-1} = x_0.

    ====== ============
    symbol argument
    ====== ============
    η      ``lr``
    β      ``momentum``
    ====== ============

    Identical to ``SGD(lr=η, momentum=β, dampening=0)``.  On a quadratic with spectrum in
    :math:`[\mu, L]` the parameters :math:`\eta = 4/(\sqrt L+\sqrt\mu)^2`,
    :math:`\beta = ((\sqrt\kappa-1)/(\sqrt\kappa+1))^2` give the asymptotic rate
    :math:`(\sqrt\kappa-1)/(\sqrt\kappa+1)` [1]; on general strongly convex functions they can
    fail to converge [2].

    References
    ----------
    .. [1] B. T. Polyak, "Some methods of speeding up the convergence of iteration methods",
           USSR Comput. Math. Math. Phys. 4(5), 1964, eq. (9).
    .. [2] L. Lessard, B. Recht, A. Packard, "Analysis and design of optimization algorithms via
           integral quadratic constraints", SIAM J. Optim. 26(1), 2016, §4.6.
    """

    name: ClassVar[str] = "heavy_ball"
    reference: ClassVar[str] = "Polyak 1964 eq. (9)"

    lr: Hyper = 1e-3
    momentum: Hyper = 0.9

    def _validate(self) -> None:
        check_range("momentum", self.momentum, 0.0, 1.0, hi_open=True)

    def init(self, x: Array) -> HeavyBallState:
        return HeavyBallState(k=0, x_prev=x)

    def _step(self, xp, g, state, x, *, lr, value=None, hvp=None):
        dx = -lr * g + hp(self.momentum, x, xp) * (x - state.x_prev)
        return dx, HeavyBallState(k=state.k + 1, x_prev=x)


MomentumSchedule = Literal["convex", "fista", "constant"]


def _momentum_coefficient(schedule: str, k: int, t_prev: float, a: float) -> tuple[Any, float]:
    """Extrapolation coefficient alpha_k for update k (k = 0, 1, ...) and the next FISTA t."""
    if schedule == "convex":
        return k / (k + a), t_prev  # = 1 - a/(k+a); a = 3 gives Nesterov's (j-1)/(j+2), j = k+1
    if schedule == "fista":
        t_next = (1.0 + math.sqrt(1.0 + 4.0 * t_prev * t_prev)) / 2.0
        return (t_prev - 1.0) / t_next, t_next
    raise AssertionError(schedule)


class NesterovState(NamedTuple):
    k: int
    x_prev: Array  # x_{k-1}; equals x_0 before the first update
    t: float  # FISTA sequence t_k (t_0 = 1); unused by other schedules


@register
@rule_dataclass
class Nesterov(AbstractRule):
    r"""Nesterov's accelerated gradient in the extrapolate-then-step (FISTA) form.

    Notes
    -----
    .. math::
        y_k = x_k + \alpha_k (x_k - x_{k-1}),\qquad x_{k+1} = y_k - s\,\nabla f(y_k),\qquad x_{-1}=x_0.

    The gradient is queried at :math:`y_k` (:meth:`query`).  Coefficients :math:`\alpha_k`
    (k = 0, 1, ... counts updates):

    * ``"convex"``: :math:`\alpha_k = k/(k+a)` (a = ``a``, default 3), i.e. Nesterov's
      :math:`(j-1)/(j+2)` with :math:`j=k+1`; rate :math:`f(x_k)-f^\star \le 2L\|x_0-x^\star\|^2/(k+1)^2` for s = 1/L [1].
    * ``"fista"``: :math:`t_{k+1} = (1+\sqrt{1+4t_k^2})/2`, :math:`\alpha_k = (t_k-1)/t_{k+1}`, :math:`t_0=1` [2].
    * ``"constant"``: :math:`\alpha_k=` ``momentum``; for μ-strongly convex f use
      :math:`(\sqrt\kappa-1)/(\sqrt\kappa+1)` with s = 1/L (rate :math:`1-1/\sqrt\kappa`).

    An explicit ``momentum`` selects ``schedule="constant"`` (a momentum coefficient is a
    constant schedule), unless ``schedule`` is also given; ``momentum`` with another schedule
    and ``a`` with a schedule other than ``"convex"`` are refused (they would have no effect).

    ====== ==============
    symbol argument
    ====== ==============
    s      ``lr``
    α      ``momentum`` (constant schedule)
    a      ``a`` (convex schedule)
    ====== ==============

    References
    ----------
    .. [1] Y. Nesterov, "A method for solving the convex programming problem with convergence
           rate O(1/k^2)", Dokl. Akad. Nauk SSSR 269(3), 1983.
    .. [2] A. Beck, M. Teboulle, "A fast iterative shrinkage-thresholding algorithm for linear
           inverse problems", SIAM J. Imaging Sci. 2(1), 2009, eq. (4.1)-(4.3).
    """

    name: ClassVar[str] = "nesterov"
    reference: ClassVar[str] = "Nesterov 1983; Beck & Teboulle 2009 eq. (4.1)-(4.3)"
    reads: ClassVar = {"momentum": option("schedule", "constant"), "a": option("schedule", "convex")}
    selects: ClassVar = {"momentum": ("schedule", "constant")}

    lr: Hyper = 1e-3
    schedule: MomentumSchedule = "convex"
    momentum: Hyper = 0.9
    a: float = 3.0

    def _validate(self) -> None:
        check_range("momentum", self.momentum, 0.0, 1.0, hi_open=True)
        check_range("a", self.a, 0.0, lo_open=True)

    def init(self, x: Array) -> NesterovState:
        return NesterovState(k=0, x_prev=x, t=1.0)

    def _alpha(self, state: NesterovState, xp: Any, x: Array) -> tuple[Any, float]:
        if self.schedule == "constant":
            return hp(self.momentum, x, xp), state.t
        return _momentum_coefficient(self.schedule, state.k, state.t, self.a)

    def query(self, x, state):
        alpha, _ = self._alpha(state, array_namespace(x), x)
        return x + alpha * (x - state.x_prev)

    def _step(self, xp, g, state, x, *, lr, value=None, hvp=None):
        alpha, t_next = self._alpha(state, xp, x)
        y = x + alpha * (x - state.x_prev)
        x_next = y - lr * g
        return x_next - x, NesterovState(k=state.k + 1, x_prev=x, t=t_next)


class RavineState(NamedTuple):
    k: int
    w_prev: Array  # w_{k-1}; w_{-1} = y_0
    t: float  # FISTA sequence (fista schedule only)


@register
@rule_dataclass
class Ravine(AbstractRule):
    r"""The Ravine accelerated gradient method (Gelfand–Tsetlin; Attouch–Fadili form).

    The iterate is the extrapolated point :math:`y_k`, where the gradient is taken:

    .. math::
        w_k = y_k - s\nabla f(y_k),\qquad y_{k+1} = w_k + \alpha_k (w_k - w_{k-1}),\qquad w_{-1} = y_0.

    It is Nesterov's method with the order of extrapolation and gradient step reversed [1]:
    if :math:`(x_k)` is a Nesterov sequence, its extrapolated points form a Ravine sequence
    with :math:`w_k = x_{k+1}`.  With constant α = μ and s = γ, the iterates of
    ``SGD(momentum=μ, nesterov=True, lr=γ)`` are exactly this sequence
    (``docs/spec/baselines.md``).  Schedules as in :class:`Nesterov` (``"convex"``:
    :math:`\alpha_k = k/(k+a)`, the index-shifted form of Attouch–Fadili's :math:`1-a/k`, a ≥ 3).
    With a varying schedule the Ravine coefficient of step k equals Nesterov's of step k+1, so
    ``ravine(schedule="convex")`` is *not* the sequence of ``nesterov(schedule="convex")``'s query
    points (they differ by the index shift); the two coincide exactly for ``"constant"``.
    As for :class:`Nesterov`, an explicit ``momentum`` selects ``schedule="constant"`` unless
    ``schedule`` is given, and fields the schedule does not read are refused.

    ====== ==============
    symbol argument
    ====== ==============
    s      ``lr``
    α      ``momentum`` (constant schedule)
    a      ``a`` (convex schedule)
    ====== ==============

    References
    ----------
    .. [1] H. Attouch, J. Fadili, "From the Ravine method to the Nesterov method and vice versa:
           a dynamical system perspective", SIAM J. Optim. 32(3), 2022, arXiv:2201.11643, (RAG).
    .. [2] I. M. Gelfand, M. L. Tsetlin, "The principle of nonlocal search in automatic
           optimization systems", Dokl. Akad. Nauk SSSR 137(2), 1961.
    """

    name: ClassVar[str] = "ravine"
    reference: ClassVar[str] = "Attouch & Fadili, SIAM J. Optim. 2022 (arXiv:2201.11643), algorithm (RAG)"
    reads: ClassVar = {"momentum": option("schedule", "constant"), "a": option("schedule", "convex")}
    selects: ClassVar = {"momentum": ("schedule", "constant")}

    lr: Hyper = 1e-3
    schedule: MomentumSchedule = "convex"
    momentum: Hyper = 0.9
    a: float = 3.0

    def _validate(self) -> None:
        check_range("momentum", self.momentum, 0.0, 1.0, hi_open=True)
        check_range("a", self.a, 0.0, lo_open=True)

    def init(self, x: Array) -> RavineState:
        return RavineState(k=0, w_prev=x, t=1.0)

    def _step(self, xp, g, state, x, *, lr, value=None, hvp=None):
        if self.schedule == "constant":
            alpha, t_next = hp(self.momentum, x, xp), state.t
        else:
            alpha, t_next = _momentum_coefficient(self.schedule, state.k, state.t, self.a)
        w = x - lr * g
        y_next = w + alpha * (w - state.w_prev)
        return y_next - x, RavineState(k=state.k + 1, w_prev=w, t=t_next)


def _is_zero(v: Any) -> bool:
    return isinstance(v, (int, float)) and v == 0


"""The plans of the first-order, sign, resilient and adaptive rules (:mod:`._plan_base`), and the
registry of every plan."""

from __future__ import annotations

from ..rules import adaptive, first_order, hybrid, ravine, resilient, second_order, sign
from ..rules._moments import bias_correction
from . import _kernels as kf
from . import _kernels_adaptive as ka
from ._plan_base import PARALLEL_CHUNK, PARALLEL_MIN_SIZE, Plan, _is_zero
from ._plans_recon import AdapGradmPlan, HAdapGradmPlan, SOAAPlan

__all__ = ["PLANS", "Plan", "QUERY_AT_X"]


# ------------------------------------------------------------------------------- first order
class SGDPlan(Plan):
    rows = ("nlr", "wd", "mom", "omd")
    kid = 0

    def setup(self) -> None:
        r = self.rule
        self.use_wd = not _is_zero(r.wd)
        self.use_mom = not _is_zero(r.momentum)
        self.set("nlr", -self.hp("lr"))
        self.set("wd", self.hp("wd"))
        self.set("mom", self.hp("momentum"))
        self.set("omd", 1 - self.hp("dampening"))
        self.flags = (int(self.use_wd), int(r.nesterov))

    def coefs(self, k, sc):
        return (), (0 if not self.use_mom else (1 if k == 0 else 2)), ()

    def buffers(self, state):
        return [self.own(state.b) if self.use_mom else self.none()]

    def kernel(self, x2, g2, views, mode):
        kf.sgd_kernel(x2, g2, views[0], self.C, self.K, self.use_wd, mode, self.rule.nesterov)

    def rebuild(self, state, k, sc, bufs):
        return first_order.SGDState(k=k, b=bufs[0][0] if self.use_mom else state.b)


class HeavyBallPlan(Plan):
    rows = ("nlr", "mom")
    kid = 1

    def setup(self) -> None:
        self.set("nlr", -self.hp("lr"))
        self.set("mom", self.hp("momentum"))

    def buffers(self, state):
        return [self.own(state.x_prev)]

    def kernel(self, x2, g2, views, mode):
        kf.heavy_ball_kernel(x2, g2, views[0], self.C, self.K)

    def rebuild(self, state, k, sc, bufs):
        return first_order.HeavyBallState(k=k, x_prev=bufs[0][0])


class NesterovPlan(Plan):
    rows = ("alpha", "lr")
    krows = ("alpha",)
    kid = 2

    def setup(self) -> None:
        self.set("lr", self.hp("lr"))

    def scalars(self, state):
        return (state.t,)

    def coefs(self, k, sc):
        r = self.rule
        if r.schedule == "constant":
            return (self.hp("momentum"),), 0, ()
        alpha, t_next = first_order._momentum_coefficient(r.schedule, k, sc[0], r.a)
        return (alpha,), 0, (t_next,)

    def buffers(self, state):
        return [self.own(state.x_prev)]

    def kernel(self, x2, g2, views, mode):
        kf.nesterov_kernel(x2, g2, views[0], self.C, self.K)

    def rebuild(self, state, k, sc, bufs):
        return first_order.NesterovState(k=k, x_prev=bufs[0][0], t=sc[0])


class RavinePlan(NesterovPlan):
    kid = 3

    def buffers(self, state):
        return [self.own(state.w_prev)]

    def kernel(self, x2, g2, views, mode):
        kf.ravine_kernel(x2, g2, views[0], self.C, self.K)

    def rebuild(self, state, k, sc, bufs):
        return first_order.RavineState(k=k, w_prev=bufs[0][0], t=sc[0])


class SignSGDPlan(Plan):
    rows = ("nlr", "b", "omb")
    kid = 4

    def setup(self) -> None:
        b = self.hp("momentum")
        self.set("nlr", -self.hp("lr"))
        self.set("b", b)
        self.set("omb", 1 - b)

    def buffers(self, state):
        return [self.own(state.m)]

    def kernel(self, x2, g2, views, mode):
        kf.signsgd_kernel(x2, g2, views[0], self.C, self.K)

    def rebuild(self, state, k, sc, bufs):
        return sign.SignSGDState(k=k, m=bufs[0][0])


class LionPlan(Plan):
    rows = ("nlr", "b1", "omb1", "b2", "omb2", "wd")
    kid = 5

    def setup(self) -> None:
        b1, b2 = self.hp("b1"), self.hp("b2")
        self.use_wd = not _is_zero(self.rule.wd)
        for row, val in zip(self.rows, (-self.hp("lr"), b1, 1 - b1, b2, 1 - b2, self.hp("wd"))):
            self.set(row, val)
        self.flags = (int(self.use_wd),)

    def buffers(self, state):
        return [self.own(state.m)]

    def kernel(self, x2, g2, views, mode):
        kf.lion_kernel(x2, g2, views[0], self.C, self.K, self.use_wd)

    def rebuild(self, state, k, sc, bufs):
        return sign.LionState(k=k, m=bufs[0][0])


class RpropPlan(Plan):
    rows = ("ep", "em", "lo", "hi")
    kid = 6

    def setup(self) -> None:
        for row, name in zip(self.rows, ("eta_plus", "eta_minus", "step_min", "step_max")):
            self.set(row, self.hp(name))

    def buffers(self, state):
        return [self.own(state.prev), self.own(state.step)]

    def kernel(self, x2, g2, views, mode):
        kf.rprop_kernel(x2, g2, views[0], views[1], self.C, self.K)

    def rebuild(self, state, k, sc, bufs):
        return resilient.RpropState(k=k, prev=bufs[0][0], step=bufs[1][0])


# ---------------------------------------------------------------------------------- adaptive
class AdaGradPlan(Plan):
    rows = ("wd", "nclr", "eps")
    krows = ("nclr",)
    kid = 7

    def setup(self) -> None:
        self.use_wd = not _is_zero(self.rule.wd)
        self.inside = self.rule.eps_placement == "inside"
        self.set("wd", self.hp("wd"))
        self.set("eps", self.hp("eps"))
        self.lr, self.lr_decay = self.hp("lr"), self.hp("lr_decay")
        self.flags = (int(self.use_wd), int(self.inside))

    def coefs(self, k, sc):
        return (-(self.lr / (1 + k * self.lr_decay)),), 0, ()

    def buffers(self, state):
        return [self.own(state.s)]

    def kernel(self, x2, g2, views, mode):
        ka.adagrad_kernel(x2, g2, views[0], self.C, self.K, self.use_wd, self.inside)

    def rebuild(self, state, k, sc, bufs):
        return adaptive.AdaGradState(k=k, s=bufs[0][0])


class RMSPropPlan(Plan):
    rows = ("wd", "a", "oma", "eps", "mom", "nlr")
    kid = 8

    def setup(self) -> None:
        r = self.rule
        self.use_wd = not _is_zero(r.wd)
        self.use_mom = r._uses_momentum()
        a = self.hp("alpha")
        for row, val in zip(self.rows, (self.hp("wd"), a, 1 - a, self.hp("eps"), self.hp("momentum"), -self.hp("lr"))):
            self.set(row, val)
        self.flags = (int(self.use_wd), int(r.centered), int(self.use_mom), int(r.eps_placement == "inside"))

    def buffers(self, state):
        return [self.own(state.v), self.own(state.gbar) if self.rule.centered else self.none(),
                self.own(state.b) if self.use_mom else self.none()]

    def kernel(self, x2, g2, views, mode):
        r = self.rule
        ka.rmsprop_kernel(x2, g2, views[0], views[1], views[2], self.C, self.K, self.use_wd, r.centered,
                          self.use_mom, r.eps_placement == "inside")

    def rebuild(self, state, k, sc, bufs):
        return adaptive.RMSPropState(k=k, v=bufs[0][0], gbar=bufs[1][0], b=bufs[2][0])


class AdamPlan(Plan):
    rows = ("wd", "b1", "omb1", "b2", "omb2", "eps", "bc2", "sbc2", "nc", "dc")
    kid = 9

    def setup(self) -> None:
        r = self.rule
        has_wd = not _is_zero(r.wd)
        self.coupled = has_wd and not r.decoupled_wd
        self.decoupled = has_wd and r.decoupled_wd
        self.ams = 0 if not r.amsgrad else (1 if r.amsgrad_max == "raw" else 2)
        inside = r.eps_placement == "inside"
        if r.efficient and self.ams == 2:  # the max of v-hat back on v's scale: sqrt(vmax bc2) + eps
            self.dmode = 4
        elif not r.bias_correction or r.efficient or (r.amsgrad and r.amsgrad_max == "debiased"):
            self.dmode = 0 if (r.efficient or not inside) else 1
        else:
            self.dmode = 3 if inside else 2
        b1, b2 = self.hp("b1"), self.hp("b2")
        for row, val in zip(("wd", "b1", "omb1", "b2", "omb2", "eps"),
                            (self.hp("wd"), b1, 1 - b1, b2, 1 - b2, self.hp("eps"))):
            self.set(row, val)
        lr = self.hp("lr")
        self.set("dc", (lr if r.decay_scaled_by_lr else 1.0) * self.hp("wd"))
        self.lr, self.b1, self.b2 = lr, b1, b2
        self.krows = ("bc2", "sbc2", "nc") if r.bias_correction else ("nc",)
        self.flags = (int(self.coupled), int(self.decoupled), self.ams, self.dmode)

    def coefs(self, k, sc):
        r = self.rule
        k = k + 1
        if r.bias_correction:
            bc1, bc2 = bias_correction(self.b1, k), bias_correction(self.b2, k)
            c = bc2**0.5 / bc1 if r.efficient else 1 / bc1
            return (bc2, bc2**0.5, -(self.lr * c)), 0, ()
        return (-(self.lr * 1.0),), 0, ()

    def buffers(self, state):
        return [self.own(state.m), self.own(state.v), self.own(state.vmax) if self.rule.amsgrad else self.none()]

    def kernel(self, x2, g2, views, mode):
        args = (x2, g2, views[0], views[1], views[2], self.C, self.K, self.coupled, self.decoupled, self.ams,
                self.dmode)
        if x2.size >= PARALLEL_MIN_SIZE and _threads() > 1:
            ka.adam_kernel_parallel(*args, PARALLEL_CHUNK)
        else:
            ka.adam_kernel(*args)

    def rebuild(self, state, k, sc, bufs):
        return adaptive.AdamState(k=k, m=bufs[0][0], v=bufs[1][0], vmax=bufs[2][0])


class NAdamPlan(Plan):
    rows = ("wd", "b1", "omb1", "b2", "omb2", "bc2", "eps", "c1", "c2", "dc")
    krows = ("bc2", "c1", "c2")
    kid = 10

    def setup(self) -> None:
        r = self.rule
        has_wd = not _is_zero(r.wd)
        self.coupled, self.decoupled = has_wd and not r.decoupled_wd, has_wd and r.decoupled_wd
        b1, b2 = self.hp("b1"), self.hp("b2")
        lr = self.hp("lr")
        for row, val in zip(("wd", "b1", "omb1", "b2", "omb2", "eps", "dc"),
                            (self.hp("wd"), b1, 1 - b1, b2, 1 - b2, self.hp("eps"), lr * self.hp("wd"))):
            self.set(row, val)
        self.lr, self.b1, self.b2, self.psi = lr, b1, b2, self.hp("momentum_decay")
        self.flags = (int(self.coupled), int(self.decoupled))

    def scalars(self, state):
        return (state.mu_product,)

    def coefs(self, k, sc):
        k = k + 1
        lr, b1, psi = self.lr, self.b1, self.psi
        mu = b1 * (1.0 - 0.5 * 0.96 ** (k * psi))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((k + 1) * psi))
        mu_product = sc[0] * mu
        return ((bias_correction(self.b2, k), -lr * (1.0 - mu) / (1.0 - mu_product),
                 lr * mu_next / (1.0 - mu_product * mu_next)), 0, (mu_product,))

    def buffers(self, state):
        return [self.own(state.m), self.own(state.v)]

    def kernel(self, x2, g2, views, mode):
        ka.nadam_kernel(x2, g2, views[0], views[1], self.C, self.K, self.coupled, self.decoupled)

    def rebuild(self, state, k, sc, bufs):
        return adaptive.NAdamState(k=k, m=bufs[0][0], v=bufs[1][0], mu_product=sc[0])


class AdaRemPlan(Plan):
    rows = ("c", "eps", "wd", "b1", "omb1", "mom", "nlr")
    krows = ("c",)
    kid = 11

    def setup(self) -> None:
        r = self.rule
        self.use_wd = not _is_zero(r.wd)
        self.use_mom = r.apply_to == "momentum"
        self.norm = ("tensor_max", "elementwise", "none").index(r.normalizer)
        b1 = self.hp("b1")
        for row, val in zip(("eps", "wd", "b1", "omb1", "mom", "nlr"),
                            (self.hp("eps"), self.hp("wd"), b1, 1 - b1, self.hp("momentum"), -self.hp("lr"))):
            self.set(row, val)
        self.lam = self.hp("resilience")
        self.flags = (self.norm, int(self.use_wd), int(self.use_mom))

    def coefs(self, k, sc):
        return (self.lam ** (k + 1) if self.rule.decay == "power" else self.lam,), 0, ()

    def buffers(self, state):
        return [self.own(state.m), self.own(state.buf) if self.use_mom else self.none()]

    def kernel(self, x2, g2, views, mode):
        ka.adarem_kernel(x2, g2, views[0], views[1], self.C, self.K, self.norm, self.use_wd, self.use_mom)

    def rebuild(self, state, k, sc, bufs):
        return resilient.AdaRemState(k=k, m=bufs[0][0], buf=bufs[1][0])


class AdamRAGPlan(Plan):
    rows = ("alpha", "b1", "omb1", "b2", "omb2", "sbc2", "eps", "nc", "nlr")
    krows = ("alpha", "sbc2", "nc")
    kid = 12

    def setup(self) -> None:
        b1, b2 = self.hp("b1"), self.hp("b2")
        for row, val in zip(("b1", "omb1", "b2", "omb2", "eps", "nlr"),
                            (b1, 1 - b1, b2, 1 - b2, self.hp("eps"), -self.hp("lr"))):
            self.set(row, val)
        self.lr, self.b1, self.b2 = self.hp("lr"), b1, b2
        self.flags = (int(self.rule.direction == "mhat"),)

    def coefs(self, k, sc):
        r = self.rule
        extrapolate = not (k == 0 or r.schedule == "zero")
        alpha = 0.0  # unused without extrapolation
        if extrapolate:
            alpha = self.hp("momentum") if r.schedule == "constant" else (k - 1) / (k - 1 + r.a)
        return ((alpha, bias_correction(self.b2, k + 1) ** 0.5, -(self.lr * (1 / bias_correction(self.b1, k + 1)))),
                int(extrapolate), ())

    def buffers(self, state):
        return [self.own(state.m), self.own(state.v), self.own(state.w_prev)]

    def kernel(self, x2, g2, views, mode):
        ka.adamrag_kernel(x2, g2, views[0], views[1], views[2], self.C, self.K, mode == 1,
                          self.rule.direction == "mhat")

    def rebuild(self, state, k, sc, bufs):
        return ravine.AdamRAGState(k=k, m=bufs[0][0], v=bufs[1][0], w_prev=bufs[2][0])


def _threads() -> int:
    import numba

    return int(numba.get_num_threads())


#: exact rule class -> plan class (subclasses are not covered: they may change the arithmetic)
PLANS: dict[type, type[Plan]] = {
    first_order.SGD: SGDPlan, first_order.HeavyBall: HeavyBallPlan, first_order.Nesterov: NesterovPlan,
    first_order.Ravine: RavinePlan, sign.SignSGD: SignSGDPlan, sign.Lion: LionPlan, resilient.Rprop: RpropPlan,
    adaptive.AdaGrad: AdaGradPlan, adaptive.RMSProp: RMSPropPlan, adaptive.Adam: AdamPlan,
    adaptive.AMSGrad: AdamPlan, adaptive.AdamW: AdamPlan, adaptive.NAdam: NAdamPlan,
    resilient.AdaRem: AdaRemPlan, ravine.AdamRAG: AdamRAGPlan,
    hybrid.AdapGradm: AdapGradmPlan, hybrid.HAdapGradm: HAdapGradmPlan, second_order.SOAA: SOAAPlan,
}

#: rules whose oracle query point is x itself (the others extrapolate first: Nesterov, AdamRAG)
QUERY_AT_X: frozenset[type] = frozenset(c for c in PLANS if c not in (first_order.Nesterov, ravine.AdamRAG))

"""Host side of the compiled steps: per-rule coefficients (the reference's own expressions) and state.

A plan is built once per run by :func:`precond_theory.fast.compile_step`.  Each call computes the
per-run coefficients that depend on the step count with the very expressions of the rule's
``_step`` (on Python floats or on the hyperparameter arrays), writes them into the coefficient
table ``C`` and hands x, g, the state buffers and ``C`` to one kernel.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..rules import adaptive, first_order, ravine, resilient, sign
from ..rules._moments import bias_correction
from ..rules.base import hp
from . import _kernels as kf
from . import _kernels_adaptive as ka

__all__ = ["PLANS", "Plan"]

#: above this many elements a rule with a parallel kernel uses numba's threads
PARALLEL_MIN_SIZE = 1 << 20
PARALLEL_CHUNK = 1 << 16


def _is_zero(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == 0


class Plan:
    """Coefficient table and state buffers of one compiled rule (subclasses: one per rule)."""

    #: names of the rows of the coefficient table, in the kernel's order
    rows: tuple[str, ...] = ()

    def __init__(self, rule: Any, x: np.ndarray) -> None:
        self.rule = rule
        self.dtype = x.dtype
        self.batch = tuple(x.shape[:-1])
        self.R = int(np.prod(self.batch, dtype=np.int64))
        self.n = int(x.shape[-1])
        self.xp = np
        self.like = x
        self.per_run = bool(rule.batch_shape())
        self.C = np.zeros((len(self.rows), self.R if self.per_run else 1), dtype=self.dtype)
        self.K = np.array([0, 1], dtype=self.dtype)
        self._owned: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.setup()

    # ---------------------------------------------------------------------------------- helpers
    def hp(self, name: str) -> Any:
        return hp(getattr(self.rule, name), self.like, np)

    def set(self, row: str, value: Any) -> None:
        """Store a coefficient (Python number or array broadcastable to (*batch, 1))."""
        i = self.rows.index(row)
        if self.per_run:
            self.C[i] = np.broadcast_to(np.asarray(value, dtype=self.dtype), (*self.batch, 1)).reshape(self.R)
        elif isinstance(value, np.ndarray):
            self.C[i, 0] = np.asarray(value, dtype=self.dtype).reshape(())
        else:
            self.C[i, 0] = value

    def own(self, arr: Any) -> tuple[np.ndarray, np.ndarray]:
        """(buffer, its (R, n) view): ``arr`` itself when this plan allocated it, else a fresh copy.

        A state array this plan did not allocate (the initial state, or an alias of x such as
        ``x_prev = x``) is copied once, so the kernels never write into memory they do not own.
        """
        hit = self._owned.get(id(arr))
        if hit is not None and hit[0] is arr:
            return hit
        buf = np.array(np.broadcast_to(arr, (*self.batch, self.n)), dtype=self.dtype, order="C")
        pair = (buf, buf.reshape(self.R, self.n))
        self._owned = {k: v for k, v in self._owned.items() if v[0] is not arr}
        self._owned[id(buf)] = pair
        return pair

    def dummy(self) -> np.ndarray:
        return self.K.reshape(1, 2)

    # ------------------------------------------------------------------------------ interface
    def setup(self) -> None:
        """Constant coefficients and flags (override)."""

    def step(self, x2: np.ndarray, g2: np.ndarray, state: Any, value: Any) -> Any:
        """Apply one update in place and return the new state (override)."""
        raise NotImplementedError


# ------------------------------------------------------------------------------- first order
class SGDPlan(Plan):
    rows = ("nlr", "wd", "mom", "omd")

    def setup(self) -> None:
        r = self.rule
        self.use_wd = not _is_zero(r.wd)
        self.use_mom = not _is_zero(r.momentum)
        self.set("nlr", -self.hp("lr"))
        self.set("wd", self.hp("wd"))
        self.set("mom", self.hp("momentum"))
        self.set("omd", 1 - self.hp("dampening"))

    def step(self, x2, g2, state, value):
        if not self.use_mom:
            kf.sgd_kernel(x2, g2, self.dummy(), self.C, self.K, self.use_wd, 0, False)
            return first_order.SGDState(k=state.k + 1, b=state.b)
        b, b2 = self.own(state.b)
        kf.sgd_kernel(x2, g2, b2, self.C, self.K, self.use_wd, 1 if state.k == 0 else 2, self.rule.nesterov)
        return first_order.SGDState(k=state.k + 1, b=b)


class HeavyBallPlan(Plan):
    rows = ("nlr", "mom")

    def setup(self) -> None:
        self.set("nlr", -self.hp("lr"))
        self.set("mom", self.hp("momentum"))

    def step(self, x2, g2, state, value):
        xp_, xp2 = self.own(state.x_prev)
        kf.heavy_ball_kernel(x2, g2, xp2, self.C, self.K)
        return first_order.HeavyBallState(k=state.k + 1, x_prev=xp_)


class NesterovPlan(Plan):
    rows = ("alpha", "lr")

    def setup(self) -> None:
        self.set("lr", self.hp("lr"))

    def step(self, x2, g2, state, value):
        alpha, t_next = self.rule._alpha(state, np, self.like)
        self.set("alpha", alpha)
        xp_, xp2 = self.own(state.x_prev)
        kf.nesterov_kernel(x2, g2, xp2, self.C, self.K)
        return first_order.NesterovState(k=state.k + 1, x_prev=xp_, t=t_next)


class RavinePlan(Plan):
    rows = ("alpha", "lr")

    def setup(self) -> None:
        self.set("lr", self.hp("lr"))

    def step(self, x2, g2, state, value):
        r = self.rule
        if r.schedule == "constant":
            alpha, t_next = self.hp("momentum"), state.t
        else:
            alpha, t_next = first_order._momentum_coefficient(r.schedule, state.k, state.t, r.a)
        self.set("alpha", alpha)
        w, w2 = self.own(state.w_prev)
        kf.ravine_kernel(x2, g2, w2, self.C, self.K)
        return first_order.RavineState(k=state.k + 1, w_prev=w, t=t_next)


class SignSGDPlan(Plan):
    rows = ("nlr", "b", "omb")

    def setup(self) -> None:
        b = self.hp("momentum")
        self.set("nlr", -self.hp("lr"))
        self.set("b", b)
        self.set("omb", 1 - b)

    def step(self, x2, g2, state, value):
        m, m2 = self.own(state.m)
        kf.signsgd_kernel(x2, g2, m2, self.C, self.K)
        return sign.SignSGDState(k=state.k + 1, m=m)


class LionPlan(Plan):
    rows = ("nlr", "b1", "omb1", "b2", "omb2", "wd")

    def setup(self) -> None:
        b1, b2 = self.hp("b1"), self.hp("b2")
        self.use_wd = not _is_zero(self.rule.wd)
        for row, val in zip(self.rows, (-self.hp("lr"), b1, 1 - b1, b2, 1 - b2, self.hp("wd"))):
            self.set(row, val)

    def step(self, x2, g2, state, value):
        m, m2 = self.own(state.m)
        kf.lion_kernel(x2, g2, m2, self.C, self.K, self.use_wd)
        return sign.LionState(k=state.k + 1, m=m)


class RpropPlan(Plan):
    rows = ("ep", "em", "lo", "hi")

    def setup(self) -> None:
        for row, name in zip(self.rows, ("eta_plus", "eta_minus", "step_min", "step_max")):
            self.set(row, self.hp(name))

    def step(self, x2, g2, state, value):
        prev, prev2 = self.own(state.prev)
        st, st2 = self.own(state.step)
        kf.rprop_kernel(x2, g2, prev2, st2, self.C, self.K)
        return resilient.RpropState(k=state.k + 1, prev=prev, step=st)


# ---------------------------------------------------------------------------------- adaptive
class AdaGradPlan(Plan):
    rows = ("wd", "nclr", "eps")

    def setup(self) -> None:
        self.use_wd = not _is_zero(self.rule.wd)
        self.inside = self.rule.eps_placement == "inside"
        self.set("wd", self.hp("wd"))
        self.set("eps", self.hp("eps"))

    def step(self, x2, g2, state, value):
        k = state.k + 1
        self.set("nclr", -(self.hp("lr") / (1 + (k - 1) * self.hp("lr_decay"))))
        s, s2 = self.own(state.s)
        ka.adagrad_kernel(x2, g2, s2, self.C, self.K, self.use_wd, self.inside)
        return adaptive.AdaGradState(k=k, s=s)


class RMSPropPlan(Plan):
    rows = ("wd", "a", "oma", "eps", "mom", "nlr")

    def setup(self) -> None:
        r = self.rule
        self.use_wd = not _is_zero(r.wd)
        self.use_mom = r._uses_momentum()
        a = self.hp("alpha")
        for row, val in zip(self.rows, (self.hp("wd"), a, 1 - a, self.hp("eps"), self.hp("momentum"), -self.hp("lr"))):
            self.set(row, val)

    def step(self, x2, g2, state, value):
        r = self.rule
        v, v2 = self.own(state.v)
        gbar, gbar2 = self.own(state.gbar) if r.centered else (None, self.dummy())
        b, b2 = self.own(state.b) if self.use_mom else (None, self.dummy())
        ka.rmsprop_kernel(x2, g2, v2, gbar2, b2, self.C, self.K, self.use_wd, r.centered, self.use_mom,
                          r.eps_placement == "inside")
        return adaptive.RMSPropState(k=state.k + 1, v=v, gbar=gbar, b=b)


class AdamPlan(Plan):
    rows = ("wd", "b1", "omb1", "b2", "omb2", "eps", "bc2", "sbc2", "nc", "dc")

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

    def step(self, x2, g2, state, value):
        r = self.rule
        k = state.k + 1
        if r.bias_correction:
            bc1, bc2 = bias_correction(self.b1, k), bias_correction(self.b2, k)
            c = bc2**0.5 / bc1 if r.efficient else 1 / bc1
            self.set("bc2", bc2)
            self.set("sbc2", bc2**0.5)
        else:
            c = 1.0
        self.set("nc", -(self.lr * c))
        m, m2 = self.own(state.m)
        v, v2 = self.own(state.v)
        vmax, vmax2 = self.own(state.vmax) if r.amsgrad else (None, self.dummy())
        args = (x2, g2, m2, v2, vmax2, self.C, self.K, self.coupled, self.decoupled, self.ams, self.dmode)
        if x2.size >= PARALLEL_MIN_SIZE and _threads() > 1:
            ka.adam_kernel_parallel(*args, PARALLEL_CHUNK)
        else:
            ka.adam_kernel(*args)
        return adaptive.AdamState(k=k, m=m, v=v, vmax=vmax)


class NAdamPlan(Plan):
    rows = ("wd", "b1", "omb1", "b2", "omb2", "bc2", "eps", "c1", "c2", "dc")

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

    def step(self, x2, g2, state, value):
        k = state.k + 1
        lr, b1, psi = self.lr, self.b1, self.psi
        mu = b1 * (1.0 - 0.5 * 0.96 ** (k * psi))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((k + 1) * psi))
        mu_product = state.mu_product * mu
        self.set("bc2", bias_correction(self.b2, k))
        self.set("c1", -lr * (1.0 - mu) / (1.0 - mu_product))
        self.set("c2", lr * mu_next / (1.0 - mu_product * mu_next))
        m, m2 = self.own(state.m)
        v, v2 = self.own(state.v)
        ka.nadam_kernel(x2, g2, m2, v2, self.C, self.K, self.coupled, self.decoupled)
        return adaptive.NAdamState(k=k, m=m, v=v, mu_product=mu_product)


class AdaRemPlan(Plan):
    rows = ("c", "eps", "wd", "b1", "omb1", "mom", "nlr")

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

    def step(self, x2, g2, state, value):
        k = state.k + 1
        self.set("c", self.lam**k if self.rule.decay == "power" else self.lam)
        m, m2 = self.own(state.m)
        buf, buf2 = self.own(state.buf) if self.use_mom else (None, self.dummy())
        ka.adarem_kernel(x2, g2, m2, buf2, self.C, self.K, self.norm, self.use_wd, self.use_mom)
        return resilient.AdaRemState(k=k, m=m, buf=buf)


class AdamRAGPlan(Plan):
    rows = ("alpha", "b1", "omb1", "b2", "omb2", "sbc2", "eps", "nc", "nlr")

    def setup(self) -> None:
        b1, b2 = self.hp("b1"), self.hp("b2")
        for row, val in zip(("b1", "omb1", "b2", "omb2", "eps", "nlr"),
                            (b1, 1 - b1, b2, 1 - b2, self.hp("eps"), -self.hp("lr"))):
            self.set(row, val)
        self.lr, self.b1, self.b2 = self.hp("lr"), b1, b2

    def step(self, x2, g2, state, value):
        r = self.rule
        k = state.k + 1
        extrapolate = not (state.k == 0 or r.schedule == "zero")
        if extrapolate:
            self.set("alpha", self.hp("momentum") if r.schedule == "constant" else (state.k - 1) / (state.k - 1 + r.a))
        self.set("sbc2", bias_correction(self.b2, k) ** 0.5)
        self.set("nc", -(self.lr * (1 / bias_correction(self.b1, k))))
        m, m2 = self.own(state.m)
        v, v2 = self.own(state.v)
        w, w2 = self.own(state.w_prev)
        ka.adamrag_kernel(x2, g2, m2, v2, w2, self.C, self.K, extrapolate, r.direction == "mhat")
        return ravine.AdamRAGState(k=k, m=m, v=v, w_prev=w)


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
}

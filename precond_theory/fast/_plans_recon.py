"""Plans of SOAA and of the RECON families AdapGradm and HAdapGradm (kernels in :mod:`._kernels_recon`).

SOAA: every option (loss order, global or per-block Fisher sums, ratio of sums or sum of
ratios, decay scaling, model, radius rule, horizon).

Covered: every curvature estimate but ``"hutchinson"`` (its probe needs a Hessian-vector
product per step), every ``power``/``delta``/``cap``/``h0``/``eps_s``/``secant_pair``, and the
switches ``"clip"``, ``"floor"``, ``"blend"`` with or without ``switch_at`` and
``rescale_final_lr``; not ``switch="swats"`` (a per-run projection and switch decision).
:meth:`refusal` names the option a rule uses that has no compiled step.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..rules import hybrid
from ..rules._moments import bias_correction
from ..rules.relatives_switch import lr_factor
from . import _kernels_recon as kr
from ._plan_base import Plan

__all__ = ["AdapGradmPlan", "HAdapGradmPlan", "SOAAPlan"]

_CURVATURE = {"apollo": kr.APOLLO, "secant": kr.SECANT, "agd": kr.AGD, "belief": kr.BELIEF}
_SWITCH = {"clip": kr.CLIP, "floor": kr.FLOOR, "blend": kr.BLEND}


class AdapGradmPlan(Plan):
    rows = ("b1", "omb1", "b2", "omb2", "eps_s", "delta", "cap", "h0", "bc1", "lrbc1", "bc1p", "bc2c", "eta", "lo",
            "hi", "rho", "omr_eta", "wbl", "kf", "nf")
    krows = ("bc1", "lrbc1", "bc1p", "bc2c")
    kid = 20

    @staticmethod
    def refusal(rule: Any) -> str | None:
        if rule.curvature == "hutchinson":
            return "curvature='hutchinson' (a Hessian-vector product per step) has no compiled step"
        return None

    def setup(self) -> None:
        r = self.rule
        b1, b2 = self.hp("b1"), self.hp("b2")
        self.curv = _CURVATURE[r.curvature]
        self.diff = r.curvature in ("apollo", "secant")
        self.use_cap = not (isinstance(r.cap, (int, float)) and r.cap == math.inf)
        for row, val in zip(("b1", "omb1", "b2", "omb2", "eps_s", "delta", "h0", "nf"),
                            (b1, 1 - b1, b2, 1 - b2, self.hp("eps_s"), hp_or(self, r._delta()), self.hp("h0"),
                             float(self.n))):
            self.set(row, val)
        if self.use_cap:
            self.set("cap", self.hp("cap"))
        self.b1, self.b2, self.lr = b1, b2, self.hp("lr")
        self.T = np.zeros((3, self.n), dtype=self.dtype)
        self.nrm = np.zeros(self.R, dtype=self.dtype)
        self.switch = -1

    def coefs(self, k, sc):
        r = self.rule
        k = k + 1
        bc1 = bias_correction(self.b1, k)
        c = k - 1 if self.diff else k
        mode = (kr.HAS_PAIR if k > 1 else 0) | (kr.NO_SAMPLE if (c == 0 and r.curvature != "apollo") else 0)
        vals = (bc1, self.lr / bc1, bias_correction(self.b1, k - 1) if k > 1 else 1.0,
                bias_correction(self.b2, c) if c > 0 else 1.0)
        return vals, mode, ()

    def buffers(self, state):
        bufs = [self.own(state.m), self.own(state.h), self.own(state.D)]
        bufs += [self.own(state.x_prev), self.own(state.y_prev)] if self.diff else [self.none(), self.none()]
        return bufs

    def _norms(self, x2: np.ndarray, views: list[np.ndarray], mode: int) -> None:
        """Apollo's ``sum((s*s)**2) ** 0.25 + eps_s`` per run: the sum compiled, the power by NumPy."""
        if self.curv == kr.APOLLO and mode & kr.HAS_PAIR:
            kr.apollo_norm_sums(x2, views[3], self.nrm, self.T[0], self.K)
            col = self.nrm.reshape(*self.batch, 1) ** 0.25 + self.hp("eps_s")
            self.nrm[:] = np.broadcast_to(col, (*self.batch, 1)).reshape(self.R)

    def kernel(self, x2, g2, views, mode):
        self._norms(x2, views, mode)
        d = self.dummy()
        kr.adapgradm_kernel(x2, g2, views[0], views[1], views[2], views[3], views[4], d, d, d, self.nrm, self.C,
                            self.K, self.T, self.curv, self.rule.secant_pair == "momentum",
                            self.rule._power() == 0.5, self.use_cap, mode, self.switch)

    def rebuild(self, state, k, sc, bufs):
        return hybrid.AdapGradmState(k=k, m=bufs[0][0], h=bufs[1][0], D=bufs[2][0], x_prev=bufs[3][0],
                                     y_prev=bufs[4][0])


class HAdapGradmPlan(AdapGradmPlan):
    krows = ("bc1", "lrbc1", "bc1p", "bc2c", "lo", "hi", "rho", "omr_eta", "wbl", "kf")
    kid = 21

    @staticmethod
    def refusal(rule: Any) -> str | None:
        if rule.switch == "swats":
            return "switch='swats' (a per-run projected rate and switch decision) has no compiled step"
        return AdapGradmPlan.refusal(rule)

    def setup(self) -> None:
        super().setup()
        r = self.rule
        self.switch = _SWITCH[r.switch]
        lr = self.hp("lr")
        factor = lr_factor(np, lr, lr) if r.rescale_final_lr else 1.0  # run() passes lr = the rule's lr
        self.eta = self.hp("final_lr") * factor
        self.set("eta", self.eta)

    def coefs(self, k, sc):
        vals, mode, _ = super().coefs(k, sc)
        r = self.rule
        k = k + 1
        lo = hi = rho = omr_eta = wbl = 0.0
        if r.switch == "clip":
            lo, hi = r._bounds(np, self.eta, k, self.like)
        elif r.switch == "blend":
            rho = 1 / (1 + self.hp("gamma") * k)
            omr_eta, wbl = (1 - rho) * self.eta, 1 - rho
        if r.switch_at is not None and k > r.switch_at:
            mode |= kr.SWITCHED
        return vals + (lo, hi, rho, omr_eta, wbl, float(k)), mode, ()

    def buffers(self, state):
        return super().buffers(state) + [self.own(state.rate), self.own_col(state.frac), self.own_col(state.switch_k)]

    def kernel(self, x2, g2, views, mode):
        self._norms(x2, views, mode)
        kr.adapgradm_kernel(x2, g2, views[0], views[1], views[2], views[3], views[4], views[5], views[6], views[7],
                            self.nrm, self.C, self.K, self.T, self.curv, self.rule.secant_pair == "momentum",
                            self.rule._power() == 0.5, self.use_cap, mode, self.switch)

    def rebuild(self, state, k, sc, bufs):
        return hybrid.HAdapGradmState(k=k, m=bufs[0][0], h=bufs[1][0], D=bufs[2][0], x_prev=bufs[3][0],
                                      y_prev=bufs[4][0], rate=bufs[5][0], frac=bufs[6][0], switch_k=bufs[7][0],
                                      lam=None, sgd=None, sgd_lr=None)


def hp_or(plan: Plan, value: Any) -> Any:
    """A hyperparameter value (not a field name) ready for the coefficient table."""
    from ..rules.base import hp

    return hp(value, plan.like, np)


class SOAAPlan(Plan):
    rows = ("b1", "omb1", "b2", "omb2", "eps", "bc1", "bc2", "nlr", "cwd", "lo", "hi", "gamma", "omg", "bc1p", "lr",
            "hl2", "half")
    krows = ("bc1", "bc2", "lo", "hi", "bc1p")
    kid = 22

    def setup(self) -> None:
        r = self.rule
        b1, b2, lr = self.hp("b1"), self.hp("b2"), self.hp("lr")
        self.use_wd = not (isinstance(r.wd, (int, float)) and r.wd == 0)
        gamma = self.hp("gamma")
        for row, val in zip(("b1", "omb1", "b2", "omb2", "eps", "nlr", "gamma", "omg", "lr", "hl2", "half"),
                            (b1, 1 - b1, b2, 1 - b2, self.hp("eps"), -lr, gamma, 1 - gamma, lr, 0.5 * (lr * lr), 0.5)):
            self.set(row, val)
        if self.use_wd:
            self.set("cwd", (lr if r.wd_scaling == "lr" else 1.0) * self.hp("wd"))
        self.b1, self.b2, self.gamma = b1, b2, gamma
        n = self.n
        if r.fisher_sums == "global":
            edges = [0, n]
        else:
            sizes = r.blocks if isinstance(r.blocks, tuple) else (r.blocks,) * (n // r.blocks if n % r.blocks == 0
                                                                                else 0)
            if sum(sizes) != n:
                raise ValueError(f"blocks={r.blocks!r} do not partition the n={n} parameters of x")
            edges = np.concatenate([[0], np.cumsum(sizes)]).tolist()
        self.bounds = np.asarray(edges, dtype=np.int64)
        self.T = np.zeros((4, n), dtype=self.dtype)
        self.ell = np.zeros(self.R, dtype=self.dtype)
        self.value: Any = None

    def coefs(self, k, sc):
        r = self.rule
        e = 0.0 if r.total_steps is None else k / r.total_steps  # (t-1)/T with t = k + 1
        vals = (bias_correction(self.b1, k + 1), bias_correction(self.b2, k + 1), (1 - self.gamma) ** e,
                1 + self.gamma**e, bias_correction(self.b1, k) if k > 0 else 1.0)
        return vals, int(k > 0), ()

    def buffers(self, state):
        return [self.own(state.m), self.own(state.v), self.own_col(state.d), self.own_col(state.d_last),
                self.own_col(state.p), self.own_col(state.lbar)]

    def step(self, x2, g2, state, value):
        if value is None:
            raise ValueError("rule 'soaa' needs the loss value: call the step with value=f(y); run() supplies it")
        ell = self.rule._loss_column(np, value, self.like)
        self.ell[:] = np.broadcast_to(np.asarray(ell, dtype=self.dtype), (*self.batch, 1)).reshape(self.R)
        return super().step(x2, g2, state, value)

    def kernel(self, x2, g2, views, mode):
        r = self.rule
        kr.soaa_kernel(x2, g2, views[0], views[1], views[2], views[3], views[4], views[5], self.ell, self.bounds,
                       self.C, self.K, self.T, r.fisher_ratio == "ratio_of_sums", r.loss_order == "fold_then_ratio",
                       r.radius_rule == "tadam", r.model == "consistent", self.use_wd, mode)

    def rebuild(self, state, k, sc, bufs):
        from ..rules.second_order import SOAAState

        return SOAAState(k=k, m=bufs[0][0], v=bufs[1][0], d=bufs[2][0], d_last=bufs[3][0], p=bufs[4][0],
                         lbar=bufs[5][0])

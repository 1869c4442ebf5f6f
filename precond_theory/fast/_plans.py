"""One plan per covered rule: the glue between a rule's hyperparameters and its kernel.

A plan is built once per run by :func:`precond_theory.fast.compile_step` (and by the segment
runner of :mod:`._segments`).  Its parts, each written once and used by both compiled paths:

* :meth:`Plan.setup` — constant coefficients and flags;
* :meth:`Plan.coefs` — the coefficients that depend on the step count (and the rule's scalar
  state, e.g. FISTA's t), with the very expressions of the rule's ``_step`` (on Python floats or
  on the hyperparameter arrays), plus the kernel's per-step ``mode``;
* :meth:`Plan.buffers` — the state arrays, owned by the plan, as ``(R, n)`` views in the
  kernel's order; :meth:`Plan.kernel` — one call of the rule's kernel;
* :meth:`Plan.rebuild` — the rule's state after the update(s).

:meth:`Plan.step` strings them together for one update; the segment runner evaluates
:meth:`Plan.coefs` for every step of a segment into a table and runs the kernel in a loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..rules import adaptive, first_order, ravine, resilient, sign
from ..rules._moments import bias_correction
from ..rules.base import hp
from . import _kernels as kf
from . import _kernels_adaptive as ka

__all__ = ["PLANS", "Plan", "QUERY_AT_X"]

#: above this many elements a rule with a parallel kernel uses numba's threads
PARALLEL_MIN_SIZE = 1 << 20
PARALLEL_CHUNK = 1 << 16


#: steps of coefficients the compiled step computes at a time
STEP_TABLE = 256


def _same(a: tuple, b: tuple) -> bool:
    """The scalar state fields ``a`` and ``b`` are the same values."""
    return len(a) == len(b) and all(x is y or np.array_equal(x, y) for x, y in zip(a, b))


#: tables of Python-number coefficients: (plan key, first step of a chunk) -> (T, M, after, scalars before)
_TABLES: dict[tuple, tuple[np.ndarray, np.ndarray, list[tuple], tuple]] = {}
TABLE_CHUNK = 512
_TABLES_MAX = 256


def _cached_table(plan: Any, key: tuple, k0: int, L: int, sc: tuple) -> tuple[np.ndarray, np.ndarray, list[tuple]]:
    """Rows k0..k0+L-1 assembled from chunks of :data:`TABLE_CHUNK` steps, each computed once per
    key (rule, dtype) and scalar state: a lookup whose scalar state differs from the chunk's at
    that step recomputes (so a table is always the one :meth:`Plan._compute_table` gives)."""
    parts = []
    k = k0
    while k < k0 + L:
        c0 = k - k % TABLE_CHUNK
        i, n = k - c0, min(k0 + L, c0 + TABLE_CHUNK) - k
        hit = _TABLES.get((key, c0))
        if hit is None or not _same(hit[3] if i == 0 else hit[2][i - 1], sc):
            if i:  # a chunk entered mid-way with another scalar state: these rows only, uncached
                T, M, after = plan._compute_table(k, n, sc)
                parts.append((T, M, after))
                sc, k = after[-1], k + n
                continue
            hit = (*plan._compute_table(c0, TABLE_CHUNK, sc), sc)
            if len(_TABLES) >= _TABLES_MAX:
                _TABLES.pop(next(iter(_TABLES)))
            _TABLES[(key, c0)] = hit
        parts.append((hit[0][i:i + n], hit[1][i:i + n], hit[2][i:i + n]))
        sc, k = hit[2][i + n - 1], k + n
    if len(parts) == 1:
        return parts[0]
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
            [a for p in parts for a in p[2]])


def _is_zero(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == 0


class Plan:
    """Coefficient table and state buffers of one compiled rule (subclasses: one per rule)."""

    #: names of the rows of the coefficient table, in the kernel's order
    rows: tuple[str, ...] = ()
    #: the rows that :meth:`coefs` sets for every update (a subset of ``rows``)
    krows: tuple[str, ...] = ()
    #: the kernel's id in the segment drivers of :mod:`._segment_kernels`
    kid: int = -1

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
        self._tab: Any = None
        #: integer flags of the kernel (bools as 0/1), in the segment driver's order
        self.flags: tuple[int, ...] = ()
        #: the kernel mode when it does not depend on the step and nothing is in :attr:`krows` (else None)
        self.static_mode: int | None = 0 if type(self).coefs is Plan.coefs else None
        self.setup()
        self.krow_index = np.array([self.rows.index(r) for r in self.krows], dtype=np.int64)

    # ---------------------------------------------------------------------------------- helpers
    def hp(self, name: str) -> Any:
        return hp(getattr(self.rule, name), self.like, np)

    def column(self, value: Any) -> np.ndarray:
        """A coefficient as the column it occupies in ``C``: shape ``(R,)`` or ``(1,)``, in the dtype of x."""
        if self.per_run:
            return np.broadcast_to(np.asarray(value, dtype=self.dtype), (*self.batch, 1)).reshape(self.R)
        return np.asarray(value, dtype=self.dtype).reshape(1)

    def set(self, row: str, value: Any) -> None:
        """Store a coefficient (Python number or array broadcastable to (*batch, 1))."""
        i = self.rows.index(row)
        if self.per_run:
            self.C[i] = self.column(value)
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

    def none(self) -> tuple[None, np.ndarray]:
        """An unused state slot: no buffer, a dummy view for the kernel."""
        return None, self.dummy()

    # ------------------------------------------------------------------------------ interface
    def setup(self) -> None:
        """Constant coefficients and flags (override)."""

    def scalars(self, state: Any) -> tuple:
        """The rule's scalar state fields that :meth:`coefs` advances (override)."""
        return ()

    def coefs(self, k: int, sc: tuple) -> tuple[tuple, int, tuple]:
        """(values of :attr:`krows`, kernel mode, scalar fields after the update) of update k+1,
        applied to a state with ``k`` updates and scalar fields ``sc``, with the expressions of
        the rule's ``_step`` on the same operands (Python floats or hyperparameter arrays), so
        the coefficients are the reference's bit for bit (override; ``()`` for no scalar state)."""
        return (), 0, ()

    def table(self, k0: int, L: int, sc: tuple) -> tuple[np.ndarray, np.ndarray, list[tuple]]:
        """Coefficient table ``(L, len(krows), R or 1)``, modes ``(L,)`` and the scalar fields after
        each of the updates k0, ..., k0+L-1.  Tables of Python-number hyperparameters are shared
        by the runs of a process that use the same rule and dtype (:func:`_cached_table`);
        those of per-run hyperparameters are computed step by step, as the reference does."""
        if not self.per_run and not self.krows and self.static_mode is not None:
            return np.empty((L, 0, 1), dtype=self.dtype), np.full(L, self.static_mode, dtype=np.int64), [sc] * L
        if not self.per_run:
            key = (type(self), repr(self.rule), str(self.dtype))
            return _cached_table(self, key, k0, L, sc)
        return self._compute_table(k0, L, sc)

    def _compute_table(self, k0: int, L: int, sc: tuple) -> tuple[np.ndarray, np.ndarray, list[tuple]]:
        vals, modes, after = [], [], []
        coefs, column = self.coefs, self.column
        for k in range(k0, k0 + L):
            v, m, s2 = coefs(k, sc)
            sc = s2 or sc
            vals.append([column(c) for c in v] if self.per_run else v)
            modes.append(m)
            after.append(sc)
        T = np.array(vals, dtype=self.dtype).reshape(L, len(self.krows), self.R if self.per_run else 1)
        return T, np.asarray(modes, dtype=np.int64), after

    def buffers(self, state: Any) -> list[tuple[Any, np.ndarray]]:
        """The state arrays (buffer or None, (R, n) view) in the kernel's order (override)."""
        return []

    def kernel(self, x2: np.ndarray, g2: np.ndarray, views: list[np.ndarray], mode: int) -> None:
        """One call of the rule's kernel (override)."""
        raise NotImplementedError

    def rebuild(self, state: Any, k: int, sc: tuple, bufs: list[tuple[Any, np.ndarray]]) -> Any:
        """The rule's state after ``k`` updates, from the state at the start (override)."""
        raise NotImplementedError

    def step(self, x2: np.ndarray, g2: np.ndarray, state: Any, value: Any) -> Any:
        """Apply one update in place and return the new state (coefficients from a table of
        :data:`STEP_TABLE` steps, rebuilt when the step or the scalar state leaves it)."""
        k, sc = state.k, self.scalars(state)
        tab = self._tab
        if tab is None or not (tab[0] <= k < tab[0] + len(tab[2])) or not _same(tab[4][k - tab[0]], sc):
            T, M, after = self.table(k, STEP_TABLE, sc)
            tab = self._tab = (k, T, M, after, [sc] + after[:-1])
        i = k - tab[0]
        if len(self.krows):
            self.C[self.krow_index] = tab[1][i]
        bufs = self.buffers(state)
        self.kernel(x2, g2, [v for _, v in bufs], int(tab[2][i]))
        return self.rebuild(state, k + 1, tab[3][i], bufs)


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
}

#: rules whose oracle query point is x itself (the others extrapolate first: Nesterov, AdamRAG)
QUERY_AT_X: frozenset[type] = frozenset(c for c in PLANS if c not in (first_order.Nesterov, ravine.AdamRAG))

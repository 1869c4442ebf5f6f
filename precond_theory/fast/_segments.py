"""Compiled segments: every step between two record points of :func:`precond_theory.run` in numba.

:func:`compile_segment` returns a :class:`Segment` when the whole step can be compiled: a rule
with a compiled update that queries the oracle at x (see :data:`._plans.QUERY_AT_X`), the exact
oracle, and a quadratic of :mod:`precond_theory.problems.quadratic` (``grad = A (x - x*)``, single
or batched, NumPy float32/float64).  Otherwise it returns the reason (``kernel="auto"`` records it
in ``Trace.meta["kernel_fallback"]``; ``kernel="numba"`` raises it).

The run loop (:mod:`precond_theory._loop.core`) calls :meth:`Segment.advance` after the work of a
step k that returned to Python; the segment applies the updates k, k+1, ... and, between them,
what the loop does at a step that is not a record point (gradient, norm and running minimum
for ``min_grad_norm="every_step"``, the scan for ``divergence="every_step"``), and returns at
the next record point (or at the end of a chunk of :data:`CHUNK` steps, fewer for per-run
hyperparameters (:meth:`~._plan_base.Plan.table_steps`), or at the step where a
run still "ok" turned non-finite) with the gradient there, as the oracle would have given it.
The loop then does that step's work (norm, health, recording) with its own code.

The gradient: for a problem whose ``A`` is shared by every run and large enough
(:func:`host_gemm`), ``(x - x*) @ A`` is NumPy's own product, the very call the reference
makes; otherwise :func:`._segment_kernels.quad_grad` sums over j in order (a rounding different
from BLAS's, by at most the usual :math:`\\gamma_n |A||x - x^\\star|`).  The norm uses NumPy's
pairwise summation order, so the running minimum is the reference's.

A batch larger than :data:`precond_theory._xp.SLICE_BYTES` whose gradient is NumPy's product is
*sliced*: each step runs slice by slice of runs (gradient, norm, update, scan; see
:meth:`Segment._advance_sliced`), the gradient and scratch buffers hold one slice, a run that
turns non-finite is classified on its slice and the others go on, and the gradient at the
step where the loop takes over is handed to it as :class:`RowStats` (its norm and f), not kept.
``Quadratic.grad`` takes the same products slice by slice, so the numbers are every path's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._loop import memory
from .._loop.memory import row_sum, square
from . import _segment_kernels as sk

__all__ = ["Segment", "RowStats", "compile_segment", "segment_reason", "host_gemm", "CHUNK"]

#: the most updates one compiled call applies (bounds the coefficient table)
CHUNK = 4096
#: a shared A with at least this many multiply-adds per step is multiplied by NumPy (BLAS)
GEMM_MIN_FLOPS = 1 << 15
_SLOTS = 4  # state arrays and flags passed to every driver (padded)


def host_gemm(problem: Any, n_runs: int) -> bool:
    """True when the gradient is one NumPy product with the shared ``A`` (large problems)."""
    return len(problem.A.shape) == 2 and n_runs * problem.dim * problem.dim >= GEMM_MIN_FLOPS


def segment_reason(rule: Any, problem: Any, oracle: Any, x: Any) -> str | None:
    """Why the steps of ``rule`` on ``problem`` cannot run as compiled segments (None if they can)."""
    from ..oracles import Exact
    from ..problems.quadratic import Quadratic
    from . import not_covered_reason
    from ._plans import PLANS, QUERY_AT_X

    why = not_covered_reason(rule, x)
    if why is not None:
        return why
    if type(problem) is not Quadratic:
        return (f"problem {problem.name!r} ({type(problem).__name__}) has no compiled gradient (compiled segments "
                "cover the quadratic family, problems.make_quadratic)")
    if type(oracle) is not Exact:
        return (f"oracle {getattr(oracle, 'name', type(oracle).__name__)!r} is not the exact oracle (its noise is "
                "drawn on the host)")
    if type(rule) not in QUERY_AT_X:
        return f"rule {rule.name!r} queries the oracle away from x (no compiled segment)"
    if PLANS[type(rule)].kid not in sk.DRIVERS:
        return f"rule {rule.name!r} has a compiled update but no compiled segment"
    if rule.needs_value or rule.needs_hvp:
        return f"rule {rule.name!r} needs values or Hessian-vector products"
    for name in ("A", "x_star"):
        a = getattr(problem, name)
        if not isinstance(a, np.ndarray) or a.dtype != x.dtype:
            return f"problem.{name} is not a NumPy array of dtype {x.dtype}"
    return None


class Segment:
    """Compiled segments of one run (built by :func:`compile_segment`)."""

    name = "numba-segment"

    def __init__(self, rule: Any, problem: Any, x: np.ndarray, *, min_grad_norm: str | None, every_step_scan: bool,
                 steps: int) -> None:
        from ._plans import PLANS

        self.rule, self.problem, self.steps = rule, problem, steps
        self.shape, self.dtype = tuple(x.shape), x.dtype
        plan = PLANS[type(rule)](rule, x)
        self.plan, self.R, self.n = plan, plan.R, plan.n
        self.driver = sk.DRIVERS[plan.kid]
        R, n = self.R, self.n
        pb = tuple(problem.batch_shape)
        self.pidx = np.ascontiguousarray(
            np.broadcast_to(np.arange(max(1, int(np.prod(pb, dtype=np.int64)))).reshape(pb), self.shape[:-1])
        ).reshape(R).astype(np.int64)
        self.A = np.ascontiguousarray(problem.A).reshape(-1, n, n)
        self.xs = np.ascontiguousarray(problem.x_star).reshape(-1, n)
        self.gemm = host_gemm(problem, R)
        self.G: Any = None  # the one gradient buffer (see advance) and the scratch array: allocated
        self.rbuf: Any = None  # by start, after the state's buffers (see there)
        # a large batch multiplied by BLAS: the steps run on slices of runs (see _advance_sliced)
        cut = memory.row_slices(x) if self.gemm and len(np.shape(problem.x_star)) == 1 else None
        inner = R // self.shape[0]
        self.slices = [(s0, slice(s0.start * inner, s0.stop * inner)) for s0 in cut] if cut else None
        self.gn = np.empty(R, dtype=self.dtype)
        self.want_gn = min_grad_norm == "every_step"
        self.scan = bool(every_step_scan)
        self.krow = plan.krow_index
        self.F = sk.as_int_tuple(plan.flags, _SLOTS)
        self.kernel_calls = 0

    # ------------------------------------------------------------------------------ gradient
    def _product(self, out: np.ndarray) -> None:
        """out = rbuf @ A, shaped like the reference's ``(x - x*) @ A`` (NumPy's matmul)."""
        np.matmul(self.rbuf.reshape(self.shape), self.A[0], out=out.reshape(self.shape))

    @property
    def sliced(self) -> bool:
        """The steps run on slices of runs (a large batch multiplied by BLAS)."""
        return self.slices is not None

    def _buffers(self) -> None:
        """The gradient and scratch buffers: the batch's size, or one slice's (sliced)."""
        if self.G is None:
            rows = max(fl.stop - fl.start for _, fl in self.slices) if self.sliced else self.R
            self.G = np.empty((rows, self.n), dtype=self.dtype)
            self.rbuf = np.empty((rows, self.n), dtype=self.dtype)

    def _gradient(self, x2: np.ndarray) -> None:
        """G = the gradient at x (``x2``: its (R, n) view)."""
        self._buffers()
        if self.gemm:
            sk.residual(x2, self.xs, self.pidx, self.rbuf)
            self._product(self.G)
        else:
            sk.quad_grad(x2, self.A, self.xs, self.pidx, self.rbuf, self.G)

    def _slice_gradient(self, x2: np.ndarray, s0: slice, fl: slice) -> tuple[np.ndarray, np.ndarray]:
        """(G, r): the gradient and x - x* of the runs ``fl`` (rows of x2), in the first rows of
        the buffers: NumPy's product of the slice ``s0`` of x's shape, the one
        ``Quadratic.grad`` takes for that slice."""
        self._buffers()
        m = fl.stop - fl.start
        G, r = self.G[:m], self.rbuf[:m]
        sk.residual(x2[fl], self.xs, self.pidx[fl], r)
        shape = (s0.stop - s0.start, *self.shape[1:])
        np.matmul(r.reshape(shape), self.A[0], out=G.reshape(shape))
        return G, r

    def _stats(self, x: np.ndarray) -> RowStats:
        """What the loop takes from the gradient at x, computed slice by slice (sliced)."""
        x2 = x.reshape(self.R, self.n)
        gn, ws = np.empty(self.R, dtype=self.dtype), np.empty(self.R, dtype=self.dtype)
        for s0, fl in self.slices:
            G, r = self._slice_gradient(x2, s0, fl)
            gn[fl] = row_sum(np, square, G)  # (a slice: one sum per run, the loop's numbers)
            ws[fl] = row_sum(np, np.multiply, r, G)
        return RowStats(gn.reshape(self.shape[:-1]), ws.reshape(self.shape[:-1]))

    def grad(self, x: np.ndarray) -> Any:
        """The gradient at x, computed as the segments compute it, into the segment's buffer
        (a view of it: valid until the next :meth:`advance`; the loop asks for it at the last
        step, where nothing else needs the buffer); sliced, its :class:`RowStats`."""
        if self.sliced:
            return self._stats(x)
        self._gradient(x.reshape(self.R, self.n))
        return self.G.reshape(self.shape)

    def norm_sq(self, g: Any) -> Any:
        """The squared norm per run of a gradient from :meth:`grad` (the loop's own sum, or the
        sums of :class:`RowStats`)."""
        return g.gn if isinstance(g, RowStats) else row_sum(np, square, g)

    def value(self, x: np.ndarray, g: np.ndarray) -> Any:
        """f(x) from the gradient g at x when g is NumPy's own product ``(x - x*) @ A``:
        ``0.5 * sum((x - x*) * g) + f*``, the very operations of ``Quadratic.value`` (which would
        multiply by A again), so bit for bit its value; else ``problem.value(x)``.  The sum runs
        on slices of runs (:func:`precond_theory._loop.memory.row_sum`: the same numbers, no
        temporaries of x's size)."""
        if isinstance(g, RowStats):
            return 0.5 * g.wsum + self.problem.f_star
        if not self.gemm:
            return self.problem.value(x)
        return 0.5 * row_sum(np, _weighted_residual, x, self.problem.x_star, g) + self.problem.f_star

    def own_state(self, state: Any) -> Any:
        """The initial state on buffers the compiled step owns (its arrays copied once).

        The loop calls this before :meth:`start`, and drops the initial state in between: its
        arrays (e.g. Adam's zeros, which are both m and v) are then freed before the gradient
        and scratch buffers exist, instead of adding one array of x's size to the peak.  Sliced
        (a large batch), the arrays are taken over where they can be (:meth:`Plan.take
        <precond_theory.fast._plan_base.Plan.take>`): Adam's zeros become m, and only v is a copy.
        """
        plan = self.plan
        bufs = plan.take(state) if self.sliced else plan.buffers(state)  # (sliced: a large batch)
        return plan.rebuild(state, state.k, plan.scalars(state), bufs)

    def start(self, x: np.ndarray) -> np.ndarray:
        """The gradient at x_0 (into the segment's buffer), as the oracle's first sample."""
        return self.grad(x)

    # ------------------------------------------------------------------------------- segments
    def advance(self, x: np.ndarray, state: Any, k: int, stop: int, running_min: Any, health: Any,
                ) -> tuple[Any, int, Any, Any, Any]:
        """Apply updates k, k+1, ... from the gradient of :meth:`start`/the last call, up to ``stop``.

        Returns ``(state, k_new, g, g_prev, running_min)``: the step k_new the loop takes next
        (``stop``, the end of a chunk, or a step where a run turned non-finite), the gradient there
        (a view of the segment's one buffer; None at the last step of the run, where the loop
        evaluates what it needs), the gradient of the update before k_new when a run still "ok"
        turned non-finite in x there (a copy, taken before the new gradient overwrites the
        buffer: the loop's health code tells a 0/0 at a zero gradient from divergence with it;
        else None, which the health code never needs then), and the running minimum of the
        squared gradient norm.
        """
        plan = self.plan
        if self.sliced:  # (its tables are computed a part at a time: it stops only where it must)
            return self._advance_sliced(x, state, k, min(stop, k + CHUNK), running_min, health)
        stop = min(stop, k + plan.table_steps(CHUNK))
        code = health.code
        L = stop - k
        grad_at_end = stop < self.steps
        T, M, scs = plan.table(k, L, plan.scalars(state))
        bufs = plan.buffers(state)
        views = [v for _, v in bufs]
        views += [plan.dummy()] * (_SLOTS - len(views))
        S = tuple(views)
        rmin = np.array(running_min, dtype=self.dtype).reshape(self.R) if running_min is not None else self.gn * 0
        code1 = np.ascontiguousarray(code).reshape(self.R)
        W = (self.G, self.A, self.xs, self.pidx, self.rbuf, self.gn, rmin, code1, plan.K)
        x2 = x.reshape(self.R, self.n)
        want_min = running_min is not None
        why = sk.STOP
        if not self.gemm:
            O = (L, 1, int(grad_at_end), int(self.want_gn), int(want_min), int(self.scan))
            i, why = self.driver(x2, S, plan.C, plan.K, self.F, self.krow, T, M, W, O)
            self.kernel_calls += 1
        else:
            i = 0
            while i < L:
                O = (1, 0, 0, int(self.want_gn), int(want_min), int(self.scan))
                _, why = self.driver(x2, S, plan.C, plan.K, self.F, self.krow, T[i:i + 1], M[i:i + 1], W, O)
                self.kernel_calls += 1
                i += 1
                if why == sk.STOP_BAD_X or (i == L and not grad_at_end):
                    break
                self._product(self.G)
                if i == L or sk.post_grad(x2, W, O):
                    break
        k_new = k + i
        g_prev = None
        if why == sk.STOP_BAD_X:  # G is still the gradient of the last update: keep it, then move on
            g_prev = self.G.copy().reshape(self.shape)
            if k_new < self.steps:
                self._gradient(x2)
        new_state = plan.rebuild(state, k_new, scs[i - 1], bufs)
        g = None if k_new == self.steps else self.G.reshape(self.shape)
        return new_state, k_new, g, g_prev, (rmin.reshape(self.shape[:-1]) if want_min else None)

    def _advance_sliced(self, x: np.ndarray, state: Any, k: int, stop: int, running_min: Any, health: Any,
                        ) -> tuple[Any, int, Any, Any, Any]:
        """:meth:`advance` for a large batch: each step runs slice by slice (gradient, norm,
        update, scan), so that the gradient and scratch buffers hold one slice.

        A run that turns non-finite is classified here, on its slice, with the health code's
        own rules (:meth:`Health.scan_rows <precond_theory._loop.health.Health.scan_rows>`, while
        the buffer still holds the gradient of the update; :meth:`Health.stamp_non_finite` for a
        norm that is not finite), and the steps go on: the segment ends only at ``stop``.  The
        gradient there is not kept: the loop asks :meth:`grad` for its :class:`RowStats`, and
        the next call computes it again (one extra product per call, counted in the trace's
        ``extra_evaluations``)."""
        plan, R, n = self.plan, self.R, self.n
        bufs = plan.buffers(state)
        views = [v for _, v in bufs]
        pad = (plan.dummy(),) * (_SLOTS - len(views))
        want_min = running_min is not None
        rmin = np.array(running_min, dtype=self.dtype).reshape(R) if want_min else self.gn * 0
        code = np.array(health.code, dtype=np.int8).reshape(R)  # a copy, kept to the health's codes
        x2 = x.reshape(R, n)
        O = (1, 0, 0, int(self.want_gn), int(want_min), int(self.scan))
        self._buffers()
        parts = []  # per slice, the driver's arguments that do not change from step to step (views)
        for s0, fl in self.slices:
            m = fl.stop - fl.start
            S = tuple(v[fl] if v.shape == (R, n) else v for v in views) + pad
            C = np.ascontiguousarray(plan.C[:, fl]) if plan.C.shape[1] > 1 else plan.C  # (the driver writes it)
            W = (self.G[:m], self.A, self.xs, self.pidx[fl], self.rbuf[:m], self.gn[fl], rmin[fl], code[fl], plan.K)
            parts.append((s0, fl, S, C, W))
        sc, t0, T = plan.scalars(state), k, None
        for i in range(stop - k):
            if T is None or k + i - t0 == len(T):  # the next part of the coefficient table
                t0 = k + i
                T, M, scs = plan.table(t0, plan.table_steps(stop - t0), sc)
                sc = scs[-1]
            j = k + i - t0
            for s0, fl, S, C, W in parts:
                G, _ = self._slice_gradient(x2, s0, fl)  # (into W's buffers)
                if i and sk.post_grad(x2[fl], W, O):  # the norm at step k + i is not finite in a run "ok"
                    bad = np.zeros(R, dtype=bool)
                    bad[fl] = (code[fl] == 0) & ~np.isfinite(self.gn[fl])
                    health.stamp_non_finite(bad.reshape(self.shape[:-1]), k + i)
                    code[fl] = health.code.reshape(R)[fl]
                Tj = np.ascontiguousarray(T[j:j + 1, :, fl]) if T.shape[2] > 1 else T[j:j + 1]
                _, why = self.driver(x2[fl], S, C, plan.K, self.F, self.krow, Tj, M[j:j + 1], W, O)
                self.kernel_calls += 1
                if why == sk.STOP_BAD_X:  # G: the gradient of this update
                    code[fl] = health.scan_rows(k + i + 1, fl, x2[fl], G)
        new_state = plan.rebuild(state, stop, sc, bufs)
        return new_state, stop, None, None, (rmin.reshape(self.shape[:-1]) if want_min else None)

    def __repr__(self) -> str:
        return f"Segment({self.rule.name!r}, shape={self.shape}, dtype={self.dtype}, gemm={self.gemm})"


class RowStats:
    """The gradient at a step as the loop uses it, for sliced segments: per run, the squared
    norm ``gn`` and ``wsum = sum((x - x*) * g)`` (f = 0.5 wsum + f*), each NumPy's pairwise sum
    over the run's own row (the numbers of the loop's sums over the whole gradient), computed
    slice by slice; the gradient itself is not kept."""

    __slots__ = ("gn", "wsum")

    def __init__(self, gn: np.ndarray, wsum: np.ndarray) -> None:
        self.gn, self.wsum = gn, wsum


def _weighted_residual(x: np.ndarray, x_star: np.ndarray, g: np.ndarray) -> np.ndarray:
    return (x - x_star) * g


def compile_segment(rule: Any, problem: Any, oracle: Any, x: Any, *, min_grad_norm: str | None,
                    every_step_scan: bool, steps: int) -> Segment | str:
    """A :class:`Segment` for this run, or the reason (a string) why there is none."""
    why = segment_reason(rule, problem, oracle, x)
    if why is not None:
        return why
    rule._check_hp_shapes(x)
    return Segment(rule, problem, x, min_grad_norm=min_grad_norm, every_step_scan=every_step_scan, steps=steps)

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
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._loop.memory import row_sum
from . import _segment_kernels as sk

__all__ = ["Segment", "compile_segment", "segment_reason", "host_gemm", "CHUNK"]

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

    def _gradient(self, x2: np.ndarray) -> None:
        """G = the gradient at x (``x2``: its (R, n) view)."""
        if self.G is None:
            self.G = np.empty((self.R, self.n), dtype=self.dtype)
            self.rbuf = np.empty((self.R, self.n), dtype=self.dtype)
        if self.gemm:
            sk.residual(x2, self.xs, self.pidx, self.rbuf)
            self._product(self.G)
        else:
            sk.quad_grad(x2, self.A, self.xs, self.pidx, self.rbuf, self.G)

    def grad(self, x: np.ndarray) -> np.ndarray:
        """The gradient at x, computed as the segments compute it, into the segment's buffer
        (a view of it: valid until the next :meth:`advance`; the loop asks for it at the last
        step, where nothing else needs the buffer)."""
        self._gradient(x.reshape(self.R, self.n))
        return self.G.reshape(self.shape)

    def value(self, x: np.ndarray, g: np.ndarray) -> Any:
        """f(x) from the gradient g at x when g is NumPy's own product ``(x - x*) @ A``:
        ``0.5 * sum((x - x*) * g) + f*``, the very operations of ``Quadratic.value`` (which would
        multiply by A again), so bit for bit its value; else ``problem.value(x)``.  The sum runs
        on slices of runs (:func:`precond_theory._loop.memory.row_sum`: the same numbers, no
        temporaries of x's size)."""
        if not self.gemm:
            return self.problem.value(x)
        return 0.5 * row_sum(np, _weighted_residual, x, self.problem.x_star, g) + self.problem.f_star

    def own_state(self, state: Any) -> Any:
        """The initial state on buffers the compiled step owns (its arrays copied once).

        The loop calls this before :meth:`start`, and drops the initial state in between: its
        arrays (e.g. Adam's zeros, which are both m and v) are then freed before the gradient
        and scratch buffers exist, instead of adding one array of x's size to the peak.
        """
        plan = self.plan
        return plan.rebuild(state, state.k, plan.scalars(state), plan.buffers(state))

    def start(self, x: np.ndarray) -> np.ndarray:
        """The gradient at x_0 (into the segment's buffer), as the oracle's first sample."""
        return self.grad(x)

    # ------------------------------------------------------------------------------- segments
    def advance(self, x: np.ndarray, state: Any, k: int, stop: int, running_min: Any, code: Any,
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
        stop = min(stop, k + plan.table_steps(CHUNK))
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

    def __repr__(self) -> str:
        return f"Segment({self.rule.name!r}, shape={self.shape}, dtype={self.dtype}, gemm={self.gemm})"


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

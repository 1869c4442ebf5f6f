r"""The loop: every step, then, at record points only, recording and health checks.

Every step: ``y = rule.query(x, state)``, the oracle at y, the update (the reference
``rule._step`` and ``x = x + dx``, or a compiled step updating x in place).  Work that serves
only the record points happens every step only where it must:

* ``min_grad_norm="every_step"`` (default) needs :math:`\|\nabla f(x_k)\|^2` at every k: free
  when the oracle is exact and the rule queries at x (the oracle's gradient is reused); one
  extra exact gradient evaluation per step otherwise; plus three elementwise passes over x.
* ``divergence="every_step"`` (default) scans x_k for non-finite entries every step (one pass
  and a host sync), which gives each divergence its exact step and tells a 0/0 at a zero
  gradient from divergence.

With compiled segments (``run(kernel="numba")``, :mod:`precond_theory.fast._segments`) the
steps between two steps that need Python (record points, step 0, chunk ends, a run turning
non-finite) run inside one compiled call, which does exactly the per-step work above; the loop
below then does the work of the step it stops at, with the same code as for every other path.

At record points (and at step 0, the baseline of the blow-up test) f(x_k) and the exact
gradient norm are evaluated (the ``extra_evaluations`` of ``Trace.meta``; sliced segments of a
large batch compute the gradient there again for the next update, and count it), the health
checks run and the recorder writes its buffers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..oracles import Exact
from .memory import row_sum, square

__all__ = ["iterate"]

Array = Any


def iterate(*, rule: Any, problem: Any, oracle: Any, handover: dict[str, Any], lr: Any, rng: Any, steps: int,
            rec: np.ndarray, recorder: Any, health: Any, min_grad_norm: str | None, every_step_scan: bool,
            compiled: Any, progress: Any, batch_shape: tuple[int, ...], calls: dict[str, int],
            extra_calls: dict[str, int], segment: Any = None) -> tuple[Array, Any, int]:
    """Run the loop; returns (x_final, state, number of record points written).

    ``handover``: ``{"x": x_0, "state": the rule's initial state}``, emptied here, so that the
    loop holds the only references: the arrays of x_0 (on the reference path, where
    ``x = x + dx`` makes new ones) and of the initial state are freed when the first update
    replaces them.  Passed as arguments, they would stay referenced by the caller for the
    whole call (CPython keeps a call's arguments on the caller's stack until it returns).

    ``compiled``: a compiled update (``compiled(x, g, state, k, value=) -> state``, x in place)
    or None for ``rule._step``.  ``segment``: a :class:`precond_theory.fast._segments.Segment`
    that advances from one step that needs Python (record points, step 0, a run turning
    non-finite, chunk ends) to the next, doing the oracle (exact gradient of a quadratic) and
    every step's work in between compiled; the loop does the work of the steps it stops at.
    """
    x, state = handover.pop("x"), handover.pop("state")
    xp = problem.xp
    online = bool(problem.online)
    exact = isinstance(oracle, Exact)
    need_value = bool(rule.needs_value)
    n_rec = len(rec)
    rec_i = 0
    next_rec = int(rec[0]) if n_rec else -1
    running_min = None
    loss_sum = xp.zeros(batch_shape, dtype=x.dtype) if online else None
    g_prev = None
    last_progress = -1

    def grad_at(z: Array, k: int) -> Array:
        extra_calls["grad"] += 1
        if segment is not None:  # the gradient as the segments compute it
            return segment.grad(z)
        return problem.grad(z, k) if online else problem.grad(z)

    def value_at(z: Array, k: int, gz: Array = None) -> Array:
        extra_calls["value"] += 1
        if segment is not None and gz is not None:  # f from the gradient there (no second product with A)
            v = segment.value(z, gz)
        else:
            v = problem.value(z, k) if online else problem.value(z)
        if tuple(getattr(v, "shape", ())) != batch_shape:
            _bad_value(problem, v, z, batch_shape)
        return v

    g_next = None
    if segment is not None and steps > 0:
        state = segment.own_state(state)  # the initial state's arrays are freed here ...
        g_next = segment.start(x)  # ... before the gradient's buffers are allocated
    k = 0
    while True:
        last = k == steps
        is_rec = k == next_rec
        check = is_rec or k == 0
        g = value = y = None
        if not last:
            if segment is not None:  # the exact gradient at x, computed by the segment
                y, g = x, g_next
            else:
                y = rule.query(x, state)
                value, g = oracle.sample(problem, y, k, rng, need_value)
            calls["grad"] += 1
            calls["value"] += int(value is not None)
        reuse = exact and y is x
        fx = None
        if online and (not last or check):
            fx = value if (value is not None and reuse) else value_at(x, k)
        gn = None
        if not online and (min_grad_norm == "every_step" or check):
            gx = g if (g is not None and reuse) else grad_at(x, k)
            gn = segment.norm_sq(gx) if segment is not None else row_sum(xp, square, gx)
            if min_grad_norm == "every_step":
                running_min = gn if running_min is None else xp.where(gn < running_min, gn, running_min)
        if every_step_scan:
            health.scan_step(k, x, gn, g_prev)
        if check:
            if not online:
                fx = value if (value is not None and reuse) else value_at(x, k, gx)
            health.scan_record(k, x, fx, gn)
            if is_rec:
                recorder.record(rec_i, k, x, state, fx=fx, gn=gn, running_min=running_min, loss_sum=loss_sum)
                rec_i += 1
                next_rec = int(rec[rec_i]) if rec_i < n_rec else -1
                if progress is not None:
                    progress(k, steps)
                    last_progress = k
        if last:
            break
        if online:
            loss_sum = loss_sum + fx
        hvp = _hvp_callable(problem, y, k, calls, xp, health) if rule.needs_hvp else None
        if k == 0:  # (a segment computes the gradient itself, with x's shape and dtype)
            _check_first(problem, rule, x if segment is not None else g, value, x, state, hvp, batch_shape)
        if segment is not None:
            stop = next_rec if next_rec != -1 else steps
            state, k_new, g_next, g_prev, running_min = segment.advance(
                x, state, k, stop, running_min, health)
            calls["grad"] += k_new - k - 1  # the gradients of the steps in between
            k = k_new
            continue
        if compiled is not None:
            state = compiled(x, g, state, k, value=value)
        else:
            dx, state = rule._step(xp, g, state, x, lr=lr, value=value, hvp=hvp)
            x = x + dx
        g_prev = g
        k += 1
    if progress is not None and last_progress != steps:
        progress(steps, steps)
    return x, state, rec_i


def _bad_value(problem: Any, v: Any, z: Array, batch_shape: tuple[int, ...]) -> None:
    raise ValueError(f"problem {problem.name!r}: value(x) returned shape {tuple(getattr(v, 'shape', ()))} for x of "
                     f"shape {tuple(z.shape)}; expected one value per run, shape {batch_shape} (for from_functions: "
                     "value must reduce over the last axis, e.g. xp.sum(..., axis=-1))")


def _check_first(problem: Any, rule: Any, g: Array, value: Any, x: Array, state: Any, hvp: Any,
                 batch_shape: tuple[int, ...]) -> None:
    if tuple(g.shape) != tuple(x.shape):
        raise ValueError(f"problem {problem.name!r} returned a gradient of shape {tuple(g.shape)} "
                         f"for x of shape {tuple(x.shape)}")
    if value is not None and tuple(getattr(value, "shape", ())) != batch_shape:
        _bad_value(problem, value, x, batch_shape)
    rule.check_inputs(g, state, x, value=value, hvp=hvp)


def _hvp_callable(problem: Any, y: Array, k: int, calls: dict[str, int], xp: Any, health: Any) -> Any:
    """The Hessian-vector product the rule gets at step k, checked for shape and finiteness.

    A non-finite product at a finite point and direction is a ValueError at step 0 (the problem's
    ``hvp`` is broken where the run starts); later it is the overflow of a run that is diverging
    (the product grows with the iterate, e.g. gradient-norm regularization with too large a step),
    and the runs it happened in are marked ``"non_finite"`` at step k (:mod:`.health`).
    """
    online = bool(problem.online)

    def hvp(v: Array) -> Array:
        calls["hvp"] += 1
        out = problem.hvp(y, v, k) if online else problem.hvp(y, v)
        if tuple(out.shape) != tuple(xp.broadcast_arrays(y, v)[0].shape):
            raise ValueError(f"problem {problem.name!r}: hvp(x, v) returned shape {tuple(out.shape)} for x of shape "
                             f"{tuple(y.shape)} and v of shape {tuple(v.shape)}")
        if not bool(xp.all(xp.isfinite(out))):
            finite_in = xp.all(xp.isfinite(y), axis=-1) & xp.all(xp.isfinite(v), axis=-1)
            bad = finite_in & ~xp.all(xp.isfinite(out), axis=-1)
            if bool(xp.any(bad)):
                if k == 0:
                    raise ValueError(f"problem {problem.name!r}: hvp(x, v) returned non-finite values at a finite "
                                     f"point x and direction v (step {k})")
                health.stamp_non_finite(bad, k)
        return out

    return hvp

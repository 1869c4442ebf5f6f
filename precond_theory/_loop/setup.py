"""Before the loop: batch shape, per-run seeds and starts, projection, kernel choice."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .._xp import check_seeds

__all__ = ["batch_shape_of", "per_run_seeds", "apply_projection", "has_projection", "select_kernel",
           "state_arrays_per_run", "KERNELS", "KernelChoice"]

KERNELS = ("auto", "reference", "numba", "numba-step")


def batch_shape_of(batch: tuple[int, ...], rule: Any, x0_shape: tuple[int, ...] | None, problem: Any,
                   seed_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Broadcast of ``batch``, the rule's hyperparameter batch, x0's, the problem's and the seeds'."""
    parts = [batch, rule.batch_shape(), () if x0_shape is None else x0_shape, problem.batch_shape, seed_shape]
    try:
        return tuple(int(s) for s in np.broadcast_shapes(*parts))
    except ValueError:
        raise ValueError(
            f"batch shapes do not broadcast: batch={batch}, rule hyperparameters {rule.batch_shape()}, "
            f"x0 {x0_shape if x0_shape is not None else ()}, problem {problem.batch_shape}, seed {seed_shape}"
        ) from None


def per_run_seeds(seed: Any, batch_shape: tuple[int, ...]) -> np.ndarray:
    """Seeds of every run, shape ``batch_shape``: ``seed + i`` for run i (C order) from an int,
    or the given integer array broadcast to the batch."""
    a = check_seeds("seed", seed)
    n_runs = int(np.prod(batch_shape, dtype=np.int64))
    if a.ndim == 0:
        if int(a) + n_runs - 1 >= 2**63:
            raise ValueError(f"seed={int(a)} + {n_runs} runs exceeds 2**63 - 1")
        return (int(a) + np.arange(n_runs, dtype=np.int64)).reshape(batch_shape)
    return np.ascontiguousarray(np.broadcast_to(a, batch_shape))


def has_projection(rule: Any) -> bool:
    """True when ``rule`` or a rule it wraps is a projection wrapper."""
    from ..rules.wrappers import WithProjection

    r = rule
    while r is not None:
        if isinstance(r, WithProjection):
            return True
        r = getattr(r, "inner", None)
    return False


def apply_projection(rule: Any, problem: Any, project: Any) -> tuple[Any, dict[str, Any]]:
    """The rule to run and the ``meta["projection"]`` record.

    ``project=None`` (default) projects onto the problem's feasible set when it has one;
    ``True`` requires one; ``False`` opts out explicitly.  A rule already wrapped with a
    projection is run as it is.
    """
    from .. import rules as _rules

    if project is not None and not isinstance(project, bool):
        raise TypeError(f"project must be None, True or False; got {project!r}")
    fs = getattr(problem, "feasible_set", None)
    if fs is None:
        if project is not None:
            raise ValueError(f"project={project!r} has no effect: problem {problem.name!r} has no feasible set")
        return rule, {"feasible_set": None, "projected": has_projection(rule), "by": "rule" if has_projection(rule)
                      else None}
    desc = {"kind": fs.kind, "lo": fs.lo, "hi": fs.hi, "radius": fs.radius}
    if has_projection(rule):
        if project is False:
            raise ValueError("project=False contradicts the rule, which is already wrapped with a projection "
                             "(rules.with_projection); pass the unwrapped rule to run without projection")
        return rule, {"feasible_set": desc, "projected": True, "by": "rule"}
    if project is False:
        return rule, {"feasible_set": desc, "projected": False, "by": None}
    return _rules.with_projection(rule, **fs.projection_kwargs()), {"feasible_set": desc, "projected": True,
                                                                      "by": "run"}


def check_feasible(problem: Any, x: Any, xp: Any) -> None:
    """ValueError when a start lies outside the problem's feasible set (runs that project)."""
    fs = problem.feasible_set
    if fs.kind == "box":
        ok = xp.all((x >= fs.lo) & (x <= fs.hi))
    else:
        ok = xp.all(xp.sum(x * x, axis=-1) <= fs.radius ** 2 * (1 + 1e-12))
    if not bool(ok):
        raise ValueError(f"x0 lies outside the feasible set of problem {problem.name!r} ({fs}); give a feasible x0 "
                         "or run without projection (project=False)")


def state_arrays_per_run(rule: Any, xp: Any, dtype: Any, n: int) -> int:
    """Number of iterate-sized arrays in the rule's state (from a one-run probe)."""
    try:
        probe = rule.init(xp.zeros((n,), dtype=dtype))
    except Exception:  # noqa: BLE001 - the probe is only an estimate; the run reports real errors
        return 4
    count = 0

    def walk(s: Any) -> None:
        nonlocal count
        if hasattr(s, "shape") and hasattr(s, "dtype"):
            count += int(len(s.shape) > 0 and int(s.shape[-1]) == n)
        elif isinstance(s, (tuple, list)):
            for v in s:
                walk(v)
        elif isinstance(s, dict):
            for v in s.values():
                walk(v)

    walk(probe)
    return count


class KernelChoice(NamedTuple):
    """What advances the run: ``step`` (a compiled update or None for ``rule._step``) or
    ``segment`` (compiled segments); ``name`` goes to ``meta["kernel"]`` and ``fallback`` (why a
    faster path was not taken, for ``kernel="auto"``) to ``meta["kernel_fallback"]``."""

    step: Any
    segment: Any
    name: str
    fallback: str | None


def select_kernel(kernel: Any, rule: Any, x: Any, state: Any, *, problem: Any = None, oracle: Any = None,
                  min_grad_norm: str | None = None, every_step_scan: bool = True, steps: int = 0) -> KernelChoice:
    """The path that advances the run (see :func:`precond_theory.run`, argument ``kernel``).

    ``"reference"``: ``rule._step``.  ``"numba"``: compiled segments (every step compiled,
    :mod:`precond_theory.fast._segments`), else a ValueError naming ``kernel`` with the reason.
    ``"numba-step"``: the compiled update with the loop in Python, else a ValueError.
    ``"auto"``: the first of segments, compiled update, reference that this run can take, with
    the reason for each one passed over.
    """
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}; got {kernel!r}")
    if kernel == "reference":
        return KernelChoice(None, None, "reference", None)
    try:
        from .. import fast
        compile_step = fast.compile_step
    except (ImportError, AttributeError) as exc:
        why = f"precond_theory.fast (the compiled steps) is not available: {exc}"
        if kernel != "auto":
            raise ValueError(f"kernel={kernel!r} needs precond_theory.fast (the compiled steps), which is not "
                             f"available: {exc}; use kernel='auto' or 'reference'") from None
        return KernelChoice(None, None, "reference", why)
    if kernel == "auto" and not (type(x) is np.ndarray and x.dtype in (np.float32, np.float64)):
        return KernelChoice(None, None, "reference", f"x is a {type(x).__module__}.{type(x).__name__} of dtype "
                            f"{getattr(x, 'dtype', '?')}; the compiled paths take NumPy float32/float64 arrays")
    seg_why = None
    if kernel in ("auto", "numba"):
        compile_segment = getattr(fast, "compile_segment", None)
        if compile_segment is None:
            seg = "this precond_theory.fast has no compiled segments"
        else:
            seg = compile_segment(rule, problem, oracle, x, min_grad_norm=min_grad_norm,
                                  every_step_scan=every_step_scan, steps=steps)
        if not isinstance(seg, str):
            return KernelChoice(None, seg, seg.name, None)
        if kernel == "numba":
            raise ValueError(f"kernel='numba' compiles every step (segments between record points), which this run "
                             f"cannot: {seg}; use kernel='numba-step' (compiled update, loop in Python) or 'auto'")
        seg_why = f"no compiled segment: {seg}"
    step = compile_step(rule, x, state, kernel="auto")
    if step is None:
        reason = getattr(fast, "not_covered_reason", lambda r, z: None)(rule, x) or "no compiled step"
        if kernel == "numba-step":
            raise ValueError(f"kernel='numba-step': no compiled step for rule {rule.name!r} on this input: {reason}; "
                             "use kernel='auto'")
        return KernelChoice(None, None, "reference", "; ".join(filter(None, [seg_why, f"no compiled step: {reason}"])))
    return KernelChoice(step, None, getattr(step, "name", "numba-step"), seg_why)

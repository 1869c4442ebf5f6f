"""``run``: the one stepping loop of the project."""

from __future__ import annotations

import functools
import importlib.metadata
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ._checks import check_int
from ._loop.core import iterate
from ._loop.health import DIVERGED, Health
from ._loop.memory import check_memory, estimate_bytes
from ._loop.record import Recorder
from ._loop.setup import (KERNELS, apply_projection, batch_shape_of, check_feasible, per_run_seeds, select_kernel,
                          state_arrays_per_run)
from ._xp import Rng, asarray, check_seeds, errstate, namespace_name, to_numpy
from .oracles import Exact
from .problems.base import AbstractProblem
from .rules.base import AbstractRule, hp
from .trace import DivergenceWarning, Trace, ZeroDivisionNaNWarning

__all__ = ["run", "record_steps"]

Array = Any
BUILTIN_METRICS = ("f", "f_gap", "grad_norm_sq", "min_grad_norm_sq", "dist_sq", "precond_min", "precond_max",
                   "precond_spread", "loss_sum", "regret")
MIN_GRAD_NORM = ("every_step", "record_points", "off")
DIVERGENCE_SCANS = ("every_step", "record_points")


def record_steps(record: Any, steps: int) -> np.ndarray:
    """Sorted unique steps in ``[0, steps]`` at which metrics are recorded.

    ``"log"``: 0, 1, ..., 10 and about 20 log-spaced points per decade after that, plus
    ``steps``; ``"all"``: every step; an int k: every k-th step plus ``steps``; a sequence:
    exactly those steps (each must lie in ``[0, steps]``).
    """
    if isinstance(record, str):
        if record == "all":
            return np.arange(steps + 1)
        if record == "log":
            n_log = max(2, int(np.ceil(20 * np.log10(max(steps, 10)))))
            pts = np.unique(np.concatenate([np.arange(min(steps, 10) + 1),
                                            np.round(np.geomspace(10, max(steps, 10), n_log)).astype(int), [steps]]))
            return pts[pts <= steps]
        raise ValueError(f"record must be 'log', 'all', a positive int or a list of steps; got {record!r}")
    if isinstance(record, (int, np.integer)) and not isinstance(record, bool):
        every = check_int("record", record, 1)
        return np.unique(np.concatenate([np.arange(0, steps + 1, every), [steps]]))
    if isinstance(record, Sequence) or isinstance(record, np.ndarray):
        pts = np.unique(np.asarray(record, dtype=np.int64))
        if pts.size == 0 or pts[0] < 0 or pts[-1] > steps:
            raise ValueError(f"record steps must be a non-empty list within [0, steps={steps}]; got {list(record)!r}")
        return pts
    raise ValueError(f"record must be 'log', 'all', a positive int or a list of steps; got {record!r}")


def _itemsize(dtype: Any) -> int:
    try:
        return int(np.dtype(dtype).itemsize)
    except TypeError:  # e.g. array_api_strict dtypes: use their name
        return int(np.dtype(str(dtype).split(".")[-1].strip("'>")).itemsize)


def _versions() -> dict[str, str]:
    """Installed versions for ``meta["versions"]`` (read once per process: parsing package
    metadata costs milliseconds, a noticeable share of a short run)."""
    return dict(_versions_once())


@functools.cache
def _versions_once() -> tuple[tuple[str, str], ...]:
    out = {}
    for pkg in ("precond-theory", "numpy", "scipy", "array-api-compat"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            pass
    return tuple(out.items())


def run(
    rule: AbstractRule,
    problem: AbstractProblem,
    *,
    steps: int,
    x0: Any = None,
    batch: int | tuple[int, ...] = (),
    oracle: Any = None,
    record: Any = "log",
    seed: Any = 0,
    metrics: Mapping[str, Callable[..., Array]] | None = None,
    keep_iterates: bool = False,
    project: bool | None = None,
    min_grad_norm: str | None = None,
    divergence: str = "every_step",
    kernel: str = "auto",
    progress: Callable[[int, int], Any] | None = None,
) -> Trace:
    r"""Run ``rule`` on ``problem`` for ``steps`` updates, batched, and record metrics.

    Parameters
    ----------
    rule : AbstractRule
        Any rule or wrapped rule.  Array-valued hyperparameters of shape ``(*batch, 1)`` set
        (part of) the batch.
    problem : AbstractProblem
    steps : int
        Number of updates.
    x0 : array-like, shape ``(n,)`` or ``(*batch, n)``, optional
        Start of every run (broadcast to the batch; only the oracle streams then differ).
        Default: each run starts at ``problem.sample_x0(seed of the run)``, a draw from the
        problem's start distribution (an isotropic Gaussian around ``problem.default_x0()``,
        or exactly the default start for problems whose start is part of the construction:
        see :meth:`~precond_theory.problems.base.AbstractProblem.sample_x0`).
    batch : int or tuple of int
        Extra batch shape (e.g. replicate runs); broadcast with the batch shapes of the rule's
        hyperparameters, of ``x0``, of a batched problem and of an array ``seed``.
    oracle : object with ``sample(problem, y, k, rng, need_value)``, optional
        Default: exact values and gradients.
    record : "log" | "all" | int | list of int
        Steps at which metrics are recorded (see :func:`record_steps`).
    seed : int or integer array
        Seeds of the runs: an int s gives the runs of the batch the seeds s, s+1, ...,
        s + n_runs - 1 in C order; an integer array (broadcast with the batch shape) gives
        each run its own.  A run's seed keys its start (``x0=None``) and its oracle noise
        (:class:`precond_theory._xp.Rng`), so run i of a batch equals the single run with
        seed i (bitwise on NumPy when the problem's arithmetic is the same per run; batched
        matrix products may differ in the last bits).  Recorded in ``meta["seeds"]``.
    metrics : dict name -> ``fn(x, state, rule, problem) -> (*batch,)``, optional
        Extra metrics evaluated at the record points (a scalar or one real value per run;
        anything else is a ValueError naming the metric at the first record point).
    keep_iterates : bool
        Also keep ``x_k`` at the record points (``Trace.iterates``).
    project : bool or None
        Problems with a feasible set (``problem.feasible_set``) are run with the Euclidean
        projection onto it (``rules.with_projection``) unless ``project=False``; ``True`` or
        ``False`` on a problem without a feasible set is a ValueError.  Recorded in
        ``meta["projection"]``.
    min_grad_norm : "every_step" | "record_points" | "off", optional
        How ``min_grad_norm_sq`` is kept (offline problems; default "every_step").
        "every_step": the minimum of :math:`\|\nabla f(x_t)\|^2` over every t <= k — it needs
        the exact gradient at :math:`x_t` every step, free when the oracle is exact and the
        rule queries at x (the oracle's gradient is reused), one extra gradient evaluation
        per step otherwise.  "record_points": the minimum over the record points only (no
        per-step cost).  "off": not recorded.
    divergence : "every_step" | "record_points"
        "every_step" (default) scans x_k for non-finite entries every step (one pass over x):
        ``diverged`` holds the exact step, and NaN from 0/0 at an exactly zero gradient is
        told apart (status "zero_division").  "record_points" defers the scan to record
        points (NaN and inf propagate, so a divergence is not missed): ``diverged`` is then the
        first record point at which the run was non-finite, and 0/0 is not told apart.
    kernel : "auto" | "reference" | "numba" | "numba-step"
        What advances the run (:mod:`precond_theory.fast`, NumPy float32/float64 only):
        "reference" is the rule's array-API ``_step`` with the loop in Python (what CuPy and
        every other namespace use); "numba-step" a compiled update of the rule, loop in Python;
        "numba" compiled segments: every step between two record points (gradient, update,
        running minimum, divergence scan) in one compiled call, for a compiled rule that
        queries at x, the exact oracle and a quadratic (``problems.make_quadratic``).  "numba"
        and "numba-step" are a ValueError saying why when the run cannot take them; "auto"
        takes the first of segments, compiled update, reference that it can.  Recorded in
        ``meta["kernel"]`` ("numba-segment", "numba-step" or "reference") and, why a faster
        path was passed over, in ``meta["kernel_fallback"]`` (None when none was).
    progress : callable ``progress(k, steps)``, optional
        Called at every record point (and once at the end), e.g. to drive a progress bar.

    Returns
    -------
    Trace

    Notes
    -----
    This is the project's only stepping loop (:mod:`precond_theory._loop`).  Per step it
    evaluates the oracle at ``y = rule.query(x, state)`` (with the loss when
    ``rule.needs_value`` and an HVP callable when ``rule.needs_hvp``) and applies the update;
    the running minimum of the gradient norm and the divergence scan cost what
    ``min_grad_norm`` and ``divergence`` say.  f and the gradient norm are evaluated at record
    points (and at step 0).  Nothing is copied to the host until the loop ends: metrics go
    into preallocated buffers.  A run is flagged as diverged (``Trace.diverged``,
    ``Trace.status``) when x_k, f(x_k) or the gradient norm is non-finite, or when its gap
    blows up (:mod:`precond_theory._loop.health`); it keeps its values and does not affect the
    others; a :class:`DivergenceWarning` reports how many diverged.  A gap below f* by more
    than round-off is a ValueError naming f*.  The memory a run needs is estimated before
    anything is allocated, and a run that cannot fit is refused with the estimate.  For
    online problems the loss :math:`f_k(x_k)` is accumulated every step and
    ``regret`` = loss_sum - ``problem.comparator_loss(T)`` is recorded at T = k (a float, or
    a host array of the batch shape for a batched online problem).
    """
    if not isinstance(rule, AbstractRule):
        raise TypeError(f"rule must be a precond_theory rule (see rules.available()); got {type(rule).__name__}")
    if not isinstance(problem, AbstractProblem):
        raise TypeError(f"problem must be a precond_theory problem (see problems.available()); got {type(problem).__name__}")
    steps = check_int("steps", steps, 0)
    xp, dtype, n = problem.xp, problem.dtype, problem.dim
    oracle = Exact() if oracle is None else oracle
    if not callable(getattr(oracle, "sample", None)):
        raise TypeError(f"oracle must have a sample(problem, y, k, rng, need_value) method; got {type(oracle).__name__}")
    if isinstance(batch, bool):
        raise TypeError(f"batch must be an int or a tuple of ints; got {batch!r}")
    batch = (batch,) if isinstance(batch, (int, np.integer)) else tuple(batch)
    for b in batch:
        check_int("batch entry", b, 1)
    if not isinstance(keep_iterates, bool):
        raise TypeError(f"keep_iterates must be True or False; got {keep_iterates!r}")
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be a callable progress(k, steps) or None; got {progress!r}")
    online = bool(problem.online)
    if min_grad_norm is not None and online:
        raise ValueError(f"min_grad_norm={min_grad_norm!r} has no effect: problem {problem.name!r} is online "
                         "(no gradient-norm metrics are recorded)")
    mgn = None if online else ("every_step" if min_grad_norm is None else min_grad_norm)
    if mgn not in (None, *MIN_GRAD_NORM):
        raise ValueError(f"min_grad_norm must be one of {MIN_GRAD_NORM}; got {min_grad_norm!r}")
    if divergence not in DIVERGENCE_SCANS:
        raise ValueError(f"divergence must be one of {DIVERGENCE_SCANS}; got {divergence!r}")
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}; got {kernel!r}")
    extra = dict(metrics or {})
    for name, fn in extra.items():
        if not isinstance(name, str) or not callable(fn):
            raise TypeError(f"metrics must map names to callables fn(x, state, rule, problem); got {name!r}: {fn!r}")
    clash = sorted(set(extra) & set(BUILTIN_METRICS))
    if clash:
        raise ValueError(f"extra metric names {clash} clash with built-in metrics {list(BUILTIN_METRICS)}")
    run_rule, projection = apply_projection(rule, problem, project)

    if x0 is not None:
        try:
            x0 = asarray(x0, xp, dtype)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"x0 must be an array of numbers of shape (*batch, {n}); got {type(x0).__name__}: {exc}") \
                from None
        if len(x0.shape) == 0 or x0.shape[-1] != n:
            raise ValueError(f"x0 must have shape (*batch, {n}) for problem {problem.name!r} (dim={n}); "
                             f"got {tuple(x0.shape)}")
    seed_shape = tuple(check_seeds("seed", seed).shape)
    batch_shape = batch_shape_of(batch, run_rule, None if x0 is None else tuple(x0.shape[:-1]), problem, seed_shape)
    rec = record_steps(record, steps)
    n_runs = int(np.prod(batch_shape, dtype=np.int64))
    n_metrics = 8 + len(extra) + (3 if run_rule.has_preconditioner else 0)
    estimate = estimate_bytes(n_runs=n_runs, n=n, itemsize=_itemsize(dtype),
                              state_arrays=state_arrays_per_run(run_rule, xp, dtype, n), n_records=len(rec),
                              n_metrics=n_metrics, keep_iterates=keep_iterates)
    check_memory(estimate, xp)
    seeds = per_run_seeds(seed, batch_shape)
    if x0 is None:
        x = problem.sample_x0(seeds) * 1  # a private copy: a compiled step updates x in place
        start = "sample_x0 (fixed start of the problem)" if problem.fixed_start else "sample_x0"
    else:
        x = xp.broadcast_to(x0, (*batch_shape, n)) * 1  # materialised private copy; inputs are never mutated
        start = "given"
    if projection["projected"] and projection["feasible_set"] is not None:
        check_feasible(problem, x, xp)
    rng = Rng(seeds, xp, dtype)
    x_star = None if problem.x_star is None else asarray(problem.x_star, xp, dtype)
    f_star = problem.f_star
    if f_star is not None and not isinstance(f_star, (int, float)):
        f_star = asarray(f_star, xp, dtype)

    state = run_rule.init(x)
    lr = hp(run_rule.lr, x, xp)
    choice = select_kernel(kernel, run_rule, x, state, problem=problem, oracle=oracle, min_grad_norm=mgn,
                           every_step_scan=divergence == "every_step", steps=steps)
    recorder = Recorder(xp, rec, batch_shape, rule=run_rule, problem=problem, extra=extra,
                        keep_iterates=keep_iterates, f_star=f_star, x_star=x_star, min_grad_norm=mgn)
    health = Health(xp, batch_shape, dtype, f_star=None if online else f_star, every_step=divergence == "every_step",
                    problem_name=problem.name)
    calls = {"grad": 0, "value": 0, "hvp": 0}
    extra_calls = {"grad": 0, "value": 0}
    handover = {"x": x, "state": state}  # the loop takes both out: then it alone holds them (see iterate)
    del x, state
    with errstate(xp):
        x, state, n_done = iterate(
            rule=run_rule, problem=problem, oracle=oracle, handover=handover, lr=lr, rng=rng, steps=steps, rec=rec,
            recorder=recorder, health=health, min_grad_norm=mgn, every_step_scan=divergence == "every_step",
            compiled=choice.step, progress=progress, batch_shape=batch_shape, calls=calls, extra_calls=extra_calls,
            segment=choice.segment)

    host, iterates = recorder.finish(n_done)
    status, status_step = health.finish()
    status, status_step = status.reshape(batch_shape), status_step.reshape(batch_shape)
    diverged = np.where(np.isin(status, DIVERGED), status_step, -1).reshape(batch_shape)
    n_div = int(np.sum(diverged >= 0))
    if n_div:
        first = int(diverged[diverged >= 0].min())
        kinds = sorted(set(status[diverged >= 0].reshape(-1).tolist()))
        warnings.warn(f"{n_div} of {diverged.size} runs of {run_rule.name!r} on {problem.name!r} diverged "
                      f"({', '.join(kinds)}; first at step {first}); see Trace.diverged and Trace.status",
                      DivergenceWarning, stacklevel=2)
    n_zero = int(np.sum(status == "zero_division"))
    if n_zero:
        warnings.warn(f"{n_zero} of {status.size} runs of {run_rule.name!r} on {problem.name!r} produced NaN from 0/0 "
                      f"at an exactly zero gradient (first at step {int(status_step[status == 'zero_division'].min())};"
                      " eps = 0 at a stationary point?); see Trace.status", ZeroDivisionNaNWarning, stacklevel=2)
    meta = {
        "rule": run_rule.name, "fidelity": run_rule.fidelity, "reference": run_rule.reference,
        "hyperparameters": run_rule.hyperparameters(), "problem": problem.describe(),
        "oracle": {"name": getattr(oracle, "name", type(oracle).__name__), "params": dict(getattr(oracle, "params", {}))},
        "seed": seed if isinstance(seed, (int, np.integer)) else np.asarray(seed).tolist(),
        "seeds": seeds, "x0": start, "projection": projection,
        "steps": steps, "batch_shape": batch_shape, "backend": namespace_name(xp),
        "dtype": str(dtype), "oracle_calls": calls, "extra_evaluations": extra_calls,
        "min_grad_norm": mgn, "divergence": divergence, "kernel": choice.name,
        "kernel_fallback": choice.fallback,
        "memory_estimate_bytes": estimate["total"], "versions": _versions(),
    }
    return Trace(
        steps=rec, metrics=host, diverged=diverged, meta=meta, x_final=to_numpy(x), iterates=iterates,
        status=status, status_step=status_step,
    )

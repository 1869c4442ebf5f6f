"""``run``: the one stepping loop of the project."""

from __future__ import annotations

import importlib.metadata
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ._checks import check_int
from ._xp import Rng, asarray, errstate, namespace_name, to_numpy
from .oracles import Exact
from .problems.base import AbstractProblem
from .rules.base import AbstractRule, hp
from .trace import DivergenceWarning, Trace

__all__ = ["run", "record_steps"]

Array = Any
BUILTIN_METRICS = ("f", "f_gap", "grad_norm_sq", "min_grad_norm_sq", "dist_sq", "precond_min", "precond_max",
                   "precond_spread", "loss_sum", "regret")


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


def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("precond-theory", "numpy", "scipy", "array-api-compat"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def run(
    rule: AbstractRule,
    problem: AbstractProblem,
    *,
    steps: int,
    x0: Any = None,
    batch: int | tuple[int, ...] = (),
    oracle: Any = None,
    record: Any = "log",
    seed: int = 0,
    metrics: Mapping[str, Callable[..., Array]] | None = None,
    keep_iterates: bool = False,
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
        Start (default ``problem.default_x0()``), broadcast to the batch.
    batch : int or tuple of int
        Extra batch shape (e.g. seeds); broadcast with the batch shapes of the rule's
        hyperparameters, of ``x0`` and of a batched problem.
    oracle : object with ``sample(problem, y, k, rng, need_value)``, optional
        Default: exact values and gradients.
    record : "log" | "all" | int | list of int
        Steps at which metrics are recorded (see :func:`record_steps`).
    seed : int
        Seed of the oracle's random numbers.
    metrics : dict name -> ``fn(x, state, rule, problem) -> (*batch,)``, optional
        Extra metrics evaluated at the record points.
    keep_iterates : bool
        Also keep ``x_k`` at the record points (``Trace.iterates``).

    Returns
    -------
    Trace

    Notes
    -----
    This is the project's only stepping loop.  Per step it evaluates the oracle at
    ``y = rule.query(x, state)`` (with the loss when ``rule.needs_value`` and an HVP callable
    when ``rule.needs_hvp``), applies ``x <- x + dx`` and updates, on the device, the running
    minimum of :math:`\|\nabla f(x_k)\|^2` (exact gradient; reused from the oracle when it is
    exact and ``y is x``) and each run's divergence step (first k with a non-finite entry of
    x_k).  Nothing is copied to the host until the loop ends.  A diverged run keeps its NaNs
    and does not affect the others; a :class:`DivergenceWarning` reports how many diverged.
    For online problems the loss :math:`f_k(x_k)` is accumulated every step and
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
    batch = (batch,) if isinstance(batch, (int, np.integer)) else tuple(batch)
    for b in batch:
        check_int("batch entry", b, 1)

    x0 = problem.default_x0() if x0 is None else asarray(x0, xp, dtype)
    if len(x0.shape) == 0 or x0.shape[-1] != n:
        raise ValueError(f"x0 must have shape (*batch, {n}) for problem {problem.name!r} (dim={n}); got {tuple(x0.shape)}")
    try:
        batch_shape = tuple(np.broadcast_shapes(batch, rule.batch_shape(), tuple(x0.shape[:-1]), problem.batch_shape))
    except ValueError:
        raise ValueError(
            f"batch shapes do not broadcast: batch={batch}, rule hyperparameters {rule.batch_shape()}, "
            f"x0 {tuple(x0.shape[:-1])}, problem {problem.batch_shape}"
        ) from None
    x = xp.broadcast_to(x0, (*batch_shape, n)) * 1  # materialised copy; inputs are never mutated
    rec = record_steps(record, steps)
    rec_set = set(int(s) for s in rec)
    rng = Rng(seed, xp, dtype)
    extra = dict(metrics or {})
    clash = sorted(set(extra) & set(BUILTIN_METRICS))
    if clash:
        raise ValueError(f"extra metric names {clash} clash with built-in metrics {list(BUILTIN_METRICS)}")

    online = bool(problem.online)
    exact = isinstance(oracle, Exact)
    need_value = bool(rule.needs_value)
    x_star = None if problem.x_star is None else asarray(problem.x_star, xp, dtype)
    f_star = problem.f_star
    if f_star is not None and not isinstance(f_star, (int, float)):
        f_star = asarray(f_star, xp, dtype)

    def grad_at(z: Array, k: int) -> Array:
        return problem.grad(z, k) if online else problem.grad(z)

    def value_at(z: Array, k: int) -> Array:
        return problem.value(z, k) if online else problem.value(z)

    state = rule.init(x)
    lr = hp(rule.lr, x, xp)
    recorded: dict[str, list[Array]] = {}
    iterates: list[Array] = []
    div = xp.full(batch_shape, -1, dtype=xp.int64)
    running_min = None
    loss_sum = xp.zeros(batch_shape, dtype=dtype)
    calls = {"grad": 0, "value": 0, "hvp": 0}

    def put(name: str, v: Array) -> None:
        recorded.setdefault(name, []).append(v)

    with errstate(xp):
        for k in range(steps + 1):
            last = k == steps
            finite = xp.all(xp.isfinite(x), axis=-1)
            div = xp.where((div < 0) & ~finite, xp.asarray(k, dtype=xp.int64), div)
            g = value = y = None
            if not last:
                y = rule.query(x, state)
                value, g = oracle.sample(problem, y, k, rng, need_value)
                calls["grad"] += 1
                calls["value"] += int(value is not None)
            if online:
                fx = value_at(x, k)
                calls["value"] += 1
            gx = None
            if not online:
                gx = g if (g is not None and exact and y is x) else grad_at(x, k)
                gn = xp.sum(gx * gx, axis=-1)
                running_min = gn if running_min is None else xp.where(gn < running_min, gn, running_min)
            if k in rec_set:
                if online:
                    put("loss_sum", loss_sum)
                    put("regret", loss_sum - asarray(problem.comparator_loss(k), xp, dtype) if k > 0 else loss_sum)
                else:
                    fx = value_at(x, k)
                    put("f", fx)
                    if f_star is not None:
                        put("f_gap", fx - f_star)
                    put("grad_norm_sq", gn)
                    put("min_grad_norm_sq", running_min)
                if x_star is not None:
                    r = x - x_star
                    put("dist_sq", xp.sum(r * r, axis=-1))
                if rule.has_preconditioner:
                    _record_preconditioner(put, rule, state, x, xp, k)
                for name, fn in extra.items():
                    put(name, xp.broadcast_to(asarray(fn(x, state, rule, problem), xp), batch_shape))
                if keep_iterates:
                    iterates.append(x)
            if last:
                break
            if online:
                loss_sum = loss_sum + fx
            hvp = None
            if rule.needs_hvp:
                def hvp(v, _y=y, _k=k):
                    calls["hvp"] += 1
                    return problem.hvp(_y, v, _k) if online else problem.hvp(_y, v)
            if k == 0:
                if tuple(g.shape) != tuple(x.shape):
                    raise ValueError(f"problem {problem.name!r} returned a gradient of shape {tuple(g.shape)} "
                                     f"for x of shape {tuple(x.shape)}")
                rule.check_inputs(g, state, x, value=value, hvp=hvp)
            dx, state = rule._step(xp, g, state, x, lr=lr, value=value, hvp=hvp)
            x = x + dx

    host = {name: np.stack([to_numpy(v) for v in vals]) for name, vals in recorded.items()}
    diverged = np.asarray(to_numpy(div)).reshape(batch_shape)
    n_div = int(np.sum(diverged >= 0))
    if n_div:
        warnings.warn(f"{n_div} of {diverged.size} runs of {rule.name!r} on {problem.name!r} diverged "
                      f"(non-finite iterate; first at step {int(diverged[diverged >= 0].min())}); see Trace.diverged",
                      DivergenceWarning, stacklevel=2)
    meta = {
        "rule": rule.name, "fidelity": rule.fidelity, "reference": rule.reference,
        "hyperparameters": rule.hyperparameters(), "problem": problem.describe(),
        "oracle": {"name": getattr(oracle, "name", type(oracle).__name__), "params": dict(getattr(oracle, "params", {}))},
        "seed": seed, "steps": steps, "batch_shape": batch_shape, "backend": namespace_name(xp),
        "dtype": str(dtype), "oracle_calls": calls, "versions": _versions(),
    }
    return Trace(
        steps=rec, metrics=host, diverged=diverged, meta=meta, x_final=to_numpy(x),
        iterates=np.stack([to_numpy(v) for v in iterates]) if keep_iterates else None,
    )


def _record_preconditioner(put: Callable[[str, Array], None], rule: AbstractRule, state: Any, x: Array, xp: Any,
                           k: int) -> None:
    """min, max and spread (max/min) of diag P_k per run; NaN before the first update."""
    if k == 0:
        nan = xp.full(tuple(x.shape[:-1]), float("nan"), dtype=x.dtype)
        for name in ("precond_min", "precond_max", "precond_spread"):
            put(name, nan)
        return
    p = xp.broadcast_to(rule.preconditioner(state), x.shape)
    pmin, pmax = xp.min(p, axis=-1), xp.max(p, axis=-1)
    put("precond_min", pmin)
    put("precond_max", pmax)
    put("precond_spread", pmax / pmin)

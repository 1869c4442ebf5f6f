"""Condition numbers along a run: the metrics= mapping of precond_theory.run."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from .._checks import check_choice
from .._xp import array_namespace, asarray
from ._shared import Array, ConvergenceWarning
from .dense import _eig_report
from .matrix_free import extreme_eigenvalues

# ==================================================================================== tracking
TRACKING_METRICS = ("kappa_H", "kappa_PHP")


def tracking_metrics(rule: Any, problem: Any = None, *, names: tuple[str, ...] = TRACKING_METRICS,
                     prefix: str = "", method: Literal["dense", "lanczos"] = "dense",
                     rtol: float | None = None) -> dict[str, Callable[..., Array]]:
    r"""``metrics=`` mapping for :func:`precond_theory.run` that tracks conditioning along a run.

    Parameters
    ----------
    rule : AbstractRule
        A rule with ``has_preconditioner`` (AdaGrad, RMSProp, Adam, ..., or a wrapper of one).
    problem : AbstractProblem, optional
        If given, checked to provide ``hessian`` (dense) or ``hvp`` (lanczos).
    names : tuple of str
        Subset of ``("kappa_H", "kappa_PHP")``.
    prefix : str
        Prepended to every metric name (to keep names unique in a merged table).
    method : {"dense", "lanczos"}
        ``"dense"``: batched ``eigvalsh`` of ``problem.hessian(x)`` (small n).  ``"lanczos"``:
        :func:`extreme_eigenvalues` from ``problem.hvp`` per run of the batch (large n).

    Returns
    -------
    dict of str -> callable ``fn(x, state, rule, problem) -> array (*batch,)``
        ``kappa_H``: :math:`\kappa(\nabla^2 f(x_k))`; ``kappa_PHP``:
        :math:`\kappa(P_k^{1/2}\nabla^2 f(x_k)P_k^{1/2})` with :math:`P_k` =
        ``diag(rule.preconditioner(state))``.  The spread :math:`\max_i p_i/\min_i p_i` of
        :math:`P_k` is recorded by :func:`precond_theory.run` itself (``precond_spread``).

    Raises
    ------
    ValueError
        ``rule`` has no preconditioner (``rule.has_preconditioner`` is False), or an unknown name.

    Notes
    -----
    Cut-offs as in :func:`spectrum` (``inf`` for singular or indefinite matrices).  Before the
    first update (``state.k == 0``) the preconditioner is not yet defined by gradient data
    (Adam's is :math:`1/\epsilon`), so ``kappa_PHP`` is ``nan`` there, as
    :func:`precond_theory.run` does for ``precond_spread``.  A run whose iterate is non-finite
    gets ``nan``.  The Hessian and both spectra are computed once per record point and shared
    by the metrics.  A :math:`P_k` with a zero entry gives ``kappa_PHP = inf``.
    """
    if not getattr(rule, "has_preconditioner", False):
        raise ValueError(f"rule {getattr(rule, 'name', type(rule).__name__)!r} has no preconditioner "
                         "(has_preconditioner is False); conditioning tracking needs a rule whose "
                         "preconditioner(state) returns diag P_k (e.g. adagrad, rmsprop, adam)")
    check_choice("method", method, ("dense", "lanczos"))
    for nm in names:
        check_choice("names entry", nm, TRACKING_METRICS)
    if problem is not None and method == "dense" and not callable(getattr(problem, "hessian", None)):
        raise ValueError(f"problem {getattr(problem, 'name', '?')!r} has no hessian(x); use method='lanczos'")
    cache: dict[str, Any] = {}

    def compute(x: Array, state: Any, rule_: Any, problem_: Any) -> dict[str, Array]:
        if cache.get("x") is x and cache.get("state") is state:
            return cache["val"]
        xp = array_namespace(x)
        batch = tuple(x.shape[:-1])
        k = getattr(state, "k", 1)
        p = rule_.preconditioner(state)
        p = xp.broadcast_to(xp.astype(asarray(p, xp), x.dtype), x.shape)
        nan = xp.full(batch, math.nan, dtype=x.dtype)
        val: dict[str, Array] = {}
        if method == "dense":
            H = xp.broadcast_to(problem_.hessian(x), (*batch, x.shape[-1], x.shape[-1]))
            val["kappa_H"] = _eig_report(xp, H, rtol, guard_nonfinite=True).kappa
            if "kappa_PHP" in names:
                pos = xp.all(p > 0, axis=-1)
                s = xp.sqrt(xp.where(p > 0, p, xp.zeros_like(p)))
                kP = _eig_report(xp, s[..., :, None] * H * s[..., None, :], rtol, guard_nonfinite=True).kappa
                val["kappa_PHP"] = xp.where(pos, kP, xp.full_like(kP, math.inf))
        else:
            val.update(_lanczos_track(x, p, problem_, names, rtol))
        if k == 0:
            val["kappa_PHP"] = nan
        cache.update(x=x, state=state, val=val)
        return val

    def metric(name: str) -> Callable[..., Array]:
        def fn(x: Array, state: Any, rule_: Any, problem_: Any) -> Array:
            return compute(x, state, rule_, problem_)[name]
        fn.__name__ = prefix + name
        return fn

    return {prefix + nm: metric(nm) for nm in names}


def _lanczos_track(x: Array, p: Array, problem: Any, names: tuple[str, ...], rtol: float | None) -> dict[str, Array]:
    """Per-run matrix-free kappa(H) and kappa(P^1/2 H P^1/2) (host loop over the batch)."""
    xp = array_namespace(x)
    batch = tuple(x.shape[:-1])
    n = x.shape[-1]
    xf = xp.reshape(x, (-1, n))
    pf = xp.reshape(p, (-1, n))
    kH, kP = [], []
    for i in range(xf.shape[0]):
        xi = xf[i, ...]
        if not bool(xp.all(xp.isfinite(xi))):
            kH.append(math.nan)
            kP.append(math.nan)
            continue

        def hv(v, _x=xi):
            return problem.hvp(_x, v)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            kH.append(extreme_eigenvalues(hv, n, xp=xp, dtype=x.dtype, rtol=rtol, check_symmetry=False).kappa)
            if "kappa_PHP" in names:
                pi = pf[i, ...]
                kP.append(extreme_eigenvalues(hv, n, p=pi, rtol=rtol, check_symmetry=False).kappa
                          if bool(xp.all(pi > 0)) else math.inf)
    out = {"kappa_H": xp.reshape(asarray(np.asarray(kH), xp, x.dtype), batch)}
    if "kappa_PHP" in names:
        out["kappa_PHP"] = xp.reshape(asarray(np.asarray(kP), xp, x.dtype), batch)
    return out



"""Instances a claim runs on: its setup (problem, oracle, rule per horizon), built through the
public registries, with a hook for other instances (worst-case families, adversarial search)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .claims import Claim, Setup, evaluate_expression

__all__ = ["Instance", "setup_instance", "build_problem", "build_oracle", "problem_env", "oracle_env",
           "preconditioner_env", "setup_rule_factory"]


@dataclass(frozen=True)
class Instance:
    """A problem (+ oracle, start) on which a claim is run; ``name`` says where it came from
    (``"setup"``, ``"worst_case:<family>"``, ``"adversarial:<search>"``)."""

    problem: Any
    oracle: Any = None
    x0: Any = None
    name: str = "setup"


def _factory(module: Any, name: str, what: str) -> Callable[..., Any]:
    make = getattr(module, "make", None)
    if callable(make):
        return lambda **kw: make(name, **kw)
    fn = getattr(module, f"make_{name}", None)
    if callable(fn):
        return fn
    known = sorted(n[5:] for n in dir(module) if n.startswith("make_"))
    raise ValueError(f"unknown {what} {name!r}; available: {', '.join(known)}")


def make_quartic(dim: int = 1, *, radius: float = 1.0) -> Any:
    r"""Convex, not strongly convex: :math:`f(x) = \sum_i x_i^4/4` from :math:`x_0 = r(1, \dots, 1)`.

    ``mu = 0`` (the Hessian vanishes at the minimum x⋆ = 0) and ``L = 3 r^2``, the smoothness
    constant on the sublevel set of x₀ (gradient descent with lr <= 1/L stays in it).  Gradient
    descent is sublinear: :math:`x_{k+1} = x_k - \gamma x_k^3` gives
    :math:`x_k \sim 1/\sqrt{2\gamma k}` and :math:`f \sim 1/(16\gamma^2 k^2)`."""
    import numpy as np

    from .._checks import check_int, check_range
    from ..problems import from_functions

    dim = check_int("dim", dim, 1)
    check_range("radius", radius, 0.0, lo_open=True)
    return from_functions(value=lambda x: (x * x * x * x).sum(axis=-1) / 4, grad=lambda x: x * x * x,
                          hvp=lambda x, v: 3 * x * x * v, dim=dim, x_star=np.zeros(dim), f_star=0.0,
                          L=3.0 * radius**2, mu=0.0, x0=np.full(dim, float(radius)), name="quartic")


#: Instances defined here (by name, for claim setups), next to the problem registry's.
INSTANCES: dict[str, Callable[..., Any]] = {"quartic": make_quartic}


def build_problem(spec: dict[str, Any]) -> Any:
    """``{"name": ..., **params}`` -> a problem of :data:`INSTANCES` or :mod:`precond_theory.problems`."""
    from .. import problems

    params = {k: v for k, v in spec.items() if k != "name"}
    if spec["name"] in INSTANCES:
        return INSTANCES[spec["name"]](**params)
    return _factory(problems, spec["name"], "problem")(**params)


def build_oracle(spec: dict[str, Any] | None) -> Any:
    """``{"name": ..., **params}`` -> an oracle (None: exact gradients)."""
    if not spec:
        return None
    from .. import oracles

    params = {k: v for k, v in spec.items() if k != "name"}
    return _factory(oracles, spec["name"], "oracle")(**params)


def _float(v: Any) -> float | None:
    import numpy as np

    if v is None:
        return None
    a = np.asarray(v, dtype=float)
    return float(a) if a.ndim == 0 else None


def problem_env(problem: Any) -> dict[str, Any]:
    """The constants expressions and explicit bounds may use: ``L``, ``mu``, ``kappa``, ``dim``, and
    for online problems on a box, ``D_inf`` (its l-infinity diameter) and, for Reddi et al.'s
    problems, ``G_inf`` (the largest |gradient|, ``scale * max(C, 1)``)."""
    L, mu = _float(getattr(problem, "L", None)), _float(getattr(problem, "mu", None))
    env = {"L": L, "mu": mu, "kappa": (L / mu) if (L is not None and mu) else None,
           "dim": getattr(problem, "dim", None)}
    fs = getattr(problem, "feasible_set", None)
    if getattr(problem, "online", False) and fs is not None and fs.kind == "box":
        import numpy as np

        env["D_inf"] = float(np.max(np.asarray(fs.hi, dtype=float) - np.asarray(fs.lo, dtype=float)))
        C, scale = _float(getattr(problem, "C", None)), _float(getattr(problem, "scale", None))
        if C is not None and scale is not None and hasattr(problem, "coefficient"):
            env["G_inf"] = scale * max(C, 1.0)
    return env


def oracle_env(oracle: Any, problem: Any) -> dict[str, Any]:
    r"""``sigma``: the square root of the oracle's :math:`\mathbb E\|g - \nabla f\|^2` (0 for exact
    gradients; Gaussian oracles only: other laws' variance depends on the point)."""
    import math

    if oracle is None:
        return {"sigma": 0.0}
    params = getattr(oracle, "params", {}) or {}
    if getattr(oracle, "name", "") == "gaussian" and "variance" in params:
        v = float(params["variance"])
        total = v if params.get("scope", "total") == "total" else v * int(getattr(problem, "dim", 1))
        return {"sigma": math.sqrt(total)}
    return {}


def preconditioner_env(problem: Any, params: dict[str, Any]) -> dict[str, Any]:
    """For a fixed preconditioner ``diag`` or ``matrix`` in ``params`` and a quadratic ``problem``:
    ``lam_min_M``, ``lam_max_M`` and ``kappa_M``, the extreme eigenvalues and condition number of
    :math:`M^{1/2} H M^{1/2}` (``conditioning.preconditioned_spectrum``); empty otherwise."""
    import numpy as np

    A = getattr(problem, "A", None)
    diag, matrix = params.get("diag"), params.get("matrix")
    if A is None or (diag is None and matrix is None) or isinstance(diag, str) or isinstance(matrix, str):
        return {}
    from ..conditioning import preconditioned_spectrum

    H = np.asarray(A, dtype=float)
    rep = (preconditioned_spectrum(H, np.asarray(diag, dtype=float)) if diag is not None
           else preconditioned_spectrum(H, M=np.asarray(matrix, dtype=float)))
    eigs = np.asarray(rep.eigs, dtype=float)
    lo, hi = float(eigs.min()), float(eigs.max())
    return {"lam_min_M": lo, "lam_max_M": hi, "kappa_M": hi / lo}


_CONSTANTS = ("L", "mu", "kappa", "dim", "T", "pi", "sigma", "D_inf", "G_inf", "lam_min_M", "lam_max_M", "kappa_M")


def _is_choice(v: str) -> bool:
    return v.replace("_", "").isalpha() and v not in _CONSTANTS


def setup_rule_factory(claim: Claim, problem: Any) -> Callable[[int | None], Any]:
    """``T -> rule`` of the claim's setup (expressions in the problem constants and T evaluated;
    schedule and, for online problems with a feasible set, projection applied)."""
    from .. import rules

    setup: Setup = claim.setup
    env = {**problem_env(problem), **preconditioner_env(problem, setup.rule_params)}

    def make(T: int | None) -> Any:
        e = dict(env, T=T)
        hp = {k: (evaluate_expression(v, e) if isinstance(v, str) and not _is_choice(v) else v)
              for k, v in setup.rule_params.items()}
        rule = rules.make(setup.rule, **hp)
        if setup.schedule:
            rule = rules.with_schedule(rule, setup.schedule)
        fs = getattr(problem, "feasible_set", None)
        if fs is not None:  # online problems on a bounded set: projected runs, as their theorems assume
            rule = rules.with_projection(rule, **fs.projection_kwargs())
        return rule

    return make


def setup_instance(claim: Claim) -> Instance:
    """The claim's own setup as an :class:`Instance`."""
    setup = claim.setup
    if setup is None:
        raise ValueError(f"claim {claim.name or '(unnamed)'} has no setup: pass rule= and problem=")
    problem = build_problem(setup.problem)
    x0 = None
    if setup.start_offset is not None:
        if getattr(problem, "x_star", None) is None:
            raise ValueError(f"setup.start_offset needs a problem with a known x_star; {problem.name!r} has none")
        x0 = problem.x_star + float(setup.start_offset)
    return Instance(problem, build_oracle(setup.oracle), x0, "setup")

"""Instances a claim runs on: its setup (problem, oracle, rule per horizon), built through the
public registries, with a hook for other instances (worst-case families, adversarial search)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .claims import Claim, Setup, evaluate_expression

__all__ = ["Instance", "setup_instance", "build_problem", "build_oracle", "problem_env", "setup_rule_factory"]


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
    """The constants expressions may use: ``L``, ``mu``, ``kappa``, ``dim``."""
    L, mu = _float(getattr(problem, "L", None)), _float(getattr(problem, "mu", None))
    return {"L": L, "mu": mu, "kappa": (L / mu) if (L is not None and mu) else None,
            "dim": getattr(problem, "dim", None)}


def _is_choice(v: str) -> bool:
    return v.replace("_", "").isalpha() and v not in ("L", "mu", "kappa", "dim", "T", "pi")


def setup_rule_factory(claim: Claim, problem: Any) -> Callable[[int | None], Any]:
    """``T -> rule`` of the claim's setup (expressions in the problem constants and T evaluated;
    schedule and, for online problems with a feasible set, projection applied)."""
    from .. import rules

    setup: Setup = claim.setup
    env = problem_env(problem)

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

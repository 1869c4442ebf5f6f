r"""Tight worst cases of fixed-step first-order methods by performance estimation (PEPit).

A performance estimation problem (PEP) asks for the largest value of a performance measure
(``f(x_N) - f*``, ``||x_N - x*||^2``, ``min_i ||grad f(x_i)||^2``, ...) that a method can reach after
``N`` steps on *any* function of a class (L-smooth convex, L-smooth μ-strongly convex, L-smooth
nonconvex, quadratic) from a start satisfying an initial condition (``||x0 - x*||^2 <= R^2``, ...).
Drori & Teboulle [1] and Taylor, Hendrickx & Glineur [2] showed that it is a small semidefinite
program whose optimal value is the *exact* worst case; PEPit [3] writes it down.  This module
states the methods of the project's catalog once (the same iteration as
:mod:`precond_theory.rules` with ``x_{-1} = x_0``) and returns :class:`PepResult` records.

PEPit, CVXPY and an open-source SDP solver (Clarabel; SCS as a fallback) are the optional
extra ``pep``: ``pip install "precond-theory[pep]"``.  :func:`available` says whether they are
installed; every entry point raises :class:`PepUnavailableError` naming the extra otherwise.

References
----------
.. [1] Y. Drori, M. Teboulle, "Performance of first-order methods for smooth convex minimization:
       a novel approach", Math. Program. 145:451-482, 2014, arXiv:1206.3209.
.. [2] A. Taylor, J. Hendrickx, F. Glineur, "Smooth strongly convex interpolation and exact
       worst-case performance of first-order methods", Math. Program. 161:307-345, 2017,
       arXiv:1502.05666 (interpolation conditions, Theorems 4 and 3.10).
.. [3] B. Goujaud, C. Moucer, F. Glineur, J. Hendrickx, A. Taylor, A. Dieuleveut, "PEPit:
       computer-assisted worst-case analyses of first-order optimization methods in Python",
       Math. Program. Comput. 16:337-367, 2024, arXiv:2201.04040.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import check_choice, check_int, check_range

__all__ = [
    "PepUnavailableError", "PepResult", "available", "missing_reason", "solver_name", "worst_case", "from_rule",
    "iterate", "solve", "PepRow", "compare", "COMPARED_CLAIMS",
    "METHODS", "FUNCTION_CLASSES", "PERFORMANCES", "INITIALS", "EXTRA_HINT",
]

EXTRA_HINT = 'pip install "precond-theory[pep]"'
METHODS = ("gd", "heavy_ball", "nesterov", "ogm")
FUNCTION_CLASSES = ("convex", "quadratic", "nonconvex")
PERFORMANCES = ("f_gap", "dist_sq", "grad_norm_sq", "min_grad_norm_sq")
INITIALS = ("dist_sq", "f_gap", "lyapunov", "f0_minus_fN")
#: SDP solvers tried in this order (Clarabel: interior point, about 1e-9 accurate; SCS needs eps=1e-9)
_SOLVERS = ("CLARABEL", "MOSEK", "SCS")
_SOLVER_OPTIONS = {"SCS": {"eps": 1e-9, "max_iters": 100_000}}
_METHOD_PARAMS = {"gd": ("lr", "h"), "heavy_ball": ("lr", "momentum"), "nesterov": ("lr", "schedule", "momentum", "a"),
                  "ogm": ()}


class PepUnavailableError(ImportError):
    """PEPit, CVXPY or an SDP solver is missing (install the extra ``pep``)."""


def missing_reason() -> str | None:
    """None when PEPit, CVXPY and an SDP solver are installed, else what is missing."""
    for mod in ("PEPit", "cvxpy"):
        if importlib.util.find_spec(mod) is None:
            return f"{mod} is not installed"
    import cvxpy

    if not set(_SOLVERS) & set(cvxpy.installed_solvers()):
        return f"no SDP solver for CVXPY is installed (need one of {list(_SOLVERS)})"
    return None


def available() -> bool:
    """True when performance estimation can run (PEPit, CVXPY and an SDP solver installed)."""
    return missing_reason() is None


def _require() -> None:
    reason = missing_reason()
    if reason is not None:
        raise PepUnavailableError(f"performance estimation needs the optional extra 'pep' ({reason}): {EXTRA_HINT}")


def solver_name() -> str:
    """The SDP solver that :func:`worst_case` uses (first installed of Clarabel, MOSEK, SCS)."""
    _require()
    import cvxpy

    installed = set(cvxpy.installed_solvers())
    return next(s for s in _SOLVERS if s in installed)


@dataclass(frozen=True)
class PepResult:
    """Exact worst case of a method after ``N`` steps, from performance estimation.

    Attributes
    ----------
    value : float
        Certified worst case (PEPit's dual value: an upper bound, tight up to the solver's
        accuracy): ``performance <= value`` over the class when ``initial <= R**2``.
    primal : float
        Value of the worst-case example the solver found (a lower bound; ``value - primal`` is
        the duality gap).
    method, params, N, L, mu, function_class, performance, initial, R
        What was asked (``params``: the method's resolved parameters, e.g. ``{"lr": 1/L}``).
    solver, status : str
        SDP solver and its status (``"optimal"``; ``"optimal_inaccurate"`` is kept and reported).
    data : dict
        The worst-case example: ``x`` (points where the oracle was called, rows), ``g``
        (gradients), ``f`` (values), ``iterates`` (indices into the rows of x_0, ..., x_N),
        ``x_star`` / ``f_star`` (None for the nonconvex class).  Coordinates are in the span of
        the example (dimension = rank of the Gram matrix).  See
        :func:`precond_theory.verify.worst_case.pep_instance`.
    """

    value: float
    primal: float
    method: str
    params: dict
    N: int
    L: float
    mu: float
    function_class: str
    performance: str
    initial: str
    R: float
    solver: str
    status: str
    data: dict = field(default_factory=dict, repr=False)

    @property
    def measure(self) -> str:
        """The guarantee in words, e.g. ``f(x_N) - f* <= value when ||x0 - x*||^2 <= R^2``."""
        return f"{_PERF_TEXT[self.performance]} <= {self.value:.6g} when {_INIT_TEXT[self.initial]} <= {self.R**2:g}"


_PERF_TEXT = {"f_gap": "f(x_N) - f*", "dist_sq": "||x_N - x*||^2", "grad_norm_sq": "||grad f(x_N)||^2",
              "min_grad_norm_sq": "min_{0<=i<=N} ||grad f(x_i)||^2"}
_INIT_TEXT = {"dist_sq": "||x0 - x*||^2", "f_gap": "f(x0) - f*", "lyapunov": "f(x0) - f* + mu/2 ||x0 - x*||^2",
              "f0_minus_fN": "f(x0) - f(x_N)"}


# ------------------------------------------------------------------------------------ iterations
def _resolve_params(method: str, L: float, params: Mapping[str, Any]) -> dict[str, Any]:
    """The method's parameters with defaults filled in, validated (TypeError/ValueError naming them)."""
    check_choice("method", method, METHODS)
    unknown = sorted(set(params) - set(_METHOD_PARAMS[method]))
    if unknown:
        raise TypeError(f"method {method!r} has no parameter(s) {unknown}; its parameters are "
                        f"{list(_METHOD_PARAMS[method]) or 'none (step 1/L is fixed)'}")
    p = dict(params)
    if method == "gd":
        if "lr" in p and "h" in p:
            raise ValueError("give the step of 'gd' as lr (absolute) or h (lr = h/L), not both")
        lr = p["lr"] if "lr" in p else p.get("h", 1.0) / L
        check_range("lr", lr, 0.0, lo_open=True)
        return {"lr": float(lr)}
    if method == "heavy_ball":
        missing = [k for k in ("lr", "momentum") if k not in p]
        if missing:
            raise TypeError(f"method 'heavy_ball' needs {missing} (x_(k+1) = x_k - lr grad f(x_k) + momentum (x_k - x_(k-1)))")
        check_range("lr", p["lr"], 0.0, lo_open=True)
        check_range("momentum", p["momentum"], 0.0, 1.0, hi_open=True)
        return {"lr": float(p["lr"]), "momentum": float(p["momentum"])}
    if method == "nesterov":
        schedule = p.get("schedule", "convex")
        check_choice("schedule", schedule, ("convex", "fista", "constant"))
        out: dict[str, Any] = {"lr": float(p.get("lr", 1.0 / L)), "schedule": schedule}
        check_range("lr", out["lr"], 0.0, lo_open=True)
        if schedule == "constant":
            if "momentum" not in p:
                raise TypeError("nesterov with schedule='constant' needs momentum")
            check_range("momentum", p["momentum"], 0.0, 1.0, hi_open=True)
            out["momentum"] = float(p["momentum"])
        elif "momentum" in p:
            raise ValueError(f"momentum is read only by schedule='constant'; got schedule={schedule!r}")
        if schedule == "convex":
            out["a"] = float(p.get("a", 3.0))
            check_range("a", out["a"], 0.0, lo_open=True)
        elif "a" in p:
            raise ValueError(f"a is read only by schedule='convex'; got schedule={schedule!r}")
        return out
    return {}


def iterate(method: str, params: Mapping[str, Any], grad: Callable[[Any], Any], x0: Any, N: int, L: float,
            x_prev: Any = None) -> tuple[list[Any], Any]:
    r"""Run ``N`` steps of ``method`` on abstract points (PEPit points or arrays).

    Returns ``(iterates, output)``: the iterates :math:`x_0, \dots, x_N` whose gradients
    ``min_grad_norm_sq`` measures, and the output point (``x_N``; ``y_N`` for OGM).  The
    iterations are those of :mod:`precond_theory.rules` (``sgd``, ``heavy_ball``, ``nesterov``)
    with :math:`x_{-1} = x_0` unless ``x_prev`` is given; OGM is Kim & Fessler's (2016).
    """
    from ..rules.first_order import _momentum_coefficient

    xs = [x0]
    x, xm = x0, (x0 if x_prev is None else x_prev)
    if method == "gd":
        for _ in range(N):
            x = x - params["lr"] * grad(x)
            xs.append(x)
        return xs, x
    if method == "heavy_ball":
        for _ in range(N):
            x, xm = x - params["lr"] * grad(x) + params["momentum"] * (x - xm), x
            xs.append(x)
        return xs, x
    if method == "nesterov":
        t = 1.0
        for k in range(N):
            if params["schedule"] == "constant":
                alpha = params["momentum"]
            else:
                alpha, t = _momentum_coefficient(params["schedule"], k, t, params.get("a", 3.0))
            y = x + alpha * (x - xm) if alpha != 0 else x
            x, xm = y - params["lr"] * grad(y), x
            xs.append(x)
        return xs, x
    # OGM: Kim & Fessler, Math. Program. 159, 2016, eq. (7.2)-(7.3); step 1/L
    theta, y, xn = 1.0, x0, x0
    ys = [x0]
    for i in range(N):
        xo, xn = xn, y - grad(y) / L
        th_old = theta
        theta = (1 + math.sqrt((4 if i < N - 1 else 8) * theta**2 + 1)) / 2
        y = xn + (th_old - 1) / theta * (xn - xo) + th_old / theta * (xn - y)
        ys.append(y)
    return ys, y


# ---------------------------------------------------------------------------------- worst case
def _check_class(function_class: str, L: float, mu: float, performance: str, initial: str) -> None:
    check_choice("function_class", function_class, FUNCTION_CLASSES)
    check_range("L", L, 0.0, lo_open=True)
    check_choice("performance", performance, PERFORMANCES)
    check_choice("initial", initial, INITIALS)
    if function_class == "nonconvex":
        if mu != 0:
            raise ValueError(f"mu is not used by function_class='nonconvex' (L-smooth functions); got mu={mu}")
        if performance in ("f_gap", "dist_sq") or initial in ("dist_sq", "f_gap", "lyapunov"):
            raise ValueError("function_class='nonconvex' has no minimiser in the PEP: use performance "
                             "'grad_norm_sq' or 'min_grad_norm_sq' with initial 'f0_minus_fN'; "
                             f"got performance={performance!r}, initial={initial!r}")
    else:
        check_range("mu", mu, 0.0, L, hi_open=True)


def _declare(problem: Any, function_class: str, L: float, mu: float) -> Any:
    from PEPit import functions as F

    if function_class == "nonconvex":
        return problem.declare_function(F.SmoothFunction, L=L)
    if function_class == "quadratic":
        return problem.declare_function(F.SmoothStronglyConvexQuadraticFunction, mu=mu, L=L)
    if mu == 0:
        return problem.declare_function(F.SmoothConvexFunction, L=L)
    return problem.declare_function(F.SmoothStronglyConvexFunction, mu=mu, L=L)


def solve(problem: Any) -> tuple[float, float, str, str]:
    """Solve a PEPit problem: ``(dual, primal, solver, status)``.

    The preferred SDP solver (:func:`solver_name`) first; when it fails (CVXPY ``SolverError``,
    e.g. Clarabel's "insufficient progress" on an SDP without interior) the next installed one
    of Clarabel, MOSEK, SCS.  CVXPY's "inaccurate" warnings are caught: the status reports them.
    """
    import cvxpy

    _require()
    installed = set(cvxpy.installed_solvers())
    names = [s for s in _SOLVERS if s in installed]
    errors = []
    for name in names:
        try:
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter("ignore")  # CVXPY/PEPit warnings and prints: the status reports accuracy
                dual = problem.solve(wrapper="cvxpy", solver=name, verbose=0, **_SOLVER_OPTIONS.get(name, {}))
        except cvxpy.error.SolverError as exc:
            errors.append(f"{name}: {exc}")
            continue
        status = str(problem.wrapper.prob.status)
        primal = problem.wrapper.prob.value
        return (float("nan") if dual is None else float(dual), float("nan") if primal is None else float(primal),
                str(problem.wrapper.solver_name), status)
    raise RuntimeError("every installed SDP solver failed on this PEP: " + "; ".join(errors))


def worst_case(method: str, *, N: int, L: float = 1.0, mu: float = 0.0, R: float = 1.0, performance: str = "f_gap",
               initial: str = "dist_sq", function_class: str = "convex", **params: Any) -> PepResult:
    r"""Exact worst case of ``method`` after ``N`` steps over a function class (PEP).

    Parameters
    ----------
    method : {"gd", "heavy_ball", "nesterov", "ogm"}
        ``gd``: :math:`x_{k+1} = x_k - \gamma\nabla f(x_k)`, step ``lr`` or ``h`` (γ = h/L,
        default h = 1).  ``heavy_ball``: ``lr``, ``momentum`` (both required),
        :math:`x_{-1}=x_0`.  ``nesterov``: the rule ``nesterov`` (``lr`` default 1/L,
        ``schedule`` "convex" (``a``, default 3) | "fista" | "constant" (``momentum``)).
        ``ogm``: Kim & Fessler's optimized gradient method (step 1/L, no parameters).
    N : int
        Number of steps (>= 1).
    L, mu : float
        Smoothness and strong convexity (``0 <= mu < L``; ``mu = 0`` for the nonconvex class).
    R : float
        Initial condition ``initial <= R**2`` (PEP values scale with ``R**2``).
    performance : {"f_gap", "dist_sq", "grad_norm_sq", "min_grad_norm_sq"}
        ``f(out) - f*``, ``||out - x*||^2``, ``||grad f(out)||^2``, or the minimum of
        ``||grad f(x_i)||^2`` over the iterates ``x_0 .. x_N`` (``out`` = x_N; y_N for OGM).
    initial : {"dist_sq", "f_gap", "lyapunov", "f0_minus_fN"}
        ``||x0 - x*||^2``, ``f(x0) - f*``, ``f(x0) - f* + mu/2 ||x0 - x*||^2`` or ``f(x0) - f(x_N)``.
    function_class : {"convex", "quadratic", "nonconvex"}
        L-smooth μ-strongly convex (convex when μ = 0); convex quadratics with spectrum in
        [μ, L]; L-smooth (nonconvex: only gradient measures with ``initial="f0_minus_fN"``).
    **params
        The method's parameters (above); unknown names raise TypeError.

    Returns
    -------
    PepResult

    Examples
    --------
    >>> worst_case("gd", N=4, L=3.0).value        # Drori & Teboulle: L R^2 / (4N + 2)  # doctest: +SKIP
    0.16666666...
    """
    _require()
    N = check_int("N", N, 1)
    L, mu = float(L), float(mu)
    _check_class(function_class, L, mu, performance, initial)
    check_range("R", R, 0.0, lo_open=True)
    p = _resolve_params(method, L, params)
    from PEPit import PEP

    problem = PEP()
    func = _declare(problem, function_class, L, mu)
    convex = function_class != "nonconvex"
    xs = fs = None
    if convex:
        xs = func.stationary_point()
        fs = func(xs)
    x0 = problem.set_initial_point()
    its, out = iterate(method, p, func.gradient, x0, N, L)
    if performance == "min_grad_norm_sq":
        for x in its:
            problem.set_performance_metric(func.gradient(x) ** 2)
    else:
        problem.set_performance_metric({"f_gap": lambda: func(out) - fs, "dist_sq": lambda: (out - xs) ** 2,
                                        "grad_norm_sq": lambda: func.gradient(out) ** 2}[performance]())
    init = {"dist_sq": lambda: (x0 - xs) ** 2, "f_gap": lambda: func(x0) - fs,
            "lyapunov": lambda: func(x0) - fs + mu / 2 * (x0 - xs) ** 2,
            "f0_minus_fN": lambda: func(x0) - func(out)}[initial]()
    problem.set_initial_condition(init <= R**2)
    dual, primal, solver, status = solve(problem)
    data = _example(func, its, xs, fs) if status.startswith("optimal") else {}
    return PepResult(value=dual, primal=primal, method=method, params=p, N=N, L=L, mu=mu,
                     function_class=function_class, performance=performance, initial=initial, R=float(R),
                     solver=solver, status=status, data=data)


def _example(func: Any, iterates: list[Any], xs: Any, fs: Any) -> dict[str, Any]:
    """Worst-case example in its own span: oracle points, gradients, values, iterate indices."""
    trip = func.list_of_points
    X = np.array([np.asarray(t[0].eval(), dtype=float) for t in trip])
    G = np.array([np.asarray(t[1].eval(), dtype=float) for t in trip])
    Fv = np.array([float(t[2].eval()) for t in trip])
    # coordinates in the span of the points and gradients (rank of the Gram matrix)
    u, s, vt = np.linalg.svd(np.vstack([X, G]), full_matrices=False)
    keep = s > 1e-9 * max(float(s[0]) if s.size else 0.0, 1e-300)
    basis = vt[keep].T if np.any(keep) else vt[:1].T
    X, G = X @ basis, G @ basis
    index = {id(t[0]): i for i, t in enumerate(trip)}
    it_rows = [index.get(id(p)) for p in iterates]
    it_x = np.array([np.asarray(p.eval(), dtype=float) @ basis for p in iterates])
    out: dict[str, Any] = {"x": X, "g": G, "f": Fv, "iterates": it_rows, "iterate_points": it_x}
    if xs is not None:
        out["x_star"] = np.asarray(xs.eval(), dtype=float) @ basis
        out["f_star"] = float(fs.eval())
    else:
        out["x_star"], out["f_star"] = None, None
    return out


def from_rule(rule: Any, L: float) -> tuple[str, dict[str, Any]]:
    """``(method, params)`` of :func:`worst_case` for a fixed-step rule of the project.

    ``sgd`` (no momentum, no weight decay, no Nesterov) -> ``gd``; ``sgd`` with momentum and
    dampening 0, or ``heavy_ball`` -> ``heavy_ball``; ``nesterov`` -> ``nesterov``.  Other rules,
    wrapped rules (schedules, projections) and array-valued hyperparameters raise ValueError:
    performance estimation here covers fixed-step methods only.
    """
    from ..rules.base import AbstractRule

    if not isinstance(rule, AbstractRule):
        raise TypeError(f"rule must be a precond_theory rule; got {type(rule).__name__}")
    hp = rule.hyperparameters()
    for k, v in hp.items():
        if not isinstance(v, (int, float, str, bool)):
            raise ValueError(f"performance estimation needs scalar hyperparameters; {rule.name}.{k} = {v!r}")
    name = rule.name
    if name == "sgd":
        if hp["wd"] != 0 or hp["nesterov"]:
            raise ValueError("performance estimation covers sgd without weight decay and without nesterov=True")
        if hp["momentum"] == 0:
            return "gd", {"lr": float(hp["lr"])}
        if hp["dampening"] != 0:
            raise ValueError("sgd with momentum is heavy ball only with dampening=0")
        return "heavy_ball", {"lr": float(hp["lr"]), "momentum": float(hp["momentum"])}
    if name == "heavy_ball":
        return "heavy_ball", {"lr": float(hp["lr"]), "momentum": float(hp["momentum"])}
    if name == "nesterov":
        p: dict[str, Any] = {"lr": float(hp["lr"]), "schedule": hp["schedule"]}
        if hp["schedule"] == "constant":
            p["momentum"] = float(hp["momentum"])
        if hp["schedule"] == "convex":
            p["a"] = float(hp["a"])
        return "nesterov", p
    raise ValueError(f"performance estimation covers the fixed-step rules sgd, heavy_ball and nesterov; got {name!r}")


# ---------------------------------------------------------------------- catalog side by side
@dataclass(frozen=True)
class PepRow:
    """One line of :func:`compare`: a claim's quantity after N steps, three ways.

    ``theory``: the bound of :mod:`precond_theory.theory` for the claim's rule (None when the
    claim states an order without constants); ``pep``: the exact worst case over the class;
    ``empirical``: the worst ratio that the adversarial search found with runs of the rule
    (a lower bound of ``pep``); all for ``initial <= 1``.
    """

    claim: str
    function_class: str
    quantity: str
    N: int
    theory: float | None
    pep: float
    empirical: float | None
    note: str = ""


def _spec_table() -> dict[str, dict[str, Any]]:
    from .. import theory as th

    def conv(perf: str, init: str, bound: Any, cls: Any = ("convex",), mu: str = "0", note: str = "") -> dict:
        return {"performance": perf, "initial": init, "bound": bound, "classes": cls, "mu": mu, "note": note}

    return {
        "gd_convex": conv("f_gap", "dist_sq", lambda c: th.gd_convex_bound(c["L"], 1.0, c["N"])),
        "gd_convex_tight": conv("f_gap", "dist_sq", lambda c: th.gd_convex_tight_bound(c["L"], 1.0, c["N"], lr=c["lr"])),
        "gd_quadratic_linear": conv("dist_sq", "dist_sq", lambda c: th.gd_quadratic_rate(c["mu"], c["L"], c["lr"])
                                    ** (2 * c["N"]), ("quadratic", "convex"), "1/kappa"),
        "heavy_ball_quadratic": conv("dist_sq", "dist_sq", lambda c: th.heavy_ball_quadratic_rate(c["mu"], c["L"])
                                     ** (2 * c["N"]), ("quadratic", "convex"), "1/kappa",
                                     "theory: rho^(2N), asymptotic (the O(k rho^k) constant is not stated)"),
        "nesterov_convex": conv("f_gap", "dist_sq", lambda c: th.nesterov_convex_bound(c["L"], 1.0, c["N"])),
        "nesterov_strongly_convex": conv("f_gap", "lyapunov", lambda c: th.nesterov_strongly_convex_bound(
            c["mu"], c["L"], 1.0, 0.0, c["N"]), mu="1/kappa"),
        "nesterov_min_grad": conv("min_grad_norm_sq", "dist_sq", None, note="theory: O(1/k^3), no constant stated"),
        "sgd_nonconvex": conv("min_grad_norm_sq", "f0_minus_fN", lambda c: th.sgd_nonconvex_bound(
            c["N"], c["L"], 1.0, 0.0, lr=c["lr"]), ("nonconvex",),
            note="deterministic part (sigma = 0); theory's telescoping also bounds by f(x0) - f(x_N)"),
    }


#: catalog claims about fixed-step methods that :func:`compare` covers
COMPARED_CLAIMS = ("gd_convex", "gd_convex_tight", "gd_quadratic_linear", "heavy_ball_quadratic", "nesterov_convex",
                   "nesterov_strongly_convex", "nesterov_min_grad", "sgd_nonconvex")
_QUANTITY = {("f_gap", "dist_sq"): "(f(x_N) - f*) / ||x0 - x*||^2",
             ("dist_sq", "dist_sq"): "||x_N - x*||^2 / ||x0 - x*||^2",
             ("f_gap", "lyapunov"): "(f(x_N) - f*) / (f(x0) - f* + mu/2 ||x0 - x*||^2)",
             ("min_grad_norm_sq", "dist_sq"): "min_i ||grad f(x_i)||^2 / ||x0 - x*||^2",
             ("min_grad_norm_sq", "f0_minus_fN"): "min_i ||grad f(x_i)||^2 / (f(x0) - f(x_N))"}


def compare(claim_name: str, *, N: Any = None, L: float = 1.0, empirical: bool = True, budget: int = 3000,
            seed: int = 0) -> list[PepRow]:
    """Theory bound, exact PEP worst case and empirical worst, side by side, for a catalog claim.

    Parameters
    ----------
    claim_name : str
        One of :data:`COMPARED_CLAIMS` (claims about fixed-step methods); LookupError otherwise.
    N : int or sequence of int, optional
        Horizons (default 1, 2, 4, 8).
    L : float
        Smoothness; μ is 0 or 1/κ with κ of the claim's setup problem, as the claim's class needs.
    empirical : bool
        Also run the adversarial search (:func:`~precond_theory.verify.adversarial.pep_objective`,
        ``budget`` evaluations, seeded) with the claim's rule.

    The rule and its hyperparameters are the claim's setup (expressions evaluated at these L, μ,
    κ and T = N); the PEP is run for that rule (:func:`from_rule`).
    """
    from ..claims import evaluate_expression, get_claim
    from ..rules import make

    specs = _spec_table()
    if claim_name not in specs:
        raise LookupError(f"no performance-estimation comparison for claim {claim_name!r}; supported claims "
                          f"(fixed-step methods): {', '.join(COMPARED_CLAIMS)}")
    _require()
    spec, claim = specs[claim_name], get_claim(claim_name)
    horizons = (1, 2, 4, 8) if N is None else ((N,) if isinstance(N, (int, np.integer)) else tuple(N))
    horizons = tuple(check_int("N", n, 1) for n in horizons)
    if not horizons:
        raise ValueError("N must be a positive integer or a non-empty sequence of them")
    check_range("L", L, 0.0, lo_open=True)
    kappa = float(claim.setup.problem.get("kappa", 1.0)) if claim.setup else 1.0
    mu = L / kappa if spec["mu"] == "1/kappa" else 0.0
    rows = []
    for n in horizons:
        env = {"L": float(L), "mu": mu, "kappa": kappa, "T": n, "dim": 1}
        hp = {k: evaluate_expression(v, env) if isinstance(v, str) and not v.isalpha() else v
              for k, v in claim.setup.rule_params.items()}
        rule = make(claim.setup.rule, **hp)
        method, params = from_rule(rule, L)
        ctx = {"L": float(L), "mu": mu, "N": n, "lr": params.get("lr")}
        bound = None if spec["bound"] is None else float(spec["bound"](ctx))
        for cls in spec["classes"]:
            r = worst_case(method, N=n, L=L, mu=mu if cls != "nonconvex" else 0.0, performance=spec["performance"],
                           initial=spec["initial"], function_class=cls, **params)
            emp = None
            if empirical:
                from .adversarial import pep_objective, search

                obj, space = pep_objective(rule, N=n, L=L, mu=r.mu, function_class=cls,
                                           performance=spec["performance"], initial=spec["initial"])
                emp = search(obj, space, budget=budget, population=min(300, budget), seed=seed).worst_ratio
            rows.append(PepRow(claim_name, cls if cls != "convex" or mu == 0 else "strongly convex",
                               _QUANTITY[(spec["performance"], spec["initial"])], n, bound, r.value, emp, spec["note"]))
    return rows

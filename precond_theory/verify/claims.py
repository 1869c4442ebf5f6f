r"""Convergence claims as data, and the catalog of classical and seed-paper claims.

A :class:`Claim` writes down what a theorem says about one recorded metric
(``metric ≈ C k^order (log k)^log_power`` or ``metric ≈ C rate^k``), whether it is an upper
bound, an exact rate or a limit, under which assumptions and from which source.  A catalog
claim also carries a :class:`Setup`: a controlled experiment (rule, problem, oracle, steps or
horizons, seeds) on which the claim can be checked by ``precond-theory check NAME``.

The catalog lives in ``precond_theory/data/claims.toml``; a user's claims use the same schema
(``precond-theory check --file my_claim.toml``), see ``docs/rates.md``.
"""

from __future__ import annotations

import ast
import math
import operator
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from .._checks import check_choice, check_int

__all__ = ["Claim", "Setup", "KNOWN_METRICS", "DECAYING_METRICS", "catalog", "get_claim", "load_claims",
           "claims_from_dict", "evaluate_expression"]

#: Metric names a claim may refer to (the metrics ``run`` records).
KNOWN_METRICS = ("f", "f_gap", "grad_norm_sq", "min_grad_norm_sq", "avg_grad_norm_sq", "dist_sq", "loss_sum",
                 "regret", "precond_min", "precond_max", "precond_spread")
#: Metrics that a converging method drives to 0.
DECAYING_METRICS = ("f_gap", "grad_norm_sq", "min_grad_norm_sq", "dist_sq")

KINDS = ("upper_bound", "rate", "limit")
SHAPES = ("power", "linear")
HORIZONS = ("trajectory", "per_horizon")
FIDELITIES = ("exact", "concordant", "recon", "template", "false")

_DATA = Path(__file__).parent.parent / "data" / "claims.toml"


@dataclass(frozen=True, kw_only=True)
class Setup:
    """A controlled experiment on which a claim is checked.

    Values in ``rule_params`` may be numbers or expressions (strings) in the problem constants
    ``L``, ``mu``, ``kappa``, ``dim``, the horizon ``T`` (per-horizon claims) and ``sqrt``,
    ``log``, ``exp``, ``pi`` (see :func:`evaluate_expression`), e.g. ``lr = "0.5/(L*sqrt(T))"``.
    ``problem`` and ``oracle`` are ``{"name": ..., **params}`` tables.  ``schedule`` wraps the rule
    with :func:`~precond_theory.rules.with_schedule` (e.g. ``"inverse_sqrt"`` for α_t = α/√t);
    ``start_offset`` c starts at ``x0 = x_star + c·(1, ..., 1)`` (default: the problem's own x0).
    """

    rule: str
    rule_params: dict[str, Any] = field(default_factory=dict)
    problem: dict[str, Any] = field(default_factory=dict)
    oracle: dict[str, Any] | None = None
    steps: int | None = None
    horizons: tuple[int, ...] | None = None
    seeds: int = 1
    schedule: str | None = None
    start_offset: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.rule, str) or not self.rule:
            raise TypeError(f"setup.rule must be a rule name (str); got {self.rule!r}")
        if "name" not in self.problem:
            raise ValueError(f"setup.problem must have a 'name' (e.g. 'quadratic'); got {self.problem!r}")
        if self.steps is not None:
            check_int("setup.steps", self.steps, 1)
        if self.horizons is not None:
            object.__setattr__(self, "horizons", _check_horizons(self.horizons, "setup.horizons"))
        check_int("setup.seeds", self.seeds, 1)


@dataclass(frozen=True, kw_only=True)
class Claim:
    r"""A convergence claim about one recorded metric.

    Parameters
    ----------
    metric : str
        One of :data:`KNOWN_METRICS` (``f_gap``, ``grad_norm_sq``, ``min_grad_norm_sq``,
        ``dist_sq``, ``regret``, ...); ``avg_grad_norm_sq`` is
        :math:`\frac1k\sum_{t<k}\|\nabla f(x_t)\|^2` per run, derived by the verifier from
        ``grad_norm_sq`` recorded at every step (Ghadimi and Lan's quantity: the expected squared
        gradient at a uniformly drawn iterate).
    order : float, optional
        Power ``p`` in ``metric ≈ C k^p (log k)^q`` (``shape="power"``; required then, except for
        ``kind="limit"``).  Regret claims have ``p = 0.5``.
    log_power : float
        ``q`` (0 unless the theorem has a log factor: ``log T/sqrt T`` is ``order=-0.5, log_power=1``).
    kind : {"upper_bound", "rate", "limit"}
        ``upper_bound``: metric ≤ C·shape (checked with an envelope test: metric/shape must not
        grow over the tail); ``rate``: metric ≍ C·shape (the fitted order must match);
        ``limit``: the metric tends to 0 (refuted by a plateau).
    shape : {"power", "linear"}
        ``linear``: ``metric ≈ C rate^k``.
    rate : float or str, optional
        Per-step factor of a linear claim (an expression in ``L``, ``mu``, ``kappa`` is allowed:
        ``"((kappa-1)/(kappa+1))**2"``); None for "linear at some rate < 1".
    horizon : {"trajectory", "per_horizon"}
        ``per_horizon``: the claim is about ``min_{t<=T}`` with a step that depends on T, so it is
        checked on separate runs, one per horizon T, not along one trajectory.
    margin : float, optional
        Tolerance of the verdict: in order units for power laws (default 0.1); relative to
        ``|log rate|`` for linear claims (default 0.05).
    bound : str, optional
        Name of a :mod:`precond_theory.theory` function giving the theorem's explicit bound, e.g.
        ``"gd_convex_bound"``; its arguments (``L``, ``mu``, ``dist0_sq``, ``f_gap0``, ``k``, and
        the rule's actual hyperparameters such as ``lr``) are filled from the run, and every
        record must lie below it.  With a bound, the bound decides the verdict.
    tight : bool
        The bound is attained on the setup's (worst-case) instance: decaying below it at the last
        record refutes the claim (two-sided).
    assumptions : tuple of str
        Names from :data:`precond_theory.verify.assumptions.ASSUMPTIONS`, measured on each run.
    mutants : tuple of str
        Names from :data:`precond_theory.verify.mutants.MUTANTS` that the check must reject
        (verdict ``violated``).
    outside : tuple of str
        Mutants that leave the theorem's assumptions: the check must answer ``inconclusive``
        naming the failed assumption (never ``consistent``, never ``violated``).
    insensitive : dict of str to str
        Mutants that the claim provably cannot tell apart from the rule, each with a one-line
        reason (e.g. ``{"lr_x0.5": "the theorem covers every step <= 1/L"}``): declared so that a
        reader of the power table sees what the verdict cannot detect; they are not run as
        rejections.
    paper, theorem, covers : str
        Attribution: the paper, the theorem (or equation), and the method the theorem actually
        covers (which may differ from the rule in the setup, e.g. AMSGrad vs Adam).
    source : str
        Free-text source (default: ``paper, theorem``).
    fidelity : {"exact", "concordant", "recon", "template", "false"}
        ``recon``: a reconstruction (paper not read); ``template``: a generic template applied to a
        method with no stated rate; ``false``: a known-false claim kept to be refuted.
    statement, name : str
    setup : Setup, optional
    """

    metric: str
    order: float | None = None
    log_power: float = 0.0
    kind: Literal["upper_bound", "rate", "limit"] = "upper_bound"
    shape: Literal["power", "linear"] = "power"
    rate: float | str | None = None
    horizon: Literal["trajectory", "per_horizon"] = "trajectory"
    margin: float | None = None
    bound: str | None = None
    tight: bool = False
    assumptions: tuple[str, ...] = ()
    mutants: tuple[str, ...] = ()
    outside: tuple[str, ...] = ()
    insensitive: dict[str, str] = field(default_factory=dict)
    paper: str = ""
    theorem: str = ""
    covers: str = ""
    source: str = ""
    fidelity: str = "exact"
    statement: str = ""
    name: str = ""
    setup: Setup | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.metric, str) or self.metric not in KNOWN_METRICS:
            raise ValueError(f"unknown metric {self.metric!r} in claim {self.name or '(unnamed)'}; "
                             f"known metrics: {', '.join(KNOWN_METRICS)}")
        check_choice("kind", self.kind, KINDS)
        check_choice("shape", self.shape, SHAPES)
        check_choice("horizon", self.horizon, HORIZONS)
        check_choice("fidelity", self.fidelity, FIDELITIES)
        for nm in ("order", "log_power", "margin"):
            v = getattr(self, nm)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)):
                raise TypeError(f"{nm} must be a finite number; got {nm}={v!r}")
        if self.shape == "power" and self.kind != "limit" and self.order is None:
            raise ValueError(f"a power-law {self.kind} claim needs order=<number> (e.g. -1.0 for O(1/k))")
        if self.shape == "linear" and self.order is not None:
            raise ValueError("a linear claim takes rate=<factor per step>, not order; got order="
                             f"{self.order!r}")
        if self.shape == "linear" and self.kind == "rate" and self.rate is None:
            raise ValueError("a linear 'rate' claim needs rate=<factor per step> (a number or an expression)")
        if isinstance(self.rate, (int, float)) and not isinstance(self.rate, bool) and not 0 < self.rate < 1:
            raise ValueError(f"rate must lie in (0, 1); got rate={self.rate!r}")
        if self.rate is not None and not isinstance(self.rate, (int, float, str)):
            raise TypeError(f"rate must be a number or an expression string; got {self.rate!r}")
        if self.margin is not None and self.margin <= 0:
            raise ValueError(f"margin must be > 0; got margin={self.margin!r}")
        if self.log_power and self.shape == "linear":
            raise ValueError("log_power applies to power-law claims only")
        if self.bound is not None:
            from .. import theory

            if not callable(getattr(theory, self.bound, None)):
                raise ValueError(f"bound {self.bound!r} is not a function of precond_theory.theory")
        from .assumptions import check_names as check_assumptions
        from .mutants import check_names as check_mutants

        where = f"claim {self.name or '(unnamed)'}"
        object.__setattr__(self, "assumptions", check_assumptions(self.assumptions, f"{where}: assumptions"))
        object.__setattr__(self, "mutants", check_mutants(self.mutants, f"{where}: mutants"))
        object.__setattr__(self, "outside", check_mutants(self.outside, f"{where}: outside"))
        if not isinstance(self.insensitive, dict):
            raise TypeError(f"{where}: insensitive must be a table of mutant = \"reason\"; got {self.insensitive!r}")
        check_mutants(tuple(self.insensitive), f"{where}: insensitive")
        for m, why in self.insensitive.items():
            if not isinstance(why, str) or not why.strip():
                raise ValueError(f"{where}: insensitive mutant {m!r} needs a one-line reason (a non-empty string); "
                                 f"got {why!r}")
        object.__setattr__(self, "insensitive", dict(self.insensitive))
        for a, b in (("mutants", "outside"), ("mutants", "insensitive"), ("outside", "insensitive")):
            both = sorted(set(getattr(self, a)) & set(getattr(self, b)))
            if both:
                raise ValueError(f"{where}: mutant(s) {both} listed both in {a} and in {b}")
        if not isinstance(self.tight, bool):
            raise TypeError(f"{where}: tight must be true or false; got {self.tight!r}")
        if self.tight and (self.bound is None or self.kind != "upper_bound"):
            raise ValueError(f"{where}: tight = true needs an upper_bound claim with an explicit bound")
        for nm in ("paper", "theorem", "covers", "source"):
            if not isinstance(getattr(self, nm), str):
                raise TypeError(f"{where}: {nm} must be a string; got {getattr(self, nm)!r}")
        if not self.source and (self.paper or self.theorem):
            object.__setattr__(self, "source", ", ".join(p for p in (self.paper, self.theorem) if p))

    @property
    def default_margin(self) -> float:
        """The verdict's tolerance (``margin`` or its default: 0.1 in order, 5% of |log rate|)."""
        if self.margin is not None:
            return float(self.margin)
        return 0.05 if self.shape == "linear" else 0.1

    @property
    def decaying(self) -> bool:
        """True when the claim says the metric tends to 0."""
        return self.kind == "limit" or self.shape == "linear" or (self.order is not None and self.order < 0)

    def law(self) -> str:
        """The claimed law in words, e.g. ``f_gap = O(k^-1)``."""
        if self.kind == "limit" and self.order is None:
            return f"{self.metric} -> 0"
        if self.shape == "linear":
            body = f"rho^k (rho = {self.rate})" if self.rate is not None else "rho^k, rho < 1"
        else:
            body = f"k^{self.order:g}" + (f" (log k)^{self.log_power:g}" if self.log_power else "")
        op = {"upper_bound": "O", "rate": "Theta", "limit": "->0 like"}[self.kind]
        return f"{self.metric} = {op}({body})"


def _check_horizons(horizons: Any, name: str = "horizons") -> tuple[int, ...]:
    if isinstance(horizons, (int, str)) or not hasattr(horizons, "__iter__"):
        raise TypeError(f"{name} must be a list of positive integers; got {horizons!r}")
    out = []
    for T in horizons:
        integral = isinstance(T, int) or (hasattr(T, "is_integer") and float(T).is_integer())
        if isinstance(T, bool) or not integral:
            raise TypeError(f"{name} must hold integers; got {T!r}")
        if int(T) <= 0:
            raise ValueError(f"{name} must be positive integers; got horizon {T!r}")
        out.append(int(T))
    if len(set(out)) < 3:
        raise ValueError(f"{name} needs at least 3 distinct horizons to fit an order; got {list(out)!r}")
    return tuple(sorted(set(out)))


# ------------------------------------------------------------------------------- expressions
_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Pow: operator.pow}
_FUNCS = {"sqrt": math.sqrt, "log": math.log, "exp": math.exp, "min": min, "max": max}


def evaluate_expression(expr: Any, env: dict[str, float]) -> float:
    """Evaluate a number or an arithmetic expression string in the names of ``env``.

    Only numbers, names of ``env``, ``+ - * / **``, unary minus and the functions ``sqrt``,
    ``log``, ``exp``, ``min``, ``max`` (and the constant ``pi``) are allowed.
    """
    if isinstance(expr, (int, float)) and not isinstance(expr, bool):
        return float(expr)
    if not isinstance(expr, str):
        raise TypeError(f"expected a number or an expression string; got {expr!r}")
    names = {"pi": math.pi, **env}

    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id not in names or names[node.id] is None:
                known = sorted(k for k, v in names.items() if v is not None)
                raise ValueError(f"expression {expr!r} uses {node.id!r}, which is not known here; known: {known}")
            return float(names[node.id])
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS
                and not node.keywords):
            return float(_FUNCS[node.func.id](*[ev(a) for a in node.args]))
        raise ValueError(f"expression {expr!r}: only numbers, {sorted(names)}, + - * / ** and "
                         f"{sorted(_FUNCS)} are allowed")

    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"expression {expr!r} is not valid arithmetic: {exc.msg}") from None
    return ev(tree)


# ------------------------------------------------------------------------------------ loading
_CLAIM_KEYS = {f.name for f in fields(Claim)}
_SETUP_KEYS = {f.name for f in fields(Setup)}


def _claim_from_table(name: str, table: Any, where: str) -> Claim:
    if not isinstance(table, dict):
        raise ValueError(f"{where}: claim {name!r} must be a table of fields; got {table!r}")
    unknown = sorted(set(table) - _CLAIM_KEYS)
    if unknown:
        raise ValueError(f"{where}: claim {name!r} has unknown field(s) {unknown}; allowed: {sorted(_CLAIM_KEYS)}")
    if "metric" not in table:
        raise ValueError(f"{where}: claim {name!r} has no 'metric'; known metrics: {', '.join(KNOWN_METRICS)}")
    kw = dict(table)
    kw.setdefault("name", name)
    for key in ("assumptions", "mutants", "outside"):
        if key in kw:
            a = kw[key]
            kw[key] = (a,) if isinstance(a, str) else tuple(a)
    if "setup" in kw:
        s = kw["setup"]
        if not isinstance(s, dict):
            raise ValueError(f"{where}: claim {name!r}: setup must be a table; got {s!r}")
        bad = sorted(set(s) - _SETUP_KEYS)
        if bad:
            raise ValueError(f"{where}: claim {name!r}: setup has unknown field(s) {bad}; "
                             f"allowed: {sorted(_SETUP_KEYS)}")
        s = dict(s)
        if "horizons" in s:
            s["horizons"] = tuple(s["horizons"])
        try:
            kw["setup"] = Setup(**s)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: claim {name!r}: {exc}") from None
    try:
        return Claim(**kw)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: claim {name!r}: {exc}") from None


def claims_from_dict(data: dict[str, Any], *, where: str = "claims", default_name: str = "claim") -> dict[str, Claim]:
    """Claims from parsed TOML: either one claim at top level (it has a ``metric`` key) or one
    table per claim, keyed by name."""
    if "metric" in data:
        name = str(data.get("name", default_name))
        return {name: _claim_from_table(name, data, where)}
    if not data:
        raise ValueError(f"{where}: no claims found (a claim is a table with at least 'metric' and 'order')")
    return {name: _claim_from_table(name, t, where) for name, t in data.items()}


def load_claims(path: str | Path) -> dict[str, Claim]:
    """Read claims from a TOML file; malformed files raise ``ValueError`` naming the file and problem."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ValueError(f"cannot read claim file {str(path)!r}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"claim file {str(path)!r} is not valid TOML: {exc}") from None
    return claims_from_dict(data, where=str(path), default_name=path.stem)


_CATALOG: dict[str, Claim] | None = None


def catalog() -> dict[str, Claim]:
    """The named claims: classical theorems, known-false claims to refute, and the seed papers'
    (stated or reconstructed) rates, each with a controlled setup where one is known."""
    global _CATALOG
    if _CATALOG is None:
        _CATALOG = load_claims(_DATA)
    return dict(_CATALOG)


def get_claim(name: str) -> Claim:
    """The catalog claim ``name``; unknown names raise listing the known ones."""
    cat = catalog()
    if name not in cat:
        raise ValueError(f"unknown claim {name!r}; catalog claims: {', '.join(sorted(cat))}")
    return cat[name]

r"""Symbolic twins of the update rules: the vector type, the ``Twin`` base class and registry.

A *twin* is a second, independent implementation of one registered rule, written in SymPy
from the equations of ``docs/spec/index.md`` (and the rule's docstring where the spec
leaves a choice open).  It never calls the numeric code.  Each twin works on short vectors of
SymPy expressions (:class:`V`, elementwise arithmetic; ``sum``/``max`` reduce over the vector,
which plays the role of the last axis), with the update index :math:`t = k+1` a SymPy integer
symbol, so one lambdified function serves every step.

Three comparisons run for every registered rule and every :class:`Case` of its twin
(:mod:`proofs_checks.twins.compare`):

1. **one step** from states the numeric rule reached after 0 and 3 random updates (the
   numeric state is read field by field, so the twin's state names are the rule's);
2. **k steps** on a diagonal quadratic, each side carrying its own state from ``init`` and
   querying its own point (lookahead rules), the twin's step lambdified once;
3. **composed k steps**: the twin's k-step map built symbolically for a fixed sequence of
   gradient and loss symbols, lambdified with common-subexpression elimination.

Tolerance: ``rtol = 1e-9``, ``atol = 1e-12`` (float64 round-off after a few steps is about
1e-15 relative; the margin covers the different order of operations, not modelling errors:
hyperparameters are drawn so that every term matters, e.g. ``eps`` in [1e-2, 0.2]).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import sympy as sp

__all__ = [
    "ATOL",
    "RTOL",
    "TWINS",
    "Case",
    "Params",
    "T",
    "Twin",
    "V",
    "coverage_problems",
    "get_twin",
    "ind_ge",
    "ind_gt",
    "ind_ne",
    "make_params",
    "register_twin",
    "rule_fields",
    "sign",
    "smax",
    "smin",
    "sqrt",
    "twin_names",
    "vabs",
    "vmax",
    "vmin",
]

RTOL = 1e-9
ATOL = 1e-12
#: The update index t = k + 1 (1-based, torch's t).
T = sp.Symbol("t", integer=True, positive=True)


# ---------------------------------------------------------------------------------- vectors
class V:
    """A short vector of SymPy expressions with elementwise arithmetic (scalars broadcast)."""

    __slots__ = ("e",)

    def __init__(self, entries: Iterable[Any]):
        self.e = tuple(sp.sympify(x) for x in entries)

    @staticmethod
    def full(n: int, value: Any) -> V:
        return V([value] * n)

    def __len__(self) -> int:
        return len(self.e)

    def __iter__(self):
        return iter(self.e)

    def __getitem__(self, i: int) -> sp.Expr:
        return self.e[i]

    def _bin(self, other: Any, f: Callable[[Any, Any], Any]) -> V:
        if isinstance(other, V):
            if len(other) != len(self):
                raise ValueError(f"vector lengths differ: {len(self)} and {len(other)}")
            return V(f(a, b) for a, b in zip(self.e, other.e))
        o = sp.sympify(other)
        return V(f(a, o) for a in self.e)

    def __add__(self, o): return self._bin(o, lambda a, b: a + b)
    def __radd__(self, o): return self._bin(o, lambda a, b: b + a)
    def __sub__(self, o): return self._bin(o, lambda a, b: a - b)
    def __rsub__(self, o): return self._bin(o, lambda a, b: b - a)
    def __mul__(self, o): return self._bin(o, lambda a, b: a * b)
    def __rmul__(self, o): return self._bin(o, lambda a, b: b * a)
    def __truediv__(self, o): return self._bin(o, lambda a, b: a / b)
    def __rtruediv__(self, o): return self._bin(o, lambda a, b: b / a)
    def __pow__(self, o): return self._bin(o, lambda a, b: a**b)
    def __neg__(self): return V(-a for a in self.e)

    def map(self, f: Callable[[Any], Any]) -> V:
        return V(f(a) for a in self.e)

    def sum(self) -> sp.Expr:
        """Sum over the vector (the rule's last-axis reduction)."""
        return sp.Add(*self.e)

    def max(self) -> sp.Expr:
        """Maximum over the vector."""
        return smax(*self.e)

    def dot(self, o: V) -> sp.Expr:
        return (self * o).sum()

    def __repr__(self) -> str:
        return f"V{list(self.e)!r}"


def _lift(a: Any, b: Any) -> tuple[V, V]:
    n = len(a) if isinstance(a, V) else len(b)
    return (a if isinstance(a, V) else V.full(n, a)), (b if isinstance(b, V) else V.full(n, b))


def sqrt(v: V) -> V:
    return v.map(sp.sqrt)


def sign(v: V) -> V:
    """Elementwise sign with sign(0) = 0 (torch.sign, numpy.sign); unevaluated (see :func:`smax`)."""
    return v.map(lambda e: sp.sign(e, evaluate=False) if not e.is_number else sp.sign(e))


def vabs(v: V) -> V:
    """Elementwise |v|, unevaluated: SymPy's sign analysis of composed expressions is slow."""
    return v.map(lambda e: sp.Abs(e, evaluate=False) if not e.is_number else sp.Abs(e))


def smax(*args: Any) -> sp.Expr:
    """Max without SymPy's argument comparison (``_find_localzeros`` factors every pair of
    arguments, which is slow on composed multi-step expressions); numerically identical."""
    args = [sp.sympify(a) for a in args]
    return args[0] if len(args) == 1 else sp.Max(*args, evaluate=False)


def smin(*args: Any) -> sp.Expr:
    """Min without SymPy's argument comparison (see :func:`smax`)."""
    args = [sp.sympify(a) for a in args]
    return args[0] if len(args) == 1 else sp.Min(*args, evaluate=False)


def vmax(a: Any, b: Any) -> V:
    a, b = _lift(a, b)
    return V(smax(x, y) for x, y in zip(a, b))


def vmin(a: Any, b: Any) -> V:
    a, b = _lift(a, b)
    return V(smin(x, y) for x, y in zip(a, b))


def _heaviside(d: Any, h0: int) -> sp.Expr:
    d = sp.sympify(d)
    # unevaluated unless a number: evaluation checks im(d) == 0, which is slow on composed expressions
    return sp.Heaviside(d, h0) if d.is_number else sp.Heaviside(d, h0, evaluate=False)


def ind_gt(a: Any, b: Any = 0) -> sp.Expr:
    """Indicator [a > b] as ``Heaviside(a - b, 0)``: arithmetic instead of a Piecewise, for control
    flow carried in the state (a phase flag), since SymPy folds Piecewise inside conditions."""
    return _heaviside(sp.sympify(a) - b, 0)


def ind_ge(a: Any, b: Any = 0) -> sp.Expr:
    """Indicator [a >= b] as ``Heaviside(a - b, 1)``."""
    return _heaviside(sp.sympify(a) - b, 1)


def ind_ne(a: Any, b: Any = 0) -> sp.Expr:
    """Indicator [a != b]."""
    d = sp.sympify(a) - b
    return _heaviside(d, 0) + _heaviside(-d, 0)


def is_zero_value(v: Any) -> bool:
    """True for a fixed (Python or SymPy) numeric zero; symbols are never zero here."""
    if isinstance(v, (int, float)):
        return v == 0
    return isinstance(v, sp.Expr) and v.is_number and v == 0


# ------------------------------------------------------------------------------ twin class
@dataclasses.dataclass(frozen=True)
class Case:
    """One configuration of a rule under test.

    Parameters
    ----------
    options : mapping
        Fixed keyword arguments (``Literal``/``bool``/integer fields), passed to both sides.
    hyper : mapping
        Overrides of the twin's hyperparameter ranges: ``(lo, hi)`` draws a value uniformly
        (a SymPy symbol on the twin side), a number fixes it (a Python number on both sides).
    label : str
        Short description used in test ids.
    """

    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    hyper: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    label: str = ""


class Params:
    """Hyperparameters (symbols or fixed numbers) and options as attributes, plus notes."""

    def __init__(self, values: Mapping[str, Any]):
        self.__dict__.update(values)
        self._notes: list[tuple[str, Any]] | None = None

    def note(self, name: str, value: Any) -> None:
        """Record an intermediate quantity for the printed derivation (ignored otherwise)."""
        if self._notes is not None:
            self._notes.append((name, value))


class Twin:
    """Base class of the symbolic twins; subclasses implement :meth:`init` and :meth:`step`.

    Class variables
    ---------------
    hyper : dict
        Every non-option field of the rule: ``(lo, hi)`` sampling range or a fixed number.
    cases : tuple of Case
        Configurations to test; together they must use every value of every ``Literal`` and
        ``bool`` field of the rule (except ``exempt``).
    exempt : dict
        Option field -> reason it is not varied (e.g. AMSGrad's ``amsgrad`` flag).
    ignore_state : tuple of str
        Numeric state fields the twin does not model (each needs a reason in the docstring).
    structural : tuple of str
        Non-numeric fields (sizes, sub-rules) whose default the twin models as is.
    warmups : tuple of int
        Numbers of random numeric updates before the one-step comparisons (later steps reach
        branches that only open after a while, e.g. RAdam's rectification).
    run_steps : int
        Steps of the quadratic-run comparison.
    display_n : int
        Vector length used by ``precond-theory derive RULE`` (2 for rules with reductions).
    """

    hyper: ClassVar[dict[str, Any]] = {}
    cases: ClassVar[tuple[Case, ...]] = (Case(),)
    exempt: ClassVar[dict[str, str]] = {}
    ignore_state: ClassVar[tuple[str, ...]] = ()
    structural: ClassVar[tuple[str, ...]] = ()
    warmups: ClassVar[tuple[int, ...]] = (0, 3)
    run_steps: ClassVar[int] = 5
    display_n: ClassVar[int] = 1
    source: ClassVar[str] = ""

    def init(self, x: V, P: Params) -> dict[str, Any]:
        raise NotImplementedError

    def query(self, x: V, state: Mapping[str, Any], P: Params, t: Any) -> V:
        """Query point of update ``t`` (default: the iterate itself)."""
        return x

    def step(self, t: Any, g: V, state: Mapping[str, Any], x: V, P: Params, value: Any = None,
             hvp: Callable[[V], V] | None = None) -> tuple[V, dict[str, Any]]:
        raise NotImplementedError


#: registry name -> twin instance
TWINS: dict[str, Twin] = {}


def register_twin(*names: str, cases: dict[str, tuple[Case, ...]] | None = None,
                  exempt: dict[str, dict[str, str]] | None = None):
    """Class decorator registering a twin for one or more rule names (optionally per-name cases)."""

    def deco(cls: type[Twin]) -> type[Twin]:
        for nm in names:
            if nm in TWINS:
                raise TypeError(f"a twin for rule {nm!r} is registered twice")
            attrs: dict[str, Any] = {"rule": nm}
            if cases and nm in cases:
                attrs["cases"] = cases[nm]
            if exempt and nm in exempt:
                attrs["exempt"] = exempt[nm]
            TWINS[nm] = type(f"{cls.__name__}_{nm}", (cls,), attrs)()
        return cls

    return deco


def twin_names() -> list[str]:
    return sorted(TWINS)


def get_twin(name: str) -> Twin:
    """The twin of rule ``name``; a missing twin raises naming the rule and where to add it."""
    try:
        return TWINS[name]
    except KeyError:
        raise LookupError(
            f"rule {name!r} is registered in precond_theory.rules but has no symbolic twin: add one to "
            f"proofs_checks/twins/ (register_twin({name!r})) written from docs/spec/index.md; "
            f"rules with twins: {', '.join(twin_names())}"
        ) from None


# ------------------------------------------------------------------------------- symbols
@dataclasses.dataclass
class _Layout:
    """Where each state entry lives: name -> 'vec' | 'scalar' | None."""

    kinds: dict[str, str | None]
    n: int

    def symbols(self, prefix: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f, kind in self.kinds.items():
            if kind == "vec":
                out[f] = V(sp.symbols(f"{prefix}{f}_0:{self.n}", real=True))
            elif kind == "scalar":
                out[f] = sp.Symbol(f"{prefix}{f}", real=True)
            else:
                out[f] = None
        return out

    def flat(self, state: Mapping[str, Any]) -> list[Any]:
        out: list[Any] = []
        for f, kind in self.kinds.items():
            if kind == "vec":
                v = state[f]
                out.extend(v.e if isinstance(v, V) else v)
            elif kind == "scalar":
                out.append(state[f])
        return out

    def unflat(self, values: Sequence[Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        i = 0
        for f, kind in self.kinds.items():
            if kind == "vec":
                out[f] = np.asarray(values[i:i + self.n], dtype=np.float64).reshape(self.n)
                i += self.n
            elif kind == "scalar":
                out[f] = float(np.asarray(values[i], dtype=np.float64))
                i += 1
            else:
                out[f] = None
        return out

    def size(self) -> int:
        return sum(self.n if k == "vec" else 1 if k == "scalar" else 0 for k in self.kinds.values())


def _kind(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, V):
        return "vec"
    return "scalar"


def rule_fields(name: str) -> tuple[dict[str, tuple], list[str], list[str], dict[str, Any]]:
    """Classify a registered rule's fields.

    Returns ``(choices, hyper, structural, defaults)``: ``choices`` maps each ``Literal`` or
    ``bool`` field to its allowed values (every value must be exercised by some case);
    ``hyper`` lists numeric fields (the twin must give each a range or a fixed value);
    ``structural`` lists the rest (``None``-defaulted sizes, sub-rules, matrices: the twin
    must set them in a case or acknowledge them in ``Twin.structural``).
    """
    from precond_theory.rules import get

    cls = get(name)
    hints = typing.get_type_hints(cls)
    choices: dict[str, tuple] = {}
    hyper: list[str] = []
    structural: list[str] = []
    defaults: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        h = hints.get(f.name)
        d = f.default if f.default is not dataclasses.MISSING else None
        defaults[f.name] = d
        if f.name in cls.preset:  # fixed by a preset (amsgrad, adamw): its other values are refused
            choices[f.name] = (cls.preset[f.name],)
        elif typing.get_origin(h) is typing.Literal:
            choices[f.name] = tuple(typing.get_args(h))
        elif h is bool:
            choices[f.name] = (True, False)
        elif isinstance(d, (int, float)) and not isinstance(d, bool) and h is not int:
            hyper.append(f.name)
        else:
            structural.append(f.name)
    return choices, hyper, structural, defaults


def case_spec(twin: Twin, case: Case) -> tuple[dict[str, Any], dict[str, Any]]:
    """(options, hyper ranges/fixed values) for one case, with rule defaults for unset choices."""
    choices, hyper_names, structural, defaults = rule_fields(twin.rule)
    known = set(choices) | set(hyper_names) | set(structural)
    unknown = sorted((set(case.options) | set(case.hyper) | set(twin.hyper)) - known)
    if unknown:
        raise AssertionError(f"twin of {twin.rule!r} sets {unknown}, which are not fields of the rule ({sorted(known)})")
    opts = {k: defaults[k] for k in choices}
    opts.update({k: v for k, v in case.options.items()})
    hyper = {k: v for k, v in twin.hyper.items() if k not in case.options}
    hyper.update(case.hyper)
    missing = [h for h in hyper_names if h not in hyper and h not in case.options]
    if missing:
        raise AssertionError(
            f"twin of {twin.rule!r} does not model the rule's field(s) {missing}: give each a sampling range "
            f"or a fixed value in the twin's `hyper`"
        )
    for f in structural:
        if f not in hyper:
            opts.setdefault(f, case.options.get(f, defaults[f]))
    return opts, hyper


def make_params(name: str, values: Mapping[str, Any]) -> Params:
    """Params for the twin of ``name`` from explicit values (symbols or numbers); fields not given
    take the rule's defaults.  For derivations that use a twin symbolically (e.g. linearisation)."""
    choices, hyper_names, structural, defaults = rule_fields(name)
    unknown = sorted(set(values) - set(choices) - set(hyper_names) - set(structural))
    if unknown:
        raise ValueError(f"rule {name!r} has no field(s) {unknown}")
    vals = dict(defaults)
    vals.update(values)
    return Params(vals)


def _params(twin: Twin, case: Case) -> tuple[Params, list[sp.Symbol], dict[str, Any], dict[str, tuple]]:
    """Params object for the twin: symbols for ranged hyperparameters, numbers for fixed ones."""
    opts, hyper = case_spec(twin, case)
    values: dict[str, Any] = dict(opts)
    syms: list[sp.Symbol] = []
    ranges: dict[str, tuple] = {}
    for k, spec in hyper.items():
        if isinstance(spec, tuple):
            s = sp.Symbol(k, positive=spec[0] > 0, real=True)
            values[k] = s
            syms.append(s)
            ranges[k] = spec
        else:
            values[k] = spec
    return Params(values), syms, opts, ranges


def coverage_problems(name: str) -> list[str]:
    """What the twin of ``name`` leaves untested: choice values no case uses, structural fields
    no case sets (and the twin does not acknowledge), numeric fields without a range."""
    twin = get_twin(name)
    choices, _, structural, _ = rule_fields(name)
    problems: list[str] = []
    used: dict[str, set] = {k: set() for k in choices}
    for case in twin.cases:
        opts, _ = case_spec(twin, case)  # raises on unknown or unmodelled fields
        for k in choices:
            used[k].add(opts[k])
    for k, allowed in choices.items():
        if k in twin.exempt:
            continue
        missing = [v for v in allowed if v not in used[k]]
        if missing:
            problems.append(f"{name}: no case uses {k}={missing!r} (allowed {list(allowed)}); add a Case or an "
                            f"`exempt` entry with the reason")
    set_somewhere = {f for case in twin.cases for f in (*case.options, *case.hyper)} | set(twin.hyper)
    for f in structural:
        if f not in set_somewhere and f not in twin.structural:
            problems.append(f"{name}: field {f!r} is neither set by a case nor listed in the twin's `structural`")
    return problems

r"""Comparing the symbolic twins with the numeric rules, and displaying a twin's update.

The three comparisons (see :mod:`proofs_checks.twins.base` for what a twin is):

1. :func:`compare_one_step`: one symbolic step versus one numeric step from states the numeric
   rule reached after a few random updates (the numeric state is read field by field);
2. :func:`compare_quadratic_run`: k steps on a diagonal quadratic, each side with its own state
   and query points, the twin's lambdified step iterated;
3. :func:`compare_composed`: the twin's k-step map composed symbolically for a fixed sequence of
   gradient and loss symbols, lambdified with common-subexpression elimination.

Each raises :class:`Mismatch` (naming the rule, the case, the hyperparameters and the quantity)
when the two sides differ beyond ``rtol = 1e-9``, ``atol = 1e-12``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import sympy as sp

from .base import ATOL, RTOL, Case, T, Twin, V, _kind, _Layout, _params, case_spec, get_twin

__all__ = [
    "Compiled",
    "Mismatch",
    "compare_composed",
    "compare_one_step",
    "compare_quadratic_run",
    "compile_twin",
    "composed",
    "display_equations",
    "symbolic_inputs",
    "twin_state_from_numeric",
]


# ------------------------------------------------------------------------------ compiling
@dataclasses.dataclass
class Compiled:
    """Lambdified one-step map, query and init of a twin for one case."""

    twin: Twin
    case: Case
    n: int
    layout: _Layout
    hyper_syms: list[sp.Symbol]
    ranges: dict[str, tuple]
    options: dict[str, Any]
    init_fn: Callable
    query_fn: Callable
    step_fn: Callable
    fixed_hyper: dict[str, Any]

    def draw_hyper(self, rng: np.random.Generator) -> dict[str, float]:
        return {k: float(rng.uniform(*self.ranges[k])) for k in (s.name for s in self.hyper_syms)}

    def make_rule(self, hv: Mapping[str, float]):
        from precond_theory.rules import get, make

        cls = get(self.twin.rule)
        values = {**self.options, **self.fixed_hyper, **hv}
        for field in cls.unread(values):  # refused when given: the rule keeps its default, and so does
            del values[field]  # the twin (hv is updated in place), which matters where only the state reads it
            if field in hv:
                hv[field] = float(next(f.default for f in dataclasses.fields(cls) if f.name == field))
        return make(self.twin.rule, **values)

    def _hv(self, hv: Mapping[str, float]) -> list[np.float64]:
        return [np.float64(hv[s.name]) for s in self.hyper_syms]

    def init(self, x: np.ndarray, hv) -> dict[str, Any]:
        with np.errstate(all="ignore"):
            return self.layout.unflat(_as_list(self.init_fn(*x, *self._hv(hv)), self.layout.size()))

    def query(self, t: int, x: np.ndarray, state, hv) -> np.ndarray:
        with np.errstate(all="ignore"):  # Piecewise evaluates every branch; see _evaluate
            out = self.query_fn(np.float64(t), *x, *_np(self.layout.flat(state)), *self._hv(hv))
        return np.asarray(_as_list(out, self.n), dtype=np.float64)

    def step(self, t: int, g, x, state, hv, value: float = 0.0, h=None) -> tuple[np.ndarray, dict[str, Any]]:
        h = np.ones(self.n) if h is None else h
        with np.errstate(all="ignore"):
            out = self.step_fn(np.float64(t), *g, *x, *_np(self.layout.flat(state)), np.float64(value), *h,
                               *self._hv(hv))
        out = _as_list(out, self.n + self.layout.size())
        return np.asarray(out[: self.n], dtype=np.float64), self.layout.unflat(out[self.n:])


def _np(values: Sequence[Any]) -> list[np.float64]:
    """Inputs as NumPy float64 scalars, so that arithmetic in a branch that Piecewise discards
    (numpy.select evaluates every branch) gives inf/nan under errstate instead of raising
    ZeroDivisionError as Python floats would."""
    return [np.float64(v) for v in values]


def _as_list(out: Any, size: int) -> list[Any]:
    if size == 0:
        return []
    if isinstance(out, (list, tuple)):
        return [np.asarray(o, dtype=np.float64) for o in out]
    return [np.asarray(out, dtype=np.float64)]


def _lambdify(args, exprs):
    return sp.lambdify(args, list(exprs) if exprs else [0], modules="numpy", cse=True)


def symbolic_inputs(n: int):
    g = V(sp.symbols(f"g_0:{n}", real=True))
    x = V(sp.symbols(f"x_0:{n}", real=True))
    h = V(sp.symbols(f"h_0:{n}", positive=True))
    value = sp.Symbol("ell", real=True)
    return g, x, h, value


def _diag_hvp(h: V) -> Callable[[V], V]:
    return lambda v: h * v


@functools.cache
def compile_twin(name: str, case_index: int, n: int = 3) -> Compiled:
    """Lambdify the twin's init, query and one-step map (cached per rule, case and n)."""
    twin = get_twin(name)
    case = twin.cases[case_index]
    P, hsyms, opts, ranges = _params(twin, case)
    g, x, h, value = symbolic_inputs(n)
    st0 = twin.init(x, P)
    layout = _Layout({f: _kind(v) for f, v in st0.items()}, n)
    init_fn = _lambdify([*x, *hsyms], layout.flat(st0))
    st = layout.symbols(prefix="st_")
    q = twin.query(x, st, P, T)
    query_fn = _lambdify([T, *x, *layout.flat(st), *hsyms], list(q))
    dx, st1 = twin.step(T, g, st, x, P, value=value, hvp=_diag_hvp(h))
    _check_same_layout(name, layout, st1)
    step_fn = _lambdify([T, *g, *x, *layout.flat(st), value, *h, *hsyms], list(dx) + layout.flat(st1))
    fixed = {k: v for k, v in case_spec(twin, case)[1].items() if not isinstance(v, tuple)}
    return Compiled(twin, case, n, layout, hsyms, ranges, opts, init_fn, query_fn, step_fn, fixed)


def _check_same_layout(name: str, layout: _Layout, st1: Mapping[str, Any]) -> None:
    kinds1 = {f: _kind(v) for f, v in st1.items()}
    if kinds1 != layout.kinds:
        raise AssertionError(f"twin of {name!r}: step returns state {kinds1} but init returned {layout.kinds}")


# ----------------------------------------------------------------------------- comparing
class Mismatch(AssertionError):
    """The twin and the numeric rule disagree beyond round-off."""


def _numeric_state_fields(state: Any, prefix: str = "") -> dict[str, Any]:
    """Numeric state fields by dotted name; nested NamedTuples (a wrapped rule's state) are flattened."""
    out: dict[str, Any] = {}
    for f in state._fields:
        v = getattr(state, f)
        if isinstance(v, tuple) and hasattr(v, "_fields"):
            out.update(_numeric_state_fields(v, f"{prefix}{f}."))
        else:
            out[f"{prefix}{f}"] = v
    return out


def twin_state_from_numeric(comp: Compiled, state: Any) -> dict[str, Any]:
    """Read the numeric state into the twin's layout (by field name)."""
    fields = _numeric_state_fields(state)
    out: dict[str, Any] = {}
    for f, kind in comp.layout.kinds.items():
        if f not in fields:
            raise Mismatch(f"twin of {comp.twin.rule!r} has state field {f!r}, numeric state has {list(fields)}")
        v = fields[f]
        if kind is None:
            if v is not None:
                raise Mismatch(f"{comp.twin.rule}: state field {f!r} is None in the twin but {v!r} numerically")
            out[f] = None
        elif kind == "vec":
            out[f] = np.broadcast_to(np.asarray(v, dtype=np.float64), (comp.n,)).copy()
        else:
            a = np.asarray(v, dtype=np.float64)
            if a.size != 1:
                raise Mismatch(f"{comp.twin.rule}: state field {f!r} is a scalar in the twin but has shape {a.shape}")
            out[f] = float(a.reshape(()))
    extra = sorted(f for f in set(fields) - set(comp.layout.kinds) - set(comp.twin.ignore_state)
                   if f.split(".")[-1] != "k")
    if extra:
        raise Mismatch(f"twin of {comp.twin.rule!r} does not model the numeric state field(s) {extra}")
    return out


def _close(a: Any, b: Any) -> bool:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return bool(np.all(np.abs(a - b) <= ATOL + RTOL * np.maximum(np.abs(a), np.abs(b))))


def _assert_close(what: str, sym: Any, num: Any, ctx: str) -> None:
    if sym is None and num is None:
        return
    if not _close(sym, num):
        raise Mismatch(f"{ctx}: {what} differs\n  twin   : {np.asarray(sym)!r}\n  numeric: {np.asarray(num)!r}")


def _compare_states(comp: Compiled, st_twin: Mapping[str, Any], st_num: Any, ctx: str) -> None:
    num = twin_state_from_numeric(comp, st_num)
    for f in comp.layout.kinds:
        _assert_close(f"state.{f}", st_twin[f], num[f], ctx)


def _hvp_numeric(h: np.ndarray):
    return lambda v: h * v


def compare_one_step(name: str, case_index: int, *, seed: int = 0, warmup: Sequence[int] | None = None,
                     draws: int = 2, n: int = 3) -> int:
    """One symbolic step versus one numeric step, from states reached after ``warmup`` random updates.

    Returns the number of comparisons made; raises :class:`Mismatch` on disagreement.
    """
    comp = compile_twin(name, case_index, n)
    warmup = comp.twin.warmups if warmup is None else warmup
    rng = np.random.default_rng([seed, case_index, sum(map(ord, name))])
    count = 0
    for _ in range(draws):
        hv = comp.draw_hyper(rng)
        rule = comp.make_rule(hv)
        for j in warmup:
            x = rng.standard_normal(n)
            h = rng.uniform(0.5, 2.0, n)
            state = rule.init(x)
            for _k in range(j):
                g = rng.standard_normal(n)
                dx, state = rule.update(g, state, x, value=np.float64(rng.normal()), hvp=_hvp_numeric(h))
                x = x + dx
            g = rng.standard_normal(n)
            value = float(rng.normal())
            ctx = f"{name} case {case_index} ({comp.case.label or 'default'}), hyper {hv}, one step at t={j + 1}"
            st_twin = twin_state_from_numeric(comp, state)
            y_twin = comp.query(j + 1, x, st_twin, hv)
            _assert_close("query point", y_twin, rule.query(x, state), ctx)
            dx_num, st_num = rule.update(g, state, x, value=np.float64(value), hvp=_hvp_numeric(h))
            dx_twin, st1_twin = comp.step(j + 1, g, x, st_twin, hv, value=value, h=h)
            _assert_close("dx", dx_twin, dx_num, ctx)
            _compare_states(comp, st1_twin, st_num, ctx)
            count += 1
    return count


def _quadratic(rng: np.random.Generator, n: int):
    h = rng.uniform(0.5, 2.0, n)
    c = rng.standard_normal(n)
    f = lambda y: 0.5 * float(np.sum(h * (y - c) ** 2))
    grad = lambda y: h * (y - c)
    return h, f, grad


def compare_quadratic_run(name: str, case_index: int, *, steps: int | None = None, seed: int = 1, n: int = 3) -> int:
    """k steps on f(y) = ½ Σ h_i (y_i - c_i)²: the lambdified twin step iterated with its own state."""
    comp = compile_twin(name, case_index, n)
    steps = comp.twin.run_steps if steps is None else steps
    rng = np.random.default_rng([seed, case_index, sum(map(ord, name))])
    hv = comp.draw_hyper(rng)
    rule = comp.make_rule(hv)
    h, f, grad = _quadratic(rng, n)
    x_num = rng.standard_normal(n)
    x_sym = x_num.copy()
    st_num = rule.init(x_num)
    st_sym = comp.init(x_sym, hv)
    ctx = f"{name} case {case_index} ({comp.case.label or 'default'}), hyper {hv}, quadratic run"
    _compare_states(comp, st_sym, st_num, ctx + " init")
    for t in range(1, steps + 1):
        y_num = rule.query(x_num, st_num)
        y_sym = comp.query(t, x_sym, st_sym, hv)
        _assert_close(f"query point at t={t}", y_sym, y_num, ctx)
        dx_num, st_num = rule.update(grad(y_num), st_num, x_num, value=np.float64(f(y_num)), hvp=_hvp_numeric(h))
        dx_sym, st_sym = comp.step(t, grad(y_sym), x_sym, st_sym, hv, value=f(y_sym), h=h)
        x_num, x_sym = x_num + dx_num, x_sym + dx_sym
        _assert_close(f"x after {t} steps", x_sym, x_num, ctx)
    return steps


@functools.cache
def composed(name: str, case_index: int, steps: int = 3, n: int = 3):
    """Symbolic ``steps``-step map for a fixed sequence of gradients (and losses), lambdified.

    Returns ``(fn, hyper_syms)``; ``fn(x0, G, ells, h, hyper)`` gives the iterates x_1..x_steps.
    """
    twin = get_twin(name)
    case = twin.cases[case_index]
    P, hsyms, _, _ = _params(twin, case)
    x0 = V(sp.symbols(f"x0_0:{n}", real=True))
    G = [V(sp.symbols(f"G{t}_0:{n}", real=True)) for t in range(1, steps + 1)]
    ells = list(sp.symbols(f"ell_1:{steps + 1}", real=True))
    h = V(sp.symbols(f"h_0:{n}", positive=True))
    x, st = x0, twin.init(x0, P)
    outs = []
    for t in range(1, steps + 1):
        dx, st = twin.step(sp.Integer(t), G[t - 1], st, x, P, value=ells[t - 1], hvp=_diag_hvp(h))
        x = x + dx
        outs.extend(x.e)
    args = [*x0, *[gi for Gt in G for gi in Gt], *ells, *h, *hsyms]
    return sp.lambdify(args, outs, modules="numpy", cse=True), hsyms


def compare_composed(name: str, case_index: int, *, steps: int = 3, seed: int = 2, n: int = 3) -> int:
    """Composed symbolic k-step map versus k numeric updates on the same gradient sequence."""
    fn, hsyms = composed(name, case_index, steps, n)
    comp = compile_twin(name, case_index, n)  # for draw_hyper / make_rule only
    rng = np.random.default_rng([seed, case_index, sum(map(ord, name))])
    hv = comp.draw_hyper(rng)
    rule = comp.make_rule(hv)
    x0 = rng.standard_normal(n)
    G = rng.standard_normal((steps, n))
    ells = rng.standard_normal(steps)
    h = rng.uniform(0.5, 2.0, n)
    with np.errstate(all="ignore"):
        out = fn(*x0, *G.ravel(), *ells, *h, *[np.float64(hv[s.name]) for s in hsyms])
    out = np.asarray(out, dtype=np.float64).reshape(steps, n)
    x, st = x0, rule.init(x0)
    ctx = f"{name} case {case_index} ({comp.case.label or 'default'}), hyper {hv}, composed {steps} steps"
    for t in range(steps):
        dx, st = rule.update(G[t], st, x, value=np.float64(ells[t]), hvp=_hvp_numeric(h))
        x = x + dx
        _assert_close(f"x_{t + 1}", out[t], x, ctx)
    return steps


# ------------------------------------------------------------------------------ display
def display_equations(name: str, case_index: int = 0, n: int | None = None) -> list[tuple[str, Any]]:
    """The twin's one-step update as (text, SymPy equation) pairs, for ``derive RULE``.

    ``n`` is the vector length (default ``Twin.display_n``; a case with fixed 3-vectors or blocks
    needs its own length)."""
    twin = get_twin(name)
    case = twin.cases[case_index]
    P, _, opts, _ = _params(twin, case)
    n = twin.display_n if n is None else n
    if n == 1:
        g, x, h, value = V([sp.Symbol("g")]), V([sp.Symbol("x")]), V([sp.Symbol("h")]), sp.Symbol("ell")
    else:
        g, x, h, value = symbolic_inputs(n)
    st0 = twin.init(x, P)
    layout = _Layout({f: _kind(v) for f, v in st0.items()}, n)
    if n == 1:
        st = {f: (V([sp.Symbol(f"{f}_{{t-1}}")]) if k == "vec" else sp.Symbol(f"{f}_{{t-1}}") if k else None)
              for f, k in layout.kinds.items()}
    else:
        st = layout.symbols()
    P._notes = []
    q = twin.query(x, st, P, T)
    dx, st1 = twin.step(T, g, st, x, P, value=value, hvp=_diag_hvp(h))
    rows: list[tuple[str, Any]] = []
    if opts:
        rows.append(("options (case: " + (case.label or "default") + "): "
                     + ", ".join(f"{k}={_short(v)}" for k, v in opts.items()), None))
    if list(q) != list(x):
        rows.append(("query point (gradient taken at)", _eq("y", q)))
    # Name every state entry and every noted quantity, and show each line in terms of the others
    # (xreplace replaces the largest matching subtrees first; a definition never contains itself).
    defs = [(f"{f}_t", f"state {f}", v) for f, v in st1.items() if v is not None]
    defs += [(nm, f"where {nm}", v) for nm, v in P._notes]
    names: dict[Any, sp.Symbol] = {}
    for nm, _, v in defs:
        entries = v.e if isinstance(v, V) else (sp.sympify(v),)
        for i, e in enumerate(entries):
            if not (e.is_Atom or e.is_number):
                names.setdefault(e, sp.Symbol(nm if len(entries) == 1 else f"{nm}[{i}]"))
    for nm, text, v in defs:
        own = set(v.e if isinstance(v, V) else (sp.sympify(v),))
        others = {k: w for k, w in names.items() if k not in own}
        rows.append((text, _eq(nm, _map(v, lambda u, o=others: sp.sympify(u).xreplace(o)))))
    rows.append(("update x_{t+1} = x_t + Δx", _eq("Δx", _map(dx, lambda u: sp.sympify(u).xreplace(names)))))
    return rows


def _map(v: Any, f: Callable[[Any], Any]) -> Any:
    return V(f(e) for e in v.e) if isinstance(v, V) else f(v)


def _short(v: Any) -> str:
    if hasattr(v, "name") and hasattr(v, "hyperparameters"):
        return f"{v.name}({', '.join(f'{k}={w}' for k, w in v.hyperparameters().items() if not isinstance(w, bool))})"
    if hasattr(v, "shape"):
        return np.array2string(np.asarray(v), precision=3, separator=", ").replace("\n", "")
    return repr(v)


def _eq(lhs: str, v: Any):
    if isinstance(v, V):
        if len(v) == 1:
            return sp.Eq(sp.Symbol(lhs), v[0], evaluate=False)
        return sp.Eq(sp.Symbol(lhs), sp.Matrix(v.e), evaluate=False)
    return sp.Eq(sp.Symbol(lhs), v, evaluate=False)

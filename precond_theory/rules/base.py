"""The update-rule interface: frozen keyword-only dataclasses with pure methods.

A rule maps ``(g, state, x)`` to ``(dx, new_state)`` with ``x_{k+1} = x_k + dx``.  Concrete
rules are final frozen dataclasses whose fields are their hyperparameters; they never mutate
their inputs.  Arrays have shape ``(*batch, n)``: reductions run over the last axis only, and
every hyperparameter may be a Python float or an array broadcastable to ``(*batch, 1)``.

``update`` is the public, validating entry point.  ``_step`` holds the arithmetic and takes
the already-resolved namespace and learning rate, so that :func:`precond_theory.run` resolves
the namespace once per run and wrappers (schedules) can pass a modified learning rate down.

**No silent no-ops.**  Every rule records which fields were given explicitly
(:attr:`AbstractRule.given`) and declares, per field, the configuration under which the field
is read (:attr:`AbstractRule.reads`, built from :func:`option`, :func:`nonzero` and
:func:`is_set`).  A field given explicitly that the configuration does not read is a
``ValueError`` naming the field and the option value that would use it.  Where one reading
is obvious, an explicit field selects its option instead (:attr:`AbstractRule.selects`,
e.g. an explicit ``momentum`` gives Nesterov's constant schedule); presets refuse a value
that contradicts them (:attr:`AbstractRule.preset`).

**Hyperparameter types.**  A field typed :data:`Hyper` takes a real number or a real array
of shape ``(*batch, 1)`` (a batch of runs).  Python lists and tuples are refused: a list in a
TOML sweep is a batch axis, and the same batch is ``np.array([...])[:, None]`` in Python.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import math
import sys
import types
import typing
from collections.abc import Callable, Mapping
from typing import Annotated, Any, ClassVar, Literal, NamedTuple

import numpy as np

from .._checks import check_range, host_values
from .._xp import array_namespace, asarray

__all__ = [
    "AbstractRule", "REGISTRY", "register", "Fidelity", "hp", "rule_dataclass", "Hyper",
    "Needs", "option", "nonzero", "is_set", "rebuild",
]

Fidelity = Literal["exact", "concordant", "recon"]
Array = Any

#: A hyperparameter: a real number, or a real array of shape ``(*batch, 1)`` (one value per run).
Hyper = Annotated[Any, "hyperparameter"]

#: name -> rule class; filled by :func:`register`.
REGISTRY: dict[str, type[AbstractRule]] = {}

_dataclass = dataclasses.dataclass(frozen=True, kw_only=True, eq=False)
_REPLACE_CODES = tuple(getattr(dataclasses, nm).__code__ for nm in ("replace", "_replace") if hasattr(dataclasses, nm))


def rule_dataclass(cls: type) -> type:
    """Make ``cls`` a frozen keyword-only dataclass that records which fields were given.

    The generated ``__init__`` is wrapped so that :attr:`AbstractRule.given` holds the names
    of the keywords passed.  ``dataclasses.replace(rule, **changes)`` passes every field; it
    keeps the original's given fields plus those whose value changed.
    """
    cls = _dataclass(cls)
    init = cls.__init__

    @functools.wraps(init)
    def __init__(self: Any, **kwargs: Any) -> None:
        caller = sys._getframe(1)
        given = frozenset(kwargs)
        if caller.f_code in _REPLACE_CODES:  # dataclasses.replace: all fields are passed
            old = caller.f_locals.get("obj", caller.f_locals.get("self"))
            if isinstance(old, AbstractRule):
                given = old.given | {k for k, v in kwargs.items() if v is not getattr(old, k, _MISSING)}
        object.__setattr__(self, "_given", given)
        init(self, **kwargs)

    cls.__init__ = __init__
    return cls


_MISSING = object()


# ------------------------------------------------------------------------------ what is read
class Needs:
    """A condition on a rule's configuration: ``test(rule)`` is True when it holds, ``text``
    says it in words (``"schedule='constant'"``) and ``fields`` are the fields it inspects."""

    __slots__ = ("test", "text", "fields")

    def __init__(self, test: Callable[[Any], bool], text: str, fields: tuple[str, ...]):
        self.test, self.text, self.fields = test, text, fields

    def __and__(self, other: Needs) -> Needs:
        def par(t: str) -> str:
            return f"({t})" if " or " in t else t

        return Needs(lambda r: self.test(r) and other.test(r), f"{par(self.text)} and {par(other.text)}",
                     self.fields + other.fields)

    def __or__(self, other: Needs) -> Needs:
        return Needs(lambda r: self.test(r) or other.test(r), f"{self.text} or {other.text}",
                     self.fields + other.fields)

    def __repr__(self) -> str:
        return f"Needs({self.text})"


def option(field: str, *values: Any) -> Needs:
    """The field ``field`` has one of ``values`` (e.g. ``option("schedule", "convex")``)."""
    text = f"{field}={values[0]!r}" if len(values) == 1 else f"{field} in {list(values)!r}"
    return Needs(lambda r: _option_in(getattr(r, field), values), text, (field,))


def nonzero(field: str) -> Needs:
    """The hyperparameter ``field`` is not the scalar 0 (an array counts as nonzero)."""
    return Needs(lambda r: not _is_scalar_zero(getattr(r, field)), f"{field} != 0", (field,))


def is_set(field: str) -> Needs:
    """The optional field ``field`` is not None."""
    return Needs(lambda r: getattr(r, field) is not None, f"{field} is given", (field,))


def _is_default(value: Any, default: Any) -> bool:
    """``value`` restates ``default`` (same option, or the same real number)."""
    if _option_in(value, (default,)):
        return True
    real = (int, float, np.integer, np.floating)
    return (isinstance(value, real) and isinstance(default, real) and not isinstance(value, bool)
            and not isinstance(default, bool) and value == default)


def rebuild(rule: AbstractRule, **changes: Any) -> AbstractRule:
    """``dataclasses.replace(rule, **changes)``, except that a change contradicting a preset
    builds the rule the preset specialises (``amsgrad`` with ``amsgrad=False`` is ``adam``),
    keeping the given fields and those that differ from the base rule's defaults."""
    cls = type(rule)
    if not any(k in cls.preset and not _option_in(v, (cls.preset[k],)) for k, v in changes.items()):
        return dataclasses.replace(rule, **changes)
    base = REGISTRY[cls.preset_of]
    defaults = {f.name: f.default for f in dataclasses.fields(base)}
    kw = {f.name: getattr(rule, f.name) for f in dataclasses.fields(rule)
          if f.name in rule.given or not _is_default(getattr(rule, f.name), defaults.get(f.name, _MISSING))}
    return base(**{**kw, **changes})


def _option_in(value: Any, values: tuple[Any, ...]) -> bool:
    return any(value is v or (type(value) is type(v) and value == v) for v in values)


def _is_scalar_zero(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and v == 0


def register(cls: type[AbstractRule]) -> type[AbstractRule]:
    """Class decorator adding a concrete rule to :data:`REGISTRY` under ``cls.name``."""
    name = cls.__dict__.get("name")
    if not isinstance(name, str) or not name:
        raise TypeError(f"{cls.__name__} must define a non-empty ClassVar 'name' to be registered")
    if name in REGISTRY and REGISTRY[name] is not cls:
        raise TypeError(f"rule name {name!r} is registered twice ({REGISTRY[name].__name__}, {cls.__name__})")
    if cls.fidelity not in ("exact", "concordant", "recon"):
        raise TypeError(f"{cls.__name__}.fidelity must be 'exact', 'concordant' or 'recon'")
    REGISTRY[name] = cls
    return cls


def hp(value: Any, like: Array, xp: Any) -> Any:
    """A hyperparameter ready for arithmetic with ``like``: Python scalars pass through,
    arrays are converted to ``like``'s namespace and dtype."""
    if isinstance(value, (int, float)):
        return value
    return asarray(value, xp, dtype=like.dtype)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, include_extras=True)


class AbstractRule(abc.ABC):
    """Interface of every update rule (and of the wrappers around one).

    Class variables
    ---------------
    name : str
        Registry name (lower snake case).
    fidelity : {"exact", "concordant", "recon"}
        How sure we are that the rule matches its paper (``docs/spec/index.md``):
        EXACT read from citable code or docs; CONCORDANT several secondary sources agree;
        RECON a reconstruction, a configurable hypothesis and not the paper's verified algorithm.
    reference : str
        Paper with equation or algorithm number.
    needs_value : bool
        ``update`` needs the loss value at the query point (``value=``).
    needs_hvp : bool
        ``update`` needs a Hessian-vector-product callable (``hvp=``).
    has_preconditioner : bool
        ``preconditioner(state)`` returns the diagonal of the implied preconditioner.
    """

    name: ClassVar[str] = "abstract"
    fidelity: ClassVar[Fidelity] = "exact"
    reference: ClassVar[str] = ""
    needs_value: ClassVar[bool] = False
    needs_hvp: ClassVar[bool] = False
    has_preconditioner: ClassVar[bool] = False

    # ----------------------------------------------------------------------------- validation
    #: field -> the configuration under which the field is read; an explicit field outside it
    #: is refused (see the module docstring).  Fields not listed are always read.
    reads: ClassVar[Mapping[str, Needs]] = {}
    #: field -> (option, value): an explicit field selects that option value unless the option
    #: itself was given (documented in the rule's docstring).
    selects: ClassVar[Mapping[str, tuple[str, Any]]] = {}
    #: field -> value fixed by a preset (``amsgrad``'s ``amsgrad=True``); another value is refused.
    preset: ClassVar[Mapping[str, Any]] = {}
    #: The registry name of the rule a preset specialises (named in the refusal).
    preset_of: ClassVar[str] = ""
    #: Hyper fields for which +inf is meaningful (a disabled cap or bound).
    allow_inf: ClassVar[frozenset[str]] = frozenset()

    @property
    def given(self) -> frozenset[str]:
        """Names of the fields given explicitly when the rule was built (the rest are defaults)."""
        return getattr(self, "_given", frozenset())

    @property
    def wrappers(self) -> tuple[str, ...]:
        """Labels of the wrappers around the base rule, innermost first (``()`` for a plain rule)."""
        return ()

    # ----------------------------------------------------------------------------- validation
    def __post_init__(self) -> None:
        hints = _hints(type(self))
        for f in dataclasses.fields(self):
            _check_type(self, f, hints.get(f.name))
        for field, value in self.preset.items():
            if field in self.given and not _option_in(getattr(self, field), (value,)):
                raise ValueError(
                    f"rule {self.name!r} is the preset {field}={value!r}; {field}={getattr(self, field)!r} contradicts "
                    f"it: use rules.make({self.preset_of!r}, {field}={getattr(self, field)!r}, ...) instead"
                )
        selected = {}
        for field, (opt, value) in self.selects.items():
            if field in self.given and opt not in self.given:
                object.__setattr__(self, opt, value)
                selected[opt] = field
        object.__setattr__(self, "_selected", selected)
        if hasattr(self, "lr") and not isinstance(getattr(self, "lr"), AbstractRule):
            check_range("lr", self.lr, 0.0)
        self._validate()
        self._check_reads()

    def _what(self) -> str:
        """How errors name this rule."""
        return f"rule {self.name!r}"

    @classmethod
    def unread(cls, values: Mapping[str, Any]) -> list[str]:
        """Names in ``values`` (keyword arguments for ``cls``) that the configuration they
        describe does not read, i.e. that ``cls(**values)`` would refuse; for callers that
        build rules from complete tables of values (drop these names first)."""
        conf = {f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}
        conf.update(values)
        for field, (opt, value) in cls.selects.items():
            if field in values and opt not in values:
                conf[opt] = value
        ns = types.SimpleNamespace(**conf)
        defaults = {f.name: f.default for f in dataclasses.fields(cls)}
        return [f for f, need in cls.reads.items()
                if f in values and values[f] is not None and not need.test(ns)
                and (f in cls.selects or not _is_default(values[f], defaults.get(f, _MISSING)))]

    def _check_reads(self) -> None:
        """Refuse explicit fields that the configuration does not read (:attr:`reads`).

        An explicit value equal to the field's default counts as not given (restating a default
        changes nothing either way, and code that passes complete tables of options stays
        valid), except for a field that selects an option (:attr:`selects`), where giving it is
        the point; so does an explicit None, the "not given" value of an optional field.
        """
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        for field, need in self.reads.items():
            value = getattr(self, field)
            restated = field not in self.selects and _is_default(value, defaults.get(field, _MISSING))
            if field in self.given and value is not None and not restated and not need.test(self):
                selected = getattr(self, "_selected", {})
                now = ", ".join(f"{nm}={getattr(self, nm)!r}" + (f" (selected by the explicit {selected[nm]})"
                                                                 if nm in selected else "")
                                for nm in dict.fromkeys(need.fields))
                raise ValueError(
                    f"{self._what()}: {field}={_short(getattr(self, field))} has no effect with {now}; "
                    f"{field} is read only when {need.text}"
                )

    def _validate(self) -> None:
        """Check the rule's own hyperparameters (override; raise ValueError naming the field)."""

    def hyperparameters(self) -> dict[str, Any]:
        """Field name -> value (arrays as host NumPy arrays), for metadata and tables."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, AbstractRule):
                out.update({f"{f.name}.{k}": w for k, w in v.hyperparameters().items()})
                out[f"{f.name}.name"] = v.name
            elif callable(v) and not isinstance(v, (int, float, str, bool)):
                out[f.name] = getattr(v, "__name__", repr(v))
            elif isinstance(v, (int, float, str, bool, type(None), tuple)):
                out[f.name] = v
            else:
                out[f.name] = host_values(f.name, v)
        return out

    def batch_shape(self) -> tuple[int, ...]:
        """Batch shape implied by array-valued hyperparameters (``()`` when all are scalars)."""
        shapes = []
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, AbstractRule):
                shapes.append(v.batch_shape())
            elif hasattr(v, "shape") and len(v.shape) > 0:
                shapes.append(tuple(v.shape[:-1]))
        return tuple(np.broadcast_shapes(*shapes)) if shapes else ()

    def _check_hp_shapes(self, x: Array) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, AbstractRule):
                v._check_hp_shapes(x)
                continue
            if not hasattr(v, "shape") or len(v.shape) == 0:
                continue
            shape = tuple(v.shape)
            want = (*tuple(x.shape[:-1]), 1)
            if not (shape[-1] == 1 and _broadcasts_to(shape, want)):
                raise ValueError(
                    f"hyperparameter {f.name} has shape {shape}, which does not broadcast to "
                    f"(*batch, 1) = {want} for x of shape {tuple(x.shape)}; give it a trailing axis of size 1"
                )

    # ------------------------------------------------------------------------------- interface
    @abc.abstractmethod
    def init(self, x: Array) -> NamedTuple:
        """Initial state for iterate ``x`` of shape ``(*batch, n)``."""

    def query(self, x: Array, state: NamedTuple) -> Array:
        """Point where the oracle is evaluated for the next update (default: ``x``)."""
        return x

    def update(
        self,
        g: Array,
        state: NamedTuple,
        x: Array,
        value: Array | None = None,
        hvp: Any = None,
    ) -> tuple[Array, NamedTuple]:
        """Return ``(dx, new_state)``; ``g`` is the gradient at ``query(x, state)``.

        Parameters
        ----------
        g, x : array, shape ``(*batch, n)``
            Gradient and current iterate, same shape, dtype and backend.
        state : NamedTuple
            State from :meth:`init` or a previous :meth:`update`; never mutated.
        value : array, shape ``(*batch,)``, optional
            Loss at the query point; required when ``needs_value``.
        hvp : callable ``v -> H(y) v``, optional
            Hessian-vector product at the query point; required when ``needs_hvp``.
        """
        xp = self.check_inputs(g, state, x, value=value, hvp=hvp)
        return self._step(xp, g, state, x, lr=hp(self.lr, x, xp), value=value, hvp=hvp)

    @abc.abstractmethod
    def _step(
        self, xp: Any, g: Array, state: NamedTuple, x: Array, *, lr: Any, value: Any = None, hvp: Any = None
    ) -> tuple[Array, NamedTuple]:
        """The update arithmetic, with the namespace and learning rate already resolved."""

    def preconditioner(self, state: NamedTuple) -> Array | None:
        """Diagonal of the implied preconditioner ``P_k`` (None for rules without one)."""
        return None

    # ------------------------------------------------------------------------------- checking
    def check_inputs(self, g: Array, state: NamedTuple, x: Array, *, value: Any = None, hvp: Any = None) -> Any:
        """Validate one update's inputs and return their namespace.

        Raises ``TypeError``/``ValueError`` saying which of ``x``, ``g`` or a state field has
        the wrong backend, shape or dtype, and when a needed ``value``/``hvp`` is missing.
        """
        for nm, a in (("x", x), ("g", g)):
            if not hasattr(a, "shape") or len(a.shape) == 0:
                raise ValueError(f"{nm} must be an array of shape (*batch, n) with n >= 1; got {a!r}")
        xp = array_namespace(g, x)
        if tuple(g.shape) != tuple(x.shape):
            raise ValueError(f"g has shape {tuple(g.shape)} but x has shape {tuple(x.shape)}; they must match")
        if g.dtype != x.dtype:
            raise TypeError(f"g has dtype {g.dtype} but x has dtype {x.dtype}; they must match")
        _check_state(state, x, xp)
        self._check_hp_shapes(x)
        if self.needs_value and value is None:
            raise ValueError(f"rule {self.name!r} needs the loss value: call update(..., value=f(y)); run() supplies it")
        if self.needs_hvp and hvp is None:
            raise ValueError(f"rule {self.name!r} needs Hessian-vector products: call update(..., hvp=callable)")
        return xp


def _short(v: Any) -> str:
    return f"array of shape {tuple(v.shape)}" if hasattr(v, "shape") and len(v.shape) else repr(v)


def _is_hyper(hint: Any) -> bool:
    return typing.get_origin(hint) is Annotated and "hyperparameter" in getattr(hint, "__metadata__", ())


def _union_args(hint: Any) -> tuple[Any, ...]:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return typing.get_args(hint)
    return (hint,)


def _check_type(rule: AbstractRule, f: dataclasses.Field, hint: Any) -> None:
    """Type check of one field from its annotation (Hyper, Literal, bool, int, float, optional)."""
    name, value = f.name, getattr(rule, f.name)
    args = _union_args(hint)
    if value is None and (type(None) in args or (f.default is None)):
        return
    if _is_hyper(hint):
        check_hyper(name, value, allow_inf=name in rule.allow_inf)
        return
    kinds = [a for a in args if a is not type(None)]
    if len(kinds) != 1:
        return  # a union of shapes (e.g. int | tuple): the rule's _validate checks it
    kind = kinds[0]
    if typing.get_origin(kind) is Literal:
        allowed = typing.get_args(kind)
        if not isinstance(value, (str, bool, int, float)) or not _option_in(value, allowed):
            raise ValueError(f"{name} must be one of {list(allowed)!r}; got {_short(value)}")
    elif kind is bool:
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be True or False; got {_short(value)}")
    elif kind is int:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an integer; got {_short(value)}"
                            + (" (a Python list is not a batch here: one value per rule)" if isinstance(value, list) else ""))
    elif kind is float:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name} must be a real number; got {_short(value)}")
        if not math.isfinite(float(value)) and not (name in rule.allow_inf and float(value) == math.inf):
            raise ValueError(f"{name} must be finite; got {name}={value!r}")


def check_hyper(name: str, value: Any, *, allow_inf: bool = False) -> None:
    """Refuse anything but a real number or a real array of shape ``(*batch, 1)``.

    Raises ``TypeError`` for lists, tuples, strings, bools, complex numbers and non-real arrays
    (naming the field and showing the batch form ``np.array([...])[:, None]``) and
    ``ValueError`` for a wrong trailing axis and for NaN or inf (inf only where ``allow_inf``).
    """
    if isinstance(value, (list, tuple)):
        shown = repr(value) if len(repr(value)) < 60 else f"[...{len(value)} values]"
        raise TypeError(
            f"{name}={shown} is a Python {type(value).__name__}; a hyperparameter is a number, or an array with one "
            f"value per run for a batch: {name}=np.array({shown})[:, None] (a list in a TOML sweep is that batch axis)"
        )
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a real number or an array of shape (*batch, 1); got bool {value!r}")
    if isinstance(value, (int, float, np.integer, np.floating)):
        a = np.float64(value)
    elif isinstance(value, (complex, np.complexfloating)):
        raise TypeError(f"{name} must be real; got the complex number {value!r}")
    elif hasattr(value, "shape") and hasattr(value, "dtype"):
        kind = getattr(np.dtype(value.dtype) if _is_numpy_dtype(value.dtype) else None, "kind", None)
        if kind is None:
            from .._xp import array_namespace

            xp = array_namespace(value)
            real = xp.isdtype(value.dtype, ("real floating", "integral"))
        else:
            real = kind in "iuf"
        if not real:
            raise TypeError(f"{name} must be a real array (integer or floating dtype); got dtype {value.dtype}")
        if len(value.shape) and value.shape[-1] != 1:
            raise ValueError(
                f"{name} has shape {tuple(value.shape)}; a hyperparameter array has one value per run, shape "
                f"(*batch, 1): give it a trailing axis of size 1, e.g. {name}=np.asarray(values)[:, None]"
            )
        a = host_values(name, value)
    else:
        raise TypeError(
            f"{name} must be a real number or an array of shape (*batch, 1); got {type(value).__name__} {value!r}"
        )
    bad = np.isnan(a) | (np.isinf(a) & ((a < 0) | (not allow_inf)))
    if bool(np.any(bad)):
        shown = a[bad].flat[0] if a.ndim else float(a)
        raise ValueError(f"{name} must be finite{' or +inf' if allow_inf else ''}; got {name}={shown!r}")


def _is_numpy_dtype(dtype: Any) -> bool:
    try:
        np.dtype(dtype)
    except TypeError:
        return False
    return True


def _check_state(state: Any, x: Array, xp: Any, path: str = "state") -> None:
    if not isinstance(state, tuple):
        raise TypeError(f"{path} must be the NamedTuple returned by init/update; got {type(state).__name__}")
    fields = getattr(state, "_fields", None) or [str(i) for i in range(len(state))]
    for nm, v in zip(fields, state):
        where = f"{path}.{nm}"
        if isinstance(v, tuple):
            _check_state(v, x, xp, where)
        elif hasattr(v, "shape") and hasattr(v, "dtype") and not isinstance(v, (np.generic,)):
            try:
                array_namespace(v, x)
            except TypeError:
                raise TypeError(f"{where} lives on another backend than x ({type(v).__module__}); re-run init(x)") from None
            if len(v.shape) and not _broadcasts_to(tuple(v.shape), tuple(x.shape)):
                raise ValueError(f"{where} has shape {tuple(v.shape)}, incompatible with x of shape {tuple(x.shape)}; re-run init(x)")
            if xp.isdtype(v.dtype, "real floating") and v.dtype != x.dtype:
                raise TypeError(f"{where} has dtype {v.dtype} but x has dtype {x.dtype}; re-run init(x)")


def _broadcasts_to(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    try:
        return tuple(np.broadcast_shapes(shape, target)) == target
    except ValueError:
        return False

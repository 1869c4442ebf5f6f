"""The update-rule interface: frozen keyword-only dataclasses with pure methods.

A rule maps ``(g, state, x)`` to ``(dx, new_state)`` with ``x_{k+1} = x_k + dx``.  Concrete
rules are final frozen dataclasses whose fields are their hyperparameters; they never mutate
their inputs.  Arrays have shape ``(*batch, n)``: reductions run over the last axis only, and
every hyperparameter may be a Python float or an array broadcastable to ``(*batch, 1)``.

``update`` is the public, validating entry point.  ``_step`` holds the arithmetic and takes
the already-resolved namespace and learning rate, so that :func:`precond_theory.run` resolves
the namespace once per run and wrappers (schedules) can pass a modified learning rate down.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import typing
from typing import Any, ClassVar, Literal, NamedTuple

import numpy as np

from .._checks import check_choice, check_range, host_values
from .._xp import array_namespace, asarray

__all__ = ["AbstractRule", "REGISTRY", "register", "Fidelity", "hp", "rule_dataclass"]

Fidelity = Literal["exact", "concordant", "recon"]
Array = Any

#: name -> rule class; filled by :func:`register`.
REGISTRY: dict[str, type[AbstractRule]] = {}

rule_dataclass = dataclasses.dataclass(frozen=True, kw_only=True, eq=False)


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
    return typing.get_type_hints(cls)


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
    def __post_init__(self) -> None:
        hints = _hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            hint = hints.get(f.name)
            if typing.get_origin(hint) is Literal:
                check_choice(f.name, value, typing.get_args(hint))
            elif hint is bool and not isinstance(value, bool):
                raise TypeError(f"{f.name} must be True or False; got {value!r}")
        if hasattr(self, "lr") and not isinstance(getattr(self, "lr"), AbstractRule):
            check_range("lr", self.lr, 0.0)
        self._validate()

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
            if isinstance(v, AbstractRule) or not hasattr(v, "shape") or len(v.shape) == 0:
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

r"""Users' own objectives as problems: :func:`from_functions`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import check_int, check_range
from .._xp import array_namespace, asarray
from ._util import resolve_dtype
from .base import AbstractProblem, StationaryPoint, central_difference_hvp

__all__ = ["FunctionProblem", "from_functions"]

Array = Any


@dataclass(frozen=True, kw_only=True, eq=False)
class FunctionProblem(AbstractProblem):
    r"""A problem made of user callables (see :func:`from_functions`).

    ``hvp`` is the user's when given, otherwise central differences of the user's gradient
    (:func:`~precond_theory.problems.base.central_difference_hvp`: step
    :math:`h = \varepsilon^{1/3}\max(1,\|x\|_\infty)`, error
    :math:`O(h^2 M_3 + \varepsilon\|\nabla f\|/h)`, about :math:`\varepsilon^{2/3}` relative).
    """

    value_fn: Callable[[Array], Array]
    grad_fn: Callable[[Array], Array]
    hvp_fn: Callable[[Array, Array], Array] | None = None
    dim: int = 1
    xp: Any = None
    dtype: Any = None
    x_star: Array | None = None
    f_star: Any = None
    L: Any = None
    mu: Any = None
    x0: Array | None = None
    stationary_points: tuple = ()
    name: str = "user"
    params: dict = field(default_factory=dict)

    def value(self, x: Array) -> Array:
        return self.value_fn(x)

    def grad(self, x: Array) -> Array:
        return self.grad_fn(x)

    def hvp(self, x: Array, v: Array) -> Array:
        if self.hvp_fn is None:
            return central_difference_hvp(self.grad_fn, x, v)
        return self.hvp_fn(x, v)

    def default_x0(self) -> Array:
        return self.x0 if self.x0 is not None else self.xp.zeros((self.dim,), dtype=self.dtype)


def from_functions(
    *,
    value: Callable[[Array], Array],
    grad: Callable[[Array], Array],
    hvp: Callable[[Array, Array], Array] | None = None,
    dim: int,
    x_star: Any = None,
    f_star: float | None = None,
    L: float | None = None,
    mu: float | None = None,
    x0: Any = None,
    stationary_points: tuple[StationaryPoint, ...] = (),
    name: str = "user",
    xp: Any = None,
    dtype: Any = None,
) -> FunctionProblem:
    r"""Wrap a user's objective as a problem.

    Parameters
    ----------
    value, grad : callables
        ``value(x) -> (*batch,)`` and ``grad(x) -> (*batch, n)`` for ``x`` of shape
        ``(*batch, n)``, written with the array API (``array_namespace(x)``) so they run on every
        backend.
    hvp : callable ``(x, v) -> (*batch, n)``, optional
        Hessian-vector product; central differences of ``grad`` when omitted.
    dim : int
        n >= 1.
    x_star, f_star, L, mu : optional
        Known constants (``x_star`` of shape ``(dim,)``; ``L >= 0``; ``0 <= mu <= L``).
    x0 : array-like, optional
        Default start (zeros when omitted).
    name : str
    xp, dtype
        Namespace and dtype of the problem's arrays (default: the namespace of ``x_star`` if it
        is an array, else NumPy; float64).

    Examples
    --------
    >>> import numpy as np
    >>> from precond_theory.problems import from_functions
    >>> p = from_functions(value=lambda x: 0.5 * (x * x).sum(-1), grad=lambda x: x, dim=3,
    ...                    x_star=np.zeros(3), f_star=0.0, L=1.0, mu=1.0, name="sphere")
    >>> float(p.value(np.ones(3)))
    1.5
    """
    for nm, fn in (("value", value), ("grad", grad)):
        if not callable(fn):
            raise TypeError(f"{nm} must be a callable x -> array; got {fn!r}")
    if hvp is not None and not callable(hvp):
        raise TypeError(f"hvp must be a callable (x, v) -> array or None; got {hvp!r}")
    dim = check_int("dim", dim, 1)
    if xp is None:
        xp = array_namespace(x_star) if x_star is not None and hasattr(x_star, "shape") else np
    dt = resolve_dtype(xp, dtype)
    xs = _vector("x_star", x_star, dim, xp, dt)
    start = _vector("x0", x0, dim, xp, dt)
    if L is not None:
        check_range("L", L, 0.0)
    if mu is not None:
        check_range("mu", mu, 0.0, float("inf") if L is None else float(L))
    if f_star is not None:
        check_range("f_star", f_star)
    return FunctionProblem(value_fn=value, grad_fn=grad, hvp_fn=hvp, dim=dim, xp=array_namespace(xp.zeros(1)),
                           dtype=dt, x_star=xs, f_star=None if f_star is None else float(f_star),
                           L=None if L is None else float(L), mu=None if mu is None else float(mu), x0=start,
                           stationary_points=tuple(stationary_points), name=str(name), params={"dim": dim})


def _vector(name: str, v: Any, dim: int, xp: Any, dt: Any) -> Array | None:
    if v is None:
        return None
    a = asarray(np.asarray(v, dtype=np.float64) if not hasattr(v, "__array_namespace__") else v, xp, dt)
    if tuple(a.shape) != (dim,):
        raise ValueError(f"{name} must have shape (dim,) = ({dim},); got shape {tuple(a.shape)}")
    return a

"""Forward-mode dual numbers pushed through the analytic gradient code: exact Hessian-vector products."""

from __future__ import annotations

from typing import Any

from ._shared import Array


# ======================================================================= forward-mode numbers
class _Dual:
    r"""Dual number :math:`v + \epsilon t` with array parts: forward-mode derivative along a direction.

    Pushing ``_Dual(theta, direction)`` through the gradient code gives
    :math:`\nabla f(\theta) + \epsilon\,\nabla^2 f(\theta)\,\text{direction}` exactly
    (Pearlmutter's R-operator [6]_).  Only the operations the models use are defined.
    """

    __slots__ = ("t", "v")
    __array_ufunc__ = None  # NumPy defers to the reflected operators below
    __array_priority__ = 1000

    def __init__(self, v: Array, t: Array) -> None:
        self.v, self.t = v, t

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.v.shape)

    def __getitem__(self, idx: Any) -> _Dual:
        return _Dual(self.v[idx], self.t[idx])

    def __neg__(self) -> _Dual:
        return _Dual(-self.v, -self.t)

    def __add__(self, o: Any) -> _Dual:
        return _Dual(self.v + o.v, self.t + o.t) if isinstance(o, _Dual) else _Dual(self.v + o, self.t)

    __radd__ = __add__

    def __sub__(self, o: Any) -> _Dual:
        return _Dual(self.v - o.v, self.t - o.t) if isinstance(o, _Dual) else _Dual(self.v - o, self.t)

    def __rsub__(self, o: Any) -> _Dual:
        return _Dual(o - self.v, -self.t)

    def __mul__(self, o: Any) -> _Dual:
        if isinstance(o, _Dual):
            return _Dual(self.v * o.v, self.t * o.v + self.v * o.t)
        return _Dual(self.v * o, self.t * o)

    __rmul__ = __mul__

    def __truediv__(self, o: Any) -> _Dual:
        if isinstance(o, _Dual):
            q = self.v / o.v
            return _Dual(q, (self.t - q * o.t) / o.v)
        return _Dual(self.v / o, self.t / o)

    def __rtruediv__(self, o: Any) -> _Dual:
        q = o / self.v
        return _Dual(q, -q * self.t / self.v)

    def __matmul__(self, o: Any) -> _Dual:
        if isinstance(o, _Dual):
            return _Dual(self.v @ o.v, self.t @ o.v + self.v @ o.t)
        return _Dual(self.v @ o, self.t @ o)

    def __rmatmul__(self, o: Any) -> _Dual:
        return _Dual(o @ self.v, o @ self.t)


def _mm(a: Any, b: Any) -> Any:
    if isinstance(b, _Dual) and not isinstance(a, _Dual):
        return b.__rmatmul__(a)
    return a @ b


def _lift(xp: Any, fn: str, a: Any) -> Any:
    if not isinstance(a, _Dual):
        return getattr(xp, fn)(a)
    v = getattr(xp, fn)(a.v)
    if fn == "tanh":
        return _Dual(v, a.t * (1 - v * v))
    if fn == "sqrt":
        return _Dual(v, a.t / (2 * v))
    raise NotImplementedError(fn)  # pragma: no cover


def _reduce(xp: Any, fn: str, a: Any, axis: int, keepdims: bool) -> Any:
    f = getattr(xp, fn)
    if isinstance(a, _Dual):
        return _Dual(f(a.v, axis=axis, keepdims=keepdims), f(a.t, axis=axis, keepdims=keepdims))
    return f(a, axis=axis, keepdims=keepdims)


def _mT(xp: Any, a: Any) -> Any:
    if isinstance(a, _Dual):
        return _Dual(xp.matrix_transpose(a.v), xp.matrix_transpose(a.t))
    return xp.matrix_transpose(a)


def _reshape(xp: Any, a: Any, shape: tuple[int, ...]) -> Any:
    if isinstance(a, _Dual):
        return _Dual(xp.reshape(a.v, shape), xp.reshape(a.t, shape))
    return xp.reshape(a, shape)


def _concat(xp: Any, parts: list[Any]) -> Any:
    if any(isinstance(p, _Dual) for p in parts):
        vs = [p.v if isinstance(p, _Dual) else p for p in parts]
        ts = [p.t if isinstance(p, _Dual) else xp.zeros_like(p) for p in parts]
        return _Dual(xp.concat(vs, axis=-1), xp.concat(ts, axis=-1))
    return xp.concat(parts, axis=-1)


def _primal(a: Any) -> Any:
    return a.v if isinstance(a, _Dual) else a



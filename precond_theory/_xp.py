"""Backend layer: the only module where NumPy is called for numerical work.

Everything numerical in :mod:`precond_theory` goes through an array-API namespace obtained
with :func:`array_namespace`.  This module adds the few helpers the array API lacks:
conversion to host NumPy arrays, a seeded random-number shim that works on every backend,
dtype-aware tolerances and backend predicates.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import numpy as np
from array_api_compat import array_namespace as _compat_namespace
from array_api_compat import is_array_api_obj, is_cupy_namespace, is_numpy_namespace

__all__ = [
    "array_namespace",
    "to_numpy",
    "is_cupy",
    "is_numpy",
    "eps",
    "default_rtol",
    "Rng",
    "asarray",
    "errstate",
    "namespace_name",
]


def array_namespace(*xs: Any) -> Any:
    """Return the array-API namespace shared by ``xs`` (Python scalars and None are ignored).

    Raises
    ------
    TypeError
        If the arrays come from different backends, naming them.
    """
    arrays = [x for x in xs if x is not None and not isinstance(x, (int, float, bool))]
    if not arrays:
        raise TypeError("array_namespace needs at least one array argument")
    try:
        return _compat_namespace(*arrays)
    except TypeError as exc:
        kinds = sorted({type(a).__module__.split(".")[0] + "." + type(a).__name__ for a in arrays})
        raise TypeError(f"arrays come from different backends ({', '.join(kinds)}): {exc}") from None


def namespace_name(xp: Any) -> str:
    """Short backend name: ``numpy``, ``cupy``, ``array_api_strict``, ..."""
    name = getattr(xp, "__name__", str(xp))
    for short in ("numpy", "cupy", "array_api_strict", "torch", "jax"):
        if short in name:
            return short
    return name


def is_cupy(xp: Any) -> bool:
    """True when ``xp`` is CuPy (or array-api-compat's CuPy wrapper)."""
    return bool(is_cupy_namespace(xp))


def is_numpy(xp: Any) -> bool:
    """True when ``xp`` is NumPy (or array-api-compat's NumPy wrapper)."""
    return bool(is_numpy_namespace(xp))


def to_numpy(x: Any) -> np.ndarray:
    """Copy an array of any supported backend to a host NumPy array (scalars pass through).

    CuPy arrays are moved with ``.get()``; other backends go through DLPack or
    ``__array__``.  This is the only place where device data reaches the host.
    """
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, (int, float, bool, np.generic)):
        return np.asarray(x)
    if hasattr(x, "get") and type(x).__module__.startswith("cupy"):
        return x.get()
    if is_array_api_obj(x):
        try:
            return np.from_dlpack(x)
        except (TypeError, RuntimeError, BufferError, AttributeError):
            pass
        return np.asarray(x)
    return np.asarray(x)


def asarray(value: Any, xp: Any, dtype: Any = None) -> Any:
    """``xp.asarray(value, dtype=dtype)``, moving host NumPy data to ``xp`` when needed."""
    if isinstance(value, np.ndarray) and not is_numpy(xp):
        value = value.tolist() if not is_cupy(xp) else value
    return xp.asarray(value, dtype=dtype)


def eps(dtype: Any, xp: Any = None) -> float:
    """Machine epsilon of a floating dtype (``finfo(dtype).eps``) as a Python float."""
    if xp is not None:
        return float(xp.finfo(dtype).eps)
    try:
        return float(np.finfo(dtype).eps)
    except (TypeError, ValueError):  # e.g. array_api_strict dtypes: use their name
        return float(np.finfo(np.dtype(str(dtype).split(".")[-1])).eps)


def default_rtol(dtype: Any, xp: Any = None) -> float:
    r"""Default relative tolerance :math:`4\sqrt{\varepsilon}` for ``dtype`` (array-api-extra's rule)."""
    return 4.0 * math.sqrt(eps(dtype, xp))


@contextlib.contextmanager
def errstate(xp: Any):
    """Silence NumPy's overflow/invalid warnings inside a run.

    A run records NaN/inf as a divergence of that run (``Trace.diverged``) and reports it
    once; NumPy's per-operation warnings would otherwise flood the output.
    """
    if is_numpy(xp):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            yield
    else:
        yield


class Rng:
    """Seeded random numbers on any backend.

    On CuPy the draws come from ``cupy.random.default_rng`` on the device; on every other
    backend they are drawn from a NumPy ``Generator`` on the host and converted with
    ``xp.asarray``, so that NumPy and array-api-strict see identical streams.

    Parameters
    ----------
    seed : int
        Non-negative integer seed.
    xp : namespace
        Target namespace.
    dtype : dtype, optional
        Floating dtype of the draws (default: ``xp.float64``).
    """

    def __init__(self, seed: int, xp: Any, dtype: Any = None) -> None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.seed = int(seed)
        self.xp = xp
        self.dtype = xp.float64 if dtype is None else dtype
        if is_cupy(xp):
            import cupy

            self._gen = cupy.random.default_rng(self.seed)
            self._device = True
        else:
            self._gen = np.random.default_rng(self.seed)
            self._device = False

    def _out(self, a: Any) -> Any:
        if self._device:
            return a.astype(self.dtype, copy=False)
        return asarray(np.asarray(a, dtype=np.float64), self.xp, dtype=self.dtype)

    def normal(self, shape: tuple[int, ...]) -> Any:
        """Standard normal draws of ``shape``."""
        return self._out(self._gen.standard_normal(shape))

    def uniform(self, shape: tuple[int, ...], low: float = 0.0, high: float = 1.0) -> Any:
        """Uniform draws on ``[low, high)``."""
        return self._out(self._gen.uniform(low, high, shape))

    def rademacher(self, shape: tuple[int, ...]) -> Any:
        """Independent signs, +1 or -1 with probability 1/2 each."""
        return self._out(2.0 * (self._gen.random(shape) < 0.5) - 1.0)

    def student_t(self, df: float, shape: tuple[int, ...]) -> Any:
        """Student-t draws with ``df`` degrees of freedom: ``Z / sqrt(V / df)``, V ~ chi^2(df)."""
        z = self._gen.standard_normal(shape)
        chi2 = 2.0 * self._gen.standard_gamma(df / 2.0, shape)
        return self._out(z / (chi2 / df) ** 0.5)

    def integers(self, low: int, high: int, shape: tuple[int, ...]) -> Any:
        """Integers on ``[low, high)`` as an integer array of the target namespace."""
        a = self._gen.integers(low, high, shape)
        return a if self._device else asarray(np.asarray(a, dtype=np.int64), self.xp)

    def permutation(self, n: int, batch: tuple[int, ...] = ()) -> Any:
        """Independent random permutations of ``range(n)``, one per batch entry (host-drawn)."""
        host = np.random.default_rng(int(self._gen.integers(0, 2**62)))
        a = np.argsort(host.random((*batch, n)), axis=-1)
        return asarray(a.astype(np.int64), self.xp)

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
    "splitmix64",
    "check_seeds",
    "row_slices",
    "SLICE_BYTES",
]

#: large NumPy arrays with batch axes are drawn, and reduced at record points, on slices of runs
#: (along axis 0) of about this many bytes: temporaries of one slice instead of the whole batch
SLICE_BYTES = 1 << 22


def row_slices(shape: tuple[int, ...], itemsize: int) -> list[slice] | None:
    """Slices along axis 0 of about :data:`SLICE_BYTES` each for an array of ``shape`` with at
    least two axes and two rows that is larger than that; else None (the whole array)."""
    if len(shape) < 2 or shape[0] < 2:
        return None
    rows = int(shape[0])
    row_bytes = math.prod(int(s) for s in shape[1:]) * int(itemsize)  # the loop asks every step: no NumPy call
    if rows * row_bytes <= SLICE_BYTES:
        return None
    step = max(1, SLICE_BYTES // max(row_bytes, 1))
    return [slice(i, min(i + step, rows)) for i in range(0, rows, step)]


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


_GOLDEN = 0x9E3779B97F4A7C15  # 2^64 / golden ratio, the splitmix64 increment
_MIX1, _MIX2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB  # splitmix64 finalizer constants
_SEED_LIMIT = 2**63
#: independent families of streams of one seed: the oracle's noise, the start point, user draws
STREAMS = {"oracle": 0x6F7261636C650001, "start": 0x7374617274000002, "user": 0x7573657200000003}
_MAX_ROUNDS = 64  # rejection rounds of the Student-t sampler; P(not accepted) = (1 - pi/4)^64 < 1e-42


def _mix64(xp: Any, z: Any) -> Any:
    """splitmix64's finalizer on a uint64 array (a bijection of 64-bit words; wraps mod 2^64)."""
    m1, m2 = xp.asarray(_MIX1, dtype=xp.uint64), xp.asarray(_MIX2, dtype=xp.uint64)
    z = (z ^ (z >> 30)) * m1
    z = (z ^ (z >> 27)) * m2
    return z ^ (z >> 31)


def splitmix64(xp: Any, key: Any, index: Any) -> Any:
    r"""Word ``index`` of the splitmix64 sequence started at ``key`` (uint64 arrays, broadcast):
    :math:`\mathrm{mix}(key + (index + 1)\,\gamma)` with γ = 0x9E3779B97F4A7C15 (Steele, Lea,
    Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014)."""
    g = xp.asarray(_GOLDEN, dtype=xp.uint64)
    return _mix64(xp, key + (index + xp.asarray(1, dtype=xp.uint64)) * g)


def check_seeds(name: str, seed: Any) -> np.ndarray:
    """``seed`` (an int or an integer array) as a host int64 array; ValueError/TypeError naming
    ``name`` unless every entry is an integer in ``[0, 2**63)``."""
    if isinstance(seed, (bool, np.bool_)) or isinstance(seed, float):
        raise TypeError(f"{name} must be a non-negative integer or an integer array; got {seed!r}")
    try:
        a = np.asarray(seed)
    except Exception:  # noqa: BLE001 - anything that is not array-like
        raise TypeError(f"{name} must be a non-negative integer or an integer array; got {seed!r}") from None
    if a.dtype == object or not (np.issubdtype(a.dtype, np.integer)):
        raise TypeError(f"{name} must be a non-negative integer or an integer array; got {seed!r} "
                        f"(dtype {a.dtype})")
    if a.size and (int(a.min()) < 0 or int(a.max()) >= _SEED_LIMIT):
        raise ValueError(f"{name} must be a non-negative integer below 2**63 (or an array of them); got {seed!r}")
    return a.astype(np.int64)


class Rng:
    r"""Counter-based random numbers: one independent stream per seed, the same on every backend.

    Every draw is a pure function of ``(seed, call, index)``: ``call`` counts the draws made
    with this generator (0, 1, 2, ...) and ``index`` is the position of the number inside the
    run's part of the draw.  The words are :func:`splitmix64` of a per-(seed, call) key, computed
    with array-API integer operations on the target namespace, so NumPy, array-api-strict and
    CuPy produce identical numbers and nothing is copied from the host.

    ``seed`` may be an integer array of shape ``S`` (one seed per run of a batch): a draw of
    shape ``(*S, *rest)`` then gives run ``i`` the numbers a scalar-seed generator with seed
    ``S[i]`` gives for ``rest``, so that member i of a batch equals the single run with its seed.
    With a scalar seed the whole draw is one run's numbers.

    Laws: uniforms are :math:`(\lfloor w / 2^{11}
floor + 1/2)\,2^{-53}` in (0, 1) (53 random
    bits); normals by Box–Muller (two uniforms each); Student-t by Bailey's polar method
    (exact for any df > 0; rejection rounds use further words of the same call); integers by
    :math:`\lfloor u\,(high-low)
floor + low` (bias below :math:`2^{-53}(high-low)`);
    permutations by sorting uniforms.  Draws are made in float64 and cast to ``dtype``.

    Parameters
    ----------
    seed : int or integer array
        Non-negative seeds below 2**63.
    stream : {"oracle", "start", "user"}
        Family of streams: the same seed gives independent numbers in different families
        (:func:`precond_theory.run` draws oracle noise from "oracle" and random starts from "start").
    xp : namespace
        Target namespace.
    dtype : dtype, optional
        Floating dtype of the draws (default: ``xp.float64``).
    """

    def __init__(self, seed: Any, xp: Any, dtype: Any = None, *, stream: str = "oracle") -> None:
        if stream not in STREAMS:
            raise ValueError(f"stream must be one of {sorted(STREAMS)}; got {stream!r}")
        seeds = check_seeds("seed", seed)
        self.seeds = seeds
        self.seed = int(seeds) if seeds.ndim == 0 else seeds
        self.xp = xp
        self.dtype = xp.float64 if dtype is None else dtype
        self.calls = 0
        self.stream = stream
        with errstate(np):
            host = _mix64(np, seeds.astype(np.uint64).reshape(seeds.shape or (1,))) ^ np.uint64(STREAMS[stream])
        self._key = asarray(host, xp, xp.uint64)

    def _words(self, shape: tuple[int, ...], per: int = 1, sub: int = 0, rows: slice | None = None) -> Any:
        """uint64 words of shape ``(*shape, per)`` for draw call ``self.calls`` (sub-stream ``sub``);
        with ``rows``, the words of those rows (along axis 0) of that draw only."""
        xp, S = self.xp, self.seeds.shape
        shape = tuple(int(s) for s in shape)
        if len(shape) < len(S) or tuple(shape[: len(S)]) != S:
            raise ValueError(f"a draw of shape {shape} does not match the generator's seed shape {S}: "
                             f"the leading axes must be {S}")
        rest = shape[len(S):]
        m = int(np.prod(rest, dtype=np.int64)) * per
        with errstate(xp):
            call = xp.asarray([self.calls * 0x100 + sub], dtype=xp.uint64)
            key = _mix64(xp, self._key + call * xp.asarray(_GOLDEN, dtype=xp.uint64))
            key = xp.reshape(key, (*S, 1)) if S else xp.reshape(key, (1,))
            if rows is None:
                idx = xp.arange(m, dtype=xp.uint64)
            elif S:  # runs rows: their keys, the same positions
                key, idx = key[rows, ...], xp.arange(m, dtype=xp.uint64)
            else:  # one run: the positions of those rows
                inner = m // shape[0]
                idx = xp.arange(rows.start * inner, rows.stop * inner, dtype=xp.uint64)
            w = splitmix64(xp, key, idx)
        if rows is not None:
            shape = (rows.stop - rows.start, *shape[1:])
        return xp.reshape(w, (*shape, per))

    def _uniform01(self, shape: tuple[int, ...], per: int = 1, sub: int = 0, rows: slice | None = None) -> Any:
        xp = self.xp
        w = self._words(shape, per, sub, rows)
        return (xp.astype(w >> 11, xp.float64) + 0.5) * (2.0 ** -53)

    def _done(self, a: Any) -> Any:
        self.calls += 1
        return a if a.dtype == self.dtype else self.xp.astype(a, self.dtype)

    def _drawn(self, shape: tuple[int, ...], draw: Any) -> Any:
        """``draw(rows)`` (float64 numbers of those rows of the draw, all of them for None) as one
        call's draw: on slices of runs (:func:`row_slices`) for a large NumPy draw, whose words are
        the same numbers cut into rows, so that the temporaries are a slice's; else at once."""
        shape = tuple(int(s) for s in shape)
        slices = row_slices(shape, 8) if is_numpy(self.xp) else None
        if not slices:
            return self._done(draw(None))
        out = np.empty(shape, dtype=self.dtype)
        for sl in slices:
            out[sl] = draw(sl)
        self.calls += 1
        return out

    def normal(self, shape: tuple[int, ...]) -> Any:
        """Standard normal draws of ``shape``."""
        xp = self.xp

        def draw(rows: slice | None) -> Any:
            u = self._uniform01(shape, 2, rows=rows)
            return xp.sqrt(-2.0 * xp.log(u[..., 0])) * xp.cos((2.0 * math.pi) * u[..., 1])

        return self._drawn(shape, draw)

    def uniform(self, shape: tuple[int, ...], low: float = 0.0, high: float = 1.0) -> Any:
        """Uniform draws on ``[low, high)``."""
        return self._drawn(shape, lambda rows: low + (high - low) * self._uniform01(shape, rows=rows)[..., 0])

    def rademacher(self, shape: tuple[int, ...]) -> Any:
        """Independent signs, +1 or -1 with probability 1/2 each."""
        xp = self.xp

        def draw(rows: slice | None) -> Any:
            top = self._words(shape, rows=rows)[..., 0] >> 63
            return 2.0 * xp.astype(top, xp.float64) - 1.0

        return self._drawn(shape, draw)

    def student_t(self, df: float, shape: tuple[int, ...]) -> Any:
        r"""Student-t draws with ``df`` degrees of freedom (Bailey's polar method: U, V uniform on
        (-1, 1), W = U² + V² accepted when W <= 1, :math:`T = U\sqrt{df\,(W^{-2/df} - 1)/W}`)."""
        xp = self.xp
        shape = tuple(int(s) for s in shape)

        def draw(rows: slice | None) -> Any:  # each number's rounds use its own words: a slice's are its own
            part = shape if rows is None else (rows.stop - rows.start, *shape[1:])
            out = xp.zeros(part, dtype=xp.float64)
            todo = xp.ones(part, dtype=xp.bool)
            for sub in range(_MAX_ROUNDS):
                u = 2.0 * self._uniform01(shape, 2, sub, rows=rows) - 1.0
                w = u[..., 0] ** 2 + u[..., 1] ** 2
                ok = todo & (w <= 1.0)
                ws = xp.where(ok, w, xp.ones_like(w))
                t = u[..., 0] * xp.sqrt(df * (ws ** (-2.0 / df) - 1.0) / ws)
                out = xp.where(ok, t, out)
                todo = todo & ~ok
                if not bool(xp.any(todo)):
                    break
            return out

        return self._drawn(shape, draw)

    def integers(self, low: int, high: int, shape: tuple[int, ...]) -> Any:
        """Integers on ``[low, high)`` as an int64 array of the target namespace."""
        xp = self.xp
        u = self._uniform01(shape)[..., 0]
        a = xp.astype(xp.floor(u * float(high - low)), xp.int64) + int(low)
        self.calls += 1
        return xp.minimum(a, xp.asarray(int(high) - 1, dtype=xp.int64))

    def permutation(self, n: int, batch: tuple[int, ...] = ()) -> Any:
        """Independent random permutations of ``range(n)``, one per batch entry (argsort of uniforms)."""
        xp = self.xp
        u = self._uniform01((*batch, n))[..., 0]
        self.calls += 1
        return xp.astype(xp.argsort(u, axis=-1), xp.int64)

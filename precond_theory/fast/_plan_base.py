"""One plan per covered rule: the glue between a rule's hyperparameters and its kernel.

A plan is built once per run by :func:`precond_theory.fast.compile_step` (and by the segment
runner of :mod:`._segments`).  Its parts, each written once and used by both compiled paths:

* :meth:`Plan.setup` — constant coefficients and flags;
* :meth:`Plan.coefs` — the coefficients that depend on the step count (and the rule's scalar
  state, e.g. FISTA's t), with the very expressions of the rule's ``_step`` (on Python floats or
  on the hyperparameter arrays), plus the kernel's per-step ``mode``;
* :meth:`Plan.buffers` — the state arrays, owned by the plan, as ``(R, n)`` views in the
  kernel's order; :meth:`Plan.kernel` — one call of the rule's kernel;
* :meth:`Plan.rebuild` — the rule's state after the update(s).

:meth:`Plan.step` strings them together for one update; the segment runner evaluates
:meth:`Plan.coefs` for every step of a segment into a table and runs the kernel in a loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..rules.base import hp

__all__ = ["Plan", "PARALLEL_MIN_SIZE", "PARALLEL_CHUNK", "STEP_TABLE", "TABLE_CHUNK"]

#: above this many elements a rule with a parallel kernel uses numba's threads
PARALLEL_MIN_SIZE = 1 << 20
PARALLEL_CHUNK = 1 << 16


#: steps of coefficients the compiled step computes at a time (fewer for per-run
#: hyperparameters, see :meth:`Plan.table_steps`)
STEP_TABLE = 256


def _same(a: tuple, b: tuple) -> bool:
    """The scalar state fields ``a`` and ``b`` are the same values."""
    return len(a) == len(b) and all(x is y or np.array_equal(x, y) for x, y in zip(a, b))


#: tables of Python-number coefficients: (plan key, first step of a chunk) -> (T, M, after, scalars before)
_TABLES: dict[tuple, tuple[np.ndarray, np.ndarray, list[tuple], tuple]] = {}
TABLE_CHUNK = 512
_TABLES_MAX = 256


def _cached_table(plan: Any, key: tuple, k0: int, L: int, sc: tuple) -> tuple[np.ndarray, np.ndarray, list[tuple]]:
    """Rows k0..k0+L-1 assembled from chunks of :data:`TABLE_CHUNK` steps, each computed once per
    key (rule, dtype) and scalar state: a lookup whose scalar state differs from the chunk's at
    that step recomputes (so a table is always the one :meth:`Plan._compute_table` gives)."""
    parts = []
    k = k0
    while k < k0 + L:
        c0 = k - k % TABLE_CHUNK
        i, n = k - c0, min(k0 + L, c0 + TABLE_CHUNK) - k
        hit = _TABLES.get((key, c0))
        if hit is None or not _same(hit[3] if i == 0 else hit[2][i - 1], sc):
            if i:  # a chunk entered mid-way with another scalar state: these rows only, uncached
                T, M, after = plan._compute_table(k, n, sc)
                parts.append((T, M, after))
                sc, k = after[-1], k + n
                continue
            hit = (*plan._compute_table(c0, TABLE_CHUNK, sc), sc)
            if len(_TABLES) >= _TABLES_MAX:
                _TABLES.pop(next(iter(_TABLES)))
            _TABLES[(key, c0)] = hit
        parts.append((hit[0][i:i + n], hit[1][i:i + n], hit[2][i:i + n]))
        sc, k = hit[2][i + n - 1], k + n
    if len(parts) == 1:
        return parts[0]
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
            [a for p in parts for a in p[2]])


def _is_zero(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == 0


class Plan:
    """Coefficient table and state buffers of one compiled rule (subclasses: one per rule)."""

    #: names of the rows of the coefficient table, in the kernel's order
    rows: tuple[str, ...] = ()
    #: the rows that :meth:`coefs` sets for every update (a subset of ``rows``)
    krows: tuple[str, ...] = ()
    #: the kernel's id in the segment drivers of :mod:`._segment_kernels`
    kid: int = -1

    def __init__(self, rule: Any, x: np.ndarray) -> None:
        self.rule = rule
        self.dtype = x.dtype
        self.batch = tuple(x.shape[:-1])
        self.R = int(np.prod(self.batch, dtype=np.int64))
        self.n = int(x.shape[-1])
        self.xp = np
        self.like = x
        self.per_run = bool(rule.batch_shape())
        self.C = np.zeros((len(self.rows), self.R if self.per_run else 1), dtype=self.dtype)
        self.K = np.array([0, 1], dtype=self.dtype)
        self._owned: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._taking, self._taken = False, set()  # (see take)
        self._tab: Any = None
        #: integer flags of the kernel (bools as 0/1), in the segment driver's order
        self.flags: tuple[int, ...] = ()
        #: the kernel mode when it does not depend on the step and nothing is in :attr:`krows` (else None)
        self.static_mode: int | None = 0 if type(self).coefs is Plan.coefs else None
        self.setup()
        self.krow_index = np.array([self.rows.index(r) for r in self.krows], dtype=np.int64)

    # ---------------------------------------------------------------------------------- helpers
    def hp(self, name: str) -> Any:
        return hp(getattr(self.rule, name), self.like, np)

    def column(self, value: Any) -> np.ndarray:
        """A coefficient as the column it occupies in ``C``: shape ``(R,)`` or ``(1,)``, in the dtype of x."""
        if self.per_run:
            return np.broadcast_to(np.asarray(value, dtype=self.dtype), (*self.batch, 1)).reshape(self.R)
        return np.asarray(value, dtype=self.dtype).reshape(1)

    def set(self, row: str, value: Any) -> None:
        """Store a coefficient (Python number or array broadcastable to (*batch, 1))."""
        i = self.rows.index(row)
        if self.per_run:
            self.C[i] = self.column(value)
        elif isinstance(value, np.ndarray):
            self.C[i, 0] = np.asarray(value, dtype=self.dtype).reshape(())
        else:
            self.C[i, 0] = value

    def own(self, arr: Any) -> tuple[np.ndarray, np.ndarray]:
        """(buffer, its (R, n) view): ``arr`` itself when this plan allocated it, else a fresh copy.

        A state array this plan did not allocate (the initial state, or an alias of x such as
        ``x_prev = x``) is copied once, so the kernels never write into memory they do not own.
        """
        hit = self._owned.get(id(arr))
        if hit is not None and hit[0] is arr and id(arr) not in self._taken:
            return hit
        if self._taking and id(arr) not in self._taken and self._movable(arr):
            self._taken.add(id(arr))  # taken over, once: a second field holding it gets a copy
            buf = arr
        else:
            buf = np.array(np.broadcast_to(arr, (*self.batch, self.n)), dtype=self.dtype, order="C")
            self._owned = {k: v for k, v in self._owned.items() if v[0] is not arr or k in self._taken}
        pair = (buf, buf.reshape(self.R, self.n))
        self._owned[id(buf)] = pair
        return pair

    def take(self, state: Any) -> list[tuple[Any, np.ndarray]]:
        """:meth:`buffers` of a state that nothing else holds (the run's initial state, handed
        over by the loop): each of its arrays that can serve as a buffer is taken over instead of
        copied (once; a second field holding the same array, e.g. Adam's zeros as m and v, gets a
        copy), so that the state is not held twice while the buffers are made."""
        self._taking, self._taken = True, set()
        try:
            return self.buffers(state)
        finally:
            self._taking, self._taken = False, set()

    def _movable(self, arr: Any) -> bool:
        """A C-contiguous writeable array of x's shape and dtype that owns its memory and is
        neither x (``x_prev = x``) nor memory of it, nor a hyperparameter of the rule."""
        import dataclasses

        fields = dataclasses.fields(self.rule) if dataclasses.is_dataclass(self.rule) else ()
        return (isinstance(arr, np.ndarray) and arr.dtype == self.dtype and arr.shape == (*self.batch, self.n)
                and arr.base is None and arr.flags.c_contiguous and arr.flags.writeable
                and not np.may_share_memory(arr, self.like)
                and not any(getattr(self.rule, f.name) is arr for f in fields))

    def own_col(self, arr: Any) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`own` for a per-run column state array, shape ``(*batch, 1)`` (view ``(R, 1)``)."""
        hit = self._owned.get(id(arr))
        if hit is not None and hit[0] is arr:
            return hit
        buf = np.array(np.broadcast_to(arr, (*self.batch, 1)), dtype=self.dtype, order="C")
        pair = (buf, buf.reshape(self.R, 1))
        self._owned = {k: v for k, v in self._owned.items() if v[0] is not arr}
        self._owned[id(buf)] = pair
        return pair

    def dummy(self) -> np.ndarray:
        return self.K.reshape(1, 2)

    def none(self) -> tuple[None, np.ndarray]:
        """An unused state slot: no buffer, a dummy view for the kernel."""
        return None, self.dummy()

    # ------------------------------------------------------------------------------ interface
    @staticmethod
    def refusal(rule: Any) -> str | None:
        """Why this rule's options have no compiled step, naming the option (None: covered)."""
        return None

    def setup(self) -> None:
        """Constant coefficients and flags (override)."""

    def scalars(self, state: Any) -> tuple:
        """The rule's scalar state fields that :meth:`coefs` advances (override)."""
        return ()

    def coefs(self, k: int, sc: tuple) -> tuple[tuple, int, tuple]:
        """(values of :attr:`krows`, kernel mode, scalar fields after the update) of update k+1,
        applied to a state with ``k`` updates and scalar fields ``sc``, with the expressions of
        the rule's ``_step`` on the same operands (Python floats or hyperparameter arrays), so
        the coefficients are the reference's bit for bit (override; ``()`` for no scalar state)."""
        return (), 0, ()

    def table_steps(self, L: int) -> int:
        """How many of ``L`` steps one table holds: all of them, except with per-run
        hyperparameters, where a step's rows are ``len(krows) * R`` numbers and the table is
        held to :data:`precond_theory._xp.SLICE_BYTES` (at least one step), so that a sweep of
        many runs does not hold thousands of steps of per-run coefficients: 4,096 steps for
        10^4 runs would be 1 GB, hundreds of times the iterate at n = 50."""
        if not self.per_run or not len(self.krows):
            return L
        from .. import _xp

        row = len(self.krows) * self.R * self.dtype.itemsize
        return max(1, min(L, _xp.SLICE_BYTES // row))

    def table(self, k0: int, L: int, sc: tuple) -> tuple[np.ndarray, np.ndarray, list[tuple]]:
        """Coefficient table ``(L, len(krows), R or 1)``, modes ``(L,)`` and the scalar fields after
        each of the updates k0, ..., k0+L-1.  Tables of Python-number hyperparameters are shared
        by the runs of a process that use the same rule and dtype (:func:`_cached_table`);
        those of per-run hyperparameters are computed step by step, as the reference does."""
        if not self.per_run and not self.krows and self.static_mode is not None:
            return np.empty((L, 0, 1), dtype=self.dtype), np.full(L, self.static_mode, dtype=np.int64), [sc] * L
        if not self.per_run and self.krows:  # (modes alone are cheap: not cached)
            key = (type(self), repr(self.rule), str(self.dtype))
            return _cached_table(self, key, k0, L, sc)
        return self._compute_table(k0, L, sc)

    def _compute_table(self, k0: int, L: int, sc: tuple) -> tuple[np.ndarray, np.ndarray, list[tuple]]:
        T = np.empty((L, len(self.krows), self.R if self.per_run else 1), dtype=self.dtype)
        modes, after = np.empty(L, dtype=np.int64), []
        coefs, column = self.coefs, self.column
        for i, k in enumerate(range(k0, k0 + L)):
            v, m, s2 = coefs(k, sc)
            sc = s2 or sc
            for t, c in enumerate(v):  # written in place: no list of the table's size
                T[i, t] = column(c) if self.per_run else c
            modes[i] = m
            after.append(sc)
        return T, modes, after

    def buffers(self, state: Any) -> list[tuple[Any, np.ndarray]]:
        """The state arrays (buffer or None, (R, n) view) in the kernel's order (override)."""
        return []

    def kernel(self, x2: np.ndarray, g2: np.ndarray, views: list[np.ndarray], mode: int) -> None:
        """One call of the rule's kernel (override)."""
        raise NotImplementedError

    def rebuild(self, state: Any, k: int, sc: tuple, bufs: list[tuple[Any, np.ndarray]]) -> Any:
        """The rule's state after ``k`` updates, from the state at the start (override)."""
        raise NotImplementedError

    def step(self, x2: np.ndarray, g2: np.ndarray, state: Any, value: Any) -> Any:
        """Apply one update in place and return the new state (coefficients from a table of
        :data:`STEP_TABLE` steps, rebuilt when the step or the scalar state leaves it)."""
        k, sc = state.k, self.scalars(state)
        tab = self._tab
        if tab is None or not (tab[0] <= k < tab[0] + len(tab[2])) or not _same(tab[4][k - tab[0]], sc):
            T, M, after = self.table(k, self.table_steps(STEP_TABLE), sc)
            tab = self._tab = (k, T, M, after, [sc] + after[:-1])
        i = k - tab[0]
        if len(self.krows):
            self.C[self.krow_index] = tab[1][i]
        bufs = self.buffers(state)
        self.kernel(x2, g2, [v for _, v in bufs], int(tab[2][i]))
        return self.rebuild(state, k + 1, tab[3][i], bufs)

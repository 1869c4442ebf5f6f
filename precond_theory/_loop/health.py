r"""Validity of each run: divergence, 0/0 at a zero gradient, negative gaps.

Statuses (``Trace.status``, one per run), each with its step (``Trace.status_step``):

* ``"ok"``;
* ``"non_finite"`` (diverged): a non-finite entry of :math:`x_k`, of :math:`f(x_k)` or of
  :math:`\|\nabla f(x_k)\|^2`, or (after step 0) of a Hessian-vector product the rule asked for
  at a finite point: its overflow as the run diverges;
* ``"blow_up"`` (diverged): the gap :math:`q_k = f(x_k) - f^\star` (or
  :math:`\|\nabla f(x_k)\|^2` when f* is unknown) exceeded :data:`BLOWUP_FACTOR` times its
  value at step 0 at :data:`BLOWUP_POINTS` consecutive record points, increasing at each; the
  step is the first of those points;
* ``"zero_division"`` (not diverged): the iterate became NaN in coordinates where the
  gradient of the previous step was exactly 0 — a 0/0 of a rule run with ``eps = 0`` at an
  exact zero of the gradient, e.g. started at the minimiser.  Told apart from divergence only
  with the every-step scan.

A gap below :math:`-\sqrt{\varepsilon}\max(1, |f^\star|, |f(x_0)|)` is not round-off: the
problem's ``f_star`` is wrong, and the run stops with a ValueError naming it.  (The floor 1
keeps starts at the minimiser, where f(x_0) - f* is round-off itself, from being refused; an
f* wrong by less than about 1.5e-8 in float64 on a problem of unit scale is not detected.)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._xp import eps, to_numpy

__all__ = ["Health", "STATUSES", "DIVERGED", "BLOWUP_FACTOR", "BLOWUP_POINTS"]

STATUSES = ("ok", "non_finite", "blow_up", "zero_division")
DIVERGED = ("non_finite", "blow_up")
#: blow-up: gap (or squared gradient norm) above this multiple of its step-0 value ...
BLOWUP_FACTOR = 1e12
#: ... at this many consecutive record points, increasing at each
BLOWUP_POINTS = 3
_OK, _NONFINITE, _BLOWUP, _ZERODIV = range(4)


class Health:
    """Per-run status kept on the device; host syncs only when a run newly turns non-finite
    (every-step scan) or at record points."""

    def __init__(self, xp: Any, batch_shape: tuple[int, ...], dtype: Any, *, f_star: Any, every_step: bool,
                 problem_name: str) -> None:
        self.xp, self.every_step, self.problem_name = xp, every_step, problem_name
        self.code = xp.zeros(batch_shape, dtype=xp.int8)
        self.step = xp.full(batch_shape, -1, dtype=xp.int64)
        self.f_star = f_star
        self.tol_rel = math.sqrt(eps(dtype, xp))
        self.q0 = None
        self.q_prev = None
        self.streak = xp.zeros(batch_shape, dtype=xp.int64)
        self.streak_start = xp.full(batch_shape, -1, dtype=xp.int64)
        self.f0 = None
        self._floor: Any = None

    def _stamp(self, mask: Any, k: int, code: int) -> None:
        xp = self.xp
        new = mask & (self.code == _OK)
        self.code = xp.where(new, xp.asarray(code, dtype=xp.int8), self.code)
        self.step = xp.where(new, xp.asarray(k, dtype=xp.int64), self.step)

    def stamp_non_finite(self, mask: Any, k: int) -> None:
        """Mark the runs in ``mask`` (batch shape, or with leading axes of a broadcast) non-finite at k."""
        xp = self.xp
        while mask.ndim > self.code.ndim:
            mask = xp.any(mask, axis=0)
        self._stamp(mask, k, _NONFINITE)

    def scan_step(self, k: int, x: Any, gn: Any = None, g_prev: Any = None) -> None:
        """Every-step scan of x_k (and of the squared gradient norm when computed)."""
        xp = self.xp
        bad = ~xp.all(xp.isfinite(x), axis=-1)
        if gn is not None:
            bad = bad | ~xp.isfinite(gn)
        new = bad & (self.code == _OK)
        if not bool(xp.any(new)):
            return
        if g_prev is not None:
            self._stamp(new & _zero_division(xp, x, g_prev), k, _ZERODIV)
        self._stamp(new, k, _NONFINITE)

    def scan_rows(self, k: int, rows: slice, x: np.ndarray, g_prev: np.ndarray) -> np.ndarray:
        """:meth:`scan_step` of x_k for the runs ``rows`` (a slice of the flattened batch; NumPy),
        with ``x`` and ``g_prev`` their rows, shape ``(runs in rows, n)``: the compiled segments
        classify a run that turned non-finite in x right after the update, while they still hold
        the gradient that update used, then go on.  Returns the new codes of those runs."""
        code = self.code.reshape(-1)
        bad = ~np.all(np.isfinite(x), axis=-1)
        new = np.zeros(code.shape, dtype=bool)
        new[rows] = bad & (code[rows] == _OK)
        zero = np.zeros(code.shape, dtype=bool)
        zero[rows] = _zero_division(np, x, g_prev)
        shape = self.code.shape
        self._stamp((new & zero).reshape(shape), k, _ZERODIV)
        self._stamp(new.reshape(shape), k, _NONFINITE)
        return self.code.reshape(-1)[rows]

    def scan_record(self, k: int, x: Any, fx: Any, gn: Any) -> None:
        """Checks at a record point (and at step 0): non-finite values, blow-up, negative gap."""
        xp = self.xp
        bad = ~xp.all(xp.isfinite(x), axis=-1)
        if fx is not None:
            bad = bad | ~xp.isfinite(fx)
        if gn is not None:
            bad = bad | ~xp.isfinite(gn)
        self._stamp(bad, k, _NONFINITE)
        q = None
        if fx is not None and self.f_star is not None:
            q = fx - self.f_star
            if self.f0 is None:
                self.f0 = fx
            self._check_gap(k, fx, q)
        elif gn is not None:
            q = gn
        if q is None:
            return
        if self.q0 is None:
            self.q0, self.q_prev = q, q
            return
        above = (self.q0 > 0) & (q > BLOWUP_FACTOR * self.q0) & (q > self.q_prev)
        self.streak_start = xp.where(above & (self.streak == 0), xp.asarray(k, dtype=xp.int64), self.streak_start)
        self.streak = xp.where(above, self.streak + 1, xp.zeros_like(self.streak))
        blown = self.streak >= BLOWUP_POINTS
        new = blown & (self.code == _OK)
        self.code = xp.where(new, xp.asarray(_BLOWUP, dtype=xp.int8), self.code)
        self.step = xp.where(new, self.streak_start, self.step)
        self.q_prev = q

    def _check_gap(self, k: int, fx: Any, gap: Any) -> None:
        xp = self.xp
        fs = self.f_star
        if self._floor is None:  # -sqrt(eps) max(1, |f*|, |f(x_0)|): fixed once f(x_0) is known
            scale = xp.maximum(xp.abs(xp.asarray(fs, dtype=fx.dtype) + xp.zeros_like(fx)), xp.abs(self.f0))
            scale = xp.maximum(scale, xp.ones_like(scale))
            self._floor = -self.tol_rel * scale
        wrong = gap < self._floor
        if bool(xp.any(wrong)):
            g = to_numpy(gap).reshape(-1)
            f = to_numpy(fx).reshape(-1)
            w = np.flatnonzero(to_numpy(wrong).reshape(-1))
            i = int(w[np.argmin(g[w])])
            fs_i = float(np.broadcast_to(to_numpy(xp.asarray(fs, dtype=fx.dtype)), f.shape)[i]) if not isinstance(
                fs, (int, float)) else float(fs)
            raise ValueError(
                f"problem {self.problem_name!r} has f_star={fs_i!r} but run {i} reached f={f[i]!r} at step {k}, "
                f"{-g[i]:.3g} below f_star (more than round-off, sqrt(eps)*max(1, |f_star|, |f(x_0)|)): f_star is wrong")

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """Host arrays (status names, status steps)."""
        code = np.asarray(to_numpy(self.code)).astype(np.int64)
        step = np.asarray(to_numpy(self.step)).astype(np.int64)
        names = np.asarray(np.asarray(STATUSES)[code], dtype=object)
        return names, step


def _zero_division(xp: Any, x: Any, g_prev: Any) -> Any:
    """Per run: x has a NaN, and only where the previous gradient was exactly 0 (a 0/0 of the rule)."""
    return xp.all(xp.isfinite(x) | (g_prev == 0), axis=-1) & xp.any(xp.isnan(x), axis=-1)

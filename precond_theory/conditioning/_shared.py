"""Names shared by the conditioning submodules."""

from __future__ import annotations

from typing import Any

Array = Any
SCALINGS = ("jacobi", "row_norm", "ruiz", "optimal")


class ConvergenceWarning(RuntimeWarning):
    """An iterative eigensolver or the optimal-scaling solver stopped before its tolerance."""

"""precond-theory: numerical analysis and convergence verification of preconditioned and
adaptive gradient methods, on NumPy, CuPy or any array-API namespace."""

from importlib import import_module
from typing import Any

from . import problems, rules
from ._version import __version__
from .run import run
from .trace import DivergenceWarning, Trace, ZeroDivisionNaNWarning

_LAZY = ("oracles", "theory", "rates", "claims", "conditioning", "normalization", "regularization", "sweep", "plotting")

__all__ = ["run", "Trace", "DivergenceWarning", "ZeroDivisionNaNWarning", "rules", "problems", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module 'precond_theory' has no attribute {name!r}")

"""Problem registry: ``make(name, **params)`` and ``available()``."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from .base import AbstractProblem
from .convex import make_gd_worst_case, make_huber, make_log_sum_exp
from .counterexamples import (
    make_lessard_piecewise,
    make_nesterov_worst_case,
    make_reddi_periodic,
    make_reddi_stochastic,
)
from .finite_sum import make_least_squares, make_logistic_regression
from .nonconvex import (
    make_himmelblau,
    make_rosenbrock,
    make_six_hump_camel,
    make_styblinski_tang,
    make_three_hump_camel,
)
from .nonconvex_models import make_nonconvex_regression, make_phase_retrieval, make_two_layer_net
from .quadratic import make_quadratic

__all__ = ["make", "available", "FACTORIES"]

#: name -> factory; every factory takes keyword parameters plus ``xp`` and ``dtype``.
FACTORIES: dict[str, Callable[..., AbstractProblem]] = {
    "quadratic": make_quadratic,
    "least_squares": make_least_squares,
    "logistic_regression": make_logistic_regression,
    "huber": make_huber,
    "log_sum_exp": make_log_sum_exp,
    "gd_worst_case": make_gd_worst_case,
    "nesterov_worst_case": make_nesterov_worst_case,
    "rosenbrock": make_rosenbrock,
    "three_hump_camel": make_three_hump_camel,
    "six_hump_camel": make_six_hump_camel,
    "himmelblau": make_himmelblau,
    "styblinski_tang": make_styblinski_tang,
    "nonconvex_regression": make_nonconvex_regression,
    "phase_retrieval": make_phase_retrieval,
    "two_layer_net": make_two_layer_net,
    "reddi_periodic": make_reddi_periodic,
    "reddi_stochastic": make_reddi_stochastic,
    "lessard_piecewise": make_lessard_piecewise,
}


def available() -> list[str]:
    """Sorted names of every registered problem."""
    return sorted(FACTORIES)


def make(name: str, **params: Any) -> AbstractProblem:
    """Build the problem ``name`` (see :func:`available`) with keyword ``params``.

    Unknown names raise ``ValueError`` listing the known ones; unknown parameters raise
    ``TypeError`` listing the factory's parameters.  ``xp=`` and ``dtype=`` choose the backend.
    """
    try:
        factory = FACTORIES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown problem {name!r}; available problems: {', '.join(available())}") from None
    known = [p for p in inspect.signature(factory).parameters]
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise TypeError(f"problem {name!r} has no parameter(s) {unknown}; its parameters are {known}")
    return factory(**params)

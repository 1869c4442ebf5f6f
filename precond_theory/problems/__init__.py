"""Controlled problems with exact constants.

``make(name, **params)`` builds any registered problem (``available()`` lists them);
``from_functions(...)`` wraps a user's objective.  See ``docs/problems.md`` for the catalogue.
"""

from .base import AbstractProblem, FeasibleSet, StationaryPoint, central_difference_hvp
from .convex import GDWorstCase, HuberSum, LogSumExp, make_gd_worst_case, make_huber, make_log_sum_exp
from .counterexamples import (
    LessardPiecewise,
    NesterovWorstCase,
    ReddiPeriodic,
    ReddiStochastic,
    make_lessard_piecewise,
    make_nesterov_worst_case,
    make_reddi_periodic,
    make_reddi_stochastic,
)
from .finite_sum import (
    AbstractFiniteSum,
    LeastSquares,
    LogisticRegression,
    make_least_squares,
    make_logistic_regression,
)
from .functions import FunctionProblem, from_functions
from .nonconvex import (
    Himmelblau,
    Rosenbrock,
    SixHumpCamel,
    StyblinskiTang,
    ThreeHumpCamel,
    make_himmelblau,
    make_rosenbrock,
    make_six_hump_camel,
    make_styblinski_tang,
    make_three_hump_camel,
)
from .nonconvex_models import (
    NonconvexRegression,
    PhaseRetrieval,
    TwoLayerNet,
    make_nonconvex_regression,
    make_phase_retrieval,
    make_two_layer_net,
)
from .quadratic import Quadratic, make_quadratic
from .registry import available, make

__all__ = [
    "make", "available", "from_functions",
    "AbstractProblem", "AbstractFiniteSum", "FeasibleSet", "StationaryPoint", "central_difference_hvp",
    "Quadratic", "make_quadratic",
    "LeastSquares", "LogisticRegression", "make_least_squares", "make_logistic_regression",
    "HuberSum", "LogSumExp", "GDWorstCase", "make_huber", "make_log_sum_exp", "make_gd_worst_case",
    "Rosenbrock", "ThreeHumpCamel", "SixHumpCamel", "Himmelblau", "StyblinskiTang",
    "make_rosenbrock", "make_three_hump_camel", "make_six_hump_camel", "make_himmelblau", "make_styblinski_tang",
    "NonconvexRegression", "PhaseRetrieval", "TwoLayerNet",
    "make_nonconvex_regression", "make_phase_retrieval", "make_two_layer_net",
    "ReddiPeriodic", "ReddiStochastic", "LessardPiecewise", "NesterovWorstCase",
    "make_reddi_periodic", "make_reddi_stochastic", "make_lessard_piecewise", "make_nesterov_worst_case",
    "FunctionProblem",
]

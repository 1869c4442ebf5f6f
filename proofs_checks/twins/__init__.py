"""Symbolic twins of every registered update rule.

:mod:`.base` defines the vector type, :class:`Twin` and the registry; :mod:`.compare` compiles
the twins and compares them with the numeric rules; the other modules hold the twins, one module
per rule family (importing them registers the twins).
"""

from . import (  # noqa: F401  (importing registers the twins)
    adaptive,
    first_order,
    hybrid,
    preconditioned,
    ravine,
    relatives,
    resilient,
    second_order,
    sign,
)
from .base import TWINS, Case, Twin, V, coverage_problems, get_twin, make_params, rule_fields, twin_names
from .compare import (
    Mismatch,
    compare_composed,
    compare_one_step,
    compare_quadratic_run,
    compile_twin,
    composed,
    display_equations,
)

__all__ = [
    "TWINS",
    "Case",
    "Mismatch",
    "Twin",
    "V",
    "compare_composed",
    "compare_one_step",
    "compare_quadratic_run",
    "compile_twin",
    "composed",
    "coverage_problems",
    "display_equations",
    "get_twin",
    "make_params",
    "rule_fields",
    "twin_names",
]

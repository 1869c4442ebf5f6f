"""Controlled problems with exact constants."""

from .base import AbstractProblem, FeasibleSet, StationaryPoint, central_difference_hvp
from .quadratic import Quadratic, make_quadratic

__all__ = ["AbstractProblem", "FeasibleSet", "StationaryPoint", "central_difference_hvp", "Quadratic", "make_quadratic"]

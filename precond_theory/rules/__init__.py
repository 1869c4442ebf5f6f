"""Update rules: ``make(name, **hp)``, ``available()``, the rule classes and the wrappers."""

from .adaptive import AdaGrad, Adam, AdamW, AMSGrad, NAdam, RMSProp
from .base import AbstractRule
from .first_order import SGD, HeavyBall, Nesterov, Ravine
from .registry import available, get, make
from .sign import Lion, SignSGD
from .wrappers import make_schedule, with_projection, with_schedule, with_weight_decay

__all__ = [
    "AbstractRule", "make", "available", "get",
    "SGD", "HeavyBall", "Nesterov", "Ravine",
    "AdaGrad", "RMSProp", "Adam", "AMSGrad", "AdamW", "NAdam",
    "SignSGD", "Lion",
    "with_weight_decay", "with_schedule", "with_projection", "make_schedule",
]

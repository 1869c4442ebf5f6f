"""Update rules: ``make(name, **hp)``, ``available()``, the rule classes and the wrappers."""

from .adaptive import AdaGrad, Adam, AdamW, AMSGrad, NAdam, RMSProp
from .base import AbstractRule
from .first_order import SGD, HeavyBall, Nesterov, Ravine
from .hybrid import AdapGradm, HAdapGradm, switch_fraction_metric, switch_step_metric
from .preconditioned import Preconditioned, from_intrinsic, intrinsic_factor, to_intrinsic
from .ravine import AdamRAG
from .registry import available, get, make
from .relatives import AGD, AdaBelief, Apollo
from .relatives_switch import SWATS, AdaBound
from .resilient import AdaRem, Rprop
from .second_order import SOAA
from .sign import Lion, SignSGD
from .wrappers import make_schedule, with_projection, with_schedule, with_weight_decay

__all__ = [
    "AbstractRule", "make", "available", "get",
    "SGD", "HeavyBall", "Nesterov", "Ravine",
    "AdaGrad", "RMSProp", "Adam", "AMSGrad", "AdamW", "NAdam",
    "SignSGD", "Lion",
    "Rprop", "AdaRem", "AdamRAG", "SOAA", "Preconditioned", "to_intrinsic", "from_intrinsic", "intrinsic_factor",
    "AdapGradm", "HAdapGradm", "Apollo", "AGD", "AdaBelief", "AdaBound", "SWATS",
    "switch_fraction_metric", "switch_step_metric",
    "with_weight_decay", "with_schedule", "with_projection", "make_schedule",
]

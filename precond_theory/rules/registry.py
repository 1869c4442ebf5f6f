"""Rule registry: ``make(name, **hyperparameters)`` and ``available()``."""

from __future__ import annotations

from typing import Any

# importing the family modules registers their rules
from . import (  # noqa: F401
    adaptive,
    first_order,
    hybrid,
    preconditioned,
    ravine,
    relatives,
    relatives_switch,
    resilient,
    second_order,
    sign,
)
from .base import REGISTRY, AbstractRule

__all__ = ["make", "available", "get", "REGISTRY"]


def available() -> list[str]:
    """Sorted names of every registered rule."""
    return sorted(REGISTRY)


def get(name: str) -> type[AbstractRule]:
    """The rule class registered as ``name``; unknown names raise listing the known ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown rule {name!r}; available rules: {', '.join(available())}") from None


def make(name: str, **hyperparameters: Any) -> AbstractRule:
    """Build the rule ``name`` with the given hyperparameters (unknown keywords raise, naming the known ones)."""
    cls = get(name)
    import dataclasses

    known = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(hyperparameters) - set(known))
    if unknown:
        raise TypeError(f"rule {name!r} has no hyperparameter(s) {unknown}; its hyperparameters are {known}")
    return cls(**hyperparameters)

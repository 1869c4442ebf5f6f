"""Shared moment arithmetic, written once: EMAs, bias correction, adaptive denominators."""

from __future__ import annotations

from typing import Any, Literal

__all__ = ["ema", "debias", "bias_correction", "adaptive_denominator", "EpsPlacement"]

EpsPlacement = Literal["outside", "inside"]


def ema(m: Any, g: Any, b: Any) -> Any:
    r"""Exponential moving average :math:`\beta m + (1-\beta) g`."""
    return b * m + (1 - b) * g


def bias_correction(b: Any, k: int) -> Any:
    r""":math:`1-\beta^k`, the factor that removes the zero-initialisation bias after k updates."""
    return 1 - b**k


def debias(m: Any, b: Any, k: int) -> Any:
    r""":math:`m / (1-\beta^k)`: an EMA started at zero, made unbiased for a constant input."""
    return m / bias_correction(b, k)


def adaptive_denominator(xp: Any, v: Any, eps: Any, placement: EpsPlacement = "outside") -> Any:
    r""":math:`\sqrt{v}+\epsilon` (torch, Duchi et al.) or :math:`\sqrt{v+\epsilon}` (TensorFlow's RMSProp)."""
    if placement == "outside":
        return xp.sqrt(v) + eps
    return xp.sqrt(v + eps)

"""Names shared by the normalization submodules."""

from __future__ import annotations

from typing import Any, Literal

Array = Any
VARIANTS = ("raw", "standardize", "batchnorm", "batchnorm_eval", "layernorm", "weightnorm")
Variant = Literal["raw", "standardize", "batchnorm", "batchnorm_eval", "layernorm", "weightnorm"]

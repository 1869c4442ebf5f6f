"""Hessian spectra and kappa per normalisation variant."""

from __future__ import annotations

from typing import Any, Literal

from .._xp import to_numpy
from ..conditioning import spectrum
from ._shared import VARIANTS
from .data import RegressionData
from .models import make_normalized_model


# ====================================================================== per-variant tables
def conditioning_by_variant(data: RegressionData, *, hidden: tuple[int, ...] = (), variants: tuple[str, ...] = VARIANTS,
                            matrix: Literal["hessian", "gauss_newton"] = "gauss_newton", eps: float = 1e-5,
                            seed: int = 0) -> list[dict[str, Any]]:
    r"""One row per variant: :math:`\kappa` (full and on the symmetry quotient) at initialization.

    Columns: ``variant``, ``depth``, ``n_params``, ``n_symmetries``, ``kappa`` (whole matrix),
    ``kappa_quotient``, ``lambda_min_q``, ``lambda_max_q``, ``neg_count`` (quotient), and
    the data parameters.  ``layernorm`` is skipped for ``hidden=()``.  The Gauss–Newton
    matrix (default) is PSD everywhere, so its κ is finite at initialization; the Hessian of a
    network there is usually indefinite (``kappa = inf``, ``neg_count > 0``).
    """
    rows = []
    for v in variants:
        if v == "layernorm" and not hidden:
            continue
        model = make_normalized_model(data, v, hidden=hidden, eps=eps, seed=seed)
        x0 = model.default_x0()
        H = model.hessian(x0) if matrix == "hessian" else model.gauss_newton(x0)
        full = spectrum(H, check=False)
        q = spectrum(model.quotient(H, x0), check=False)
        k = int(model.symmetry_directions(x0).shape[-2])
        rows.append({**data.params, "variant": v, "depth": len(hidden), "hidden": model.params["hidden"],
                     "matrix": matrix, "n_params": model.dim, "n_symmetries": k,
                     "kappa": float(to_numpy(full.kappa)), "kappa_quotient": float(to_numpy(q.kappa)),
                     "lambda_min_q": float(to_numpy(q.lambda_min)), "lambda_max_q": float(to_numpy(q.lambda_max)),
                     "neg_count": int(to_numpy(q.neg_count))})
    return rows

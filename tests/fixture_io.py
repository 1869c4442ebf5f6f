"""Shared by the fixture generators in ``tests/reference/``: the fixed rotated quadratic, atomic
``.npz`` writing and the trajectory deviation measure."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np


def rotated_quadratic(n: int, kappa: float, rng: np.random.Generator) -> np.ndarray:
    """``A = Q diag(geomspace(1, kappa, n)) Q^T`` with Q Haar-distributed (unique sign choice),
    symmetrised exactly after the product."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    q = q * np.sign(np.diag(r))
    A = (q * np.geomspace(1.0, kappa, n)) @ q.T
    return 0.5 * (A + A.T)


def atomic_savez(path: Path, **arrays: np.ndarray) -> None:
    """``np.savez`` through a temporary file in the same folder, then rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def max_rel_dev(ours: np.ndarray, ref: np.ndarray) -> float:
    r""":math:`\max_k \|x^{ours}_k - x^{ref}_k\|_2 / \|x^{ref}_k\|_2` over the rows of two trajectories."""
    ours, ref = np.asarray(ours), np.asarray(ref)
    if ours.shape != ref.shape:
        raise ValueError(f"trajectories have shapes {ours.shape} and {ref.shape}")
    return float(np.max(np.linalg.norm(ours - ref, axis=-1) / np.linalg.norm(ref, axis=-1)))

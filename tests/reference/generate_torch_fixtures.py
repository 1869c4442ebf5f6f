r"""Generate the torch.optim reference trajectories stored in ``tests/fixtures/torch_*.npz``.

Run from the repository root, in an environment where torch is installed (torch is a
test-time reference only, never a dependency of the package)::

    python tests/reference/generate_torch_fixtures.py

It builds one fixed float64 quadratic :math:`f(x) = \tfrac12 x^\top A x - b^\top x`
(:func:`make_problem`: n = 6, A symmetric positive definite with a geometric spectrum in
[1, 20] rotated by a seeded random orthogonal matrix, b and x0 seeded), runs every case of
:data:`CASES` with ``torch.optim`` for :data:`STEPS` steps with the exact gradient
(:func:`torch_mapping.run_torch`), and writes one file per torch class,
``tests/fixtures/torch_<class>.npz``, holding

``A, b, x0``
    the problem and the starting point (float64);
``traj``
    shape ``(n_cases, STEPS + 1, n)``: all iterates, ``traj[i, 0] == x0``;
``cases``
    a JSON string: a list of ``{"label", "torch_class", "kwargs"}``, in the order of ``traj``;
``meta``
    a JSON string: torch and NumPy versions, the number of steps, the generator's name.

The mapping from torch keywords to our hyperparameters is not here: it lives in
``tests/torch_mapping.py``, shared with ``tests/test_rules_torch.py``.  Files are written
atomically (temporary file, then rename).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))  # script use: make tests/torch_mapping.py importable

import torch_mapping  # noqa: E402
from fixture_io import atomic_savez, rotated_quadratic  # noqa: E402

FIXTURES = TESTS / "fixtures"
STEPS = 80
SEED = 20240611

#: (label, torch class, kwargs).  The learning rates are chosen so that every trajectory moves
#: far from x0 within STEPS steps without diverging, and every hyperparameter named in a case
#: changes the trajectory (checked by ``test_fixture_cases_are_distinct``).
CASES: list[tuple[str, str, dict]] = [
    # --- SGD: plain, momentum, momentum + dampening, nesterov; each with and without weight decay
    ("plain", "SGD", {"lr": 0.05}),
    ("plain_wd", "SGD", {"lr": 0.05, "weight_decay": 0.1}),
    ("momentum", "SGD", {"lr": 0.01, "momentum": 0.9}),
    ("momentum_wd", "SGD", {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.2}),
    ("momentum_dampening", "SGD", {"lr": 0.03, "momentum": 0.8, "dampening": 0.5}),
    ("momentum_dampening_wd", "SGD", {"lr": 0.03, "momentum": 0.8, "dampening": 0.5, "weight_decay": 0.1}),
    ("nesterov", "SGD", {"lr": 0.02, "momentum": 0.9, "nesterov": True}),
    ("nesterov_wd", "SGD", {"lr": 0.02, "momentum": 0.7, "nesterov": True, "weight_decay": 0.3}),
    # --- Adagrad: default hyperparameters but lr, lr_decay, initial accumulator, weight decay
    ("default", "Adagrad", {"lr": 0.5}),
    ("lr_decay", "Adagrad", {"lr": 0.5, "lr_decay": 0.05}),
    ("initial_accumulator", "Adagrad", {"lr": 0.5, "initial_accumulator_value": 0.5}),
    ("wd", "Adagrad", {"lr": 0.3, "weight_decay": 0.2}),
    ("all", "Adagrad", {"lr": 0.8, "lr_decay": 0.01, "initial_accumulator_value": 0.1, "weight_decay": 0.05,
                        "eps": 1e-3}),
    # --- RMSprop: plain, centered, momentum, centered + momentum, weight decay
    ("plain", "RMSprop", {"lr": 0.01}),
    ("alpha_eps", "RMSprop", {"lr": 0.02, "alpha": 0.9, "eps": 1e-3}),
    ("centered", "RMSprop", {"lr": 0.01, "centered": True}),
    ("momentum", "RMSprop", {"lr": 0.005, "momentum": 0.5}),
    ("centered_momentum", "RMSprop", {"lr": 0.005, "momentum": 0.5, "centered": True, "alpha": 0.95}),
    ("wd", "RMSprop", {"lr": 0.01, "weight_decay": 0.2}),
    # --- Adam: default-ish, weight decay (coupled), amsgrad, amsgrad + weight decay, decoupled flag
    ("default_lr1e-2", "Adam", {"lr": 0.01}),
    ("lr_betas_eps", "Adam", {"lr": 0.05, "betas": [0.5, 0.9], "eps": 1e-6}),
    ("wd", "Adam", {"lr": 0.05, "weight_decay": 0.2}),
    ("amsgrad", "Adam", {"lr": 0.05, "amsgrad": True}),
    ("amsgrad_wd", "Adam", {"lr": 0.05, "betas": [0.8, 0.99], "weight_decay": 0.1, "amsgrad": True}),
    ("decoupled_wd", "Adam", {"lr": 0.05, "weight_decay": 0.3, "decoupled_weight_decay": True}),
    # --- AdamW: its default weight decay (1e-2), a large one, with betas and amsgrad
    ("default_wd", "AdamW", {"lr": 0.05}),
    ("wd", "AdamW", {"lr": 0.05, "weight_decay": 0.5}),
    ("betas_amsgrad_wd", "AdamW", {"lr": 0.03, "betas": [0.8, 0.99], "eps": 1e-6, "weight_decay": 0.2,
                                   "amsgrad": True}),
    # --- NAdam: default, coupled weight decay, decoupled weight decay, momentum decay + betas
    ("default_lr2e-2", "NAdam", {"lr": 0.02}),
    ("wd", "NAdam", {"lr": 0.02, "weight_decay": 0.2}),
    ("decoupled_wd", "NAdam", {"lr": 0.02, "weight_decay": 0.2, "decoupled_weight_decay": True}),
    ("momentum_decay_betas", "NAdam", {"lr": 0.03, "betas": [0.8, 0.95], "momentum_decay": 0.01, "eps": 1e-6}),
]


def make_problem(n: int = 6, kappa: float = 20.0, seed: int = SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The fixed quadratic ``(A, b, x0)``.

    ``A = Q diag(lambda) Q^T`` with ``lambda`` geometric in ``[1, kappa]`` and ``Q`` the
    orthogonal factor of a seeded Gaussian matrix (symmetrised exactly after the product);
    ``b`` and ``x0`` are seeded Gaussian vectors, ``x0`` scaled by 2 so that it starts far from
    the minimiser ``A^{-1} b``.
    """
    rng = np.random.default_rng(seed)
    A = rotated_quadratic(n, kappa, rng)
    b = rng.standard_normal(n)
    x0 = 2.0 * rng.standard_normal(n)
    return A, b, x0


def main() -> None:
    import torch

    A, b, x0 = make_problem()
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for torch_class in dict.fromkeys(c[1] for c in CASES):
        cases = [
            {"label": label, "torch_class": cls, "kwargs": kwargs}
            for label, cls, kwargs in CASES if cls == torch_class
        ]
        traj = np.stack([torch_mapping.run_torch(c["torch_class"], c["kwargs"], A, b, x0, STEPS) for c in cases])
        if not np.all(np.isfinite(traj)):
            raise RuntimeError(f"a {torch_class} trajectory is not finite; change its case")
        meta = {
            "generator": "tests/reference/generate_torch_fixtures.py",
            "torch": torch.__version__,
            "numpy": np.__version__,
            "steps": STEPS,
            "seed": SEED,
            "problem": "f(x) = 0.5 x^T A x - b^T x, exact gradient A x - b (NumPy), float64",
        }
        path = FIXTURES / f"torch_{torch_class.lower()}.npz"
        atomic_savez(path, A=A, b=b, x0=x0, traj=traj, cases=np.array(json.dumps(cases)), meta=np.array(json.dumps(meta)))
        print(f"{path.relative_to(TESTS.parent)}: {len(cases)} cases x {STEPS} steps, {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()

r"""Generate the ``torch.optim.Rprop`` reference trajectories in ``tests/fixtures/rprop_torch.npz``.

Run from the repository root, in an environment where torch is installed (torch is a test-time
reference only, never a dependency of the package)::

    python tests/reference/generate_rprop_fixtures.py

The problem is the fixed float64 quadratic :math:`f(x) = \tfrac12 x^\top A x - b^\top x`
(:func:`make_problem`): n = 6, a 5x5 rotated block with spectrum geometric in [1, 50] plus a
sixth coordinate that is decoupled and starts at its minimiser (``A[5,5] * 0.5 - b[5] == 0``
exactly), so that its gradient stays exactly 0 and exercises torch's ``sign == 0`` branch.
Every case of :data:`CASES` runs ``torch.optim.Rprop`` (``foreach=False``) for :data:`STEPS`
steps with the gradient taken from the NumPy expression ``A @ x - b`` (the same expression the
tests use, so equal iterates give bitwise-equal gradients).  The file holds

``A, b, x0``
    the problem and the starting point;
``traj``
    shape ``(n_cases, STEPS + 1, n)``, all iterates, ``traj[i, 0] == x0``;
``grads``
    shape ``(n_cases, STEPS, n)``, the gradient torch saw at each step (for replay tests);
``cases``
    a JSON string: a list of ``{"label", "kwargs"}`` (torch keyword arguments);
``meta``
    a JSON string: torch and NumPy versions, steps, seed, generator.

Written atomically (temporary file, then rename).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))  # script use: make tests/fixture_io.py importable

from fixture_io import atomic_savez, rotated_quadratic  # noqa: E402

FIXTURE = TESTS / "fixtures" / "rprop_torch.npz"
STEPS = 80
SEED = 20240611

#: (label, torch.optim.Rprop keyword arguments)
CASES: list[tuple[str, dict]] = [
    ("default", {}),  # lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50)
    ("large_lr", {"lr": 0.5}),  # many sign changes
    ("tight_clamps", {"lr": 0.05, "etas": [0.3, 1.7], "step_sizes": [1e-3, 0.08]}),  # both clamps active
    ("clamp_first_step", {"lr": 2.0, "etas": [0.6, 1.1], "step_sizes": [1e-6, 0.25]}),  # lr > step_max
]


def make_problem(seed: int = SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(A, b, x0)``: a rotated 5x5 SPD block (kappa = 50) and a decoupled sixth coordinate."""
    rng = np.random.default_rng(seed)
    block = rotated_quadratic(5, 50.0, rng)
    A = np.zeros((6, 6))
    A[:5, :5] = block
    A[5, 5] = 2.0
    b = np.concatenate([rng.standard_normal(5), [1.0]])
    x0 = np.concatenate([2.0 * rng.standard_normal(5), [0.5]])
    return A, b, x0


def quadratic_grad(A: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The gradient used by the generator and the tests alike."""
    return A @ x - b


def run_torch(kwargs: dict, A: np.ndarray, b: np.ndarray, x0: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Iterates ``(steps + 1, n)`` and gradients ``(steps, n)`` of ``torch.optim.Rprop(**kwargs)``."""
    import torch

    kw = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    p = torch.nn.Parameter(torch.tensor(x0, dtype=torch.float64))
    opt = torch.optim.Rprop([p], foreach=False, **kw)
    xs, gs = [x0.copy()], []
    for _ in range(steps):
        g = quadratic_grad(A, b, p.detach().numpy().copy())
        p.grad = torch.tensor(g, dtype=torch.float64)
        gs.append(g)
        opt.step()
        xs.append(p.detach().numpy().copy())
    return np.stack(xs), np.stack(gs)


def main() -> None:
    import torch

    A, b, x0 = make_problem()
    runs = [run_torch(kwargs, A, b, x0, STEPS) for _, kwargs in CASES]
    traj, grads = np.stack([r[0] for r in runs]), np.stack([r[1] for r in runs])
    if not np.all(np.isfinite(traj)):
        raise RuntimeError("a trajectory is not finite; change its case")
    cases = [{"label": label, "kwargs": kwargs} for label, kwargs in CASES]
    meta = {
        "generator": "tests/reference/generate_rprop_fixtures.py",
        "torch": torch.__version__,
        "numpy": np.__version__,
        "steps": STEPS,
        "seed": SEED,
        "problem": "f(x) = 0.5 x^T A x - b^T x, gradient A @ x - b (NumPy), float64; coordinate 5 decoupled, g == 0",
    }
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    atomic_savez(FIXTURE, A=A, b=b, x0=x0, traj=traj, grads=grads,
                  cases=np.array(json.dumps(cases)), meta=np.array(json.dumps(meta)))
    print(f"{FIXTURE.name}: {len(CASES)} cases x {STEPS} steps, {FIXTURE.stat().st_size} bytes")


if __name__ == "__main__":
    main()

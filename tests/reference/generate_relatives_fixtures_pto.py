r"""Generate the reference trajectories of the EXACT relatives, ``tests/fixtures/pto_*.npz``.

Run from the repository root where torch and ``pytorch-optimizer`` are installed (both are
test-time references only, never dependencies of the package)::

    python tests/reference/generate_relatives_fixtures_pto.py

It builds one fixed float64 quadratic :math:`f(x) = \tfrac12 x^\top A x - b^\top x`
(:func:`make_problem`: n = 6, A symmetric positive definite with a geometric spectrum in
[1, 20] rotated by a seeded random orthogonal matrix; b and x0 seeded) and runs every case of
:data:`CASES` for :data:`STEPS` steps with the exact gradient :math:`Ax - b` computed by NumPy:

* ``AdaBound``, ``SWATS``, ``ApolloDQN`` (the diagonal quasi-Newton "Apollo" of the spec; the
  package's ``APOLLO`` is an unrelated low-rank AdamW) and ``AdaBelief`` from
  ``pytorch_optimizer`` (version recorded in ``meta``; matched: 4.1.0);
* ``AGD``: the package has none, so :class:`AGDReference` is a line-by-line float64
  transcription of the authors' ``AGD.step`` (``intelligent-machine-learning/dlrover``,
  ``atorch/atorch/optimizers/agd.py``), without its ``win`` branch.

Each file ``tests/fixtures/pto_<class>.npz`` holds ``A, b, x0`` (float64), ``traj`` of shape
``(n_cases, STEPS + 1, n)`` (``traj[i, 0] == x0``), ``switch`` of shape ``(n_cases,)`` (SWATS:
the step after which the package switched the group to SGD, -1 if never; -1 for the others),
``sensitivity`` of shape ``(n_cases,)`` (the reference's own maximum relative deviation when x0
is perturbed by one ulp, :math:`x_0(1+2^{-52})`: how much this trajectory amplifies round-off,
which sets the tolerance of the comparison),
``cases`` (JSON list of ``{"label", "pto_class", "kwargs"}``) and ``meta`` (JSON: versions,
steps, seed, source).  :func:`to_rule` maps a case onto our registry name and hyperparameters;
the tests import this module for it and for the live comparison.  Files are written atomically.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))  # script use: make tests/fixture_io.py importable

from fixture_io import atomic_savez, max_rel_dev, rotated_quadratic  # noqa: E402

FIXTURES = TESTS / "fixtures"
STEPS = 80
SEED = 20240917

#: (label, class, kwargs).  Learning rates are large enough that every trajectory moves far from
#: x0 and the mechanisms under test act (AdaBound's bounds clip, SWATS switches, Apollo's B and
#: AGD's floor are active), and every named keyword changes the trajectory.
CASES: list[tuple[str, str, dict]] = [
    # --- AdaBound: bounds active (large gamma), decoupled / fixed / coupled decay, AMSBound
    ("clip", "AdaBound", {"lr": 0.05, "final_lr": 0.1, "gamma": 0.1}),
    ("default_lr1e-2", "AdaBound", {"lr": 0.01}),
    ("decoupled_wd", "AdaBound", {"lr": 0.05, "gamma": 0.05, "weight_decay": 0.2}),
    ("fixed_decay", "AdaBound", {"lr": 0.05, "gamma": 0.05, "weight_decay": 0.02, "fixed_decay": True}),
    ("coupled_wd_amsbound", "AdaBound", {"lr": 0.05, "betas": [0.8, 0.99], "gamma": 0.1, "weight_decay": 0.1,
                                         "weight_decouple": False, "ams_bound": True, "eps": 1e-6}),
    # --- SWATS: switches within STEPS (small beta2 / large eps), coupled and decoupled decay, nesterov
    ("switch", "SWATS", {"lr": 0.05, "betas": [0.9, 0.5], "eps": 1e-2}),
    ("no_switch", "SWATS", {"lr": 0.05}),
    ("coupled_wd_switch", "SWATS", {"lr": 0.03, "betas": [0.9, 0.5], "eps": 1e-2, "weight_decay": 0.1}),
    ("decoupled_wd_nesterov", "SWATS", {"lr": 0.05, "betas": [0.8, 0.5], "eps": 1e-2, "weight_decay": 0.1,
                                        "weight_decouple": True, "nesterov": True}),
    ("amsbound", "SWATS", {"lr": 0.05, "betas": [0.9, 0.6], "eps": 1e-2, "ams_bound": True}),
    # --- ApolloDQN: short warmup, belief rebound, the three weight decays, the defaults
    ("warmup10", "ApolloDQN", {"lr": 0.002, "init_lr": 1e-3, "warmup_steps": 10}),
    ("default", "ApolloDQN", {}),
    ("belief", "ApolloDQN", {"lr": 0.02, "init_lr": 1e-3, "warmup_steps": 10, "rebound": "belief"}),
    ("l2_wd", "ApolloDQN", {"lr": 0.002, "warmup_steps": 5, "beta": 0.8, "weight_decay": 0.1}),
    ("decoupled_wd", "ApolloDQN", {"lr": 0.003, "warmup_steps": 5, "weight_decay": 0.1,
                                   "weight_decay_type": "decoupled"}),
    ("large_eps", "ApolloDQN", {"lr": 0.002, "warmup_steps": 5, "eps": 0.05}),
    ("stable_wd_belief", "ApolloDQN", {"lr": 0.05, "warmup_steps": 5, "weight_decay": 0.1,
                                       "weight_decay_type": "stable", "rebound": "belief", "eps": 1e-3}),
    # --- AdaBelief: decoupled / fixed / coupled decay, rectified (with and without SGD fallback), AMSGrad
    ("lr5e-2", "AdaBelief", {"lr": 0.05}),
    ("decoupled_wd", "AdaBelief", {"lr": 0.05, "weight_decay": 0.3}),
    ("coupled_wd_fixed", "AdaBelief", {"lr": 0.05, "weight_decay": 0.1, "weight_decouple": False, "eps": 1e-8}),
    ("fixed_decay", "AdaBelief", {"lr": 0.05, "weight_decay": 0.05, "fixed_decay": True}),
    ("rectify", "AdaBelief", {"lr": 0.05, "betas": [0.9, 0.95], "rectify": True}),
    ("rectify_no_sgd", "AdaBelief", {"lr": 0.05, "betas": [0.9, 0.95], "rectify": True,
                                     "degenerated_to_sgd": False}),
    ("large_eps", "AdaBelief", {"lr": 0.05, "eps": 1e-2}),
    ("amsgrad", "AdaBelief", {"lr": 0.05, "betas": [0.8, 0.99], "ams_bound": True, "eps": 1e-10}),
    # --- AGD (authors' code): floor inactive / active, decoupled decay, amsgrad
    ("lr5e-2", "AGD", {"lr": 0.05}),
    ("floor_active", "AGD", {"lr": 0.05, "delta": 5.0}),
    ("wd", "AGD", {"lr": 0.05, "delta": 2.0, "weight_decay": 0.1}),
    ("amsgrad", "AGD", {"lr": 0.03, "betas": [0.8, 0.99], "amsgrad": True}),
]

#: class -> (our registry name, keyword renames, booleans to negate)
_MAP: dict[str, tuple[str, dict[str, str]]] = {
    "AdaBound": ("adabound", {"weight_decay": "wd", "weight_decouple": "decoupled_wd", "ams_bound": "amsbound"}),
    "SWATS": ("swats", {"weight_decay": "wd", "weight_decouple": "decoupled_wd", "ams_bound": "amsbound"}),
    "ApolloDQN": ("apollo", {"beta": "b1", "weight_decay": "wd", "weight_decay_type": "wd_type"}),
    "AdaBelief": ("adabelief", {"weight_decay": "wd", "weight_decouple": "decoupled_wd", "ams_bound": "amsgrad"}),
    "AGD": ("agd", {"weight_decay": "wd"}),
}


def to_rule(cls: str, kwargs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Our registry name and hyperparameters for the reference ``cls(**kwargs)``.

    Absent keywords take the reference's default on its side and ours on ours
    (``test_defaults_match_pto`` checks that they agree).  ``fixed_decay=True`` maps to
    ``decay_scaled_by_lr=False``; ``betas`` to ``b1``, ``b2``.
    """
    name, renames = _MAP[cls]
    out: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key == "betas":
            out["b1"], out["b2"] = float(value[0]), float(value[1])
        elif key == "fixed_decay":
            out["decay_scaled_by_lr"] = not value
        elif isinstance(value, (bool, str)) or key in ("warmup_steps", "n_sma_threshold"):
            out[renames.get(key, key)] = value
        else:
            out[renames.get(key, key)] = float(value)
    return name, out


def make_problem(n: int = 6, kappa: float = 20.0, seed: int = SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(A, b, x0)``: ``A = Q diag(geomspace(1, kappa, n)) Q^T`` (Q Haar, seeded), b and x0 seeded."""
    rng = np.random.default_rng(seed)
    A = rotated_quadratic(n, kappa, rng)
    return A, rng.standard_normal(n), 2.0 * rng.standard_normal(n)


def quadratic_grad(A: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Exact gradient ``A x - b`` (NumPy, shared by both sides)."""
    return A @ x - b


class AGDReference:
    """Float64 torch transcription of the authors' ``AGD.step`` (dlrover ``atorch/optimizers/agd.py``),
    one parameter tensor, ``win=False``; the same operations in the same order."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), delta=1e-5, weight_decay=0.0, amsgrad=False):
        self.p = params[0]
        self.lr, self.betas, self.delta, self.wd, self.amsgrad = lr, betas, delta, weight_decay, amsgrad
        self.state: dict[str, Any] = {}

    def step(self) -> None:
        import torch

        p, grad, state = self.p, self.p.grad.data, self.state
        beta1, beta2 = self.betas
        if len(state) == 0:
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(p)
            state["exp_avg_sq"] = torch.zeros_like(p)
            if self.amsgrad:
                state["max_exp_avg_sq"] = torch.zeros_like(p)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        state["step"] += 1
        exp_avg_old = exp_avg.detach().clone()
        exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
        bias_correction1_old = 1 - beta1 ** (state["step"] - 1)
        bias_correction1 = 1 - beta1 ** state["step"]
        bias_correction2 = 1 - beta2 ** state["step"]
        h_t = exp_avg / bias_correction1
        if state["step"] > 1:
            h_t -= exp_avg_old / bias_correction1_old
        exp_avg_sq.mul_(beta2).addcmul_(h_t, h_t, value=1 - beta2)
        if self.amsgrad:
            torch.max(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            denom = state["max_exp_avg_sq"].sqrt()
        else:
            denom = exp_avg_sq.sqrt()
        delta_adjust = self.delta * np.sqrt(bias_correction2)
        denom = torch.where(denom > delta_adjust, denom, torch.full_like(denom, delta_adjust))
        lr_adjust = self.lr * np.sqrt(bias_correction2) / bias_correction1
        with torch.no_grad():
            p.data.mul_(1 - self.lr * self.wd)
            p.data.addcdiv_(exp_avg, denom, value=-lr_adjust)


def run_reference(cls: str, kwargs: Mapping[str, Any], A: np.ndarray, b: np.ndarray, x0: np.ndarray,
                  steps: int) -> tuple[np.ndarray, int]:
    """Iterates ``x_0..x_steps`` of the reference optimizer in float64, and SWATS's switch step.

    The parameter is a float64 tensor whose ``.grad`` is set to :func:`quadratic_grad` before
    each ``step()``; the default dtype is float64 during the run.  Returns ``(traj, switch)``
    with ``switch`` the step after which SWATS's group phase became ``"sgd"`` (-1 otherwise).
    """
    import torch

    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        p = torch.nn.Parameter(torch.tensor(np.asarray(x0, dtype=np.float64)))
        kw = {k: (tuple(v) if k == "betas" else v) for k, v in kwargs.items()}
        if cls == "AGD":
            opt = AGDReference([p], **kw)
        else:
            import pytorch_optimizer

            opt = getattr(pytorch_optimizer, cls)([p], **kw)
        out, switch = [p.detach().numpy().copy()], -1
        for k in range(1, steps + 1):
            p.grad = torch.from_numpy(quadratic_grad(A, b, p.detach().numpy().copy()))
            opt.step()
            out.append(p.detach().numpy().copy())
            if cls == "SWATS" and switch < 0 and opt.param_groups[0]["phase"] == "sgd":
                switch = k
    finally:
        torch.set_default_dtype(old)
    return np.stack(out), switch


def run_ours(rule: Any, A: np.ndarray, b: np.ndarray, x0: np.ndarray, steps: int) -> tuple[np.ndarray, Any]:
    """Iterates of our rule through its public ``update`` on the same quadratic, and the final state."""
    x = np.array(x0, dtype=np.float64)
    state = rule.init(x)
    out = [x]
    for _ in range(steps):
        dx, state = rule.update(quadratic_grad(A, b, rule.query(x, state)), state, x)
        x = x + dx
        out.append(x)
    return np.stack(out), state


def main() -> None:
    import importlib.metadata

    import torch

    A, b, x0 = make_problem()
    FIXTURES.mkdir(parents=True, exist_ok=True)
    version = importlib.metadata.version("pytorch_optimizer")
    for cls in dict.fromkeys(c[1] for c in CASES):
        cases = [{"label": lab, "pto_class": c, "kwargs": kw} for lab, c, kw in CASES if c == cls]
        runs = [run_reference(cls, c["kwargs"], A, b, x0, STEPS) for c in cases]
        x0p = x0 * (1.0 + 2.0**-52)
        sens = [max_rel_dev(run_reference(cls, c["kwargs"], A, b, x0p, STEPS)[0], r[0]) for c, r in zip(cases, runs)]
        traj = np.stack([r[0] for r in runs])
        if not np.all(np.isfinite(traj)):
            raise RuntimeError(f"a {cls} trajectory is not finite; change its case")
        meta = {
            "generator": "tests/reference/generate_relatives_fixtures_pto.py",
            "source": ("dlrover atorch/atorch/optimizers/agd.py (transcribed, AGDReference)" if cls == "AGD"
                       else f"pytorch_optimizer {version}"),
            "pytorch_optimizer": version,
            "torch": torch.__version__,
            "numpy": np.__version__,
            "steps": STEPS,
            "seed": SEED,
            "problem": "f(x) = 0.5 x^T A x - b^T x, exact gradient A x - b (NumPy), float64",
        }
        path = FIXTURES / f"pto_{cls.lower()}.npz"
        atomic_savez(path, A=A, b=b, x0=x0, traj=traj, switch=np.array([r[1] for r in runs]),
                      sensitivity=np.array(sens),
                      cases=np.array(json.dumps(cases)), meta=np.array(json.dumps(meta)))
        print(f"{path.relative_to(TESTS.parent)}: {len(cases)} cases x {STEPS} steps, switches "
              f"{[r[1] for r in runs]}, sensitivity max {max(sens):.1e}, {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()

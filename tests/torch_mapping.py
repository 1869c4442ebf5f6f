r"""The one place that maps ``torch.optim`` optimizers onto :mod:`precond_theory.rules`.

Shared by the fixture generator (``tests/reference/generate_torch_fixtures.py``) and the tests
(``tests/test_rules_torch.py``).  It holds

* the mapping from a torch class name and its keyword arguments to our registry name and
  hyperparameters (:func:`to_rule`), e.g. ``weight_decay -> wd``, ``betas -> (b1, b2)``,
  ``decoupled_weight_decay -> decoupled_wd``;
* the two steppers that produce comparable trajectories on a quadratic
  :math:`f(x) = \tfrac12 x^\top A x - b^\top x`: :func:`run_ours` (our rule through its public
  ``update``) and :func:`run_torch` (the torch optimizer; torch is imported lazily, only there,
  so nothing here makes torch a dependency of the package or of the other tests).

Both steppers take the exact gradient from the same NumPy expression, :func:`quadratic_grad`,
so that, given equal iterates, torch and our rules see bitwise-equal gradients and any
difference in the trajectories comes from the optimizer arithmetic alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from fixture_io import max_rel_dev  # noqa: F401  (re-exported for the tests)
from precond_theory.rules import AbstractRule, make

__all__ = [
    "TORCH_CLASSES", "to_rule", "make_rule", "quadratic_grad", "run_ours", "run_torch", "max_rel_dev",
]

#: torch class name -> our registry name (``Adam(amsgrad=True)`` maps to ``"amsgrad"``, see :func:`to_rule`).
TORCH_CLASSES: dict[str, str] = {
    "SGD": "sgd",
    "Adagrad": "adagrad",
    "RMSprop": "rmsprop",
    "Adam": "adam",
    "AdamW": "adamw",
    "NAdam": "nadam",
}

#: torch keyword -> our hyperparameter name, for the keywords whose name differs.
_RENAMED: dict[str, str] = {
    "weight_decay": "wd",
    "decoupled_weight_decay": "decoupled_wd",
}

#: The torch keywords each class accepts that change the arithmetic, i.e. that we map.
#: torch's implementation switches (foreach, fused, capturable, differentiable) and
#: ``maximize`` are not hyperparameters of our rules and are rejected.
_MAPPED: dict[str, frozenset[str]] = {
    "SGD": frozenset({"lr", "momentum", "dampening", "weight_decay", "nesterov"}),
    "Adagrad": frozenset({"lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"}),
    "RMSprop": frozenset({"lr", "alpha", "eps", "weight_decay", "momentum", "centered"}),
    "Adam": frozenset({"lr", "betas", "eps", "weight_decay", "amsgrad", "decoupled_weight_decay"}),
    "AdamW": frozenset({"lr", "betas", "eps", "weight_decay", "amsgrad"}),
    "NAdam": frozenset({"lr", "betas", "eps", "weight_decay", "momentum_decay", "decoupled_weight_decay"}),
}


def to_rule(torch_class: str, kwargs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Our registry name and hyperparameters for ``torch.optim.<torch_class>(**kwargs)``.

    Parameters
    ----------
    torch_class : str
        Name of the torch optimizer class, a key of :data:`TORCH_CLASSES`.
    kwargs : mapping
        Its keyword arguments as stored in a fixture (``betas`` may be a list).  Keywords that
        are absent take torch's default on the torch side and our default on ours; the live
        test ``test_defaults_match_torch`` checks that the two defaults agree.

    Returns
    -------
    name : str
        Registry name for :func:`precond_theory.rules.make`.
    hp : dict
        Our hyperparameters (``lr``, ``momentum``, ``dampening``, ``wd``, ``nesterov``, ``b1``,
        ``b2``, ``eps``, ``alpha``, ``centered``, ``lr_decay``, ``initial_accumulator_value``,
        ``amsgrad``, ``momentum_decay``, ``decoupled_wd``).
    """
    if torch_class not in TORCH_CLASSES:
        raise ValueError(f"no mapping for torch.optim.{torch_class}; mapped classes: {sorted(TORCH_CLASSES)}")
    unknown = sorted(set(kwargs) - _MAPPED[torch_class])
    if unknown:
        raise ValueError(f"torch.optim.{torch_class} keywords {unknown} are not mapped; mapped: {sorted(_MAPPED[torch_class])}")
    hp: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key == "betas":
            b1, b2 = value
            hp["b1"], hp["b2"] = float(b1), float(b2)
        elif isinstance(value, bool):
            hp[_RENAMED.get(key, key)] = value
        else:
            hp[_RENAMED.get(key, key)] = float(value)
    name = TORCH_CLASSES[torch_class]
    if torch_class == "Adam" and kwargs.get("amsgrad", False):
        name = "amsgrad"  # torch's Adam(amsgrad=True) is our AMSGrad (raw-v maximum, as torch)
    return name, hp


def make_rule(torch_class: str, kwargs: Mapping[str, Any]) -> AbstractRule:
    """Our rule equivalent to ``torch.optim.<torch_class>(**kwargs)``."""
    name, hp = to_rule(torch_class, kwargs)
    return make(name, **hp)


def quadratic_grad(A: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    r"""Exact gradient :math:`A x - b` of :math:`f(x) = \tfrac12 x^\top A x - b^\top x` (A symmetric)."""
    return A @ x - b


def run_ours(rule: AbstractRule, A: np.ndarray, b: np.ndarray, x0: np.ndarray, steps: int) -> np.ndarray:
    """Iterates ``x_0, ..., x_steps`` of ``rule`` on the quadratic, shape ``(steps + 1, n)``.

    Calls the public ``rule.update(g, state, x)`` with ``g`` the exact gradient at
    ``rule.query(x, state)`` and sets ``x_{k+1} = x_k + dx``.
    """
    x = np.array(x0, dtype=np.float64)
    state = rule.init(x)
    out = [x]
    for _ in range(steps):
        g = quadratic_grad(A, b, rule.query(x, state))
        dx, state = rule.update(g, state, x)
        x = x + dx
        out.append(x)
    return np.stack(out)


def _torch_kwargs(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (tuple(v) if k == "betas" else v) for k, v in kwargs.items()}


def run_torch(torch_class: str, kwargs: Mapping[str, Any], A: np.ndarray, b: np.ndarray, x0: np.ndarray,
              steps: int) -> np.ndarray:
    """Iterates ``x_0, ..., x_steps`` of ``torch.optim.<torch_class>(**kwargs)`` in float64.

    The parameter is a float64 tensor and its ``.grad`` is set to :func:`quadratic_grad` at the
    current parameter before each ``step()``.  Two settings make this the float64 reference:

    * ``torch.set_default_dtype(torch.float64)`` for the duration of the run (restored after):
      torch keeps optimizer scalars (``step``, NAdam's ``mu_product``) in the *default* dtype,
      so with the float32 default NAdam's product of momentum coefficients is rounded to
      float32 (relative error ~1e-8), which is not a float64 reference.
    * ``foreach=False``: the single-tensor implementation (the one torch uses on the CPU anyway).
    """
    import torch  # only here: torch is a test-time reference, never a dependency

    old_dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        p = torch.nn.Parameter(torch.tensor(np.asarray(x0, dtype=np.float64)))
        opt = getattr(torch.optim, torch_class)([p], foreach=False, **_torch_kwargs(kwargs))
        out = [p.detach().numpy().copy()]
        for _ in range(steps):
            p.grad = torch.from_numpy(quadratic_grad(A, b, p.detach().numpy().copy()))
            opt.step()
            out.append(p.detach().numpy().copy())
    finally:
        torch.set_default_dtype(old_dtype)
    return np.stack(out)

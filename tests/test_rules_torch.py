r"""Our torch-style rules reproduce ``torch.optim`` trajectories to round-off in float64.

The reference trajectories are stored in ``tests/fixtures/torch_*.npz`` by
``tests/reference/generate_torch_fixtures.py`` (80 steps of SGD, Adagrad, RMSprop, Adam,
AdamW and NAdam, several hyperparameter settings each, weight decay included, on a fixed
quadratic with condition number 20).  The torch keyword -> hyperparameter mapping is
``tests/torch_mapping.py``, shared with the generator.

Tolerance.  We require :math:`\max_k \|x^{ours}_k - x^{torch}_k\|_2 / \|x^{torch}_k\|_2 \le 10^{-12}`
(:data:`RTOL`).  Both sides compute the same float64 formulas from bitwise-equal gradients
(given equal iterates), so the only differences are the order of floating-point operations
(e.g. torch's ``lerp``/``addcdiv`` versus our ``b*m + (1-b)*g`` and ``-lr*g/d``): a few ulps
per step, :math:`\approx 10^{-16}` relative, which the stable (contracting) dynamics keep
from growing; the measured maximum over all fixtures is about 4e-15.  1e-12 leaves room for
other BLAS/libm builds, while any modelling difference (a missing bias correction, ε inside
instead of outside the root, weight decay coupled instead of decoupled, float32 state) is
hundreds of times larger: measured on the fixtures, ε inside the root deviates by 3e-10 (Adam)
and 1.4e-9 (RMSprop), Kingma-Ba's folded step size by 2e-9, AMSGrad's maximum of the
debiased v by 0.27, AdamW's decay not scaled by lr by 0.54.  ``test_fixture_cases_are_distinct``
checks that every pair of settings in a family is at least 1e-4 apart, so that a
hyperparameter ignored by the mapping or a rule cannot pass.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pytest

try:  # tests/ is on sys.path (pytest's default "prepend" import mode, no tests/__init__.py)
    import torch_mapping as tm
except ModuleNotFoundError:  # tests/ is a package
    from tests import torch_mapping as tm

from precond_theory.rules import get

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FILES = sorted(FIXTURES.glob("torch_*.npz"))
#: See the module docstring: round-off bound for 80 float64 steps, far below any modelling error.
RTOL = 1e-12
#: Every torch class we map must have fixtures.
EXPECTED_CLASSES = {"SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "NAdam"}


def _load(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as d:
        return {
            "A": d["A"], "b": d["b"], "x0": d["x0"], "traj": d["traj"],
            "cases": json.loads(str(d["cases"])), "meta": json.loads(str(d["meta"])),
        }


DATA = {p.stem: _load(p) for p in FILES}
CASES = [
    pytest.param(stem, i, id=f"{c['torch_class']}-{c['label']}")
    for stem, d in DATA.items() for i, c in enumerate(d["cases"])
]


def test_fixtures_cover_every_mapped_class():
    """Fixtures exist for every torch class in the mapping, with >= 60 steps and weight decay."""
    found = {c["torch_class"] for d in DATA.values() for c in d["cases"]}
    assert found == EXPECTED_CLASSES == set(tm.TORCH_CLASSES)
    for stem, d in DATA.items():
        assert d["traj"].shape[1] - 1 >= 60, stem
        assert any("weight_decay" in c["kwargs"] for c in d["cases"]), f"{stem} has no weight-decay case"
    total = sum(p.stat().st_size for p in FILES)
    assert total < 1_000_000, f"fixtures take {total} bytes; keep them under 1 MB"


@pytest.mark.parametrize("stem, i", CASES)
def test_replay_matches_torch(stem, i):
    """Our rule, built through the mapping and ``make``, reproduces the stored torch iterates."""
    d = DATA[stem]
    case, ref = d["cases"][i], d["traj"][i]
    rule = tm.make_rule(case["torch_class"], case["kwargs"])
    ours = tm.run_ours(rule, d["A"], d["b"], d["x0"], steps=ref.shape[0] - 1)
    np.testing.assert_array_equal(ref[0], d["x0"])
    dev = tm.max_rel_dev(ours, ref)
    assert dev <= RTOL, f"{case['torch_class']}({case['kwargs']}) vs {rule!r}: max relative deviation {dev:.3e}"


@pytest.mark.parametrize("stem", sorted(DATA))
def test_fixture_cases_are_distinct(stem):
    """Each stored trajectory moves and differs from every other setting of its family.

    This is what makes the 1e-12 replay test able to fail: if a hyperparameter (weight decay,
    dampening, centering, ...) were ignored by the mapping or by a rule, the replay would be
    compared with a trajectory that is at least 1e-4 (relative) away from the right one.
    """
    d = DATA[stem]
    traj, x0 = d["traj"], d["x0"]
    for i, c in enumerate(d["cases"]):
        moved = np.linalg.norm(traj[i, -1] - x0) / np.linalg.norm(x0)
        assert moved > 0.1, f"{c['label']}: the trajectory hardly moves ({moved:.2e})"
        for j in range(i):
            dev = tm.max_rel_dev(traj[i], traj[j])
            assert dev > 1e-4, f"{c['label']} and {d['cases'][j]['label']} are too close ({dev:.2e})"


@pytest.mark.parametrize("stem, i", CASES)
def test_every_fixture_hyperparameter_matters(stem, i):
    """Resetting any one stored keyword (other than lr) to its default moves the trajectory by
    more than 1000 x RTOL, so a rule or mapping that ignored it would fail the replay test.

    Measured minimum over all fixtures: 6.4e-8 (ε = 1e-6 versus 1e-8 in AdamW); weight decay,
    momentum, centering, dampening, β's, amsgrad and momentum_decay all move it by >= 1e-4.
    """
    d = DATA[stem]
    case, ref = d["cases"][i], d["traj"][i]
    for key in sorted(set(case["kwargs"]) - {"lr"}):
        reduced = {k: v for k, v in case["kwargs"].items() if k != key}
        if key == "momentum" and reduced.get("nesterov"):
            continue  # nesterov needs momentum > 0: that reset is not a valid optimizer
        try:
            rule = tm.make_rule(case["torch_class"], reduced)
        except ValueError as err:  # what is left is refused as having no effect (e.g. dampening without momentum)
            assert "has no effect" in str(err), err
            continue
        ours = tm.run_ours(rule, d["A"], d["b"], d["x0"], ref.shape[0] - 1)
        dev = tm.max_rel_dev(ours, ref)
        assert dev > 1000 * RTOL, f"{case['label']}: dropping {key} changes the trajectory by only {dev:.1e}"


def test_mapping_renames_and_rejects():
    """The mapping renames torch's keywords to ours and refuses keywords it does not map."""
    name, hp = tm.to_rule("Adam", {"lr": 0.1, "betas": [0.5, 0.9], "weight_decay": 0.2, "amsgrad": True})
    assert name == "amsgrad" and hp == {"lr": 0.1, "b1": 0.5, "b2": 0.9, "wd": 0.2, "amsgrad": True}
    name, hp = tm.to_rule("NAdam", {"decoupled_weight_decay": True, "momentum_decay": 0.01})
    assert name == "nadam" and hp == {"decoupled_wd": True, "momentum_decay": 0.01}
    assert tm.to_rule("SGD", {"momentum": 0, "nesterov": False}) == ("sgd", {"momentum": 0.0, "nesterov": False})
    with pytest.raises(ValueError, match="maximize"):
        tm.to_rule("SGD", {"maximize": True})
    with pytest.raises(ValueError, match="LBFGS"):
        tm.to_rule("LBFGS", {})


# ------------------------------------------------------------------------------------------------
# Live comparison: only where torch is importable (skipped cleanly otherwise).

#: One demanding setting per family (the most hyperparameters at non-default values).
LIVE = [
    ("SGD", "nesterov_wd"), ("SGD", "momentum_dampening_wd"), ("Adagrad", "all"),
    ("RMSprop", "centered_momentum"), ("Adam", "amsgrad_wd"), ("Adam", "decoupled_wd"),
    ("AdamW", "betas_amsgrad_wd"), ("NAdam", "decoupled_wd"), ("NAdam", "momentum_decay_betas"),
]


def _find(torch_class: str, label: str) -> tuple[dict, int]:
    for d in DATA.values():
        for i, c in enumerate(d["cases"]):
            if c["torch_class"] == torch_class and c["label"] == label:
                return d, i
    raise LookupError(f"no fixture {torch_class}/{label}")


@pytest.mark.parametrize("torch_class, label", LIVE, ids=[f"{c}-{lbl}" for c, lbl in LIVE])
def test_live_torch_matches_ours_and_fixture(torch_class, label):
    """Regenerate a trajectory with the installed torch: it matches our rule and the fixture.

    The second comparison catches stale fixtures (cases edited without regenerating) and a
    torch release that changed an algorithm; same tolerance, same justification.
    """
    pytest.importorskip("torch")
    d, i = _find(torch_class, label)
    case, stored = d["cases"][i], d["traj"][i]
    steps = stored.shape[0] - 1
    live = tm.run_torch(torch_class, case["kwargs"], d["A"], d["b"], d["x0"], steps)
    ours = tm.run_ours(tm.make_rule(torch_class, case["kwargs"]), d["A"], d["b"], d["x0"], steps)
    assert tm.max_rel_dev(ours, live) <= RTOL
    assert tm.max_rel_dev(live, stored) <= RTOL


@pytest.mark.parametrize("torch_class", sorted(tm.TORCH_CLASSES))
def test_defaults_match_torch(torch_class):
    """Our defaults equal torch's for every mapped keyword (fixtures leave some keywords out)."""
    torch = pytest.importorskip("torch")
    params = inspect.signature(getattr(torch.optim, torch_class)).parameters
    defaults = {k: params[k].default for k in tm._MAPPED[torch_class] if k in params}
    assert set(defaults) == tm._MAPPED[torch_class]
    name, hp = tm.to_rule(torch_class, defaults)
    cls = get(name)
    ours = {f: getattr(cls(), f) for f in hp}
    assert ours == hp, f"{cls.__name__} defaults {ours} differ from torch.optim.{torch_class} {hp}"

"""Regressions of issue 14 part 1 (each accepted-and-ignored case, refused now, naming the field)
and part 4 of issue 12 (wrapping a rule keeps its columns); the registry-wide proof is
tests/test_no_silent_noop.py."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from precond_theory import rules
from precond_theory.problems import make_quadratic

# (rule, refused keywords, the field the error names, keywords under which that field is read)
REFUSED = [
    ("nesterov", {"schedule": "convex", "momentum": 0.8}, "momentum", {"schedule": "constant", "momentum": 0.8}),
    ("nesterov", {"schedule": "fista", "a": 4.0}, "a", {"schedule": "convex", "a": 4.0}),
    ("nesterov", {"momentum": 0.8, "a": 4.0}, "a", {"a": 4.0}),
    ("ravine", {"schedule": "convex", "momentum": 0.8}, "momentum", {"momentum": 0.8}),
    ("ravine", {"schedule": "constant", "a": 4.0}, "a", {"a": 4.0}),
    ("adamrag", {"schedule": "constant", "a": 4.0}, "a", {"a": 4.0}),
    ("adamrag", {"schedule": "nesterov", "momentum": 0.5}, "momentum", {"momentum": 0.5}),
    ("adamrag", {"schedule": "zero", "momentum": 0.5}, "momentum", {"schedule": "constant", "momentum": 0.5}),
    ("adamrag", {"direction": "g", "b1": 0.5}, "b1", {"b1": 0.5}),
    ("sgd", {"dampening": 0.5}, "dampening", {"dampening": 0.5, "momentum": 0.9}),
    ("adam", {"amsgrad_max": "debiased"}, "amsgrad_max", {"amsgrad_max": "debiased", "amsgrad": True}),
    ("adam", {"wd": 0.1, "decay_scaled_by_lr": False}, "decay_scaled_by_lr",
     {"wd": 0.1, "decay_scaled_by_lr": False, "decoupled_wd": True}),
    ("adam", {"decoupled_wd": True}, "decoupled_wd", {"decoupled_wd": True, "wd": 0.1}),
    ("adamw", {"wd": 0.0, "decay_scaled_by_lr": False}, "decay_scaled_by_lr", {"decay_scaled_by_lr": False}),
    ("adabelief", {"n_sma_threshold": 6}, "n_sma_threshold", {"n_sma_threshold": 6, "rectify": True}),
    ("adabelief", {"degenerated_to_sgd": False}, "degenerated_to_sgd", {"degenerated_to_sgd": False, "rectify": True}),
    ("swats", {"switch_test": "paper", "switch_atol": 1e-3}, "switch_atol", {"switch_atol": 1e-3}),
    ("adarem", {"apply_to": "grad", "momentum": 0.5}, "momentum", {"momentum": 0.5}),
    ("adarem", {"normalizer": "none", "eps": 1e-3}, "eps", {"eps": 1e-3}),
    ("adapgradm", {"b2": 0.9}, "b2", {"b2": 0.9, "curvature": "secant"}),
    ("adapgradm", {"seed": 3}, "seed", {"seed": 3, "curvature": "hutchinson"}),
    ("adapgradm", {"curvature": "agd", "h0": 1.0}, "h0", {"h0": 1.0}),
    ("adapgradm", {"curvature": "belief", "eps_s": 1e-3}, "eps_s", {"eps_s": 1e-3, "curvature": "secant"}),
    ("adapgradm", {"curvature": "hutchinson", "secant_pair": "momentum"}, "secant_pair", {"secant_pair": "momentum"}),
    ("hadapgradm", {"switch_tol": 1e-3}, "switch_tol", {"switch_tol": 1e-3, "switch": "swats"}),
    ("hadapgradm", {"switch": "floor", "gamma": 0.1}, "gamma", {"switch": "blend", "gamma": 0.1}),
    ("hadapgradm", {"switch": "swats", "final_lr": 0.2}, "final_lr", {"switch": "swats", "final_lr": 0.2, "switch_at": 3}),
    ("hadapgradm", {"switch_at": 0, "curvature": "agd"}, "curvature", {"switch_at": 1, "curvature": "agd"}),
    ("soaa", {"gamma": 0.2}, "gamma", {"gamma": 0.2, "total_steps": 100}),
    ("soaa", {"wd_scaling": "fixed"}, "wd_scaling", {"wd_scaling": "fixed", "wd": 0.1}),
    ("apollo", {"warmup_steps": 0, "init_lr": 1e-3}, "init_lr", {"warmup_steps": 10, "init_lr": 1e-3}),
    ("apollo", {"wd_type": "stable"}, "wd_type", {"wd_type": "stable", "wd": 0.1}),
]


@pytest.mark.parametrize("name, bad, field, good", REFUSED, ids=[f"{r[0]}-{r[2]}-{i}" for i, r in enumerate(REFUSED)])
def test_unread_explicit_field_is_refused_naming_it_and_the_option(name, bad, field, good):
    with pytest.raises(ValueError, match=rf"{field}=.* has no effect with .*; {field} is read only when"):
        rules.make(name, **bad)
    rule = rules.make(name, **good)  # the same field where it is read: accepted
    assert field in rule.given


def test_explicit_momentum_selects_the_constant_schedule():
    """nesterov/ravine: an explicit momentum is a constant coefficient (documented), bit for bit."""
    A = np.diag([1.0, 4.0, 9.0])
    for name in ("nesterov", "ravine"):
        implied = rules.make(name, lr=0.1, momentum=0.8)
        assert implied.schedule == "constant" and "schedule" not in implied.given
        explicit = rules.make(name, lr=0.1, momentum=0.8, schedule="constant")
        convex = rules.make(name, lr=0.1)
        a, b, c = (_run(r, A) for r in (implied, explicit, convex))
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)
    implied = rules.make("adamrag", lr=0.01, a=5.0)  # adamrag: an explicit a selects the Nesterov schedule
    assert implied.schedule == "nesterov"
    np.testing.assert_array_equal(_run(implied, A), _run(rules.make("adamrag", lr=0.01, a=5.0, schedule="nesterov"), A))


def test_dataclasses_replace_keeps_what_was_given():
    rule = rules.make("nesterov", lr=0.1, momentum=0.8)
    moved = dataclasses.replace(rule, lr=0.2)
    assert moved.schedule == "constant" and moved.given == {"lr", "momentum"}
    assert dataclasses.replace(rules.make("nesterov"), lr=0.2).given == {"lr"}  # defaults stay defaults
    with pytest.raises(ValueError, match="momentum=0.8 has no effect with schedule='convex'"):
        dataclasses.replace(rule, schedule="convex")


def test_explicit_none_of_an_optional_field_counts_as_not_given():
    assert rules.make("soaa", blocks=None).blocks is None
    assert rules.AbstractRule is not None and rules.get("soaa").unread({"gamma": 0.2}) == ["gamma"]
    assert rules.get("soaa").unread({"gamma": 0.2, "total_steps": 10}) == []


@pytest.mark.parametrize("name, field, value", [("amsgrad", "amsgrad", False), ("adamw", "decoupled_wd", False)])
def test_contradictory_presets_are_refused(name, field, value):
    with pytest.raises(ValueError, match=rf"rule '{name}' is the preset {field}=True; {field}=False contradicts.*"
                                         rf"rules.make\('adam', {field}=False"):
        rules.make(name, **{field: value})
    assert getattr(rules.make(name, **{field: True}), field) is True  # restating the preset is fine


def test_with_weight_decay_refuses_scale_by_lr_with_coupled_decay():
    adam = rules.make("adam")
    with pytest.raises(ValueError, match="weight_decay wrapper of 'adam': scale_by_lr=False has no effect with "
                                         "coupled=True"):
        rules.with_weight_decay(adam, 0.1, coupled=True, scale_by_lr=False)
    with pytest.raises(ValueError, match="coupled=True has no effect with wd=0"):
        rules.with_weight_decay(adam, 0.0, coupled=True)
    assert rules.with_weight_decay(adam, 0.1, coupled=True).given == {"inner", "wd", "coupled"}
    rules.with_weight_decay(adam, 0.1, scale_by_lr=False)  # decoupled: read


def test_make_quadratic_refuses_dim_and_spectrum_with_eigenvalues():
    with pytest.raises(ValueError, match=r"dim=5 contradicts eigenvalues, which give n=3"):
        make_quadratic(5, eigenvalues=[1.0, 2.0, 3.0])
    for kw in ({"kappa": 10.0}, {"mu": 0.5}, {"spectrum": "linear"}):
        with pytest.raises(ValueError, match=rf"{next(iter(kw))} cannot be combined with eigenvalues"):
            make_quadratic(eigenvalues=[1.0, 2.0, 3.0], **kw)
    assert make_quadratic(3, eigenvalues=[1.0, 2.0, 3.0]).dim == 3  # restating the length is fine
    q = make_quadratic()
    assert q.dim == 10 and q.params["kappa"] == 100.0 and q.params["spectrum"] == "geometric"


# ----------------------------------------------------------------------- double bias correction
def _run(rule, A, steps=40, x0=(1.0, -2.0, 0.5)):
    x = np.asarray(x0, dtype=float)
    st, out = rule.init(x), []
    for _ in range(steps):
        y = rule.query(x, st)
        dx, st = rule.update(A @ y, st, x, value=0.5 * y @ A @ y)
        x = x + dx
        out.append(x)
    return np.stack(out)


def test_efficient_amsgrad_debiased_first_step_is_about_lr_sign_g():
    """adam(amsgrad=True, amsgrad_max="debiased", efficient=True) once debiased the max twice
    (first step -0.00316 lr/0.1 for g = 1); the analytic first step is
    -lr sqrt(1-b2) g / (|g| sqrt(1-b2) + eps) = -lr sign(g) up to eps."""
    lr, b2, eps = 0.1, 0.999, 1e-8
    rule = rules.make("adam", lr=lr, amsgrad=True, amsgrad_max="debiased", efficient=True)
    g = np.array([1.0, -3.0, 1e-3])
    dx, _ = rule.update(g, rule.init(np.zeros(3)), np.zeros(3))
    want = -lr * np.sqrt(1 - b2) * g / (np.abs(g) * np.sqrt(1 - b2) + eps)
    np.testing.assert_allclose(dx, want, rtol=1e-14)
    assert abs(dx[0] + lr) < 1e-6


@pytest.mark.parametrize("amsgrad_max", ["raw", "debiased"])
def test_efficient_form_equals_the_standard_form_when_eps_is_zero(amsgrad_max):
    """With eps = 0 Kingma-Ba's efficient form is algebraically Adam's: equal to round-off."""
    A = np.diag([1.0, 4.0, 9.0])
    kw = dict(lr=0.05, eps=0.0, amsgrad=True, amsgrad_max=amsgrad_max)
    a = _run(rules.make("adam", efficient=True, **kw), A)
    b = _run(rules.make("adam", **kw), A)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_efficient_amsgrad_matches_torch():
    """torch.optim.Adam(amsgrad=True) with eps=0 (the raw max; torch has no debiased max)."""
    torch = pytest.importorskip("torch")
    A = np.diag([1.0, 4.0, 9.0])
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64))
    opt = torch.optim.Adam([p], lr=0.05, eps=0.0, amsgrad=True, foreach=False)
    want = []
    for _ in range(40):
        p.grad = torch.tensor(A @ p.detach().numpy(), dtype=torch.float64)
        opt.step()
        want.append(p.detach().numpy().copy())
    got = _run(rules.make("adam", lr=0.05, eps=0.0, amsgrad=True, efficient=True), A)
    np.testing.assert_allclose(got, np.stack(want), rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------- wrappers keep columns
def test_wrapping_keeps_the_rule_name_and_its_columns():
    from precond_theory import run

    prob = make_quadratic(4, kappa=10.0, seed=0)
    plain = rules.make("adam", lr=0.05)
    wrapped = rules.with_projection(rules.with_schedule(rules.with_weight_decay(plain, 0.01), "cosine",
                                                        total_steps=5), box=(-1.0, 1.0))
    assert wrapped.name == "adam" and wrapped.wrappers == ("weight_decay", "schedule", "projection")
    assert plain.wrappers == ()
    hp = wrapped.hyperparameters()
    assert {k: hp[k] for k in plain.hyperparameters()} == plain.hyperparameters()
    assert hp["schedule"] == "cosine(5)" and hp["weight_decay"] == 0.01 and hp["projection_box_lo"] == -1.0
    a = run(plain, prob, steps=5).to_frame()
    b = run(wrapped, prob, steps=5).to_frame()
    shared = [c for c in a.columns if c.startswith("p_solver_")]
    assert shared and set(shared) <= set(b.columns) and "p_solver_lr" in shared
    assert (a["solver_name"] == b["solver_name"]).all()
    assert {"p_solver_schedule", "p_solver_weight_decay", "p_solver_projection_box_hi"} <= set(b.columns)
    twice = rules.with_schedule(rules.with_schedule(plain, "inverse_sqrt"), "cosine", total_steps=5)
    assert twice.hyperparameters()["schedule"] == "inverse_sqrt" and twice.hyperparameters()["schedule_2"] == "cosine(5)"

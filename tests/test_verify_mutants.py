"""Rule mutants are derived through the public API (fields re-validated by the rule), refusals and
non-applicable mutants are reported, and power() counts verdicts over replicates."""

from __future__ import annotations

import numpy as np
import pytest

from precond_theory import problems, rules
from precond_theory.run import run
from precond_theory.verify.mutants import (
    MUTANTS,
    MutantNotApplicable,
    MutantRefused,
    applicable_mutants,
    apply_mutant,
)
from precond_theory.verify.power import TRUE_RULE, clopper_pearson, power


def test_field_mutants_change_exactly_their_field():
    adam = rules.make("amsgrad", lr=0.1, b1=0.9, b2=0.99)
    assert apply_mutant("lr_x0.5", adam).lr == pytest.approx(0.05)
    assert apply_mutant("ema_for_max", adam).amsgrad is False
    assert apply_mutant("b2_0.999", adam).b2 == 0.999
    assert apply_mutant("no_bias_correction", adam).bias_correction is False
    wrapped = rules.with_schedule(adam, "inverse_sqrt")
    m = apply_mutant("lr_x1.5", wrapped)
    assert type(m) is type(wrapped) and m.inner.lr == pytest.approx(0.15) and m.schedule is wrapped.schedule
    assert apply_mutant("schedule_dropped", wrapped) is adam


def test_sign_flip_is_gradient_ascent():
    p = problems.make_quadratic(dim=4, kappa=10.0)
    gd = rules.make("sgd", lr=0.05)
    down = run(gd, p, steps=1, record=[1]).metric("f")[-1].item()
    up = run(apply_mutant("sign_flip", gd), p, steps=1, record=[1]).metric("f")[-1].item()
    f0 = run(gd, p, steps=0, record=[0]).metric("f")[-1].item()
    assert down < f0 < up


def test_refused_and_not_applicable_mutants_are_reported():
    rag = rules.make("adamrag", lr=0.01)
    with pytest.raises(MutantRefused, match="momentum"):
        apply_mutant("extrapolation_flipped", rag)
    with pytest.raises(MutantNotApplicable, match="rule 'sgd' has no field 'b1'"):
        apply_mutant("b1_zero", rules.make("sgd", lr=0.1))
    with pytest.raises(MutantNotApplicable, match="already has amsgrad = True"):
        apply_mutant("max_for_ema", rules.make("amsgrad"))
    table = applicable_mutants(rules.make("sgd", lr=0.1))
    assert set(table) == set(MUTANTS) and table["lr_x0.5"] == "ok" and "no field" in table["b2_0.999"]
    with pytest.raises(ValueError, match="unknown mutant 'nope'"):
        apply_mutant("nope", rag)


def test_per_horizon_rules_are_mutated_per_horizon():
    m = apply_mutant("lr_x2", lambda T: rules.make("sgd", lr=1 / np.sqrt(T)))
    assert m(100).lr == pytest.approx(0.2)


def test_clopper_pearson_matches_the_beta_quantiles():
    lo, hi = clopper_pearson(19, 20)
    assert lo == pytest.approx(0.7513, abs=1e-4) and hi == pytest.approx(0.99873, abs=1e-4)
    assert clopper_pearson(0, 10)[0] == 0.0 and clopper_pearson(10, 10)[1] == 1.0


def test_power_counts_verdicts_and_reports_missing_mutants():
    rows = power("gd_convex_tight", mutants=["lr_x0.5", "b1_zero"], replicates=3)
    by = {r.mutant: r for r in rows}
    assert by[TRUE_RULE].rate == 1.0 and by[TRUE_RULE].deterministic and by[TRUE_RULE].counts == {"consistent": 1}
    assert by["lr_x0.5"].rate == 1.0 and by["lr_x0.5"].counts == {"violated": 1}
    assert by["b1_zero"].status == "not applicable" and "no field 'b1'" in by["b1_zero"].note
    with pytest.raises(ValueError, match="replicates must be a positive integer"):
        power("gd_convex_tight", replicates=0)


def test_one_sided_lower_bound_and_replicates_needed_for_power_095():
    from scipy import stats

    from precond_theory.verify.power import lower_bound, replicates_for

    assert replicates_for(0.95, 0.95) == 59
    assert lower_bound(59, 59) >= 0.95 > lower_bound(58, 58)          # (0.05)^(1/n), closed form
    assert lower_bound(59, 59) == pytest.approx(0.05 ** (1 / 59), rel=1e-12)
    assert lower_bound(40, 50) == pytest.approx(stats.beta.ppf(0.05, 40, 11), rel=1e-12)
    assert lower_bound(0, 10) == 0.0
    with pytest.raises(ValueError, match="successes"):
        lower_bound(11, 10)


def test_insensitive_mutants_need_known_names_and_a_reason_and_are_listed_not_run():
    from precond_theory.verify.claims import claims_from_dict

    base = dict(metric="f_gap", order=-1.0)
    with pytest.raises(ValueError, match="insensitive: unknown mutant 'nope'"):
        claims_from_dict({**base, "insensitive": {"nope": "why"}})
    with pytest.raises(ValueError, match="needs a one-line reason"):
        claims_from_dict({**base, "insensitive": {"lr_x0.5": " "}})
    with pytest.raises(ValueError, match="listed both in mutants and in insensitive"):
        claims_from_dict({**base, "mutants": ["lr_x0.5"], "insensitive": {"lr_x0.5": "covered"}})
    with pytest.raises(ValueError, match="insensitive must be a table"):
        claims_from_dict({**base, "insensitive": ["lr_x0.5"]})
    (c,) = claims_from_dict({**base, "insensitive": {"lr_x0.5": "the theorem covers it"}}).values()
    import dataclasses

    from precond_theory.verify.claims import get_claim

    c = dataclasses.replace(get_claim("gd_convex_tight"), mutants=("lr_x0.5",), outside=(),
                            insensitive={"b1_zero": "GD has no b1"})
    rows = {r.mutant: r for r in power(c, replicates=1)}
    assert rows["b1_zero"].status == "insensitive" and rows["b1_zero"].note == "GD has no b1"
    assert rows["b1_zero"].cells()[6] == "cannot detect" and not rows["b1_zero"].meets_target
    assert rows["lr_x0.5"].meets_target and rows["lr_x0.5"].cells()[6] == "met"


def test_mutants_that_would_change_nothing_are_not_applicable():
    gd = rules.make("sgd", lr=0.1)  # momentum 0: halving or flipping it changes nothing
    for name in ("momentum_x0.5", "extrapolation_flipped"):
        with pytest.raises(MutantNotApplicable, match="unchanged"):
            apply_mutant(name, gd)
    projected = rules.with_projection(rules.make("adagrad", lr=0.5), box=(-1.0, 1.0))
    with pytest.raises(MutantNotApplicable, match="no schedule to drop"):
        apply_mutant("schedule_dropped", projected)
    pre = rules.make("preconditioned", lr=0.1, diag=np.array([1.0, 2.0]))
    assert apply_mutant("preconditioner_dropped", pre).diag is None
    with pytest.raises(MutantNotApplicable, match="no fixed preconditioner"):
        apply_mutant("preconditioner_dropped", rules.make("preconditioned", lr=0.1))
    ada = apply_mutant("ema_for_sum", rules.make("adagrad", lr=0.5))
    assert (ada.name, ada.b1, ada.b2, ada.lr) == ("adam", 0.0, 0.1, 0.5)

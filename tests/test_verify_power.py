"""The fast CI subset of the power table (docs/claims.md): every catalog claim that names a rule
rejects a non-trivial declared mutant (the sign flip only where nothing else is rejectable), flags
one mutant outside its theorem as inconclusive, and accepts the unmutated rule on its setup (one
replicate: template and reconstructed claims included); false claims are refuted.  The full
table over replicates is `precond-theory check --power --all` (docs/data/power.json)."""

from __future__ import annotations

import pytest

from precond_theory.verify.claims import catalog
from precond_theory.verify.runner import check_claim

CLAIMS = {n: c for n, c in catalog().items() if c.setup is not None}
SHORT = 2000  # sign_flip shows at once: ascent diverges, plateaus or exceeds the bound from the first steps


def _short(c, mutant):
    """Shorter runs for the sign flip (its failure is immediate); the setup's otherwise."""
    if mutant != "sign_flip":
        return {}
    if c.horizon == "per_horizon":
        return {"horizons": [T for T in c.setup.horizons if T <= SHORT]}
    return {"steps": min(c.setup.steps, SHORT)}


def _nontrivial(c):
    """The first declared mutant other than the sign flip (the weakest), else the sign flip."""
    return next((m for m in c.mutants if m != "sign_flip"), "sign_flip")


@pytest.mark.parametrize("name", [n for n, c in CLAIMS.items() if c.mutants])
def test_each_claim_rejects_a_declared_mutant(name):
    c = CLAIMS[name]
    m = _nontrivial(c)
    rc = check_claim(c, mutant=m, **_short(c, m))
    assert rc.verdict == "violated", f"{name} x {m}: {rc.reason}"


#: Claims with an explicit bound or an exact rate that reject only the sign flip, and why: Nesterov's
#: strongly convex theorem is stated for its parameters only (every other step or momentum is
#: outside it: flagged by bound_parameters); Reddi et al.'s AMSGrad bound holds for every alpha and
#: beta2 and has a slack of about 4 on every Reddi-type sequence tried, and Adam, SGD, a constant step
#: leave its assumptions.  The order-only templates (O(log T/sqrt T), O(sqrt T)) can only reject a
#: broken update; their other mutants are declared insensitive (with the reason) or outside.
ONLY_SIGN_FLIP = {"nesterov_strongly_convex", "amsgrad_regret_explicit"}


def test_claims_with_a_bound_or_an_exact_rate_reject_a_non_trivial_mutant():
    weak = {name for name, c in CLAIMS.items() if c.fidelity != "false" and _nontrivial(c) == "sign_flip"
            and (c.bound is not None or c.kind == "rate" or c.shape == "linear")}
    assert weak == ONLY_SIGN_FLIP


def test_declared_insensitive_mutants_apply_to_the_rule_and_carry_a_reason():
    from precond_theory.verify.instances import setup_instance, setup_rule_factory
    from precond_theory.verify.mutants import apply_mutant

    for name, c in CLAIMS.items():
        rule = setup_rule_factory(c, setup_instance(c).problem)(c.setup.horizons[-1] if c.setup.horizons else None)
        for m, why in c.insensitive.items():
            apply_mutant(m, rule)  # raises when the mutant has nothing to change in this rule
            assert len(why) > 20, (name, m)


@pytest.mark.parametrize("name", [n for n, c in CLAIMS.items() if c.outside])
def test_each_claim_flags_a_mutant_outside_its_theorem(name):
    c = CLAIMS[name]
    rc = check_claim(c, mutant=c.outside[0])
    assert rc.verdict == "inconclusive" and rc.reason.startswith("assumption "), f"{name}: {rc.reason}"


@pytest.mark.parametrize("name", list(CLAIMS))
def test_claims_accept_their_rule_and_false_claims_are_refuted(name):
    c = CLAIMS[name]
    rc = check_claim(c)
    want = "violated" if c.fidelity == "false" else "consistent"
    assert rc.verdict == want, f"{name}: {rc.reason}"


def test_every_rule_claim_declares_mutants_and_false_claims_none():
    for name, c in CLAIMS.items():
        if c.fidelity == "false":
            assert not c.mutants, name
        else:
            assert c.mutants, f"{name} names rule {c.setup.rule!r} but declares no mutant to reject"


def test_cli_power_jobs_gives_the_same_rows_as_one_process(tmp_path):
    import json

    from typer.testing import CliRunner

    from precond_theory.cli import app

    f = tmp_path / "two.toml"
    body = ('metric = "dist_sq"\nshape = "linear"\nkind = "upper_bound"\nmutants = ["lr_x0.5", "sign_flip"]\n'
            'setup = {{ rule = "sgd", rule_params = {{ lr = "{lr}" }}, steps = 300, problem = {{ name = "quadratic", '
            'dim = 5, kappa = 10.0 }} }}\n')
    f.write_text("[a]\n" + body.format(lr="1/L") + "\n[b]\n" + body.format(lr="0.5/L"))
    tables = []
    for jobs in ("1", "2"):
        out = tmp_path / f"p{jobs}.json"
        r = CliRunner().invoke(app, ["check", "--file", str(f), "--power", "--replicates", "2", "--jobs", jobs,
                                     "--json", str(out)])
        assert r.exit_code == 0, r.output
        tables.append(json.loads(out.read_text()))
    assert tables[0]["rows"] == tables[1]["rows"] and len(tables[0]["rows"]) == 6
    assert "--jobs 2" in tables[1]["command"] and "--jobs" not in tables[0]["command"]
    for args, match in ((["check", "--file", str(f), "--power", "--jobs", "0"], "--jobs must be a positive integer"),
                        (["check", "--file", str(f), "--jobs", "2"], "--jobs applies to --power only")):
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 2 and match in r.output, r.output


def test_the_committed_power_table_covers_the_catalog_and_meets_the_target():
    """docs/data/power.json (the full table, `precond-theory check --power --replicates 59 --all`)
    has one row per claim x (unmutated, declared, outside, insensitive) mutant of the current
    catalog, and every row that is run meets the target: one deterministic run hits, or a
    one-sided 95% lower bound >= 0.95 over >= 59 replicates.  A claim or mutant added without
    re-measuring the table fails here."""
    import json
    from pathlib import Path

    data = json.loads((Path(__file__).resolve().parents[1] / "docs" / "data" / "power.json").read_text())
    cols = data["columns"]
    rows = [dict(zip(cols, r)) for r in data["rows"]]
    got = {(r["claim"].strip("`"), r["rule"]) for r in rows}
    want = set()
    for name, c in CLAIMS.items():
        want |= {(name, "(unmutated)")} | {(name, m) for m in (*c.mutants, *c.outside, *c.insensitive)}
    assert got == want, (sorted(want - got), sorted(got - want))
    for r in rows:
        key = (r["claim"], r["rule"])
        if r["rate"] == "insensitive":
            assert r["target"] == "cannot detect" and r["first miss / reason"], key
        elif r["95% interval"] == "deterministic":
            assert r["target"] == "met" and r["rate"].endswith(" 1.00"), key
        else:
            assert int(r["replicates"]) >= 59 and float(r["one-sided 95% lower bound"]) >= 0.95, key
            assert r["target"] == "met (>= 0.95)", key

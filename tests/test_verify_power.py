"""The fast CI subset of the power table (docs/claims.md): every catalog claim that names a rule
rejects one of its declared mutants, flags one mutant outside its theorem as inconclusive, and,
for exact theorems, accepts the unmutated rule on its setup; false claims are refuted.  The full
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


@pytest.mark.parametrize("name", [n for n, c in CLAIMS.items() if c.mutants])
def test_each_claim_rejects_a_declared_mutant(name):
    c = CLAIMS[name]
    m = "sign_flip" if "sign_flip" in c.mutants else c.mutants[0]
    rc = check_claim(c, mutant=m, **_short(c, m))
    assert rc.verdict == "violated", f"{name} x {m}: {rc.reason}"


@pytest.mark.parametrize("name", [n for n, c in CLAIMS.items() if c.outside])
def test_each_claim_flags_a_mutant_outside_its_theorem(name):
    c = CLAIMS[name]
    rc = check_claim(c, mutant=c.outside[0])
    assert rc.verdict == "inconclusive" and rc.reason.startswith("assumption "), f"{name}: {rc.reason}"


@pytest.mark.parametrize("name", [n for n, c in CLAIMS.items() if c.fidelity in ("exact", "false")])
def test_exact_claims_accept_their_rule_and_false_claims_are_refuted(name):
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

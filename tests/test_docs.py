"""Every registered rule has a docs page whose first line states its fidelity label."""

from __future__ import annotations

from pathlib import Path

import pytest

from precond_theory import rules

DOCS = Path(__file__).resolve().parents[1] / "docs" / "rules"


@pytest.mark.parametrize("name", rules.available())
def test_rule_page_states_fidelity_first(name):
    page = DOCS / f"{name}.md"
    assert page.is_file(), f"docs/rules/{name}.md is missing"
    first = page.read_text().splitlines()[0]
    label = rules.get(name).fidelity.upper()
    assert f"Fidelity: {label}" in first, f"{page.name}: first line must state 'Fidelity: {label}', got {first!r}"


def _generator():
    import importlib.util

    path = DOCS.parent / "gen_rule_derivations.py"
    spec = importlib.util.spec_from_file_location("gen_rule_derivations", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("name", rules.available())
def test_rule_page_shows_its_current_derivation(name):
    """The page's Derivation section is the one generated from the rule's symbolic twin now
    (regenerate with ``python docs/gen_rule_derivations.py``), and every residual holds."""
    gen = _generator()
    text = (DOCS / f"{name}.md").read_text()
    assert gen.BEGIN in text and gen.END in text, f"docs/rules/{name}.md has no derivation section"
    current = text[text.index(gen.BEGIN):text.index(gen.END) + len(gen.END)] + "\n"
    assert current == gen.section(name), f"docs/rules/{name}.md: derivation is stale; run docs/gen_rule_derivations.py"
    assert "(FAILS)" not in current

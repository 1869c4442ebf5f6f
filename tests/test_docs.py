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

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


def _nav_pages(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [p for item in node for p in _nav_pages(item)]
    if isinstance(node, dict):
        return [p for v in node.values() for p in _nav_pages(v)]
    return []


def test_every_rule_is_in_the_navigation_and_the_rules_index():
    import yaml

    config = yaml.safe_load((DOCS.parents[1] / "mkdocs.yml").read_text())
    nav = _nav_pages(config["nav"])
    index = (DOCS / "index.md").read_text()
    for name in rules.available():
        assert f"rules/{name}.md" in nav, f"docs/rules/{name}.md is not in the mkdocs nav"
        label = rules.get(name).fidelity.upper()
        assert f"| `{name}` | `{rules.get(name).__name__}` | {label} | [" in index, \
            f"docs/rules/index.md lacks {name} with its label {label}"
    missing = [p for p in nav if not (DOCS.parent / p).is_file()]
    assert not missing, f"nav entries without a page: {missing}"

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


#: the rules each specification page specifies
SPEC_RULES = {
    "baselines": ["sgd", "heavy_ball", "nesterov", "adagrad", "rmsprop", "adam", "amsgrad", "adamw", "nadam",
                  "lion", "signsgd", "rprop", "adabound", "swats", "agd", "apollo", "adabelief"],
    "soaa": ["soaa"], "adarem": ["adarem"], "ravine_adamrag": ["ravine", "adamrag"],
    "adapgradm": ["adapgradm", "hadapgradm"], "ye_preconditioning": ["preconditioned"],
}


def spec_option_names(text: str) -> set[str]:
    """Option names a spec page gives: first cells of tables headed ``option`` and ``option `x```."""
    import re

    names: set[str] = set()
    header = None
    for line in text.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if header is None:
            header = cells
            continue
        if header[0] == "option" and not set(cells[0]) <= set("-"):
            names |= set(re.findall(r"`([a-z_][a-z0-9_]*)`", cells[0]))
    for sentence in re.findall(r"\b[Oo]ptions?\b:?([^.]*)", text):  # "Options: `a` (...), `b` ..."
        names |= set(re.findall(r"`([a-z_][a-z0-9_]*)`", sentence))
    return names


@pytest.mark.parametrize("page", sorted(SPEC_RULES))
def test_spec_options_are_fields_of_the_rules(page):
    """Every option the specification names exists on one of the rules it specifies."""
    import dataclasses

    text = (DOCS.parent / "spec" / f"{page}.md").read_text()
    fields = {f.name for n in SPEC_RULES[page] for f in dataclasses.fields(rules.get(n))}
    names = spec_option_names(text) - set(rules.available())  # "options of `adam`" names the rule
    assert names or page == "ye_preconditioning", f"spec/{page}.md names no option"
    missing = sorted(names - fields)
    assert not missing, f"spec/{page}.md names options that no rule of it has: {missing}"


def test_spec_option_check_can_fail():
    text = ("| option | readings |\n|---|---|\n| `eps_placement` | x |\n| `no_such_option` | y |\n\n"
            "Option `sqrt_t`. Further options: `amsbound` (`\"x\"`), `eps_inner`.")
    assert spec_option_names(text) == {"eps_placement", "no_such_option", "sqrt_t", "amsbound", "eps_inner"}
    assert "no_such_option" not in {f.name for f in __import__("dataclasses").fields(rules.get("adam"))}

"""Numbers in the docs are the ones their command measured.

* Every generated block renders exactly from its ``docs/data/NAME.json`` (``gen_tables.py
  --check``), and the check fails when a number in a page is edited by hand.
* Every data file names its command, machine and date; those written by ``docs/tables.py``
  name a table it knows.
* Tables that are cheap and deterministic are measured again and must equal the stored rows.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"docs_{name}", DOCS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses need their module registered
    spec.loader.exec_module(mod)
    return mod


gen = _module("gen_tables")
tables = _module("tables")
BLOCKS = [(page, m["src"]) for page in gen.pages() for m in gen.BLOCK.finditer(page.read_text())]


def test_pages_agree_with_their_data():
    assert gen.main(["--check"]) == 0, "run python docs/gen_tables.py"


def test_check_fails_on_an_edited_number(tmp_path, monkeypatch, capsys):
    page = DOCS / "normalization.md"
    text = page.read_text()
    assert "<!-- generated: docs/data/e06_normalization.json -->" in text
    copy = tmp_path / "normalization.md"
    copy.write_text(text)
    monkeypatch.setattr(gen, "pages", lambda: [copy])
    monkeypatch.setattr(gen, "ROOT", ROOT)
    assert gen.main(["--check"]) == 0
    start = text.index("<!-- generated: docs/data/e06_normalization.json -->")
    edited = text[:start] + text[start:].replace("9602", "9603", 1)
    assert edited != text
    copy.write_text(edited)
    assert gen.main(["--check"]) == 1
    assert "normalization.md" in capsys.readouterr().out


def test_every_block_has_complete_data():
    assert BLOCKS, "no generated tables found in docs/"
    for page, src in BLOCKS:
        path = ROOT / src
        assert path.is_file(), f"{page.name}: {src} is missing"
        data = json.loads(path.read_text())
        for key in ("command", "machine", "date", "columns", "rows"):
            assert data.get(key) not in (None, "", []), f"{src}: {key!r} is empty"
        assert re.match(r"\d{4}-\d{2}-\d{2}", data["date"]), f"{src}: date {data['date']!r} is not ISO (YYYY-MM-DD...)"
        m = re.fullmatch(r"python docs/tables\.py (\S+)", data["command"])
        if m:
            assert m[1] == path.stem and m[1] in tables.TABLES, f"{src}: command {data['command']!r}"
            assert tables.TABLES[m[1]].page == str(page.relative_to(ROOT)), f"{src} is rendered on {page}"


def test_each_table_of_docs_tables_is_rendered_on_its_page():
    rendered = {(str(p.relative_to(ROOT)), src) for p, src in BLOCKS}
    for name, t in tables.TABLES.items():
        assert (t.page, f"docs/data/{name}.json") in rendered, f"{name} is not rendered on {t.page}"


CHEAP = [n for n, t in tables.TABLES.items() if t.cheap and t.deterministic]


@pytest.mark.parametrize("name", CHEAP)
def test_cheap_tables_measure_the_stored_numbers(name):
    stored = json.loads((DOCS / "data" / f"{name}.json").read_text())
    fresh = tables.TABLES[name].measure()
    assert fresh["columns"] == stored["columns"]
    assert fresh["rows"] == stored["rows"], f"docs/data/{name}.json is stale: run python docs/tables.py {name}"


def test_formatting_is_what_the_pages_show():
    assert [tables.fmt(v) for v in (1.0, 61.98, 262.9, 9602.0, 2.765e4, 6.8799, float("inf"), 2.4e-14)] == \
        ["1", "62", "263", "9602", "2.8e4", "6.88", "inf", "2.4e-14"]


def test_readme_describes_the_default_experiment_as_configured():
    """The README's sentence about the built-in experiment matches precond_theory/data/default.toml."""
    import tomllib

    from precond_theory import rules

    cfg = tomllib.loads((ROOT / "precond_theory" / "data" / "default.toml").read_text())
    words = dict(enumerate("zero one two three four five six seven eight nine ten eleven twelve".split()))
    names = [r["name"] for r in cfg["rules"]]
    n_recon = sum(rules.get(n).fidelity == "recon" for n in names)
    text = " ".join((ROOT / "README.md").read_text().split())
    claim = (f"({words[len(names)]} rules, {words[n_recon]} of them RECON, on an "
             f"{'axis-aligned' if not cfg['problem'].get('rotate', True) else 'rotated'} quadratic with "
             f"kappa = {cfg['problem']['kappa']:g}, {words[len(cfg['seeds'])]} random starts each, "
             f"{cfg['steps']} steps")
    assert claim in text, f"README does not say: {claim}"


def test_a_block_without_data_is_an_error(tmp_path, monkeypatch, capsys):
    page = tmp_path / "p.md"
    page.write_text("# p\n\n<!-- generated: docs/data/no_such_table.json -->\n<!-- /generated -->\n")
    monkeypatch.setattr(gen, "pages", lambda: [page])
    assert gen.main(["--check"]) == 2
    assert "no_such_table.json does not exist" in capsys.readouterr().out


def _td_texts(md: str) -> list[list[str]]:
    import markdown

    html = markdown.markdown(md, extensions=["tables"])
    return [re.findall(r"<td[^>]*>(.*?)</td>", r, re.S) for r in re.findall(r"<tr>(.*?)</tr>", html, re.S)[1:]]


def _alone(value) -> str:
    """How one cell renders in a table of its own (what it must render as in its row)."""
    return _td_texts(f"| h |\n|---|\n| {gen.cell(value)} |\n")[0][0]


def test_every_generated_row_renders_cell_by_cell():
    """A bare ``|`` in a cell (``E||g||^2``) ends the cell in Markdown, and the table extension then
    pads or cuts the row to the header's width: every cell of every generated table must render
    in its row as it renders alone."""
    for page, src in BLOCKS:
        data = json.loads((ROOT / src).read_text())
        rendered = _td_texts(gen.render(data))
        assert len(rendered) == len(data["rows"]), (page.name, src)
        for got, row in zip(rendered, data["rows"]):
            assert got == [_alone(v) for v in row], (page.name, src, row)
    assert _td_texts(gen.render({"command": "c", "machine": "m", "date": "d", "columns": ["a", "b"],
                                 "rows": [["E||g||^2 and `|x|`", 1]]}))[0][0].startswith("E||g||^2 and <code>|x|")

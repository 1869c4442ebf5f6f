"""The report: one self-contained HTML page with every experiment, LaTeX and CSV tables; the
gallery page; clear errors when there is nothing to report or nowhere to write."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from precond_theory.cli import app
from precond_theory.experiments import run_experiment

runner = CliRunner()
NAMES = ("soaa_linear_cost", "ye_preconditioned_local_rate", "claim_gd_quadratic_linear")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    for n in NAMES:
        run_experiment(n, size="ci", out=out)
    return out


def test_report_html_is_self_contained_and_has_each_experiment(results, tmp_path):
    out = tmp_path / "report"
    res = runner.invoke(app, ["report", "--results", str(results), "--out", str(out)])
    assert res.exit_code == 0, res.output
    page = (out / "report.html").read_text()
    for n in NAMES:
        rec = json.loads((results / n / "verdict.json").read_text())
        assert f'id="{n}"' in page and rec["verdict"] in page and rec["fidelity"] in page
        assert rec["command"] in page and rec["interval"].replace("<", "&lt;") in page
    assert page.count("data:image/png;base64,") >= len(NAMES)
    assert not re.search(r'(src|href)="(https?:|//|file:)', page)  # nothing fetched from elsewhere
    assert "numpy" in page and "RECON" in page and "CONCORDANT" in page
    csv = pd.read_csv(out / "verdicts.csv")
    assert sorted(csv.experiment) == sorted(NAMES)
    tex = (out / "verdicts.tex").read_text()
    assert "\\toprule" in tex and all(n.replace("_", "\\_") in tex for n in NAMES)
    for n in NAMES:
        assert (out / "tables" / f"{n}.tex").is_file() and (out / "tables" / f"{n}.csv").is_file()
    (out / "keep.txt").write_text("mine")  # a rebuild replaces its own files only
    assert runner.invoke(app, ["report", "--results", str(results), "--out", str(out)]).exit_code == 0
    assert (out / "keep.txt").read_text() == "mine"


def test_report_without_results_names_the_command(tmp_path):
    empty = tmp_path / "none"
    empty.mkdir()
    res = runner.invoke(app, ["report", "--results", str(empty), "--out", str(tmp_path / "r")])
    assert res.exit_code == 2 and "no experiment results" in res.output
    assert "precond-theory experiment --all" in res.output and len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_report_unwritable_out(results, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = runner.invoke(app, ["report", "--results", str(results), "--out", str(blocker / "r")])
    assert res.exit_code == 2 and "not a writable folder" in res.output


def test_gallery_page_rendered_by_the_docs_table_tool(results, tmp_path):
    from precond_theory.report.gallery import MAX_ROWS, size_text, write_gallery

    root = Path(__file__).resolve().parents[1]
    docs = tmp_path / "repo" / "docs"
    docs.mkdir(parents=True)
    shutil.copyfile(root / "docs" / "gen_tables.py", docs / "gen_tables.py")
    page = write_gallery(results, docs)
    text = page.read_text()
    for n in NAMES:
        assert (docs / "img" / "gallery" / f"{n}.png").is_file()
        assert f"![{n}](img/gallery/{n}.png)" in text
        data = json.loads((docs / "data" / f"gallery_{n}.json").read_text())
        assert len(data["rows"]) <= MAX_ROWS and data["command"].startswith("precond-theory experiment")
        assert f"<!-- generated: docs/data/gallery_{n}.json -->\n| " in text  # the block is rendered
    # the page states the size each result was produced at, with its horizons and replicates
    assert "All 3 results on this page were produced at size **ci**." in text
    for n in NAMES:
        rec = json.loads((results / n / "verdict.json").read_text())
        section = text[text.index(f"{{#{n}}}"):]
        assert "size **ci**" in section[:600] and f"- **Size:** {size_text(rec)}" in section
    assert "- **Size:** ci (steps = " in text
    # a results folder holding two sizes says which experiment is at which
    mixed = tmp_path / "mixed"
    shutil.copytree(results, mixed)
    rec = json.loads((mixed / "soaa_linear_cost" / "verdict.json").read_text())
    rec["size"] = "full"
    (mixed / "soaa_linear_cost" / "verdict.json").write_text(json.dumps(rec))
    text = write_gallery(mixed, docs, command="precond-theory experiment --all --size full --gallery docs/").read_text()
    said = re.search(r"produced at different sizes: \*\*ci\*\* for 2 \(([^)]*)\), \*\*full\*\* for 1 "
                     r"\(soaa_linear_cost\)\.", text)
    assert said and sorted(said.group(1).split(", ")) == ["claim_gd_quadratic_linear", "ye_preconditioned_local_rate"]
    assert "```bash\nprecond-theory experiment --all --size full --gallery docs/\n```" in text
    for n in NAMES:  # every table names the command that regenerates the page (not a results path)
        data = json.loads((docs / "data" / f"gallery_{n}.json").read_text())
        assert data["command"] == "precond-theory experiment --all --size full --gallery docs/"
    with pytest.raises(ValueError, match="gen_tables.py"):
        write_gallery(results, tmp_path / "no-docs")

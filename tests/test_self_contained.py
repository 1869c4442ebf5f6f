"""The repository stands on its own: nothing it ships cites a file outside it.

Scanned: every text file of the checkout (code, docs, configs, experiments, tests) and the
output of the CLI commands that print references (``rules``, ``check --list``).  Two kinds of
defect are caught:

* a reference to a location outside the repository (a sibling team folder, an absolute path of
  a working machine, a planning document that is not shipped);
* a cited ``docs/...`` page that does not exist.

The forbidden patterns are assembled from pieces so that this file does not match itself.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]

#: directories never scanned (build outputs, environments, VCS data, run results)
SKIP_DIRS = {".git", ".venv", "venv", "site", "build", "dist", "results", "node_modules",
             "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", ".hypothesis"}
#: binary formats never scanned
SKIP_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".pdf", ".npz", ".npy", ".parquet", ".pyc", ".so",
                 ".whl", ".gz", ".zip", ".ico", ".woff", ".woff2"}

_DOT = "."
_FORBIDDEN = [
    r"\.\./" + "shared",                                   # the team folder next to the checkout
    "/" + "work" + "/",                                    # absolute paths of a working machine
    r"\bshared/(?:specs|seeds)\b",
    *(re.escape(n + _DOT + "md") for n in ("USERS", "DESIGN", "STYLE", "HELPERS")),
    re.escape("update-rules" + _DOT + "md"),
    re.escape("specs/" + "update-rules"),
]
FORBIDDEN = re.compile("|".join(f"(?:{p})" for p in _FORBIDDEN))
#: a cited docs page: docs/<path>.md (anchors and section signs after it are ignored)
DOCS_REF = re.compile(r"(?<![\w/.])docs/[\w./-]+?\.md\b")


def _is_skipped(rel: Path) -> bool:
    parts = rel.parts
    return (any(p in SKIP_DIRS or p.endswith(".egg-info") for p in parts[:-1])
            or rel.suffix.lower() in SKIP_SUFFIXES)


def text_files(root: Path) -> list[Path]:
    """Every text file under ``root`` outside the skipped directories (NUL bytes mean binary)."""
    out = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or _is_skipped(rel) or rel.name == ".git":  # a worktree's .git file
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue
        out.append(path)
    return out


def outside_references(text: str) -> list[str]:
    """The lines of ``text`` that cite something outside the repository."""
    return [line.strip() for line in text.splitlines() if FORBIDDEN.search(line)]


def pending_pages(root: Path) -> set[str]:
    """Pages announced in ``mkdocs.yml``'s ``not_in_nav`` (other work adds them; until then a
    citation of one is not an error).  A folder entry (``/experiments/``) covers its pages."""
    import yaml

    cfg = root / "mkdocs.yml"
    if not cfg.is_file():
        return set()
    entries = (yaml.safe_load(cfg.read_text()) or {}).get("not_in_nav") or ""
    return {"docs/" + line.strip().lstrip("/") for line in entries.splitlines() if line.strip()}


def missing_docs_pages(text: str, root: Path) -> list[str]:
    """Cited ``docs/*.md`` pages that do not exist under ``root`` (and are not pending)."""
    pending = pending_pages(root)

    def ok(page: str) -> bool:
        return (root / page).is_file() or page in pending or any(
            p.endswith("/") and page.startswith(p) for p in pending)

    return sorted({m.group(0) for m in DOCS_REF.finditer(text) if not ok(m.group(0))})


def scan(root: Path) -> dict[str, list[str]]:
    """``{relative path: offending lines or pages}`` for every file of ``root`` with a defect."""
    found: dict[str, list[str]] = {}
    for path in text_files(root):
        text = path.read_text(errors="replace")
        bad = outside_references(text) + [f"missing page {p}" for p in missing_docs_pages(text, root)]
        if bad:
            found[str(path.relative_to(root))] = bad
    return found


# ----------------------------------------------------------------------------------- the checks
def test_no_file_cites_anything_outside_the_repository():
    found = scan(ROOT)
    assert not found, "references outside the repository (cite docs/spec/*.md instead):\n" + "\n".join(
        f"  {path}: {line}" for path, lines in found.items() for line in lines)


@pytest.mark.parametrize("args", [["rules"], ["check", "--list"]], ids=["rules", "check--list"])
def test_cli_output_cites_nothing_outside_the_repository(args):
    from precond_theory.cli import app

    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert result.output.strip(), f"`precond-theory {' '.join(args)}` printed nothing"
    assert not outside_references(result.output), outside_references(result.output)
    assert not missing_docs_pages(result.output, ROOT), missing_docs_pages(result.output, ROOT)


def test_the_spec_pages_exist():
    for page in ("index", "baselines", "soaa", "adarem", "ravine_adamrag", "adapgradm", "ye_preconditioning"):
        assert (ROOT / "docs" / "spec" / f"{page}.md").is_file(), f"docs/spec/{page}.md is missing"


# ------------------------------------------------------------------- the scanner can fail
@pytest.mark.parametrize("planted", [
    "see ../" + "sha" + "red/specs/" + "update-rules" + ".md §3",
    "the equations are in specs/" + "update-rules" + ".md",
    "as USERS" + ".md item 4 asks",
    "Architecture: DESIGN" + ".md",
    "open /" + "work/" + "sha" + "red/" + "seeds/abstract.txt",
])
def test_scan_finds_a_planted_reference(tmp_path, planted):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text("# A page\n\nfine text\n")
    (tmp_path / "module.py").write_text(f'"""Docstring.\n\n{planted}\n"""\n')
    assert scan(tmp_path) == {"module.py": [planted]}


def test_scan_finds_a_cited_page_that_does_not_exist(tmp_path):
    (tmp_path / "docs" / "spec").mkdir(parents=True)
    (tmp_path / "docs" / "spec" / "index.md").write_text("# spec\n")
    missing = "docs/" + "spec/nowhere.md"
    (tmp_path / "a.py").write_text(f"# see docs/spec/index.md section 1 and {missing}\n")
    assert scan(tmp_path) == {"a.py": [f"missing page {missing}"]}


def test_pending_pages_are_exempt_until_they_leave_not_in_nav(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "mkdocs.yml").write_text("not_in_nav: |\n  /later.md\n  /experiments/\n")
    a, b, c = ("docs/" + "later.md", "docs/" + "experiments/e1.md", "docs/" + "never.md")
    (tmp_path / "a.py").write_text(f"# {a} {b} {c}\n")
    assert scan(tmp_path) == {"a.py": [f"missing page {c}"]}


def test_scan_accepts_clean_files_and_skips_binaries(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "x.md").write_text("# x\n")
    (tmp_path / "clean.py").write_text("# cites " + "docs/" + "x.md and arXiv:2410.00232\n")
    (tmp_path / "blob.bin").write_bytes(b"\0\0 ../" + b"shared")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "log.txt").write_text("../" + "shared")
    assert scan(tmp_path) == {}

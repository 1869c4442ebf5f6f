"""Release metadata agree: one version (package, pyproject, CITATION.cff, CHANGELOG), a valid
CITATION.cff (CFF 1.2.0) and a changelog in the Keep a Changelog form."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from precond_theory import __version__

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}


def _release(v: str) -> str:
    """The release a version belongs to: 0.2.0.dev0 -> 0.2.0."""
    return re.match(r"\d+\.\d+\.\d+", v).group(0)


def cff_problems(data: dict) -> list[str]:
    """What makes ``data`` an invalid CFF 1.2.0 record (the required keys and their types)."""
    bad = []
    if data.get("cff-version") != "1.2.0":
        bad.append("cff-version must be '1.2.0'")
    for key in ("message", "title"):
        if not isinstance(data.get(key), str) or not data.get(key):
            bad.append(f"{key} must be a non-empty string")
    authors = data.get("authors")
    if not isinstance(authors, list) or not authors:
        bad.append("authors must be a non-empty list")
    else:
        for a in authors:
            if not isinstance(a, dict) or not ({"name", "family-names", "given-names"} & set(a)):
                bad.append(f"author {a!r} has neither name nor family-names/given-names")
    allowed = {"abstract", "authors", "cff-version", "commit", "contact", "date-released", "doi", "identifiers",
               "keywords", "license", "license-url", "message", "preferred-citation", "references",
               "repository", "repository-artifact", "repository-code", "title", "type", "url", "version"}
    bad += [f"unknown key {k!r}" for k in sorted(set(data) - allowed)]
    if data.get("type", "software") not in ("software", "dataset"):
        bad.append("type must be 'software' or 'dataset'")
    return bad


def test_citation_is_valid_cff_with_the_package_version():
    data = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff_problems(data) == []
    assert str(data["version"]) == __version__
    assert data["license"] == "BSD-3-Clause"


def test_cff_check_rejects_broken_records():
    good = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff_problems({**good, "cff-version": "1.1.0"})
    assert cff_problems({**good, "authors": []})
    assert cff_problems({**good, "author": "x"})
    assert cff_problems({k: v for k, v in good.items() if k != "title"})


@pytest.mark.skipif(shutil.which("cffconvert") is None, reason="cffconvert not installed (structure checked above)")
def test_citation_passes_the_cff_schema():
    proc = subprocess.run(["cffconvert", "--validate", "-i", str(ROOT / "CITATION.cff")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_changelog_follows_keep_a_changelog():
    text = (ROOT / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog")
    releases = re.findall(r"^## \[([^\]]+)\](.*)$", text, re.M)
    assert releases and releases[0][0] == "Unreleased", "the first section is [Unreleased]"
    assert _release(__version__) in releases[0][1], "the Unreleased section names the version being developed"
    assert ("0.1.0", " — 2026-11-23") in releases
    for name, rest in releases[1:]:
        assert re.fullmatch(r"\d+\.\d+\.\d+", name) and re.fullmatch(r" — \d{4}-\d{2}-\d{2}", rest), (name, rest)
    headings = set(re.findall(r"^### (.+)$", text, re.M))
    assert headings <= SECTIONS, f"unknown change types: {headings - SECTIONS}"

"""The documentation site builds with ``mkdocs build --strict`` and renders what it should.

Strict mode turns every warning into an error: a page missing from the navigation, a broken
link or anchor, a reference the API generator cannot resolve.  On top of the build, the tests
check the HTML: every rule, specification and API page exists, the API pages document their
objects, and every ``$...$`` of the Markdown became math for MathJax (no raw dollar signs left).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from precond_theory import rules

ROOT = Path(__file__).resolve().parents[1]
NEEDED = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python", "pymdownx")
_missing = [m for m in NEEDED if importlib.util.find_spec(m.split(".")[0]) is None
            or (m.count(".") and importlib.util.find_spec(m) is None)]
pytestmark = pytest.mark.skipif(bool(_missing), reason=f"docs build needs {', '.join(_missing)} "
                                "(pip install '.[docs]')")

SPEC_PAGES = ("index", "baselines", "soaa", "adarem", "ravine_adamrag", "adapgradm", "ye_preconditioning")
API_MODULES = ("rules", "problems", "run", "oracles", "rates", "theory", "conditioning", "normalization",
               "regularization", "sweep", "plotting")

_CODE = re.compile(r"<(pre|code)\b[^>]*>.*?</\1>", re.S)
_MATH = re.compile(r'<(div|span) class="arithmatex">.*?</\1>', re.S)


def stray_dollars(html: str) -> list[str]:
    """Snippets of ``html`` with a ``$`` outside code and outside rendered math elements."""
    text = _MATH.sub("", _CODE.sub("", html))
    return [text[max(0, m.start() - 40):m.start() + 40] for m in re.finditer(r"\$", text)]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                           str(ROOT / "mkdocs.yml"), "--site-dir", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "WARNING" in ln or "ERROR" in ln]
        pytest.fail("mkdocs build --strict failed:\n" + "\n".join(lines[-40:] or [proc.stderr[-4000:]]))
    return out


def test_every_rule_spec_and_api_page_is_built(site):
    pages = ([f"rules/{n}" for n in rules.available()] + [f"spec/{p}" if p != "index" else "spec" for p in SPEC_PAGES]
             + [f"api/{m}" for m in API_MODULES] + ["rules", "api", "changelog", "dev/contributing"])
    missing = [p for p in pages if not (site / p / "index.html").is_file()]
    assert not missing, f"pages not built: {missing}"


def test_api_reference_documents_the_public_objects(site):
    html = (site / "api" / "rules" / "index.html").read_text()
    for cls in ("Adam", "SOAA", "AdapGradm"):
        assert f'id="precond_theory.rules.{cls}"' in html, f"API reference lacks precond_theory.rules.{cls}"
    assert 'id="precond_theory.run.run"' in (site / "api" / "run" / "index.html").read_text() or \
        'id="precond_theory.run"' in (site / "api" / "run" / "index.html").read_text()
    for mod in API_MODULES:
        text = (site / "api" / mod / "index.html").read_text()
        assert 'class="doc doc-heading"' in text, f"api/{mod}: no documented object"


def test_math_is_rendered_everywhere(site):
    htmls = sorted(site.rglob("*.html"))
    bad = {str(p.relative_to(site)): s[:2] for p in htmls if (s := stray_dollars(p.read_text()))}
    assert not bad, f"raw $ left in the HTML (math not converted): {bad}"
    soaa = (site / "rules" / "soaa" / "index.html").read_text()
    assert soaa.count('class="arithmatex"') >= 10
    assert "mathjax" in (site / "index.html").read_text().lower()


def test_stray_dollar_check_can_fail():
    assert stray_dollars('<p>x <span class="arithmatex">\\(a\\)</span> <code>$HOME</code></p>') == []
    assert stray_dollars("<p>$$</p><p>a = b</p>")
    assert stray_dollars("<td>$\\alpha_t = $ momentum</td>")

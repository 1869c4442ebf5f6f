"""The report: every finished experiment's claim, setup, verdict, figure and table in one
self-contained HTML page, plus the tables in LaTeX (booktabs) and CSV.

``build_report(results, out)`` reads ``results/<name>/verdict.json`` (written by
``precond-theory experiment``) and writes into ``out``: ``report.html`` (figures inline as
base64 PNG, nothing fetched from elsewhere), ``verdicts.csv`` and ``verdicts.tex`` (one row per
experiment), and ``tables/<name>.csv`` / ``tables/<name>.tex`` for each experiment's table.
Everything is written to a staging folder first and each file is then renamed into ``out``, so
no file is ever half-written; other files in ``out`` are left alone.
"""

from __future__ import annotations

import base64
import html
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["build_report", "find_results", "NoResultsError"]

_COLOURS = {"consistent": "#228833", "violated": "#EE6677", "inconclusive": "#CCBB44"}


class NoResultsError(ValueError):
    """There is no finished experiment result to report on."""


def find_results(results: str | Path) -> list[dict[str, Any]]:
    """Verdict records of every finished experiment under ``results``, in registry order."""
    from ..experiments import available, load_record

    root = Path(results)
    if not root.is_dir():
        raise NoResultsError(f"results folder {str(root)!r} does not exist")
    order = {n: i for i, n in enumerate(available())}
    recs = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        rec = load_record(sub)
        if rec is not None and "name" in rec:
            rec["_folder"] = str(sub)
            recs.append(rec)
    if not recs:
        raise NoResultsError(f"no experiment results in {str(root)!r}")
    return sorted(recs, key=lambda r: (order.get(r["name"], len(order)), r["name"]))


def _summary_frame(recs: list[dict[str, Any]]) -> Any:
    import pandas as pd

    rows = [{"experiment": r["name"], "paper": r.get("paper", ""), "kind": r.get("kind", ""),
             "fidelity": r.get("fidelity", ""), "size": r.get("size", ""), "verdict": r.get("verdict", ""),
             "interval": r.get("interval", ""), "rules": ", ".join(f"{k} ({v})" for k, v in r.get("rules", {}).items())}
            for r in recs]
    return pd.DataFrame(rows)


def _table_html(folder: Path) -> str:
    import pandas as pd

    p = folder / "table.csv"
    if not p.is_file():
        return "<p><em>no table</em></p>"
    df = pd.read_csv(p)
    return df.to_html(index=False, border=0, classes="data", float_format=lambda v: f"{v:.4g}", na_rep="-")


def _img(folder: Path, stem: str) -> str:
    p = folder / f"{stem}.png"
    if not p.is_file():
        return ""
    data = base64.b64encode(p.read_bytes()).decode()
    return f'<img alt="{html.escape(stem)}" src="data:image/png;base64,{data}">'


def _section(rec: dict[str, Any]) -> str:
    e = html.escape
    folder = Path(rec["_folder"])
    v = rec.get("verdict", "")
    figs = [s[:-4] for s in rec.get("files", []) if s.endswith(".png")]
    versions = ", ".join(f"{k} {val}" for k, val in rec.get("versions", {}).items())
    rules = ", ".join(f"{e(k)} <span class='fid'>{e(val)}</span>" for k, val in rec.get("rules", {}).items())
    return f"""
<section id="{e(rec['name'])}">
<h2>{e(rec.get('title', rec['name']))} <code>{e(rec['name'])}</code></h2>
<p><span class="verdict" style="background:{_COLOURS.get(v, '#BBBBBB')}">{e(v)}</span>
 <span class="fid">claim: {e(rec.get('fidelity', ''))}</span> <span class="kind">{e(rec.get('kind', ''))}</span>
 <span class="kind">size: {e(rec.get('size', ''))}</span></p>
<dl>
<dt>Paper</dt><dd>{e(rec.get('paper', ''))}</dd>
<dt>Claim</dt><dd>{e(rec.get('claim', ''))}</dd>
<dt>Expected</dt><dd>{e(rec.get('expected', ''))}</dd>
<dt>Setup</dt><dd>{e(rec.get('setup', ''))}</dd>
<dt>Rules (fidelity)</dt><dd>{rules or '-'}</dd>
<dt>Result</dt><dd>{e(rec.get('reason', ''))}</dd>
<dt>Interval</dt><dd>{e(str(rec.get('interval', '-')))}</dd>
</dl>
{''.join(_img(folder, s) for s in figs)}
{_table_html(folder)}
<details><summary>Provenance</summary>
<p>Command: <code>{e(rec.get('command', ''))}</code><br>Versions: {e(versions)}<br>
Code hash: <code>{e(rec.get('code_hash', ''))}</code>, cache key <code>{e(rec.get('cache_key', ''))}</code>,
{e(rec.get('date', ''))}, {e(str(rec.get('seconds', '')))} s<br>
Parameters: <code>{e(json.dumps(rec.get('params', {})))}</code></p></details>
</section>"""


_CSS = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h2{border-top:1px solid #ccc;padding-top:1rem;font-size:1.2rem}img{max-width:100%;display:block;margin:.5rem 0}
.verdict{color:#fff;padding:.1rem .5rem;border-radius:.3rem;font-weight:bold}.fid,.kind{border:1px solid #888;
padding:0 .3rem;border-radius:.3rem;font-size:.85rem}table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
td,th{padding:.15rem .5rem;border-bottom:1px solid #ddd;text-align:right}dt{font-weight:bold}dd{margin:0 0 .4rem 1rem}"""


def build_report(results: str | Path, out: str | Path, *, advance: Callable[[int], None] | None = None,
                 command: str = "precond-theory report") -> Path:
    """Write the report of every result under ``results`` into ``out``; returns ``out/report.html``."""
    from ..experiments._store import to_booktabs, write_text_atomic

    recs = find_results(results)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
    try:
        sections = []
        (staged / "tables").mkdir()
        for rec in recs:
            sections.append(_section(rec))
            folder = Path(rec["_folder"])
            for ext in ("csv", "tex"):
                src = folder / f"table.{ext}"
                if src.is_file():
                    shutil.copyfile(src, staged / "tables" / f"{rec['name']}.{ext}")
            if advance:
                advance(1)
        summary = _summary_frame(recs)
        counts = summary.verdict.value_counts().to_dict()
        index = "".join(f"<tr><td style='text-align:left'><a href='#{html.escape(r['name'])}'>{html.escape(r['name'])}"
                        f"</a></td><td>{html.escape(r.get('fidelity', ''))}</td><td><span class='verdict' style='background:"
                        f"{_COLOURS.get(r.get('verdict'), '#BBB')}'>{html.escape(r.get('verdict', ''))}</span></td>"
                        f"<td>{html.escape(r.get('size', ''))}</td></tr>" for r in recs)
        page = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>precond-theory report</title>"
                f"<style>{_CSS}</style></head><body><h1>precond-theory: claims and experiments</h1>"
                f"<p>{len(recs)} experiments: " + ", ".join(f"{n} {html.escape(k)}" for k, n in sorted(counts.items()))
                + f". Built by <code>{html.escape(command)}</code>. Verdicts: <em>consistent</em> (the data agree "
                "with the claim within the stated interval), <em>violated</em> (they contradict it), "
                "<em>inconclusive</em> (neither). Fidelity: EXACT (a theorem as published), CONCORDANT, RECON "
                "(reconstructed from an abstract), TEMPLATE (a generic rate for a method that states none), FALSE "
                "(a known-false claim the check must refute).</p>"
                f"<table><tr><th>experiment</th><th>fidelity</th><th>verdict</th><th>size</th></tr>{index}</table>"
                + "".join(sections) + "</body></html>\n")
        write_text_atomic(staged / "report.html", page)
        write_text_atomic(staged / "verdicts.csv", summary.to_csv(index=False))
        write_text_atomic(staged / "verdicts.tex", to_booktabs(summary.drop(columns=["rules"]),
                                                                caption="Claims and their verdicts",
                                                                label="tab:verdicts"))
        out.mkdir(parents=True, exist_ok=True)
        (out / "tables").mkdir(exist_ok=True)
        for f in sorted(staged.rglob("*")):  # each file is renamed into place whole; other files in out stay
            if f.is_file():
                os.replace(f, out / f.relative_to(staged))
    finally:
        if staged.exists():
            shutil.rmtree(staged, ignore_errors=True)
    return out / "report.html"

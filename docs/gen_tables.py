"""Render every generated table in the docs from the JSON file its command wrote.

A page holds a measured table only between markers that name its data file::

    <!-- generated: docs/data/NAME.json -->
    ...table written by this script...
    <!-- /generated -->

``docs/data/NAME.json`` is written by the command that measures the numbers and holds
``{"command": str, "machine": str, "date": str, "columns": [str, ...], "rows": [[...], ...]}``
(optionally ``"notes": str``).  ``python docs/gen_tables.py`` rewrites every block from its
file; ``python docs/gen_tables.py --check`` exits 1 when a page and its file disagree (the
tests run this), so a number in the docs is always the one the named command produced.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"(<!-- generated: (?P<src>[^ ]+) -->\n)(?P<body>.*?)(<!-- /generated -->)", re.S)


def cell(value: object) -> str:
    r"""A table cell: ``|`` outside code spans escaped as ``\|`` (a bare one, as in ``||x||``,
    would end the cell and shift the rest of the row); code spans keep theirs."""
    parts = str(value).split("`")
    return "`".join(p if i % 2 else re.sub(r"(?<!\\)\|", r"\\|", p) for i, p in enumerate(parts))


def render(data: dict) -> str:
    """Markdown table plus a line naming the command, machine and date."""
    for key in ("command", "machine", "date", "columns", "rows"):
        if key not in data:
            raise ValueError(f"generated-table data lacks {key!r}")
    cols = [str(c) for c in data["columns"]]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in data["rows"]:
        if len(row) != len(cols):
            raise ValueError(f"row {row!r} has {len(row)} cells for {len(cols)} columns")
        lines.append("| " + " | ".join(cell(c) for c in row) + " |")
    lines.append("")
    lines.append(f"*Measured with `{data['command']}` on {data['machine']}, {data['date']}.*")
    if data.get("notes"):
        lines.append(f"*{data['notes']}*")
    return "\n".join(lines) + "\n"


def regenerate(text: str) -> str:
    """``text`` with every generated block rendered from its data file.

    Raises
    ------
    FileNotFoundError
        If a block names a data file that does not exist (run the command that writes it).
    """
    def sub(m: re.Match) -> str:
        path = ROOT / m["src"]
        if not path.is_file():
            raise FileNotFoundError(f"{m['src']} does not exist: run the command that measures it "
                                    "(python docs/tables.py --list names the docs' own)")
        return m.group(1) + render(json.loads(path.read_text())) + m.group(4)

    return BLOCK.sub(sub, text)


def pages() -> list[Path]:
    return sorted((ROOT / "docs").rglob("*.md"))


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for page in pages():
        text = page.read_text()
        try:
            new = regenerate(text)
        except (FileNotFoundError, ValueError, KeyError, json.JSONDecodeError) as exc:
            print(f"error: {page.name}: {exc}")
            return 2
        if new != text:
            stale.append(page.relative_to(ROOT) if page.is_relative_to(ROOT) else page)
            if not check:
                page.write_text(new)
    if check and stale:
        print("pages out of date with their data (run python docs/gen_tables.py):", *map(str, stale), sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

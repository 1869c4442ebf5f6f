"""One writer for the measured tables under ``docs/data``.

Every number in the docs comes from a command that writes ``docs/data/NAME.json`` as
``{"command", "machine", "date", "columns", "rows"[, "notes"]}``; ``docs/gen_tables.py``
renders it into the page.  The benchmarks, the table scripts, ``precond-theory check --json``
and the gallery all build that record here, so the machine line and the date are written the
same way everywhere and a malformed table is refused before it reaches the docs.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

__all__ = ["machine", "table", "write_table"]


def machine(*extra: str, load: bool = True) -> str:
    """A one-line description of the machine that measured.

    Parameters
    ----------
    *extra : str
        Further facts that matter for the numbers (library versions, thread counts, solver).
    load : bool, default True
        Append the one-minute load average, which is what makes a timing on a shared machine
        readable.  Leave it off for tables whose numbers do not depend on the load.
    """
    parts = [f"{os.cpu_count()}-core {platform.machine()} {platform.system()}",
             f"Python {platform.python_version()}", f"numpy {np.__version__}", *extra]
    if load and hasattr(os, "getloadavg"):
        parts.append(f"load average {os.getloadavg()[0]:.1f}")
    return ", ".join(p for p in parts if p)


def table(command: str, columns: Sequence[Any], rows: Iterable[Sequence[Any]], *,
          notes: str | None = None, machine_line: str | None = None,
          date: str | None = None, **extra: Any) -> dict:
    """The record of one measured table, checked.

    Parameters
    ----------
    command : str
        The exact command that measured the numbers (what a reader runs to reproduce them).
    columns, rows
        Column headers and rows; every row has one cell per column.
    notes : str, optional
        One line printed under the table.
    machine_line : str, optional
        Defaults to :func:`machine` ().
    date : str, optional
        ``YYYY-MM-DD`` (UTC); defaults to today.
    **extra
        Further JSON fields kept beside the table (not rendered).

    Raises
    ------
    ValueError
        If ``command`` is empty, a row's length differs from the columns', or ``date`` is not
        ``YYYY-MM-DD``.
    """
    if not isinstance(command, str) or not command.strip():
        raise ValueError("table: `command` must name the command that measured the numbers")
    cols = [str(c) for c in columns]
    body = [list(r) for r in rows]
    for i, row in enumerate(body):
        if len(row) != len(cols):
            raise ValueError(f"table: row {i} has {len(row)} cells for {len(cols)} columns: {row!r}")
    date = date if date is not None else time.strftime("%Y-%m-%d", time.gmtime())
    if not (isinstance(date, str) and len(date) == 10 and date[4] == date[7] == "-"):
        raise ValueError(f"table: `date` must be YYYY-MM-DD, got {date!r}")
    clash = {"command", "machine", "date", "columns", "rows", "notes"} & set(extra)
    if clash:
        raise ValueError(f"table: extra fields {sorted(clash)} clash with the table's own")
    out = {"command": command, "machine": machine_line if machine_line is not None else machine(),
           "date": date, "columns": cols, "rows": body}
    if notes:
        out["notes"] = notes
    out.update(extra)
    return out


def write_table(path: str | os.PathLike, record: dict) -> Path:
    """Write ``record`` (from :func:`table`) to ``path`` atomically; returns the path.

    The file is written beside its destination and renamed into place, so an interrupted
    command leaves the previous table, never half of a new one.
    """
    for key in ("command", "machine", "date", "columns", "rows"):
        if key not in record:
            raise ValueError(f"write_table: record lacks {key!r} (build it with table())")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path

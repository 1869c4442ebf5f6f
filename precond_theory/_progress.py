"""One progress display for long work (sweeps, checks, experiments, reports).

``with progress_bar("sweep", total=120) as advance: ... advance(n)`` shows a Rich progress bar
(done / total, elapsed, ETA) on a terminal; when output is not a terminal (a pipe, CI) it prints
a plain line at most every ``every_s`` seconds and a final line, so nothing long is silent and
logs stay readable.  ``progress_bar(..., enabled=False)`` is silent (library use).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["progress_bar"]


@contextmanager
def progress_bar(description: str, total: int, *, unit: str = "runs", enabled: bool = True,
                 every_s: float = 5.0, console=None) -> Iterator[Callable[[int], None]]:
    """Context manager yielding ``advance(n=1)``; see the module docstring."""
    if not enabled:
        yield lambda n=1: None
        return
    from rich.console import Console

    console = console or Console(stderr=True)
    if console.is_terminal:
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
                      TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console,
                      transient=False) as prog:
            task = prog.add_task(description, total=total)
            yield lambda n=1: prog.advance(task, n)
        return
    state = {"done": 0, "last": time.monotonic()}
    start = state["last"]

    def advance(n: int = 1) -> None:
        state["done"] += n
        now = time.monotonic()
        if now - state["last"] >= every_s:
            state["last"] = now
            done, el = state["done"], now - start
            eta = el / done * (total - done) if done else float("nan")
            print(f"{description}: {done}/{total} {unit}, {el:.0f} s elapsed, ETA {eta:.0f} s", file=sys.stderr,
                  flush=True)

    yield advance
    print(f"{description}: {state['done']}/{total} {unit} in {time.monotonic() - start:.1f} s", file=sys.stderr,
          flush=True)

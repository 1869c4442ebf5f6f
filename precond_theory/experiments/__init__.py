"""Experiments: every claim of the seed papers (and the classical results they build on) as a
runnable experiment with a setup, an expected outcome, a result and a verdict.

``available()`` lists them; ``run_experiment(name, size="ci"|"full", out=DIR)`` runs one (or
reuses a finished result with the same cache key) and writes ``DIR/<name>/``: ``figure.pdf``,
``figure.svg``, ``figure.png``, ``table.csv``, ``table.tex`` (booktabs) and ``verdict.json``
(claim, expected outcome, setup, verdict, reason, interval, fidelity labels, the command, the
package and dependency versions, the cache key).  The command line is
``precond-theory experiment NAME|--list|--all``; ``precond-theory report`` gathers the results.
"""

from __future__ import annotations

from ._base import SIZES, Experiment, Result, available, get, load_record, run_experiment
from ._store import cache_key, code_hash, to_booktabs

__all__ = ["Experiment", "Result", "available", "get", "run_experiment", "load_record", "SIZES", "cache_key",
           "code_hash", "to_booktabs"]

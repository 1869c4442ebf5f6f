"""E07 (regularization under preconditioning): a thin wrapper over the registered experiment
``ye_regularization`` (code in ``precond_theory/experiments/regularization.py``).

Run: ``python experiments/e07_regularization.py [--size ci|full] [--out DIR]``, the same as
``precond-theory experiment ye_regularization --size full``.
"""

from __future__ import annotations

import sys

from precond_theory.cli import app
from precond_theory.experiments.regularization import FULL as CONFIG  # noqa: F401  (docs/tables.py reads these)
from precond_theory.experiments.regularization import make_data, run_all, summarize  # noqa: F401

if __name__ == "__main__":
    app(["experiment", "ye_regularization", *sys.argv[1:]])

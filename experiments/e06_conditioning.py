"""E06 (conditioning): a thin wrapper over the registered experiments
``ye_normalization_conditioning`` and ``ye_preconditioning_conditioning``
(code in ``precond_theory/experiments/conditioning.py``).

Run: ``python experiments/e06_conditioning.py [--size ci|full] [--out DIR]``, the same as
``precond-theory experiment ye_normalization_conditioning --size full`` and its sibling.
"""

from __future__ import annotations

import sys

from precond_theory.cli import app
from precond_theory.experiments.conditioning import FULL as CONFIG  # noqa: F401  (docs/tables.py reads these)
from precond_theory.experiments.conditioning import normalization_table, tracking_table  # noqa: F401

if __name__ == "__main__":
    for name in ("ye_normalization_conditioning", "ye_preconditioning_conditioning"):
        try:
            app(["experiment", name, *sys.argv[1:]], standalone_mode=False)
        except SystemExit as exc:  # pragma: no cover
            if exc.code:
                raise

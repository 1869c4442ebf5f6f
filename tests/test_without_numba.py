"""Without numba (``pip install .`` has no ``fast`` extra) every command still works: ``kernel="auto"``
falls back to the reference step and says why, ``kernel="numba"`` is refused naming numba.

The test environment has numba, so these run in a subprocess where ``import numba`` fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import precond_theory as pt

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import json, sys
sys.modules["numba"] = None          # import numba -> ImportError, find_spec -> None
import numpy as np
import precond_theory as pt
from precond_theory.cli import main

out = {}
p = pt.problems.make_quadratic(dim=5, kappa=10.0)
tr = pt.run(pt.rules.Adam(lr=0.05), p, steps=200, kernel="auto")
out["kernel"], out["fallback"] = tr.meta["kernel"], tr.meta["kernel_fallback"]
out["f"] = np.asarray(tr.metric("f_gap"), dtype=float).ravel().tolist()
for k in ("numba", "numba-step"):
    try:
        pt.run(pt.rules.Adam(), p, steps=5, kernel=k)
        out[k] = "accepted"
    except ValueError as exc:
        out[k] = str(exc)
sys.argv = ["precond-theory", "run", "--steps", "60", "--out", sys.argv[1]]
try:
    main()
except SystemExit as exc:
    out["cli_exit"] = exc.code
else:
    out["cli_exit"] = 0
print("RESULT" + json.dumps(out))
"""


def test_every_path_runs_without_numba(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "results")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [s for s in proc.stdout.splitlines() if s.startswith("RESULT")][-1]
    out = json.loads(line[len("RESULT"):])
    # auto: the reference step, with the reason; the numbers are the reference's
    assert out["kernel"] == "reference"
    assert "numba is not installed" in out["fallback"]
    ref = pt.run(pt.rules.Adam(lr=0.05), pt.problems.make_quadratic(dim=5, kappa=10.0), steps=200,
                 kernel="reference")
    np.testing.assert_array_equal(np.asarray(out["f"]), np.asarray(ref.metric("f_gap"), dtype=float).ravel())
    # explicit compiled kernels are refused naming what is missing
    assert "numba is not installed" in out["numba"]
    assert "numba-step" in out["numba-step"] and "numba is not installed" in out["numba-step"]
    # the README's main job: the default sweep finishes and writes its table and figure
    assert out["cli_exit"] == 0, proc.stdout[-3000:]
    assert (tmp_path / "results" / "default" / "table.parquet").is_file()
    assert (tmp_path / "results" / "default" / "convergence.png").is_file()

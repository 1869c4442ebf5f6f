"""Peak memory of recording and of the tidy table, against the size of the data they hold.

Each case runs in a fresh subprocess and reports its peak RSS (``ru_maxrss``) minus the RSS
after imports, next to the bytes of the data it produces.

    PYTHONPATH=$PWD python benchmarks/bench_run_memory.py [--runs 10000000] [--steps 1000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CASES = {
    "record_all": """
import numpy as np
from precond_theory import rules, run
from precond_theory.problems import make_quadratic
p = make_quadratic(8, 10.0, seed=0)
base = rss()
tr = run(rules.make("sgd", lr=0.01), p, steps={steps}, record="all", min_grad_norm="off")
data = sum(v.nbytes for v in tr.metrics.values())
""",
    "to_frame": """
import numpy as np
from precond_theory import rules, run
from precond_theory.problems import make_quadratic
p = make_quadratic(1, 10.0, seed=0)
tr = run(rules.make("sgd", lr=0.01), p, steps=1, batch=({runs},), record=[1])
base = rss()
df = tr.to_frame()
data = int(df.memory_usage(index=False, deep=False).sum())
""",
}

PRELUDE = """
import resource
def rss():
    with open('/proc/self/statm') as fh:
        return int(fh.read().split()[1]) * resource.getpagesize()
"""

EPILOGUE = """
import json, resource
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"data": data, "peak_over_base": peak - base}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=10_000_000)
    ap.add_argument("--steps", type=int, default=1_000_000)
    args = ap.parse_args()
    for name, body in CASES.items():
        code = PRELUDE + body.format(runs=args.runs, steps=args.steps) + EPILOGUE
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{name:>10}: data {r['data'] / 2**20:8.1f} MiB, peak RSS above baseline "
              f"{r['peak_over_base'] / 2**20:8.1f} MiB, ratio {r['peak_over_base'] / r['data']:.2f}")


if __name__ == "__main__":
    main()

"""Coverage and power of the rate statistics on mis-specified sequences (docs/rates.md).

    python benchmarks/rate_calibration.py [--trials 200] [--json docs/data/rate_calibration.json]

Synthetic data y_ij = f(k_i) exp(0.3 e_ij + u_j) on 81 log-spaced k in [1, 2e4], R = 6 runs,
u_j ~ N(0, 0.25) a level per run, e_ij iid standard normal; every trial seeded.  Coverage: the
fraction of trials whose 95% interval contains the asymptotic order of f.  Power: the fraction of
trials whose verdict on an upper-bound claim is 'violated' (false claims) or 'consistent' (true
claims), through precond_theory.verify.verdict.check_arrays.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from precond_theory._provenance import machine, table, write_table  # noqa: E402
from precond_theory.rates import InsufficientData, fit_power_law  # noqa: E402
from precond_theory.verify.claims import Claim  # noqa: E402
from precond_theory.verify.verdict import check_arrays  # noqa: E402

K = np.unique(np.round(np.geomspace(1, 2e4, 81)))
SEQUENCES = {
    "k^-1/2": (lambda k: k**-0.5, -0.5, 0.0),
    "k^-1/2 + 10 k^-1": (lambda k: k**-0.5 + 10 / k, -0.5, 0.0),
    "log k / sqrt k": (lambda k: np.log(k + 1) / np.sqrt(k), -0.5, 1.0),
    "transient 100 e^(-k/30) + k^-1/2": (lambda k: 100 * np.exp(-k / 30) + k**-0.5, -0.5, 0.0),
}
# (data, claimed order, log_power, true?): upper-bound claims
CLAIMS = [
    ("k^-1/2 + 10 k^-1", -0.5, 0.0, True),
    ("k^-1/2", -0.5, 0.0, True),
    ("log k / sqrt k", -0.5, 1.0, True),
    ("k^-0.28", -0.5, 1.0, False),
    ("k^-0.35", -0.5, 0.0, False),
    ("k^-1/2 + 10 k^-1", -0.6, 0.0, False),
]
DATA = {**{k: v[0] for k, v in SEQUENCES.items()}, "k^-0.28": lambda k: k**-0.28, "k^-0.35": lambda k: k**-0.35}


def sample(f, rng, R=6):
    u = rng.normal(0, 0.5, size=R)
    e = rng.normal(size=(len(K), R))
    return f(K)[:, None] * np.exp(0.3 * e + u)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    rows = []
    for slope in ("mean", "terminal"):
        for name, (f, p, q) in SEQUENCES.items():
            rng = np.random.default_rng(12345)
            hit, widths = 0, []
            for t in range(a.trials):
                y = sample(f, rng)
                try:
                    fit = fit_power_law(K, y, log_power=q, n_boot=400, seed=t, slope=slope, plateau=False)
                except InsufficientData:
                    continue
                hit += fit.ci[0] <= p <= fit.ci[1]
                widths.append(fit.ci[1] - fit.ci[0])
            rows.append([f"coverage of order {p:g}", name, slope, "-", f"{hit / a.trials:.3f}",
                         f"{np.median(widths):.3f}"])
            print(rows[-1], flush=True)
        for data, p0, q, true in CLAIMS:
            for m in (0.1, 0.05):
                rng = np.random.default_rng(777)
                c = Claim(metric="min_grad_norm_sq", order=p0, log_power=q, kind="upper_bound", margin=m)
                want = "consistent" if true else "violated"
                n = sum(check_arrays(c, K, sample(DATA[data], rng), n_boot=400, seed=t, slope=slope).verdict == want
                        for t in range(a.trials))
                law = f"O(k^{p0:g}" + (" log k)" if q else ")")
                rows.append([f"{'accepts' if true else 'rejects'} {law}, margin {m:g}", data, slope, want,
                             f"{n / a.trials:.3f}", "-"])
                print(rows[-1], flush=True)
    if a.json:
        write_table(a.json, table(f"python benchmarks/rate_calibration.py --trials {a.trials} --json {a.json}",
                                  ["test", "data", "slope estimator", "wanted verdict", "rate", "median width"],
                                  rows, notes=f"{a.trials} seeded trials per row, 6 runs each, 95% intervals.",
                                  machine_line=machine(load=False)))


if __name__ == "__main__":
    main()

"""Coverage and power of the rate statistics on mis-specified sequences (docs/rates.md).

    python benchmarks/rate_calibration.py [--trials 100] [--json docs/data/rate_calibration.json]

Synthetic data, recorded like ``run(record="log")``: 20 log-spaced records per decade from k = 1
to the horizon K, R = 6 runs (seeds) per trial, y_ij = f(k_i) * noise_ij * exp(u_j) with a level
u_j ~ N(0, 0.5^2) per run and, unless the case says otherwise, noise_ij = exp(0.3 e_ij), e_ij iid
standard normal.  Every trial is seeded (the case's own generator; the bootstrap seed is the trial
number).

*Verdict rows*: the fraction of trials whose verdict from
``precond_theory.verify.verdict.check_arrays`` is the wanted one ("consistent" for a true claim,
"violated" for a false one), with its exact (Clopper-Pearson) 95% interval, at the CI-size horizon
K = 2e4 (the catalog's trajectories), for the terminal window (``window=None``, the default) and
for the former upper-half window (``window="half"``), with the count of each verdict.  For the
terminal window, a row below the 0.95 target is re-measured at K = 2e5, 2e6, 2e7: the last column
gives the first horizon whose rate reaches 0.95 (point estimate), or the rate at 2e7.

*Coverage rows*: the fraction of trials whose 95% interval of the fitted order contains the
asymptotic order of f (``fit_power_law``, plateau detection off).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from precond_theory._provenance import machine, table, write_table  # noqa: E402
from precond_theory.rates import InsufficientData, fit_power_law  # noqa: E402
from precond_theory.verify.claims import Claim  # noqa: E402
from precond_theory.verify.power import clopper_pearson  # noqa: E402
from precond_theory.verify.verdict import check_arrays  # noqa: E402

RUNS = 6
CI_HORIZON = 2e4
LADDER = (2e5, 2e6, 2e7)
TARGET = 0.95
N_BOOT = 400


def grid(K: float) -> np.ndarray:
    """20 log-spaced records per decade from 1 to K (rounded to integers, as recorded steps)."""
    return np.unique(np.round(np.geomspace(1, K, int(round(20 * math.log10(K))) + 1)))


def noise(kind: str, rng: np.random.Generator, n: int) -> np.ndarray:
    """Multiplicative noise (n, RUNS): ``iid`` exp(0.3 e), ``ar0.8`` the same with AR(0.8) e along
    each run (unit variance), ``gamma`` Gamma(4, 1/4) (mean 1, coefficient of variation 0.5)."""
    if kind == "gamma":
        return rng.gamma(4.0, 0.25, size=(n, RUNS))
    e = rng.standard_normal((n, RUNS))
    if kind == "ar0.8":
        phi = 0.8
        for i in range(1, n):
            e[i] = phi * e[i - 1] + math.sqrt(1 - phi**2) * e[i]
    return np.exp(0.3 * e)


def sample(f, K: float, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    k = grid(K)
    return k, f(k)[:, None] * noise(kind, rng, len(k)) * np.exp(rng.normal(0, 0.5, size=RUNS))


def _sub(c):
    return lambda k: k**-0.5 + c / k


# (name, f, noise, claimed order, log power, kind, true?, separation)
CASES = [
    ("k^-1/2 + 1 k^-1", _sub(1.0), "iid", -0.5, 0.0, "upper_bound", True, "-"),
    ("k^-1/2 + 10 k^-1", _sub(10.0), "iid", -0.5, 0.0, "upper_bound", True, "-"),
    ("k^-1/2 + 30 k^-1", _sub(30.0), "iid", -0.5, 0.0, "upper_bound", True, "-"),
    ("k^-1/2 - 0.5 k^-1", _sub(-0.5), "iid", -0.5, 0.0, "upper_bound", True, "-"),
    ("k^-1/2 log k", lambda k: k**-0.5 * np.log(np.maximum(k, 2)), "iid", -0.5, 1.0, "upper_bound", True, "-"),
    ("300 e^(-k/50) + k^-1/2", lambda k: 300 * np.exp(-k / 50) + k**-0.5, "iid", -0.5, 0.0, "upper_bound", True,
     "-"),
    ("k^-1/2, AR(0.8) noise", lambda k: k**-0.5, "ar0.8", -0.5, 0.0, "upper_bound", True, "-"),
    ("k^-1/2, Gamma(4) noise", lambda k: k**-0.5, "gamma", -0.5, 0.0, "upper_bound", True, "-"),
    ("k^-1/2", lambda k: k**-0.5, "iid", -0.5, 0.0, "rate", True, "-"),
    ("k^-1/2 + 10 k^-1", _sub(10.0), "iid", -0.5, 0.0, "rate", True, "-"),
    ("300 e^(-k/50) + k^-1/2", lambda k: 300 * np.exp(-k / 50) + k**-0.5, "iid", -0.5, 0.0, "rate", True, "-"),
    ("k^-0.3", lambda k: k**-0.3, "iid", -0.5, 0.0, "upper_bound", False, "0.2"),
    ("k^-0.28", lambda k: k**-0.28, "iid", -0.5, 1.0, "upper_bound", False, "0.22 - 1/log k (0.12 at 2e4)"),
    ("k^-0.3 + 10 k^-0.8", lambda k: k**-0.3 + 10 * k**-0.8, "iid", -0.5, 0.0, "upper_bound", False, "0.2"),
    ("1e-3 + k^-1 (plateau)", lambda k: 1e-3 + 1 / k, "iid", -1.0, 0.0, "upper_bound", False, "plateau"),
    ("k^-1", lambda k: 1 / k, "iid", -0.5, 0.0, "rate", False, "0.5"),
]
MARGINS = (0.1, 0.05)
COVERAGE = [
    ("k^-1/2", lambda k: k**-0.5, -0.5, 0.0),
    ("k^-1/2 + 10 k^-1", _sub(10.0), -0.5, 0.0),
    ("k^-1/2 log k", lambda k: k**-0.5 * np.log(np.maximum(k, 2)), -0.5, 1.0),
    ("300 e^(-k/50) + k^-1/2", lambda k: 300 * np.exp(-k / 50) + k**-0.5, -0.5, 0.0),
]
WINDOWS = {"terminal": None, "half": "half"}


def law(p: float, q: float, kind: str) -> str:
    body = f"k^{p:g}" + (" log k" if q else "")
    return f"{'O' if kind == 'upper_bound' else 'Theta'}({body})"


def rate(f, noise_kind, p, q, kind, true, margin, window, K, trials, seed):
    rng = np.random.default_rng(seed)
    claim = Claim(metric="f_gap", order=p, log_power=q, kind=kind, margin=margin)
    counts = {"consistent": 0, "violated": 0, "inconclusive": 0}
    for t in range(trials):
        k, y = sample(f, K, noise_kind, rng)
        counts[check_arrays(claim, k, y, n_boot=N_BOOT, seed=t, window=window).verdict] += 1
    return counts


def fmt_rate(hits: int, n: int) -> tuple[str, str]:
    lo, hi = clopper_pearson(hits, n)
    return f"{hits / n:.2f}", f"[{lo:.2f}, {hi:.2f}]"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    if a.trials < 1:
        ap.error(f"--trials must be >= 1; got {a.trials}")
    t0 = time.perf_counter()
    rows = []
    for i, (name, f, nk, p, q, kind, true, sep) in enumerate(CASES):
        for m in MARGINS:
            for wname, window in WINDOWS.items():
                seed = 1000 + i
                want = "consistent" if true else "violated"
                counts = rate(f, nk, p, q, kind, true, m, window, CI_HORIZON, a.trials, seed)
                hits = counts[want]
                r, ci = fmt_rate(hits, a.trials)
                reach = "-"
                if wname == "terminal":
                    reach = f"{CI_HORIZON:.0e}" if hits / a.trials >= TARGET else None
                    for K in LADDER if reach is None else ():
                        h = rate(f, nk, p, q, kind, true, m, window, K, a.trials, seed)[want]
                        if h / a.trials >= TARGET:
                            reach = f"{K:.0e}"
                            break
                    if reach is None:
                        reach = f"not by {LADDER[-1]:.0e} ({h / a.trials:.2f} there)"
                split = "/".join(str(counts[v]) for v in ("consistent", "violated", "inconclusive"))
                rows.append([f"{'accepts' if true else 'rejects'} {law(p, q, kind)}", name, sep, f"{m:g}", wname,
                             want, r, ci, split, reach])
                print(rows[-1], flush=True)
    for name, f, p, q in COVERAGE:
        for wname, window in WINDOWS.items():
            rng = np.random.default_rng(12345)
            hit, widths = 0, []
            for t in range(a.trials):
                k, y = sample(f, CI_HORIZON, "iid", rng)
                try:
                    fit = fit_power_law(k, y, log_power=q, n_boot=N_BOOT, seed=t, plateau=False, window=window)
                except InsufficientData:
                    continue
                hit += fit.ci[0] <= p <= fit.ci[1]
                widths.append(fit.ci[1] - fit.ci[0])
            r, ci = fmt_rate(hit, a.trials)
            rows.append([f"covers order {p:g}" + (" (log k divided out)" if q else ""), name, "-", "-", wname,
                         f"median width {np.median(widths):.3f}", r, ci, "-", "-"])
            print(rows[-1], flush=True)
    wall = time.perf_counter() - t0
    print(f"wall time {wall:.0f} s", flush=True)
    if a.json:
        cmd = f"python benchmarks/rate_calibration.py --trials {a.trials} --json {a.json}"
        notes = (f"{a.trials} seeded trials per row, {RUNS} runs each, 20 records per decade, horizon "
                 f"{CI_HORIZON:.0e}; rate = fraction of trials with the wanted verdict (coverage rows: interval "
                 "contains the order), exact 95% binomial interval; target 0.95.")
        write_table(a.json, table(cmd, ["test", "data", "separation", "margin", "window", "wanted", "rate",
                                         "95% interval", "consistent/violated/inconclusive", "rate >= 0.95 at horizon"],
                                  rows, notes=notes, machine_line=machine(load=False)))


if __name__ == "__main__":
    main()

r"""Benchmark: both ends of the spectrum of a preconditioned Hessian given only by HVPs.

The operator is a Hessian :math:`H = P^{-1/2} A P^{-1/2}` whose *preconditioned* form
:math:`P^{1/2} H P^{1/2} = A = Q\Lambda Q^\top` has a known spectrum:

* :math:`Q = (I - 2u_1u_1^\top)(I - 2u_2u_2^\top)` (two Householder reflections: dense, O(n) to apply);
* :math:`\Lambda`: a bulk of n - 2 eigenvalues log-spaced in [1, 10], plus two outliers
  :math:`\lambda_{\min} = 0.1` and :math:`\lambda_{\max} = 100` (kappa = 1000);
* :math:`p` log-uniform in [1e-2, 1e2], so that H itself is badly scaled.

``conditioning.extreme_eigenvalues(hvp_H, n, p=p)`` must return 0.1 and 100.  Up to n = 4000 the
result is also compared with ``numpy.linalg.eigvalsh`` of the dense preconditioned matrix.
Sizes 10^3 ... 10^6; times are wall-clock on this machine (no timing asserts anywhere).

Usage::

    python benchmarks/bench_extreme_eigenvalues.py            # full run (~1 min on 2 cores)
    python benchmarks/bench_extreme_eigenvalues.py --quick    # n <= 10^4

BLAS threads: the script sets ``OPENBLAS_NUM_THREADS`` (and OMP/MKL) to 1 unless they are set
already.  On this shared 2-core machine, with other processes running, OpenBLAS's second thread
spin-waits and made a length-10^5 dot product 700 times slower (7.6 ms instead of 10 us).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # must happen before NumPy is imported

import argparse
import json
import platform
import sys
import time
import warnings

import numpy as np

from precond_theory.conditioning import ConvergenceWarning, extreme_eigenvalues

LAMBDA_MIN, LAMBDA_MAX, BULK = 0.1, 100.0, (1.0, 10.0)


def make_operator(n: int, seed: int = 0):
    """(hvp of H, p, dense builder) for the structured test Hessian of size n."""
    rng = np.random.default_rng(seed)
    lam = np.empty(n)
    lam[0], lam[-1] = LAMBDA_MIN, LAMBDA_MAX
    lam[1:-1] = np.geomspace(*BULK, n - 2)
    perm = rng.permutation(n)  # eigenvalues in random coordinates
    lam = lam[perm]
    u1 = rng.standard_normal(n)
    u1 /= np.linalg.norm(u1)
    u2 = rng.standard_normal(n)
    u2 /= np.linalg.norm(u2)
    p = np.exp(rng.uniform(np.log(1e-2), np.log(1e2), n))
    s_inv = 1 / np.sqrt(p)

    def Q(v):  # (I - 2 u1 u1^T)(I - 2 u2 u2^T) v
        v = v - 2 * (u2 @ v) * u2
        return v - 2 * (u1 @ v) * u1

    def Qt(v):
        v = v - 2 * (u1 @ v) * u1
        return v - 2 * (u2 @ v) * u2

    def hvp(v):  # H v = P^{-1/2} Q Lambda Q^T P^{-1/2} v
        return s_inv * Q(lam * Qt(s_inv * v))

    def dense_preconditioned():
        E = np.eye(n)
        QE = E - 2 * np.outer(u2, u2)
        QE = QE - 2 * np.outer(u1, u1 @ QE)  # Q as a dense matrix
        return (QE * lam) @ QE.T

    return hvp, p, dense_preconditioned


def bench_one(n: int, *, method: str = "lanczos", reorth: str = "auto", dense: bool = False, seed: int = 0) -> dict:
    hvp, p, dense_A = make_operator(n, seed)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        r = extreme_eigenvalues(hvp, n, p=p, method=method, reorth=reorth, seed=seed)
    t = time.perf_counter() - t0
    row = {"n": n, "method": method, "reorth": reorth, "time_s": round(t, 3), "n_hvp": r.n_hvp,
           "n_restarts": r.n_restarts, "converged": r.converged,
           "rel_err_min": abs(r.lambda_min / LAMBDA_MIN - 1), "rel_err_max": abs(r.lambda_max / LAMBDA_MAX - 1),
           "kappa": r.kappa}
    if dense:
        t0 = time.perf_counter()
        A = dense_A()
        w = np.linalg.eigvalsh(A)
        row["dense_time_s"] = round(time.perf_counter() - t0, 3)
        row["dense_rel_gap_min"] = abs(r.lambda_min / w[0] - 1)
        row["dense_rel_gap_max"] = abs(r.lambda_max / w[-1] - 1)
    return row


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="only n <= 10^4")
    ap.add_argument("--json", default=None, help="write the rows to this JSON file")
    args = ap.parse_args(argv)
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000, 1_000_000]
    rows = []
    for n in (1_000, 2_000, 4_000):  # against dense eigvalsh where it fits
        if args.quick and n > 2_000:
            continue
        rows.append(bench_one(n, dense=True))
    for n in sizes:
        rows.append(bench_one(n))
        rows.append(bench_one(n, reorth="none"))
        if n <= 100_000:
            rows.append(bench_one(n, method="arpack"))
    keys = ["n", "method", "reorth", "time_s", "n_hvp", "n_restarts", "converged", "rel_err_min", "rel_err_max",
            "dense_time_s", "dense_rel_gap_min", "dense_rel_gap_max"]
    print(f"# {time.strftime('%Y-%m-%d')}  python {platform.python_version()}  numpy {np.__version__}  "
          f"cpus {os.cpu_count()}  {platform.machine()}  OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    print(" | ".join(keys))
    for r in rows:
        print(" | ".join(f"{r[k]:.2e}" if isinstance(r.get(k), float) and k.startswith(("rel", "dense_rel"))
                         else str(r.get(k, "")) for k in keys))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return rows


if __name__ == "__main__":
    sys.exit(0 if main() else 1)

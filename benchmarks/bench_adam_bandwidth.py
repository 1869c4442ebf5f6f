"""One Adam update at n = 10^7 float32: GB/s of the 7 arrays an Adam step moves, in one process.

Contenders, interleaved (one call of each per round), median over rounds:

* ``compiled``: :func:`precond_theory.fast.compile_step` (numba, fused, in place);
* ``reference``: ``rule.update`` (the array-API path) followed by ``x + dx`` (fewer rounds: slow);
* ``torch fused``: ``torch.optim.Adam(fused=True)`` on a CPU tensor (``p.grad`` set once);
* ``triad``: a STREAM-like triad in place, ``a = a + s c`` (numba, same threads: serial loop for
  one thread, ``prange`` over chunk slices for two, like the compiled step), the bandwidth ceiling.
  In place because Adam writes only arrays it has read: a triad into a third array ``a = b + s c``
  also reads ``a`` before writing it (write-allocate), moving 4 arrays while counting 3, and
  measured 23 GB/s here against 42 GB/s in place, a ceiling the compiled Adam step exceeded.

GB/s counts the bytes that must move: Adam reads x, g, m, v and writes x, m, v (7 arrays of
4 n bytes); the triad reads a, c and writes a (3 arrays).  Threads are set explicitly for numba and torch
(``--threads``, default 1 and 2); ``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS`` = 1.

Usage: ``python benchmarks/bench_adam_bandwidth.py [--n 10000000] [--rounds 15] [--threads 1 2]
[--json docs/data/adam_bandwidth.json]``
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numba  # noqa: E402
import numpy as np  # noqa: E402
from numba import njit, prange  # noqa: E402

from precond_theory import _provenance as provenance  # noqa: E402
from precond_theory import rules  # noqa: E402
from precond_theory.fast import compile_step  # noqa: E402

COMMAND = "python benchmarks/bench_adam_bandwidth.py --json docs/data/adam_bandwidth.json"


@njit(cache=True, fastmath=False)
def _axpy(a, c, s):
    for i in range(a.size):
        a[i] = a[i] + s * c[i]


@njit(parallel=True, cache=True, fastmath=False)
def triad(a, c, s, chunk):
    n = a.size
    nch = (n + chunk - 1) // chunk
    for t in prange(nch):
        lo = t * chunk
        hi = min(n, lo + chunk)
        _axpy(a[lo:hi], c[lo:hi], s)  # slices, like the compiled step's chunks


@njit(cache=True, fastmath=False)
def triad_serial(a, c, s, chunk):
    _axpy(a, c, s)


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def measure(n: int, threads: int, rounds: int, ref_rounds: int) -> dict[str, float]:
    numba.set_num_threads(threads)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n).astype(np.float32)
    g = rng.standard_normal(n).astype(np.float32)
    rule = rules.Adam(lr=1e-3)
    state = rule.init(x)
    step = compile_step(rule, x, state, kernel="numba")
    c, a = g.copy(), x.copy()
    s = np.float32(0.5)
    tri = triad if threads > 1 else triad_serial  # the compiled step, too, is serial with one thread
    out: dict[str, list[float]] = {"compiled": [], "triad": [], "torch fused": [], "reference": []}
    try:
        import torch

        torch.set_num_threads(threads)
        p = torch.nn.Parameter(torch.from_numpy(x.copy()))
        p.grad = torch.from_numpy(g.copy())
        opt = torch.optim.Adam([p], lr=1e-3, fused=True)
        opt.step()  # allocate the state
    except ImportError:  # torch is an optional benchmark dependency
        opt = None
    k = [0]

    def compiled() -> None:
        nonlocal state
        state = step(x, g, state, k[0])
        k[0] += 1

    step_state = [rule.init(x)]

    def reference() -> None:
        dx, step_state[0] = rule.update(g, step_state[0], x_ref[0])
        x_ref[0] = x_ref[0] + dx

    x_ref = [x.copy()]
    for fn in (compiled, lambda: tri(a, c, s, 1 << 16)):  # compile / warm up
        fn()
    for r in range(rounds):
        out["compiled"].append(timed(compiled))
        out["triad"].append(timed(lambda: tri(a, c, s, 1 << 16)))
        if opt is not None:
            out["torch fused"].append(timed(opt.step))
        if r < ref_rounds:
            out["reference"].append(timed(reference))
    bytes_adam, bytes_triad = 7 * 4 * n, 3 * 4 * n
    gbs = {name: (bytes_triad if name == "triad" else bytes_adam) / statistics.median(ts) / 1e9
           for name, ts in out.items() if ts}
    return gbs


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10**7)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--ref-rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    rows = []
    for t in a.threads:
        gbs = measure(a.n, t, a.rounds, a.ref_rounds)
        tr = gbs["triad"]
        print(f"threads={t}: " + ", ".join(f"{k} {v:.2f} GB/s ({v / tr:.2f} of triad)" for k, v in gbs.items()))
        if "torch fused" in gbs:
            print(f"  compiled / torch fused = {gbs['compiled'] / gbs['torch fused']:.2f}")
        rows.append([t, f"{gbs['triad']:.1f}", f"{gbs['compiled']:.1f} ({gbs['compiled'] / tr:.2f})",
                     f"{gbs['torch fused']:.1f} ({gbs['torch fused'] / tr:.2f})" if "torch fused" in gbs else "n/a",
                     f"{gbs['reference']:.2f} ({gbs['reference'] / tr:.2f})",
                     f"{gbs['compiled'] / gbs['torch fused']:.2f}" if "torch fused" in gbs else "n/a"])
    data = provenance.table(
        COMMAND, ["threads", "triad GB/s", "compiled GB/s (of triad)", "torch fused GB/s (of triad)",
                  "reference GB/s (of triad)", "compiled / torch fused"], rows,
        machine_line=provenance.machine(f"numba {numba.__version__}"),
        notes=f"n = {a.n:,} float32; median of {a.rounds} interleaved rounds ({a.ref_rounds} for the reference); "
              "Adam moves 7 arrays, the triad 3; load average read at the end.")
    if a.json:
        provenance.write_table(a.json, data)
    return data


if __name__ == "__main__":
    main()
    sys.exit(0)

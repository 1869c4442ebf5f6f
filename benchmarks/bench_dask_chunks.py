"""Sweep throughput against chunk size: inline (one process) vs a Dask LocalCluster of 2 workers.

A sweep of R runs (configurations x seeds) is cut into chunks of ``chunk_size`` runs; each
chunk is one batched ``run`` call and one Parquet part.  Small chunks balance load across
workers but pay per-chunk overhead (task scheduling, a Parquet write, Python setup of one
``run``); large chunks amortise it but leave workers idle at the end (one chunk = one worker).
For each chunk size the script times the whole ``run_sweep`` (fresh folder, nothing cached)
inline and on the cluster, interleaved, median of repeats, and writes
``docs/data/dask_chunks.json`` (render it with ``python docs/gen_tables.py``).

Usage: ``python benchmarks/bench_dask_chunks.py [--configs 64] [--seeds 4] [--steps 2000]
[--dim 50] [--sizes 4,16,64,256] [--repeats 3] [--workers 2]``
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core per worker process

import argparse  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from precond_theory import _provenance as provenance  # noqa: E402
from precond_theory.sweep import SweepConfig, run_sweep  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "docs" / "data" / "dask_chunks.json"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", type=int, default=64)
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--dim", type=int, default=50)
    ap.add_argument("--sizes", default="4,16,64,256")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-write", action="store_true", help="print only; do not write docs/data/dask_chunks.json")
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    lrs = [float(v) for v in np.round(np.geomspace(1e-3, 5e-2, a.configs), 10)]
    cfg = SweepConfig.from_dict({
        "name": "bench", "steps": a.steps, "seeds": list(range(a.seeds)), "record": "log",
        "problem": {"name": "quadratic", "dim": a.dim, "kappa": 100.0, "seed": 0},
        "rules": [{"name": "adam", "lr": lrs}]})
    runs = a.configs * a.seeds

    load_before = os.getloadavg()[0]
    from distributed import Client

    from precond_theory.executors import local_cluster

    t0 = time.perf_counter()
    cluster = local_cluster(a.workers)
    client = Client(cluster)
    startup = time.perf_counter() - t0
    tmp = Path(tempfile.mkdtemp(prefix="bench_dask_"))
    times: dict[tuple[str, int], list[float]] = {}
    try:
        for rep in range(a.repeats + 1):  # the first round warms imports and workers, not timed
            for size in sizes:
                for where in ("inline", "dask"):
                    out = tmp / f"{where}_{size}"
                    shutil.rmtree(out, ignore_errors=True)
                    t0 = time.perf_counter()
                    run_sweep(cfg, out, chunk_size=size, scheduler=None if where == "inline" else
                              cluster.scheduler_address)
                    dt = time.perf_counter() - t0
                    if rep:
                        times.setdefault((where, size), []).append(dt)
                    print(f"round {rep} chunk {size:4d} {where:6s} {dt:7.2f} s", file=sys.stderr, flush=True)
    finally:
        client.close()
        cluster.close()
        shutil.rmtree(tmp, ignore_errors=True)
    load_after = os.getloadavg()[0]
    rows = []
    for size in sizes:
        ti, td = float(np.median(times[("inline", size)])), float(np.median(times[("dask", size)]))
        chunks = -(-a.configs // max(1, size // a.seeds))
        rows.append([size, chunks, f"{ti:.2f}", f"{runs / ti:.0f}", f"{td:.2f}", f"{runs / td:.0f}", f"{ti / td:.2f}"])
        print(rows[-1])
    data = provenance.table(
        "python benchmarks/bench_dask_chunks.py " + " ".join(sys.argv[1:]),
        ["chunk size (runs)", "chunks", "inline s", "inline runs/s", f"Dask {a.workers} workers s",
         "Dask runs/s", "Dask / inline throughput"], rows, machine_line=provenance.machine(load=False),
        notes=(f"adam, {a.configs} learning rates x {a.seeds} seeds = {runs} runs, {a.steps} steps, quadratic "
               f"dim {a.dim}, record='log'; whole run_sweep (compute, Parquet parts, merge), nothing cached; "
               f"median of {a.repeats} interleaved repeats after a warm-up round; LocalCluster start-up "
               f"{startup:.1f} s not included. 1-minute load average {load_before:.1f} before and "
               f"{load_after:.1f} after (the cores were shared with other jobs)."))
    if not a.no_write:
        provenance.write_table(OUT, data)
        print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

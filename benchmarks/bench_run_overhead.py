"""Per-step cost of small runs and sweeps, and the memory of a large sweep, against torch.optim.

Three measurements, each interleaved in one process (one repeat of every contender per round,
median over rounds); torch is an optional benchmark dependency:

* ``single``: one run, n = 10, 5,000 steps on a rotated quadratic, µs per step: ``run()`` with
  the reference step, ``run(kernel="numba-step")`` (compiled update, loop in Python),
  ``run(kernel="numba")`` (compiled segments: every step between record points in one compiled
  call), the compiled step in a bare loop (``g = problem.grad(x); state = step(x, g, state, k)``)
  and a ``torch.optim`` loop (gradient ``A p - b`` by torch ops, ``opt.step()``);
* ``sweep``: 1,000 learning rates at n = 100, µs per run-step: one batched ``run()`` with each
  kernel (``record="log"``, and the compiled segments recording only the first and last step,
  as the torch loop records nothing) against a ``torch.optim`` loop over runs (a sample of runs,
  scaled), and two floors: the gradient alone, one ``(runs, n) @ (n, n)`` product per step
  (2 n^2 flops per run-step), and that product followed by the rule's compiled update alone
  (``fast.compile_step``), what any path that computes the gradient and the reference's update
  costs at least;
* ``memory``: in fresh processes, a 10^4-run Adam sweep at n = 1,000 with ``record="log"``:
  peak RSS growth during ``run()`` (Linux: the peak is reset before the run, after the kernels
  are compiled) and peak traced memory against the bytes of x, the state and the recorded
  metrics;
* ``held``: in a fresh process, the peak of tracemalloc (NumPy's allocations, exactly) during
  a 4,096-run Adam sweep at n = 1,024 on each path, in arrays of shape (runs, n);
* ``sliced``: what slicing a large batch costs on the segment path: 10^4 runs at n = 200
  (16 MB arrays), sliced (the default) against the whole batch at once, µs per run-step and
  the traced peak.

Threads: numba, torch and OpenBLAS are set to one thread.  Usage::

    python benchmarks/bench_run_overhead.py [--quick] [--json-dir docs/data]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from precond_theory import _provenance as provenance  # noqa: E402
from precond_theory import rules, run  # noqa: E402
from precond_theory.fast import compile_step  # noqa: E402
from precond_theory.problems import make_quadratic  # noqa: E402

COMMAND = "python benchmarks/bench_run_overhead.py --json-dir docs/data"
KERNELS = {"run() reference": "reference", "run(kernel='numba-step')": "numba-step", "run(kernel='numba')": "numba"}
RULES = {"sgd": dict(lr=0.005, momentum=0.9), "adam": dict(lr=0.01)}


def machine() -> str:
    import numba

    return provenance.machine(f"numba {numba.__version__}", "one thread each")


def bare_loop(rule, problem, steps: int, x0: np.ndarray) -> None:
    x = x0.copy()
    state = rule.init(x)
    step = compile_step(rule, x, state, kernel="numba")
    for k in range(steps):
        state = step(x, problem.grad(x), state, k)


def torch_loop(name: str, A: np.ndarray, x0: np.ndarray, steps: int, lr: Any = None, xs: Any = None) -> None:
    import torch

    At = torch.from_numpy(A)
    b = At @ torch.from_numpy(np.asarray(xs))  # grad = A (p - x*) = A p - b
    p = torch.nn.Parameter(torch.from_numpy(x0.copy()))
    kw = dict(RULES[name]) if lr is None else dict(RULES[name], lr=lr)
    opt = torch.optim.SGD([p], **kw) if name == "sgd" else torch.optim.Adam([p], **kw)
    with torch.no_grad():
        for _ in range(steps):
            p.grad = At @ p - b
            opt.step()


def interleaved(contenders: dict, rounds: int) -> dict[str, float]:
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def single(rounds: int, steps: int) -> dict:
    problem = make_quadratic(10, 100.0, seed=0)
    A = np.asarray(problem.A) if hasattr(problem, "A") else None
    x0 = np.asarray(problem.default_x0())
    rows = []
    for name, kw in RULES.items():
        rule = rules.make(name, **kw)
        c = {label: (lambda kern=kern: run(rule, problem, steps=steps, kernel=kern)) for label, kern in KERNELS.items()}
        for kern in KERNELS.values():
            assert run(rule, problem, steps=2, kernel=kern).meta["kernel"].startswith(kern)  # compile; the path taken
        c["compiled step, bare loop"] = lambda: bare_loop(rule, problem, steps, x0)
        if A is not None:
            c["torch.optim loop"] = lambda: torch_loop(name, A, x0, steps, xs=problem.x_star)
        bare_loop(rule, problem, 2, x0)  # compile
        t = interleaved(c, rounds)
        us = {k: v / steps * 1e6 for k, v in t.items()}
        print(f"single n=10 {name}: " + ", ".join(f"{k} {v:.1f} us/step" for k, v in us.items()))
        for k, v in us.items():
            rows.append([name, k, f"{v:.1f}", f"{us.get('torch.optim loop', float('nan')) / v:.2f}"])
    return provenance.table(
        COMMAND, ["rule", "path", "µs per step", "torch loop / this"], rows, machine_line=machine(),
        notes=f"n = 10 rotated quadratic (kappa = 100), {steps:,} steps, record='log', median of {rounds} "
              "interleaved rounds.")


def sweep(rounds: int, steps: int, runs: int = 1000, n: int = 100, sample: int = 10) -> dict:
    problem = make_quadratic(n, 100.0, seed=0)
    A = np.asarray(problem.A)
    x0 = np.asarray(problem.default_x0())
    lrs = np.geomspace(1e-4, 1e-2, runs)
    rows = []
    for name in RULES:
        rule = rules.make(name, **dict(RULES[name], lr=lrs[:, None]))
        c = {f"batched {label}": (lambda kern=kern: run(rule, problem, steps=steps, kernel=kern))
             for label, kern in KERNELS.items()}
        c["batched run(kernel='numba'), record=[0, steps]"] = lambda: run(rule, problem, steps=steps, kernel="numba",
                                                                          record=[0, steps])
        for kern in KERNELS.values():
            run(rule, problem, steps=2, kernel=kern)  # compile
        X, out = np.random.default_rng(0).standard_normal((runs, n)), np.empty((runs, n))
        c["gradient floor: (runs, n) @ A per step"] = lambda: [np.matmul(X, A, out=out) for _ in range(steps)]
        Xu = 1e-3 * X  # the iterate of the next floor (updated in place; finite over the rounds)
        update = compile_step(rule, Xu, rule.init(Xu), kernel="numba")

        def gradient_and_update(update=update, Xu=Xu, out=out, rule=rule):
            state = rule.init(Xu)
            for k in range(steps):
                np.matmul(Xu, A, out=out)
                state = update(Xu, out, state, k)

        gradient_and_update()  # compile
        c["floor: gradient + compiled update alone"] = gradient_and_update
        c[f"torch.optim loop over runs ({sample} timed)"] = lambda: [
            torch_loop(name, A, x0, steps, float(lr), problem.x_star) for lr in lrs[:sample]]
        t = interleaved(c, rounds)
        per = {k: v / (steps * (sample if k.startswith("torch") else runs)) * 1e6 for k, v in t.items()}
        torch_us = next(v for k, v in per.items() if k.startswith("torch"))
        print(f"sweep {runs} runs n={n} {name}: " + ", ".join(f"{k} {v:.3f} us/run-step" for k, v in per.items()))
        for k, v in per.items():
            rows.append([name, k, f"{v:.3f}", f"{torch_us / v:.0f}x"])
    return provenance.table(
        COMMAND, ["rule", "path", "µs per run-step", "torch loop / this"], rows, machine_line=machine(),
        notes=f"{runs} learning rates log-spaced in [1e-4, 1e-2], n = {n}, {steps} steps, record='log', median of "
              f"{rounds} interleaved rounds; the torch loop is timed on a sample of runs and scaled per run-step; the "
              f"gradient floor is NumPy's (runs, n) @ (n, n) product alone, {2 * n * n:,} flops per run-step; the "
              "second floor adds the compiled update alone (fast.compile_step), nothing else.")


MEMORY_CHILD = r"""
import os, sys, json, tracemalloc
import numpy as np
from precond_theory import rules, run
from precond_theory.problems import make_quadratic
runs, n, steps, trace = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "trace"
problem = make_quadratic(n, 100.0, seed=0)
run(rules.Adam(lr=np.array([[1e-4], [1e-3]])), problem, steps=2)  # compile (and load) the kernels first
rule = rules.Adam(lr=np.geomspace(1e-4, 1e-1, runs)[:, None])
def status(key):  # KiB
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(key + ":"))
def maxrss():  # KiB; the process's maximum so far (it includes the compile's peak above)
    import resource
    m = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return m // 1024 if sys.platform == "darwin" else m
if trace:
    tracemalloc.start()
try:  # Linux: reset the peak (VmHWM) to the current RSS, so that the compile's peak above is not counted
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    base, peak_of, how = status("VmRSS"), lambda: status("VmHWM"), "VmHWM"
except OSError:
    base, peak_of, how = maxrss(), maxrss, "ru_maxrss"
traced0 = tracemalloc.get_traced_memory()[0]
tr = run(rule, problem, steps=steps, record="log")
peak = peak_of()
traced = tracemalloc.get_traced_memory()[1] - traced0 if trace else None
metrics = sum(v.nbytes for v in tr.metrics.values())
print(json.dumps({"base_kib": base, "peak_kib": peak, "how": how, "traced_bytes": traced, "metrics_bytes": metrics,
                  "array_bytes": runs * n * 8, "n_metrics": len(tr.metrics), "n_records": len(tr.steps),
                  "kernel": tr.meta["kernel"]}))
"""


def _memory_child(runs: int, n: int, steps: int, mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(runs), str(n), str(steps), mode],
                         capture_output=True, text=True, check=True, env=dict(os.environ))
    return json.loads(out.stdout.strip().splitlines()[-1])


def memory(runs: int, n: int, steps: int, repeats: int = 3) -> dict:
    """Peak RSS growth during run() in fresh processes (median of ``repeats``; on a shared machine
    RSS also moves with the host's memory pressure), and the traced peak (tracemalloc) in one more."""
    rss = [_memory_child(runs, n, steps, "rss") for _ in range(repeats)]
    m = _memory_child(runs, n, steps, "trace")
    arr = m["array_bytes"]
    state = 3 * arr  # x and Adam's m, v
    growths = sorted((r["peak_kib"] - r["base_kib"]) * 1024 for r in rss)
    growth = statistics.median(growths)
    traced = m["traced_bytes"]
    print(f"memory {runs} runs x n={n}: peak RSS growth {growth / 2**20:.0f} MiB (of {repeats}: "
          f"{', '.join(f'{g / 2**20:.0f}' for g in growths)}), traced {traced / 2**20:.0f} MiB; x + state "
          f"{state / 2**20:.0f} MiB + metrics {m['metrics_bytes'] / 2**20:.2f} MiB; one (runs, n) array = "
          f"{arr / 2**20:.0f} MiB")
    rows = [[f"{runs:,} x {n:,}", f"{growth / 2**20:.0f} [{growths[0] / 2**20:.0f}, {growths[-1] / 2**20:.0f}]",
             f"{traced / 2**20:.0f}", f"{state / 2**20:.0f}", f"{m['metrics_bytes'] / 2**20:.2f}",
             f"{growth / arr:.1f}", f"{traced / arr:.1f}"]]
    return provenance.table(
        COMMAND, ["runs x n", "peak RSS growth (MiB) [min, max]", "peak traced (MiB)", "x + Adam state (MiB)",
                  "recorded metrics (MiB)", "RSS growth in (runs, n) float64 arrays", "traced in arrays"], rows,
        machine_line=machine(),
        notes=f"Adam, float64, {steps} steps, record='log' ({m['n_records']} record points, {m['n_metrics']} "
              f"metrics), kernel {m['kernel']!r} (the default 'auto'), kernels compiled before; peak RSS: "
              + ("VmHWM after run() (reset by /proc/self/clear_refs before it) minus VmRSS before"
                 if rss[0]["how"] == "VmHWM" else "ru_maxrss after run() minus before (it includes the compile's "
                 "peak, so the growth can read low)")
              + f", median of {repeats} fresh processes; traced: the peak of "
              "tracemalloc (NumPy's allocations) during run() in one more.")


HELD_CHILD = r"""
import sys, json, tracemalloc
import numpy as np
from precond_theory import rules, run
from precond_theory.problems import make_quadratic
runs, n, steps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
problem = make_quadratic(n, 100.0, seed=0)
rule = rules.Adam(lr=np.geomspace(1e-4, 1e-1, runs)[:, None])
out = {}
for kernel in ("reference", "numba-step", "numba"):
    run(rule, problem, steps=2, kernel=kernel)  # compile outside the measurement
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    tr = run(rule, problem, steps=steps, record=[0, steps // 2, steps], kernel=kernel)
    out[kernel] = {"peak": tracemalloc.get_traced_memory()[1] - base, "kernel": tr.meta["kernel"]}
    tracemalloc.stop()
print(json.dumps(out))
"""


def held(runs: int, n: int, steps: int) -> dict:
    """Peak traced memory of each path (tracemalloc: NumPy's allocations, exactly), in arrays."""
    out = subprocess.run([sys.executable, "-c", HELD_CHILD, str(runs), str(n), str(steps)], capture_output=True,
                         text=True, check=True, env=dict(os.environ))
    m = json.loads(out.stdout.strip().splitlines()[-1])
    arr = runs * n * 8
    rows = [[f"run(kernel={k!r})", v["kernel"], f"{v['peak'] / 2**20:.0f}", f"{v['peak'] / arr:.2f}"]
            for k, v in m.items()]
    print("held " + ", ".join(f"{r[0]} {r[3]} arrays" for r in rows))
    return provenance.table(
        COMMAND, ["path", "meta['kernel']", "peak traced (MiB)", "peak in (runs, n) float64 arrays"], rows,
        machine_line=machine(),
        notes=f"Adam, {runs:,} runs x n = {n:,}, float64, {steps} steps, record=[0, {steps // 2}, {steps}]; peak of "
              "tracemalloc (NumPy's allocations) during run(), minus what was allocated before; x, m and v are 3.")


def sliced(rounds: int, steps: int, runs: int = 10_000, n: int = 200) -> dict:
    """What slicing costs: a batch larger than SLICE_BYTES on the segment path, sliced (the
    default: one slice's gradient) against the whole batch at once (slicing raised above the
    batch: the gradient and scratch array of the batch's size), interleaved; and each one's
    traced peak (tracemalloc, one more run each)."""
    import tracemalloc

    from precond_theory import _xp

    problem = make_quadratic(n, 100.0, seed=0)
    rule = rules.Adam(lr=np.geomspace(1e-4, 1e-2, runs)[:, None])
    default = _xp.SLICE_BYTES
    modes = {"sliced (SLICE_BYTES = 4 MiB)": default, "whole batch (slicing off: SLICE_BYTES above the batch)": 1 << 40}
    records = {"log": "log", "[0, steps]": [0, steps]}

    def go(size, record):
        _xp.SLICE_BYTES = size
        try:
            return run(rule, problem, steps=steps, record=record, kernel="numba")
        finally:
            _xp.SLICE_BYTES = default

    c = {(m, r): (lambda size=size, record=record: go(size, record))
         for m, size in modes.items() for r, record in records.items()}
    for fn in c.values():
        fn()  # compile
    t = interleaved(c, rounds)
    rows, arr = [], runs * n * 8
    for (m, r), v in t.items():
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        tr = c[(m, r)]()
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
        whole = t[(next(k for k in modes if k.startswith("whole")), r)]
        us = v / (steps * runs) * 1e6
        rows.append([m, r, f"{us:.3f}", f"{v / whole:.2f}", f"{peak / arr:.2f}",
                     f"{tr.meta['extra_evaluations']['grad']}"])
        print(f"sliced {runs} x {n} {m} record={r}: {us:.3f} us/run-step, {v / whole:.2f} of whole, "
              f"peak {peak / arr:.2f} arrays, extra gradients {tr.meta['extra_evaluations']['grad']}")
    return provenance.table(
        COMMAND, ["segments", "record", "µs per run-step", "time / whole batch", "peak traced in (runs, n) arrays",
                  "extra gradient evaluations"], rows, machine_line=machine(),
        notes=f"Adam, {runs:,} runs x n = {n}, float64, {steps} steps, run(kernel='numba'), median of {rounds} "
              "interleaved rounds; the peak is tracemalloc's during one more run of each; x, m and v are 3.")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json-dir", default=None)
    a = ap.parse_args(argv)
    q = a.quick
    results = {
        "run_single": single(rounds=3 if q else 7, steps=1000 if q else 5000),
        "run_sweep": sweep(rounds=3, steps=50 if q else 200),
        "run_memory": memory(1000 if q else 10_000, 1000, 5 if q else 20),
        "run_held": held(512 if q else 4096, 256 if q else 1024, 10),
        "run_sliced": sliced(rounds=3, steps=20 if q else 200, runs=4000 if q else 10_000),
    }
    if a.json_dir:
        for name, data in results.items():
            provenance.write_table(os.path.join(a.json_dir, f"{name}.json"), data)


if __name__ == "__main__":
    main()

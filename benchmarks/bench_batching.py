"""Batched sweep vs a Python loop over runs, measured side by side in one process.

A learning-rate x seed sweep of R runs is one call of ``run`` on an ``(R, n)`` array; the
alternative is R calls on ``(n,)`` arrays.  Both run the same rule on the same quadratic for
the same number of steps; the script prints wall times and their ratio (median of repeats,
interleaved so that machine noise hits both alike).

Usage: ``python benchmarks/bench_batching.py [--runs 1000] [--dim 20] [--steps 200] [--rule adam]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from precond_theory import rules, run
from precond_theory.problems import make_quadratic


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--dim", type=int, default=20)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--rule", default="adam")
    ap.add_argument("--loop-sample", type=int, default=50, help="runs actually timed in the loop (scaled up)")
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()

    p = make_quadratic(a.dim, 100.0, seed=0)
    n_lr = max(1, a.runs // 10)
    lrs = np.logspace(-3, -1, n_lr)
    seeds = a.runs // n_lr
    x0 = np.stack([np.random.default_rng(s).standard_normal(a.dim) for s in range(seeds)])
    batched_rule = rules.make(a.rule, lr=lrs[:, None, None])
    t_batch, t_loop = [], []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        tr = run(batched_rule, p, steps=a.steps, x0=x0[None], record=[0, a.steps])
        t_batch.append(time.perf_counter() - t0)
        assert tr.batch_shape == (n_lr, seeds)
        t0 = time.perf_counter()
        for i in range(a.loop_sample):
            run(rules.make(a.rule, lr=float(lrs[i % n_lr])), p, steps=a.steps, x0=x0[i % seeds], record=[0, a.steps])
        t_loop.append((time.perf_counter() - t0) * (n_lr * seeds) / a.loop_sample)
    tb, tl = float(np.median(t_batch)), float(np.median(t_loop))
    print(f"rule={a.rule} runs={n_lr * seeds} dim={a.dim} steps={a.steps}")
    print(f"batched (one call): {tb:.3f} s")
    print(f"loop over runs    : {tl:.3f} s (extrapolated from {a.loop_sample} runs)")
    print(f"speed-up          : {tl / tb:.1f}x")


if __name__ == "__main__":
    main()

"""Cost of the counter-based per-run random streams (``_xp.Rng``) per oracle step.

Interleaved, median of repeats: one Gaussian draw of the oracle's shape ``(runs, n)`` from
``Rng(per-run seeds)`` against NumPy's ``Generator.standard_normal`` (one shared stream, which
cannot give run i the numbers of the single run with seed i), and a whole ``run()`` step with
the Gaussian oracle against the exact oracle.

    PYTHONPATH=$PWD python benchmarks/bench_rng.py
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from precond_theory import oracles, rules, run
from precond_theory._xp import Rng
from precond_theory.problems import make_quadratic


def timed(fn, repeat: int) -> float:
    t = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t) / repeat


def main() -> None:
    print(f"{'shape':>12} {'Rng us':>10} {'numpy us':>10} {'ratio':>7}")
    for shape in [(1, 10), (100, 100), (1000, 100), (10000, 100)]:
        rng = Rng(np.arange(shape[0]), np)
        gen = np.random.default_rng(0)
        reps = max(3, int(2e5 / np.prod(shape)))
        a, b = [], []
        for _ in range(7):
            a.append(timed(lambda: rng.normal(shape), reps))
            b.append(timed(lambda: gen.standard_normal(shape), reps))
        ma, mb = statistics.median(a) * 1e6, statistics.median(b) * 1e6
        print(f"{str(shape):>12} {ma:10.1f} {mb:10.1f} {ma / mb:7.2f}")
    p = make_quadratic(100, 10.0, seed=0)
    rule = rules.make("sgd", lr=0.01)
    steps = 200
    for runs in (1, 1000):
        a, b = [], []
        for _ in range(5):
            a.append(timed(lambda: run(rule, p, steps=steps, batch=runs, record=[steps],
                                       oracle=oracles.GaussianNoise(variance=1.0), min_grad_norm="off"), 1) / steps)
            b.append(timed(lambda: run(rule, p, steps=steps, batch=runs, record=[steps], min_grad_norm="off"), 1)
                     / steps)
        ma, mb = statistics.median(a) * 1e6, statistics.median(b) * 1e6
        print(f"run() step, {runs} runs x n=100: gaussian oracle {ma:.1f} us, exact {mb:.1f} us "
              f"(noise costs {ma - mb:.1f} us/step)")


if __name__ == "__main__":
    main()

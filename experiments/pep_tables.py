r"""Performance-estimation tables of ``docs/pep.md``.

Writes

* ``docs/data/pep_literature.json`` — the literature worst cases reproduced by
  :func:`precond_theory.verify.pep.worst_case`, and the value reached by a run of the project's
  rule on the PEP's own worst-case function (:func:`precond_theory.verify.worst_case.pep_instance`);
* ``docs/data/pep_compare.json`` — for every catalog claim about a fixed-step method, the
  ``theory.py`` bound, the exact PEP worst case and the worst ratio found by the adversarial
  search with the claim's rule (:func:`precond_theory.verify.pep.compare`), N = 1, 2, 4, 8.

Run: ``python experiments/pep_tables.py`` (then ``python docs/gen_tables.py``).
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from precond_theory import rules, run  # noqa: E402
from precond_theory._provenance import machine, table, write_table  # noqa: E402
from precond_theory.verify import pep  # noqa: E402
from precond_theory.verify.worst_case import pep_instance  # noqa: E402

COMMAND = "python experiments/pep_tables.py"
SC = (1 - math.sqrt(0.1)) / (1 + math.sqrt(0.1))
LITERATURE = [  # label, worst_case kwargs, literature value, rule, metric measured on the run
    ("GD, L=3, N=4 (h=1)", dict(method="gd", N=4, L=3.0), "1/6 = 0.1666667", rules.make("sgd", lr=1 / 3), "f_gap"),
    ("OGM, L=3, N=4", dict(method="ogm", N=4, L=3.0), "0.0767518", None, None),
    ("GD nonconvex, L=1, N=5", dict(method="gd", N=5, L=1.0, function_class="nonconvex",
                                    performance="min_grad_norm_sq", initial="f0_minus_fN"), "0.266667",
     rules.make("sgd", lr=1.0), "min_grad_norm_sq"),
    ("Nesterov sc, mu=0.1, L=1, N=2", dict(method="nesterov", N=2, L=1.0, mu=0.1, schedule="constant", momentum=SC,
                                           initial="lyapunov"), "0.347602 (bound 0.467544)",
     rules.make("nesterov", lr=1.0, schedule="constant", momentum=SC), "f_gap"),
    ("Heavy ball, mu=0.1, L=1, N=2 (PEPit doc)", dict(method="heavy_ball", N=2, L=1.0, mu=0.1, lr=0.5,
                                                      momentum=math.sqrt(0.95 * 0.5), initial="f_gap"), "0.753493",
     rules.make("heavy_ball", lr=0.5, momentum=math.sqrt(0.95 * 0.5)), "f_gap"),
]


def write(name: str, columns: list, rows: list, notes: str = "") -> None:
    record = table(COMMAND, columns, rows, notes=notes, machine_line=machine(pep.solver_name(), load=False))
    path = write_table(ROOT / "docs" / "data" / f"{name}.json", record)
    print(f"wrote {path}")


def fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.6g}"


def main() -> None:
    rows = []
    for label, kw, lit, rule, metric in LITERATURE:
        r = pep.worst_case(**kw)
        reached = "-"
        if rule is not None:
            problem, x0, _ = pep_instance(r)
            reached = fmt(float(run(rule, problem, steps=r.N, record="all").metrics[metric][-1]))
        rows.append([label, lit, f"{r.value:.7f}", f"{r.value - r.primal:.1e}", reached, r.status])
    write("pep_literature", ["case", "literature", "PEP value", "duality gap", "run on the PEP example", "status"],
          rows, "run on the PEP example: the project's rule run on the smooth interpolant of the PEP's worst case "
          "(OGM is not a rule of the project)")
    t0 = time.perf_counter()
    rows = []
    for name in pep.COMPARED_CLAIMS:
        for r in pep.compare(name, N=(1, 2, 4, 8), budget=3000):
            rows.append([r.claim, r.function_class, r.quantity, r.N, fmt(r.theory), fmt(r.pep), fmt(r.empirical),
                         r.note])
    write("pep_compare", ["claim", "class", "quantity", "N", "theory.py", "PEP (exact)", "empirical worst", "note"],
          rows, f"empirical worst: adversarial search over 1-d piecewise quadratics of the class, 3000 runs of the "
          f"claim's rule, seed 0 ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()

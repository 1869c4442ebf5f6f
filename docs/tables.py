"""Measure the numbers behind the docs' generated tables and write ``docs/data/NAME.json``.

Usage::

    python docs/tables.py NAME [NAME ...]     # one or more tables (or a group)
    python docs/tables.py --list              # the tables, their pages and their cost
    python docs/gen_tables.py                 # then render them into the pages

Each table is produced by the experiment or benchmark code it reports (imported from
``experiments/`` and ``benchmarks/``, so nothing is computed twice) and written as
``{"command", "machine", "date", "columns", "rows", "notes"}``; ``docs/gen_tables.py`` renders
it between ``<!-- generated: docs/data/NAME.json -->`` and ``<!-- /generated -->``.  Tables
marked *deterministic* and *cheap* are re-measured by ``tests/test_docs_numbers.py`` and must
equal the stored rows.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "docs" / "data"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from precond_theory import _provenance as provenance  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Table:
    """A generated table: the function that measures it and what the tests may assume."""

    name: str
    page: str
    measure: Callable[[], dict]  # -> {"columns", "rows"[, "notes"]}
    deterministic: bool
    cheap: bool  # re-measured by the tests (seconds, not minutes)
    about: str


def _load(relpath: str):
    """Import a script of the repository (``experiments/...py``) as a module."""
    path = ROOT / relpath
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, mod)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    spec.loader.exec_module(mod)
    return mod


def fmt(v: float) -> str:
    """Three significant digits, plain below 1e4 (``62``, ``263``, ``9602``), else ``2.8e4``."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    v = float(v)
    if math.isinf(v):
        return "inf"
    a = abs(v)
    if a != 0 and (a >= 1e4 or a < 1e-3):
        m, e = f"{v:.1e}".split("e")
        return f"{m}e{int(e)}"
    if a >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}"


# ------------------------------------------------------------------------------ E06, part A
def e06_normalization() -> dict:
    """Depth-0 rows of E06 part A: kappa of the Gauss–Newton matrix on the symmetry quotient."""
    import copy

    e06 = _load("experiments/e06_conditioning.py")
    cfg = copy.deepcopy(e06.CONFIG)
    cfg["normalization"]["depths"] = [0]
    cfg["normalization"]["scale_max"] = [1.0, 100.0]
    cfg["normalization"]["variants"] = ["raw", "standardize", "batchnorm", "batchnorm_eval"]
    df = e06.normalization_table(cfg)
    means = cfg["normalization"]["means"]

    def k(variant: str, mean: float, smax: float) -> float:
        sel = df[(df.variant == variant) & (df["mean"] == mean) & (df.scale_max == smax)]
        return float(sel.kappa_quotient.iloc[0])

    def closed(mean: float) -> float:
        sel = df[(df.variant == "raw") & (df["mean"] == mean) & (df.scale_max == 1.0)]
        return float(sel.kappa_closed_form.iloc[0])

    rows = [
        ["raw, s_max = 1"] + [fmt(k("raw", m, 1.0)) for m in means],
        ["closed form (mean_shift_kappa)"] + [fmt(closed(m)) for m in means],
        ["raw, s_max = 100"] + [fmt(k("raw", m, 100.0)) for m in means],
        ["standardize, s_max = 1 / 100"] + [f"{fmt(k('standardize', m, 1.0))} / {fmt(k('standardize', m, 100.0))}"
                                            for m in means],
        ["BN on the output unit, s_max = 1 / 100"] + [f"{fmt(k('batchnorm', m, 1.0))} / {fmt(k('batchnorm', m, 100.0))}"
                                                      for m in means],
        ["BN eval-mode, s_max = 1"] + [fmt(k("batchnorm_eval", m, 1.0)) for m in means],
    ]
    c = cfg["normalization"]
    return {"columns": ["depth 0 (linear regression)"] + [f"mean {m:g}" for m in means], "rows": rows,
            "notes": (f"d = {c['dim']}, N = {c['n_samples']}, exact moments, feature std log-spaced in [1, s_max]; "
                      "kappa on the quotient by the exact scale symmetries (Gauss-Newton matrix).")}


# ------------------------------------------------------------------------------ E06, part B
def e06_tracking() -> dict:
    """E06 part B: median over starts of kappa(P^1/2 H P^1/2) at the last step, and references."""
    e06 = _load("experiments/e06_conditioning.py")
    cfg = e06.CONFIG
    track, refs = e06.tracking_table(cfg)
    last = track[track.step == track.step.max()]
    med = last.groupby(["problem", "rule"]).kappa_PHP.median()
    order = ["adagrad", "rmsprop", "adam", "adapgradm", "hadapgradm", "adamrag", "soaa"]
    rule_names = [r for r in order if r in set(last.rule)] + sorted(set(last.rule) - set(order))
    labels = {"quadratic_axis": "axis-aligned quadratic", "quadratic_rotated": "rotated quadratic",
              "least_squares": "least squares"}
    rows = []
    for prob in ["quadratic_axis", "quadratic_rotated", "least_squares"]:
        ref = refs[refs.problem == prob].set_index("scaling").kappa
        scal = " / ".join(fmt(ref[s]) for s in ("jacobi", "ruiz", "row_norm", "optimal"))
        rows.append([labels[prob], fmt(ref["none"]), scal] + [fmt(med[(prob, r)]) for r in rule_names])
    c = cfg["tracking"]
    return {"columns": ["problem", "kappa(H)", "Jacobi / Ruiz / row-norm / optimal"] + rule_names, "rows": rows,
            "notes": f"median over {c['seeds']} starts at k = {c['steps']}; learning rates as in the experiment's CONFIG."}


# ------------------------------------------------------------------------------------- E07
_E07_CACHE: dict = {}


def _e07():
    if not _E07_CACHE:
        import pandas as pd

        e07 = _load("experiments/e07_regularization.py")
        rows, info = e07.run_all(e07.CONFIG)
        df = pd.DataFrame(rows)
        agree, pred, best = e07.summarize(df, e07.CONFIG)
        _E07_CACHE.update(agree=agree, pred=pred, best=best, info=info, cfg=e07.CONFIG)
    return _E07_CACHE


def e07_closed_forms() -> dict:
    """E07: max over lambda of the distance from each final iterate to each closed form."""
    r = _e07()
    pred = r["pred"]
    cols = [("max_dist_frozen", "frozen-Jacobi closed form"), ("max_dist_self", "own final M_T (self)"),
            ("max_dist_ema", "EMA fixed point")]
    rows = []
    for _, p in pred.iterrows():
        if p.kind in ("none", "gradnorm_p", "gradnorm_z", "l1_p", "l1_z"):
            continue
        rows.append([p.rule, p.kind] + [fmt(p[c]) if c in p and p[c] == p[c] else "—" for c, _ in cols])
    return {"columns": ["rule", "kind"] + [label for _, label in cols], "rows": rows,
            "notes": "max-norm distances relative to |x_ls|_inf, maximum over the lambda grid; — = not applicable."}


def e07_best_test_loss() -> dict:
    """E07: best test loss (1/2 MSE) per rule and kind, with the lambda that reaches it."""
    r = _e07()
    best = r["best"]
    kinds = ["none", "l2_p", "decoupled", "l1_p_prox", "l1_z_prox", "gradnorm_p", "gradnorm_z"]
    rows = []
    for rule in dict.fromkeys(best.rule):
        g = best[best.rule == rule].set_index("kind")
        row = [rule]
        for kd in kinds:
            if kd not in g.index:
                row.append("—")
            elif kd == "none":
                row.append(fmt(g.best_test_loss[kd]))
            else:
                row.append(f"{fmt(g.best_test_loss[kd])} (λ={fmt(g.lam_best[kd])})")
        rows.append(row)
    return {"columns": ["rule"] + kinds, "rows": rows,
            "notes": "best over the lambda grid of the held-out loss; the label-noise floor is 18."}


# ------------------------------------------------------------------------- eigen benchmark
def eig_benchmark() -> dict:
    """benchmarks/bench_extreme_eigenvalues.py: matrix-free extreme eigenvalues up to n = 10^6."""
    bench = _load("benchmarks/bench_extreme_eigenvalues.py")
    with tempfile.TemporaryDirectory() as tmp:
        bench.main(["--json", str(Path(tmp) / "rows.json")])
        rows = json.loads((Path(tmp) / "rows.json").read_text())
    out = []
    for r in rows:
        if "dense_time_s" in r:
            continue
        method = r["method"] + (" (no reorth)" if r["reorth"] == "none" else " (full)" if r["method"] == "lanczos"
                                else " (shifted)")
        out.append([f"10^{round(math.log10(r['n']))}", method, f"{r['time_s']:.3g}", str(r["n_hvp"]),
                    str(r["n_restarts"]), f"{r['rel_err_min']:.0e} / {r['rel_err_max']:.0e}"])
    dense = [r for r in rows if "dense_time_s" in r]
    notes = "Dense eigvalsh of the assembled matrix: " + ", ".join(
        f"n = {r['n']}: {r['dense_time_s']:.2g} s (ends agree to {max(r['dense_rel_gap_min'], r['dense_rel_gap_max']):.0e})"
        for r in dense) + ". Times are wall-clock seconds of one run on the machine named."
    return {"columns": ["n", "method", "time (s)", "HVPs", "restarts", "rel. error lambda_min / lambda_max"],
            "rows": out, "notes": notes}


TABLES = {t.name: t for t in [
    Table("e06_normalization", "docs/normalization.md", e06_normalization, True, True,
          "E06 part A, depth 0 (seconds)"),
    Table("e06_tracking", "docs/conditioning.md", e06_tracking, True, False,
          "E06 part B: 7 rules x 3 problems x 300 steps (about 15 s)"),
    Table("e07_closed_forms", "docs/regularization.md", e07_closed_forms, True, False,
          "E07 (about a minute; shares the run with e07_best_test_loss)"),
    Table("e07_best_test_loss", "docs/regularization.md", e07_best_test_loss, True, False, "E07"),
    Table("eig_benchmark", "docs/conditioning.md", eig_benchmark, False, False,
          "timings up to n = 10^6 (minutes; machine-dependent)"),
]}
GROUPS = {"e07": ["e07_closed_forms", "e07_best_test_loss"], "all": list(TABLES)}


def measure(name: str) -> dict:
    """The full record of table ``name`` (measured now; load average read at the end)."""
    body = TABLES[name].measure()
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    return provenance.table(f"python docs/tables.py {name}", body.pop("columns"), body.pop("rows"),
                            machine_line=provenance.machine(f"OPENBLAS_NUM_THREADS={blas}"), **body)


def write(name: str) -> Path:
    """Measure ``name`` and write ``docs/data/NAME.json`` (atomically)."""
    return provenance.write_table(DATA / f"{name}.json", measure(name))


def main(argv: list[str]) -> int:
    if not argv or argv == ["--list"]:
        for t in TABLES.values():
            flags = ", ".join(f for f, on in (("deterministic", t.deterministic), ("cheap", t.cheap)) if on)
            print(f"{t.name:<20} {t.page:<24} {t.about}" + (f" [{flags}]" if flags else ""))
        return 0
    names = [n for a in argv for n in GROUPS.get(a, [a])]
    unknown = [n for n in names if n not in TABLES]
    if unknown:
        print(f"error: unknown table(s) {unknown}; known: {', '.join(TABLES)} (groups: {', '.join(GROUPS)})",
              file=sys.stderr)
        return 2
    for n in names:
        print(f"wrote {write(n).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.exit(main(sys.argv[1:]))

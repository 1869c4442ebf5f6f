"""One experiment per claim of the claims catalog: the classical theorems the seed papers build
on, the counterexamples, and the seed papers' rate and regret claims (RECON or template).

Each runs the claim's own setup (reduced for CI: fewer steps, horizons and seeds), checks it
with the project's claim check, and writes the rate-check figure, the recorded medians and
quartiles per step, and the verdict with its interval.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _claims_api as api
from ._base import Experiment, Result, register
from ._race import rule_fidelity

__all__ = ["CLAIM_TEXT"]

# What each seed paper's abstract states, in the project's words, and which catalog claim tests it.
_SEED = {
    "soaa_template": ("SOAA (Vo & Vo, arXiv 2410.02293)",
                      "SOAA converges robustly; the abstract states no rate, so the generic Adam-type rate "
                      "O(log T / sqrt T) for the smallest squared gradient norm is checked as a template"),
    "adarem_regret": ("AdaRem (Liu et al., arXiv 2010.11041)",
                      "AdaRem comes with a convergence proof; reconstructed as O(sqrt T) regret in online convex "
                      "optimisation with step eta/sqrt(t)"),
    "adamrag_nonconvex": ("AdamRAG (Zhang et al., Neural Process. Lett. 2025)",
                          "AdamRAG converges sublinearly on nonconvex problems; reconstructed as "
                          "min_t E||grad f||^2 = O(log T / sqrt T)"),
    "adapgradm_nonconvex": ("AdapGradm/HAdapGradm (Chen et al., Neural Networks 2026)",
                            "AdapGradm converges under mild conditions; reconstructed as "
                            "min_t E||grad f||^2 = O(log T / sqrt T)"),
    "hadapgradm_nonconvex": ("AdapGradm/HAdapGradm (Chen et al., Neural Networks 2026)",
                             "HAdapGradm (the hybrid that moves to SGD) converges under mild conditions; "
                             "reconstructed as min_t E||grad f||^2 = O(log T / sqrt T)"),
}
CLAIM_TEXT = _SEED


def _sizes(claim: Any) -> dict[str, dict[str, Any]]:
    s = claim.setup
    full: dict[str, Any] = {}
    ci: dict[str, Any] = {}
    if claim.horizon == "per_horizon":
        full["horizons"] = list(s.horizons)
        ci["horizons"] = sorted({max(50, int(h) // 8) for h in s.horizons})
    else:
        full["steps"] = int(s.steps)
        ci["steps"] = min(int(s.steps), 1500)
    if s.oracle:
        full["seeds"] = int(s.seeds or 8)
        ci["seeds"] = min(int(s.seeds or 8), 3)
    return {"ci": ci, "full": full}


def _units(params: dict[str, Any]) -> int:
    return int(params.get("seeds", 1)) * max(1, len(params.get("horizons", [1])))


def _claim_table(rc: Any) -> Any:
    import pandas as pd

    k = np.asarray(rc.k, dtype=float)
    y = np.asarray(rc.y, dtype=float)
    y = y[:, None] if y.ndim == 1 else y
    with np.errstate(all="ignore"):
        q = np.nanquantile(np.where(np.isfinite(y), y, np.nan), [0.25, 0.5, 0.75], axis=1) if y.size else \
            np.zeros((3, 0))
    return pd.DataFrame({"k": k, "median": q[1], "q25": q[0], "q75": q[2], "runs": y.shape[1]})


def _make_run(name: str) -> Any:
    def run(params: dict[str, Any], advance: Any) -> Result:
        from ..plotting import plot_rate_check

        claim = api.get_claim(name)
        rc, _ = api.check(claim, **params)
        advance(_units(params))
        rec = api.record(rc)
        ax = plot_rate_check(rc, title=f"{name}: {rec['verdict']}")
        measured = {k: rec[k] for k in ("law", "fitted", "claimed", "interval", "n_runs", "claim_fidelity", "source")}
        return Result(figure=ax.figure, table=_claim_table(rc), verdict=rec["verdict"], reason=rec["reason"],
                      interval=rec["interval"], measured=measured, rules={claim.setup.rule: rule_fidelity(claim.setup.rule)})

    return run


def _register_all() -> None:
    for name, claim in api.catalog().items():
        if claim.setup is None:
            continue  # ye_preconditioned_local has its own experiment (seed_ye.py)
        fid = str(claim.fidelity).upper()
        s = claim.setup
        if name in _SEED:
            paper, said = _SEED[name]
        else:
            paper, said = "classical", f"{claim.statement} ({claim.source})"
        kind = "counterexample" if fid == "FALSE" else ("regret" if claim.metric == "regret" else "rate")
        if fid == "FALSE":
            expected = (f"violated: the claim '{claim.law()}' is false on this setup ({claim.statement}); "
                        "the check must refute it")
        else:
            expected = f"consistent: {claim.law()}"
        prob = ", ".join(f"{k}={v}" for k, v in s.problem.items() if k != "name")
        setup = (f"{s.rule} {dict(s.rule_params)} on {s.problem.get('name')}({prob})"
                 + (f", oracle {s.oracle.get('name')}" if s.oracle else ", exact gradients")
                 + (f", schedule {s.schedule}" if getattr(s, "schedule", None) else "")
                 + ("; one run per horizon T" if claim.horizon == "per_horizon" else ""))
        register(Experiment(
            name=f"claim_{name}", title=f"{name}: {claim.law()}", paper=paper, claim=said, expected=expected,
            setup=setup, kind=kind, fidelity=fid if fid in ("EXACT", "RECON", "TEMPLATE", "FALSE") else "CONCORDANT",
            sizes=_sizes(claim), run=_make_run(name), units=_units))


_register_all()

r"""E06: Hessian conditioning under normalization and under adaptive preconditioners.

Question (Ye 2024 §2-§4; Lange, Helfrich & Ye 2022; docs/spec/ye_preconditioning.md): how much do input
standardization, BatchNorm, LayerNorm and WeightNorm change the condition number of the
curvature the optimizer sees, as the inputs' mean and scale and the depth change; and along
runs of AdaGrad, RMSProp, Adam and the seed methods with a preconditioner, how does
:math:`\kappa(P_k^{1/2} H P_k^{1/2})` compare with :math:`\kappa(H)` and with reference diagonal
scalings (Jacobi, Ruiz equilibration, row norms, the optimal diagonal scaling)?

Part A (normalization).  For every input mean x scale spread x depth x variant:
:math:`\kappa` of the Gauss–Newton matrix (PSD, equal to the Hessian for linear least squares)
at the seeded initialization, on the quotient by the exact scale symmetries normalization
creates (``NormalizedModel.quotient``), plus the full-matrix value and the closed form
:func:`~precond_theory.normalization.mean_shift_kappa` where it applies (linear regression
with iid features, standardized data has kappa 1).

Part B (adaptive preconditioners).  Batched runs (one seed per random start) recording
``kappa_H`` and ``kappa_PHP`` (and run's own ``precond_spread``) through :func:`precond_theory.conditioning.tracking_metrics`
on an axis-aligned and a rotated quadratic and on least squares with mean-shifted, badly
scaled features; the reference scalings of the same Hessian are stored beside them.

Outputs under ``out_dir`` (default ``results/e06_conditioning``): ``normalization.parquet``,
``tracking.parquet`` (one row per problem x rule x seed x recorded step),
``references.parquet`` (kappa of H under each reference scaling), and figures
``kappa_by_variant.png`` and ``kappa_along_runs.png``.

Run: ``python experiments/e06_conditioning.py [out_dir]`` (about a minute on 2 cores).
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np

CONFIG = {
    "normalization": {
        "n_samples": 256, "dim": 6, "width": 8, "teacher": "tanh", "correlation": 0.0, "noise": 0.1,
        "exact_moments": True,  # sample moments = population moments, so depth 0 matches the closed form
        "means": [0.0, 1.0, 4.0],
        "scale_max": [1.0, 10.0, 100.0],  # feature std log-spaced in [1, scale_max]
        "depths": [0, 1, 2],
        "variants": ["raw", "standardize", "batchnorm", "batchnorm_eval", "layernorm", "weightnorm"],
        "matrix": "gauss_newton", "eps": 1e-5, "seed": 0,
    },
    "tracking": {
        "dim": 12, "kappa": 100.0, "steps": 300, "seeds": 3,
        # least squares: mean-shifted features with std log-spaced in [1, 10]
        "least_squares": {"n_samples": 200, "mean": 1.0, "scale_max": 10.0, "corr": 0.2},
        # learning rates: the best of a coarse scan lr in {1e-3, 3e-3, ..., 10} (300 steps, median
        # final f-gap over the three problems); the point is kappa along a converging run, not tuning
        "rules": {"adagrad": {"lr": 1.0}, "rmsprop": {"lr": 0.1}, "adam": {"lr": 0.3}},
        # seed methods, used when registered and has_preconditioner (adarem has none)
        "seed_methods": {"adamrag": {"lr": 0.003}, "soaa": {"lr": 10.0},
                         "adapgradm": {"lr": 0.3, "curvature": "belief"},
                         "hadapgradm": {"lr": 0.3, "curvature": "belief"}, "adarem": {"lr": 0.05}},
        "scalings": ["jacobi", "row_norm", "ruiz", "optimal"],
    },
}


# ------------------------------------------------------------------------------------- part A
def normalization_table(cfg: dict):
    import pandas as pd

    from precond_theory.normalization import conditioning_by_variant, make_regression_data, mean_shift_kappa

    c = cfg["normalization"]
    rows = []
    for mean in c["means"]:
        for smax in c["scale_max"]:
            data = make_regression_data(c["n_samples"], c["dim"], mean=mean, scale=np.geomspace(1.0, smax, c["dim"]),
                                        correlation=c["correlation"], noise=c["noise"], teacher=c["teacher"],
                                        exact_moments=c["exact_moments"], seed=c["seed"])
            for depth in c["depths"]:
                hidden = (c["width"],) * depth
                for r in conditioning_by_variant(data, hidden=hidden, variants=tuple(c["variants"]),
                                                 matrix=c["matrix"], eps=c["eps"], seed=c["seed"]):
                    r.update(mean=mean, scale_max=smax,
                             kappa_closed_form=(mean_shift_kappa(c["dim"], mean, 1.0)
                                                if depth == 0 and smax == 1.0 and r["variant"] == "raw" else np.nan))
                    rows.append(r)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------- part B
def tracking_problems(cfg: dict) -> dict:
    from precond_theory.problems import make_least_squares, make_quadratic

    c = cfg["tracking"]
    ls = c["least_squares"]
    return {
        "quadratic_axis": make_quadratic(c["dim"], c["kappa"], rotate=False, seed=0),
        "quadratic_rotated": make_quadratic(c["dim"], c["kappa"], rotate=True, seed=0),
        "least_squares": make_least_squares(ls["n_samples"], c["dim"], mean=ls["mean"],
                                            scale=np.geomspace(1.0, ls["scale_max"], c["dim"]).tolist(),
                                            corr=ls["corr"], seed=0),
    }


def tracking_rules(cfg: dict) -> dict:
    from precond_theory import rules

    c = cfg["tracking"]
    out = {}
    for name, hp in {**c["rules"], **c["seed_methods"]}.items():
        if name not in rules.available() or not rules.get(name).has_preconditioner:
            continue
        try:
            out[name] = rules.make(name, **hp)
        except (TypeError, ValueError):  # a seed method without one of these hyperparameters
            out[name] = rules.make(name, lr=hp["lr"])
    return out


def tracking_table(cfg: dict):
    import pandas as pd

    from precond_theory import run
    from precond_theory._xp import to_numpy
    from precond_theory.conditioning import condition_number, diagonal_scaling, tracking_metrics

    c = cfg["tracking"]
    probs = tracking_problems(cfg)
    rules_ = tracking_rules(cfg)
    rows, refs = [], []
    rng = np.random.default_rng(0)
    for pname, prob in probs.items():
        H = prob.hessian(prob.default_x0())
        refs.append({"problem": pname, "scaling": "none", "kappa": float(to_numpy(condition_number(H)))})
        for sc in c["scalings"]:
            refs.append({"problem": pname, "scaling": sc,
                         "kappa": float(to_numpy(condition_number(H, diagonal_scaling(H, sc))))})
        x_star = np.asarray(to_numpy(prob.x_star))
        x0 = x_star + rng.standard_normal((c["seeds"], prob.dim)) * (1.0 + np.abs(x_star).max())
        for rname, rule in rules_.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # divergence of a run is recorded in Trace.diverged
                tr = run(rule, prob, steps=c["steps"], x0=x0, metrics=tracking_metrics(rule, prob))
            for i, k in enumerate(tr.steps):
                for s in range(c["seeds"]):
                    rows.append({"problem": pname, "rule": rname, "seed": s, "step": int(k),
                                 "f_gap": float(tr.metrics["f_gap"][i, s]),
                                 "kappa_H": float(tr.metrics["kappa_H"][i, s]),
                                 "kappa_PHP": float(tr.metrics["kappa_PHP"][i, s]),
                                 "p_spread": float(tr.metrics["precond_spread"][i, s]),
                                 "diverged": bool(tr.diverged[s] >= 0)})
    return pd.DataFrame(rows), pd.DataFrame(refs)


# -------------------------------------------------------------------------------------- plots
def plot(norm, track, refs, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    variants = list(dict.fromkeys(norm.variant))
    depths = sorted(norm.depth.unique())
    smaxs = sorted(norm.scale_max.unique())
    fig, axes = plt.subplots(len(depths), len(smaxs), figsize=(3.4 * len(smaxs), 2.8 * len(depths)),
                             sharex=True, squeeze=False)
    for r, depth in enumerate(depths):
        for c, smax in enumerate(smaxs):
            ax = axes[r, c]
            g = norm[(norm.depth == depth) & (norm.scale_max == smax)]
            for v, gv in g.groupby("variant", sort=False):
                gv = gv.sort_values("mean")
                i = variants.index(v)
                ax.semilogy(gv["mean"], gv["kappa_quotient"], "-", color=f"C{i}", marker="os^v<>"[i % 6], ms=3,
                            lw=1.2, alpha=0.85, label=v)
            cf = g.dropna(subset=["kappa_closed_form"]).sort_values("mean")
            if len(cf):
                ax.semilogy(cf["mean"], cf["kappa_closed_form"], "k:", lw=1, label="closed form (raw)")
            ax.set_title(f"depth {depth}, std in [1, {smax:g}]", fontsize=9)
            if r == len(depths) - 1:
                ax.set_xlabel("input mean")
            if c == 0:
                ax.set_ylabel("kappa (GN, quotient)")
            ax.grid(True, alpha=0.3)
    handles, labels = [], []
    for ax in axes.ravel():  # one legend with every variant (layernorm has no depth-0 model)
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    p = out / "kappa_by_variant.png"
    fig.savefig(p, dpi=120)
    plt.close(fig)
    paths.append(str(p))

    probs = list(dict.fromkeys(track.problem))
    fig, axes = plt.subplots(1, len(probs), figsize=(4.2 * len(probs), 3.6), squeeze=False)
    for c, pname in enumerate(probs):
        ax = axes[0, c]
        g = track[(track.problem == pname) & (track.step > 0)]
        for i, (rname, gr) in enumerate(g.groupby("rule", sort=False)):
            med = gr.groupby("step")["kappa_PHP"].median()
            ax.loglog(med.index, med.values, color=f"C{i}", label=rname)
        kH = g.groupby("step")["kappa_H"].median()
        ax.loglog(kH.index, kH.values, "k-", lw=2, label="kappa(H)")
        for j, (_, rr) in enumerate(refs[(refs.problem == pname) & (refs.scaling != "none")].iterrows()):
            ax.axhline(rr.kappa, color="0.5", ls=["--", ":", "-.", (0, (1, 3))][j % 4], lw=1, label=rr.scaling)
        ax.set_title(pname, fontsize=9)
        ax.set_xlabel("step k")
        ax.grid(True, alpha=0.3)
    axes[0, 0].set_ylabel("kappa(P^1/2 H P^1/2), median over seeds")
    axes[0, -1].legend(fontsize=6, frameon=False)
    fig.tight_layout()
    p = out / "kappa_along_runs.png"
    fig.savefig(p, dpi=120)
    plt.close(fig)
    paths.append(str(p))
    return paths


def main(out_dir: str | Path = "results/e06_conditioning", config: dict | None = None) -> dict:
    """Run both parts, write the tables and figures under ``out_dir``, return their paths."""
    from precond_theory.trace import write_parquet_atomic

    cfg = CONFIG if config is None else config
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    norm = normalization_table(cfg)
    track, refs = tracking_table(cfg)
    write_parquet_atomic(norm, out / "normalization.parquet")
    write_parquet_atomic(track, out / "tracking.parquet")
    write_parquet_atomic(refs, out / "references.parquet")
    figs = plot(norm, track, refs, out)
    return {"normalization": str(out / "normalization.parquet"), "tracking": str(out / "tracking.parquet"),
            "references": str(out / "references.parquet"), "figures": figs,
            "seconds": round(time.perf_counter() - t0, 1)}


if __name__ == "__main__":
    print(main(*sys.argv[1:2]))

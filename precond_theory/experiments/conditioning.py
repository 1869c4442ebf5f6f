r"""Conditioning experiments (the former E06): how normalization changes the Hessian's condition
number, and how adaptive preconditioners change the condition number along runs.

Part A (normalization).  For every input mean x scale spread x depth x variant: kappa of the
Gauss-Newton matrix at the seeded initialization, on the quotient by the scale symmetries
normalization creates (``NormalizedModel.quotient``), beside the closed form
:func:`~precond_theory.normalization.mean_shift_kappa` where it applies.

Part B (adaptive preconditioners).  Batched runs (one start per seed) recording
``kappa_H`` and ``kappa_PHP`` through :func:`precond_theory.conditioning.tracking_metrics` on an
axis-aligned and a rotated quadratic and on least squares with mean-shifted, badly scaled
features; the reference diagonal scalings (Jacobi, row norms, Ruiz, optimal) of the same Hessian
are stored beside them.

Experiments: ``ye_normalization_conditioning`` (part A) and ``ye_preconditioning_conditioning``
(part B); ``precond-theory experiment NAME --size full`` reproduces the full tables.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np

from ._base import Experiment, Result, register
from ._race import combine, paired_verdict, rule_fidelity

YE = "Ye, preconditioning and regularization (arXiv 2410.00232)"

FULL = {
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

    from ..normalization import conditioning_by_variant, make_regression_data, mean_shift_kappa

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
    from ..problems import make_least_squares, make_quadratic

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
    from .. import rules

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


def tracking_table(cfg: dict, advance=None):
    import pandas as pd

    from .. import run
    from .._xp import to_numpy
    from ..conditioning import condition_number, diagonal_scaling, tracking_metrics

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
            if advance:
                advance(c["seeds"])
            for i, k in enumerate(tr.steps):
                for s in range(c["seeds"]):
                    rows.append({"problem": pname, "rule": rname, "seed": s, "step": int(k),
                                 "f_gap": float(tr.metrics["f_gap"][i, s]),
                                 "kappa_H": float(tr.metrics["kappa_H"][i, s]),
                                 "kappa_PHP": float(tr.metrics["kappa_PHP"][i, s]),
                                 "p_spread": float(tr.metrics["precond_spread"][i, s]),
                                 "diverged": bool(tr.diverged[s] >= 0)})
    return pd.DataFrame(rows), pd.DataFrame(refs)



CI = copy.deepcopy(FULL)
CI["normalization"].update(n_samples=256, means=[0.0, 4.0], scale_max=[1.0, 100.0], depths=[0, 1],
                           variants=["raw", "standardize", "batchnorm", "layernorm"])
CI["tracking"].update(steps=100, seeds=3)
CI["tracking"]["seed_methods"] = {"adapgradm": {"lr": 0.3, "curvature": "belief"}}


# ----------------------------------------------------------------------------------- figures
def _plot_normalization(norm):
    from ..plotting import line_style, paper_figure, paper_style

    depths = sorted(norm.depth.unique())
    smax = max(norm.scale_max.unique())
    variants = list(dict.fromkeys(norm.variant))
    with paper_style():
        fig, axes = paper_figure(1, len(depths), width="double", aspect=0.9, squeeze=False, sharey=True)
        for c, depth in enumerate(depths):
            ax = axes[0, c]
            g = norm[(norm.depth == depth) & (norm.scale_max == smax)]
            for v, gv in g.groupby("variant", sort=False):
                gv = gv.sort_values("mean")
                st = line_style(variants.index(v))
                ax.plot(gv["mean"], gv["kappa_quotient"], color=st["color"], ls=st["ls"], marker=st["marker"],
                        lw=1.2, label=v)
            cf = g.dropna(subset=["kappa_closed_form"]).sort_values("mean")
            if len(cf):
                ax.plot(cf["mean"], cf["kappa_closed_form"], color="0.2", ls="none", marker="+", ms=6,
                        label="closed form (raw)")
            ax.set_yscale("log")
            ax.set_title(f"depth {depth}, feature std in [1, {smax:g}]")
            ax.set_xlabel("input mean")
        axes[0, 0].set_ylabel(r"$\kappa$ (Gauss-Newton, quotient)")
        handles, labels = [], []
        for ax in axes[0]:
            for h, lab in zip(*ax.get_legend_handles_labels()):
                if lab not in labels:
                    handles.append(h)
                    labels.append(lab)
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 4))
    return fig


def _plot_tracking(track, refs):
    from ..plotting import line_style, paper_figure, paper_style

    probs = list(dict.fromkeys(track.problem))
    rules_ = list(dict.fromkeys(track.rule))
    # reference scalings: black/grey, four clearly different dash patterns, and labelled on the line
    ref_styles = [("black", (0, (1, 1.5))), ("0.45", (0, (6, 2))), ("black", (0, (4, 1.5, 1, 1.5))),
                  ("0.45", (0, (1, 1, 1, 1, 5, 1)))]
    with paper_style():
        fig, axes = paper_figure(1, len(probs), width="double", aspect=0.95, squeeze=False, sharey=True)
        for c, pname in enumerate(probs):
            ax = axes[0, c]
            g = track[track.problem == pname]
            for rname in rules_:
                gr = g[g.rule == rname]
                med = gr.groupby("step")["kappa_PHP"].median()
                st = line_style(rules_.index(rname), rule_fidelity(rname))
                lab = rname + (" (RECON)" if rule_fidelity(rname) == "RECON" else "")
                ax.plot(med.index + 1, med.values, color=st["color"], ls=st["ls"], marker=st["marker"],
                        markevery=0.2, lw=1.1, label=lab)
            kH = g.groupby("step")["kappa_H"].median()
            ax.plot(kH.index + 1, kH.values, color="black", lw=1.8, label=r"$\kappa(H)$")
            rr = refs[(refs.problem == pname) & (refs.scaling != "none")]
            for j, (_, r) in enumerate(rr.iterrows()):
                col, ls = ref_styles[j % len(ref_styles)]
                ax.axhline(r.kappa, color=col, ls=ls, lw=0.9, label=f"{r.scaling} scaling of H")
                ax.annotate(r.scaling.replace("_", " "), (1.0, r.kappa), xycoords=("axes fraction", "data"),
                            xytext=(-2, 1 + 6 * (j % 2)), textcoords="offset points", ha="right", va="bottom",
                            color=col)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(pname.replace("_", " "))
            ax.set_xlabel("$k + 1$")
        axes[0, 0].set_ylabel(r"$\kappa(P_k^{1/2} H P_k^{1/2})$, median")
        h, lab = axes[0, 0].get_legend_handles_labels()
        fig.legend(h, lab, loc="outside lower center", ncols=4)
    return fig


# ------------------------------------------------------------------------------- experiments
def _run_normalization(p, advance):
    import pandas as pd

    norm = normalization_table({"normalization": p})
    advance(1)
    raw = norm[norm.variant == "raw"].set_index(["mean", "scale_max", "depth"])["kappa_quotient"]
    rows, worse, better, total = [], 0, 0, 0
    for _, r in norm[norm.variant.isin(["standardize", "batchnorm"])].iterrows():
        key = (r["mean"], r["scale_max"], r["depth"])
        if key not in raw.index or (r["mean"] == 0 and r["scale_max"] == 1.0):
            continue  # well-conditioned raw data: nothing to improve
        if not (np.isfinite(raw[key]) and np.isfinite(r["kappa_quotient"])):
            continue  # a singular Gauss-Newton matrix (more parameters than samples): not measurable
        total += 1
        ratio = float(r["kappa_quotient"] / raw[key])
        better += ratio < 1
        worse += ratio > 1.1
        rows.append({"mean": key[0], "scale_max": key[1], "depth": key[2], "variant": r["variant"],
                     "kappa_raw": float(raw[key]), "kappa_normalized": float(r["kappa_quotient"]), "ratio": ratio})
    table = pd.DataFrame(rows)
    if total == 0:
        verdict, reason = "inconclusive", "no badly conditioned cell in the grid"
    elif worse:
        verdict, reason = "violated", f"normalization raised kappa by more than 10% in {worse} of {total} cells"
    elif better == total:
        verdict, reason = "consistent", f"standardization/BatchNorm lowered kappa in all {total} badly conditioned cells"
    else:
        verdict, reason = "inconclusive", f"kappa lowered in {better} of {total} cells, none raised by more than 10%"
    q = table["ratio"] if len(table) else pd.Series([np.nan])
    return Result(figure=_plot_normalization(norm), table=table, verdict=verdict, reason=reason,
                  interval=f"kappa ratio normalized/raw in [{q.min():.3g}, {q.max():.3g}]",
                  measured={"cells": total, "lowered": int(better), "raised_10pct": int(worse)},
                  extra_tables={"normalization": norm})


def _run_tracking(p, advance):
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        track, refs = tracking_table(p, advance)
    last = track[track.step == track.step.max()]
    parts, rows = [], []
    for (pname, rname), g in last.groupby(["problem", "rule"], sort=False):
        g = g.sort_values("seed")
        kphp, kh = g.kappa_PHP.to_numpy(), g.kappa_H.to_numpy()
        rows.append({"problem": pname, "rule": rname, "fidelity": rule_fidelity(rname),
                     "kappa_H": float(np.median(kh)), "kappa_PHP": float(np.median(kphp)),
                     "f_gap": float(g.f_gap.median()), "diverged": int(g.diverged.sum())})
        if pname == "quadratic_rotated" or not (np.isfinite(kphp).all() and len(kphp) >= 2):
            continue  # a diagonal preconditioner cannot be expected to help on a rotated problem
        pv = paired_verdict(kphp, kh, what="kappa at the last step", names=(f"kappa(PHP) {rname}", "kappa(H)"))
        pv["reason"] = f"{pname}: {pv['reason']}"
        parts.append(pv)
    verdict, reason = combine(parts) if parts else ("inconclusive", "no finite runs")
    for _, r in refs.iterrows():
        rows.append({"problem": r.problem, "rule": f"{r.scaling} scaling", "fidelity": "-", "kappa_H": np.nan,
                     "kappa_PHP": float(r.kappa), "f_gap": np.nan, "diverged": 0})
    return Result(figure=_plot_tracking(track, refs), table=pd.DataFrame(rows), verdict=verdict, reason=reason,
                  interval="; ".join(f"[{q['interval'][0]:+.3g}, {q['interval'][1]:+.3g}]" for q in parts),
                  rules={r: rule_fidelity(r) for r in track.rule.unique()}, extra_tables={"tracking": track},
                  measured={"parts": [{k: q[k] for k in ("verdict", "reason", "estimate", "interval")} for q in parts]})


def _tracking_units(p):
    c = p["tracking"]
    return 3 * len({**c["rules"], **c["seed_methods"]}) * c["seeds"]


register(Experiment(
    name="ye_normalization_conditioning", title="Normalization improves the Hessian's conditioning", paper=YE,
    claim="normalization methods accelerate training by improving the conditioning of the Hessian",
    expected="for inputs with a nonzero mean or unequal scales, standardized inputs and BatchNorm give a smaller "
             "condition number (on the quotient by the scale symmetries) than raw inputs, in every cell of the grid",
    setup="regression data (tanh teacher) over input means x feature-scale spreads x depths; kappa of the "
          "Gauss-Newton matrix at the seeded initialization for raw, standardized, BatchNorm, LayerNorm, WeightNorm "
          "models; closed form for linear regression",
    kind="conditioning", fidelity="RECON", sizes={"ci": CI["normalization"], "full": FULL["normalization"]},
    run=_run_normalization, units=lambda p: 1))

register(Experiment(
    name="ye_preconditioning_conditioning", title="Adaptive preconditioners lower the condition number along runs",
    paper=YE,
    claim="AdaGrad, RMSProp and Adam accelerate gradient descent by preconditioning: the preconditioned Hessian "
          "P^1/2 H P^1/2 is better conditioned than H",
    expected="at the end of each run kappa(P^1/2 H P^1/2) < kappa(H) on the axis-aligned quadratic and on "
             "least squares with badly scaled features (the rotated quadratic is shown, not judged)",
    setup="kappa(H) and kappa(P_k^1/2 H P_k^1/2) recorded along batched runs from seeded starts on three problems; "
          "reference diagonal scalings (Jacobi, row norm, Ruiz, optimal) of the same H",
    kind="conditioning", fidelity="RECON", sizes={"ci": CI, "full": FULL}, run=_run_tracking,
    units=_tracking_units))

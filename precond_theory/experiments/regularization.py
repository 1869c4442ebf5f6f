r"""Regularization under preconditioning (the former E07) on ill-conditioned least squares.

Where weight decay and other penalties sit relative to the preconditioner: coupled L2 in p,
decoupled / intrinsic-variable L2 in z, L1 in p or z, gradient norm in p or z; for Adam, AdaGrad,
RMSProp, the seed methods with a preconditioner, and a frozen (Jacobi) preconditioner whose fixed
points are known in closed form.  One batched run per rule and kind covers the lambda grid.
Each final iterate is compared with the coupled-L2 closed form (``ridge``), the same kind's
closed form with the frozen Jacobi preconditioner (``frozen``), with the run's own final
preconditioner (``self``), and the EMA fixed point (``ema``; Adam, RMSProp, AdamRAG).

Experiment ``ye_regularization``; ``precond-theory experiment ye_regularization --size full``.
"""

from __future__ import annotations

import copy
import time
import warnings

import numpy as np

from ._base import Experiment, Result, register
from ._race import rule_fidelity

YE = "Ye, preconditioning and regularization (arXiv 2410.00232)"

FULL = {
    # least squares, features with geometric scales (ill-conditioned) and equicorrelation
    "data": {"n_train": 60, "n_test": 2000, "dim": 20, "scale_max": 30.0, "corr": 0.5, "noise": 6.0, "seed": 0},
    # one lambda grid for every kind; decoupled / z kinds decay by lr*lambda per step, so they need
    # lr*lambda < 2 (early in the cosine schedule): runs that break this are reported as diverged
    "lams": np.logspace(-4, 0.5, 10).tolist(),
    "steps": 4000,
    "kinds": ["none", "l2_p", "decoupled", "l2_z", "l1_p_prox", "l1_z_prox", "gradnorm_p", "gradnorm_z"],
    # adaptive rules run under a cosine schedule to lr -> 0, so that they settle at their fixed points;
    # lrs picked from a coarse scan of the unregularized problem (3000 steps, f-gap < 1e-2 where possible)
    "rules": {
        "adam": {"lr": 0.1, "b2": 0.99},
        "rmsprop": {"lr": 0.01, "alpha": 0.9},
        "adagrad": {"lr": 0.5},
    },
    # seed methods, used when registered and has_preconditioner (same schedule); AdapGradm/HAdapGradm
    # with the AdaBelief-type curvature estimate (their default Apollo estimate needs h0 ~ L and
    # HAdapGradm's default final SGD rate 0.1 exceeds 2/L here); SOAA needs lr ~ 10 on this problem
    "seed_methods": {"adamrag": {"lr": 0.003, "b2": 0.99}, "soaa": {"lr": 10.0},
                     "adapgradm": {"lr": 0.1, "curvature": "belief"},
                     "hadapgradm": {"lr": 0.1, "curvature": "belief", "final_lr": 5e-4},
                     "adarem": {"lr": 0.05}},
    "ema_rules": ["adam", "rmsprop", "adamrag"],  # EMA-of-g^2 preconditioners: ema_fixed_point applies
    "eps": 1e-8,  # eps of Adam/RMSProp/AdamRAG (their defaults)
    "path_rules": ["frozen", "adam", "adagrad"],  # rules shown in the solution-path figure
    "pairs": [["l2_p", "decoupled"], ["decoupled", "l2_z"], ["l1_p_prox", "l1_z_prox"], ["l2_p", "l1_p_prox"],
              ["none", "gradnorm_p"], ["gradnorm_p", "gradnorm_z"]],
}


def make_data(cfg: dict):
    """Train problem (LeastSquares), test arrays, and the host quadratic (A, b) of the train loss."""
    from ..problems.finite_sum import LeastSquares, make_least_squares

    d = cfg["data"]
    n, m = d["dim"], d["n_train"]
    full = make_least_squares(m + d["n_test"], n, scale=np.geomspace(1.0, d["scale_max"], n), corr=d["corr"],
                              noise=d["noise"], seed=d["seed"])
    Z, y = np.asarray(full.A), np.asarray(full.b)
    Ztr, ytr, Zte, yte = Z[:m], y[:m], Z[m:], y[m:]
    A = Ztr.T @ Ztr / m
    b = Ztr.T @ ytr / m
    x_ls = np.linalg.solve(A, b)
    r = Ztr @ x_ls - ytr
    eigs = np.linalg.eigvalsh(A)
    prob = LeastSquares(A=Ztr, b=ytr, x_star=x_ls, f_star=float(r @ r / (2 * m)), L=float(eigs[-1]),
                        mu=float(eigs[0]), eigs=eigs, name="least_squares_train",
                        params={"n_samples": m, "dim": n, "scale_max": d["scale_max"], "corr": d["corr"],
                                "noise": d["noise"], "seed": d["seed"]})
    return prob, (Zte, yte), A, b, x_ls


def _rules(cfg: dict):
    from .. import rules

    out = {}
    for name, hp in cfg["rules"].items():
        out[name] = hp
    skipped = {}
    for name, hp in cfg["seed_methods"].items():
        if name not in rules.available():
            skipped[name] = "not registered"
        elif not rules.get(name).has_preconditioner:
            skipped[name] = "no preconditioner"
        else:
            out[name] = hp
    return out, skipped


def _frozen_lr(kind: str, A, b, lams, Mj) -> np.ndarray:
    """Step 1/k_max of the effective preconditioned Hessian, per lambda (shape (n_lam, 1))."""
    from .. import regularization as R

    out = []
    s = np.sqrt(Mj)
    for lam in lams:
        K = R.effective_objective(kind if kind in R.QUADRATIC_KINDS else "none", A, b=b, lam=lam, M=Mj, lr=1.0).hessian
        out.append(1.0 / np.linalg.eigvalsh(s[:, None] * K * s[None, :])[-1])
    return np.asarray(out)[:, None]


def _metrics(n: int, Zte: np.ndarray, yte: np.ndarray):
    def test_mse(x, state, rule, problem):
        r = x @ Zte.T - yte
        return (r * r).mean(axis=-1) / 2

    out = {"test_loss": test_mse}
    for i in range(n):
        out[f"M_{i}"] = (lambda x, state, rule, problem, i=i:
                         np.broadcast_to(rule.preconditioner(state), x.shape)[..., i])
    return out


def run_all(cfg: dict, advance=None) -> tuple[list[dict], dict]:
    from .. import DivergenceWarning, regularization as R, rules, run

    prob, (Zte, yte), A, b, x_ls = make_data(cfg)
    n = A.shape[0]
    lams = np.asarray(cfg["lams"], dtype=float)
    lam_arr = lams[:, None]
    T = int(cfg["steps"])
    Mj = 1.0 / np.diag(A)  # Jacobi: the frozen reference preconditioner
    metrics = _metrics(n, Zte, yte)
    rule_hps, skipped = _rules(cfg)
    rows: list[dict] = []
    ridge = {lam: R.fixed_point("l2_p", A, b=b, lam=lam) for lam in lams}
    scale = np.abs(x_ls).max()
    info = {"skipped": skipped, "kappa_A": float(np.linalg.cond(A)),
            "kappa_jacobi": float(np.linalg.cond(np.sqrt(Mj)[:, None] * A * np.sqrt(Mj)[None, :])),
            "x_ls_inf": float(scale), "timing_s": {}}
    plan = [("frozen", None)] + list(rule_hps.items())
    for rname, hp in plan:
        t0 = time.perf_counter()
        for kind in cfg["kinds"]:
            if rname == "frozen":
                lr = _frozen_lr(kind, A, b, lams, Mj)
                base = rules.make("preconditioned", lr=lr, diag=Mj)
            else:
                base = rules.with_schedule(rules.make(rname, **hp), "cosine", total_steps=T)
            rule = R.regularize(base, kind, lam_arr, problem=prob)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", DivergenceWarning)
                tr = run(rule, prob, steps=T, record=[T], metrics=metrics, batch=(len(lams),))
            div = [str(w.message) for w in caught if issubclass(w.category, DivergenceWarning)]
            X = tr.x_final.reshape(len(lams), n)
            Mfin = np.stack([tr.metrics[f"M_{i}"][-1] for i in range(n)], axis=-1).reshape(len(lams), n)
            for j, lam in enumerate(lams):
                x = X[j]
                row = {"rule": rname, "kind": kind, "lam": float(lam), "steps": T,
                       "diverged": int(np.asarray(tr.diverged).reshape(-1)[j]),
                       "train_loss": float(tr.metrics["f"][-1].reshape(-1)[j]),
                       "test_loss": float(tr.metrics["test_loss"][-1].reshape(-1)[j]),
                       "norm2": float(np.linalg.norm(x)), "norminf": float(np.abs(x).max())}
                row["dist_ridge"] = float(np.abs(x - ridge[lam]).max() / scale)
                lr_j = float(lr[j, 0]) if rname == "frozen" else None
                row["dist_frozen"] = float(np.abs(x - R.fixed_point(kind, A, b=b, lam=lam, M=Mj)).max() / scale)
                if rname == "frozen":
                    row["rate_frozen"] = R.linear_rate(kind, A, lam=lam, M=Mj, lr=lr_j)
                if np.all(np.isfinite(Mfin[j])) and np.all(Mfin[j] > 0) and np.all(np.isfinite(x)):
                    try:
                        fp_self = R.fixed_point(kind, A, b=b, lam=lam, M=Mfin[j])
                        row["dist_self"] = float(np.abs(x - fp_self).max() / scale)
                    except (ValueError, RuntimeError, np.linalg.LinAlgError):
                        row["dist_self"] = np.nan
                if rname in cfg["ema_rules"] and lam > 0:
                    fp_ema = R.ema_fixed_point(kind, A, b=b, lam=lam, eps=cfg["eps"])
                    row["dist_ema"] = float(np.abs(x - fp_ema).max() / scale)
                row["M_spread"] = float(Mfin[j].max() / Mfin[j].min()) if np.all(Mfin[j] > 0) else np.nan
                row["M_median"] = float(np.median(Mfin[j]))
                row.update({f"x_{i}": float(x[i]) for i in range(n)})
                row["divergence_warning"] = "; ".join(div)
                rows.append(row)
            if advance:
                advance(len(lams))
        info["timing_s"][rname] = round(time.perf_counter() - t0, 2)
    return rows, info


def summarize(df, cfg: dict):
    import pandas as pd

    n = cfg["data"]["dim"]
    xcols = [f"x_{i}" for i in range(n)]
    agree = []
    for rname, g in df.groupby("rule", sort=False):
        for k1, k2 in cfg["pairs"]:
            a = g[g.kind == k1].set_index("lam")[xcols]
            c = g[g.kind == k2].set_index("lam")[xcols]
            if a.empty or c.empty:
                continue
            ref = np.maximum(np.abs(a.values).max(axis=1), np.abs(c.values).max(axis=1))
            d = np.abs(a.values - c.values).max(axis=1) / np.maximum(ref, 1e-300)
            jmax = int(np.nanargmax(d)) if np.isfinite(d).any() else 0
            agree.append({"rule": rname, "pair": f"{k1} vs {k2}", "rel_dist_at_min_lam": d[0],
                          "max_rel_dist": d[jmax], "lam_at_max": a.index[jmax], "rel_dist_at_max_lam": d[-1]})
    pred = []
    for (rname, kind), g in df.groupby(["rule", "kind"], sort=False):
        rec = {"rule": rname, "kind": kind}
        for col in ("dist_ridge", "dist_frozen", "dist_self", "dist_ema"):
            if col in g and g[col].notna().any():
                rec[f"max_{col}"] = g[col].max()
        pred.append(rec)
    best = []
    for (rname, kind), g in df.groupby(["rule", "kind"], sort=False):
        if g.test_loss.notna().sum() == 0:
            continue
        j = g.test_loss.idxmin()
        best.append({"rule": rname, "kind": kind, "best_test_loss": g.test_loss[j],
                     "lam_best": g.lam[j] if kind != "none" else np.nan,
                     "train_loss_at_best": g.train_loss[j], "test_loss_min_lam": g.test_loss.iloc[0]})
    return pd.DataFrame(agree), pd.DataFrame(pred), pd.DataFrame(best)


CI = copy.deepcopy(FULL)
CI.update(lams=np.logspace(-3, 0, 4).tolist(), steps=1500, kinds=["none", "l2_p", "decoupled", "l2_z"],
          rules={"adam": FULL["rules"]["adam"]}, seed_methods={}, path_rules=["frozen", "adam"],
          pairs=[["l2_p", "decoupled"], ["decoupled", "l2_z"]])

#: Regularization kinds drawn in the solution-path figure (those present in the run).
_PATH_KINDS = ("l2_p", "decoupled", "l1_p_prox", "l1_z_prox")


def _plot_errors(df, rule: str):
    from ..plotting import line_style, paper_figure, paper_style

    with paper_style():
        fig, axes = paper_figure(1, 2, width="double", aspect=0.75, squeeze=False, sharex=True)
        g0 = df[df.rule == rule]
        kinds = list(dict.fromkeys(g0.kind))
        for i, kind in enumerate(kinds):
            g = g0[g0.kind == kind].sort_values("lam")
            st = line_style(i)
            for ax, col in zip(axes[0], ("train_loss", "test_loss")):
                ax.plot(g.lam, g[col], color=st["color"], ls=st["ls"], marker=st["marker"], lw=1.1,
                        label=kind.replace("_", " "))
        for ax, lab in zip(axes[0], ("training loss", "held-out loss")):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel(r"$\lambda$")
            ax.set_ylabel(lab)
            ax.set_title(f"{rule}: {lab}")
        h, lab = axes[0, 0].get_legend_handles_labels()
        fig.legend(h, lab, loc="outside lower center", ncols=4, title="regularization kind")
    return fig


def _plot_paths(df, rule: str, dim: int):
    from matplotlib import colormaps

    from ..plotting import paper_figure, paper_style

    kinds = [k for k in _PATH_KINDS if k in set(df.kind)]
    cmap = colormaps["cividis"]
    with paper_style():
        fig, axes = paper_figure(1, len(kinds), width="double", aspect=0.9, squeeze=False, sharey=True)
        for ax, kind in zip(axes[0], kinds):
            g = df[(df.rule == rule) & (df.kind == kind)].sort_values("lam")
            for i in range(dim):
                ax.plot(g.lam, g[f"x_{i}"], color=cmap(i / max(dim - 1, 1)), lw=0.9)
            ax.set_xscale("log")
            ax.set_xlabel(r"$\lambda$")
            ax.set_title(f"{rule}: {kind.replace('_', ' ')}")
        axes[0, 0].set_ylabel(r"final coefficient $x_i$")
        import matplotlib as mpl

        sm = mpl.cm.ScalarMappable(cmap=cmap, norm=mpl.colors.Normalize(0, dim - 1))
        fig.colorbar(sm, ax=axes[0].tolist(), label="feature $i$ (feature scale grows with $i$)", pad=0.01)
    return fig


def _run(p, advance):
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rows, info = run_all(p, advance)
    df = pd.DataFrame(rows)
    agree, pred, best = summarize(df, p)
    # (a) the closed forms predict the frozen-preconditioner runs, where those runs have converged
    fz = df[(df.rule == "frozen") & df.rate_frozen.notna()]
    conv = fz[(fz.rate_frozen ** p["steps"] < 1e-10) & (fz.diverged < 0)]
    pred_err = float(conv.dist_frozen.max()) if len(conv) else float("nan")
    # (b) the choice of variables changes the solution of an adaptive rule
    adaptive = agree[(agree.rule != "frozen") & (agree.pair == "l2_p vs decoupled")]
    split = float(adaptive.max_rel_dist.max()) if len(adaptive) else float("nan")
    if not len(conv) or not np.isfinite(split):
        verdict, reason = "inconclusive", "no converged frozen run or no adaptive run to compare"
    elif pred_err > 1e-6:
        verdict, reason = "violated", f"the closed-form fixed points miss the frozen runs by {pred_err:.3g} (relative)"
    elif split < 1e-3:
        verdict, reason = "violated", f"coupled and decoupled L2 give the same solution (max distance {split:.3g})"
    else:
        verdict = "consistent"
        reason = (f"closed forms predict the {len(conv)} converged frozen-preconditioner runs to {pred_err:.2g} "
                  f"(relative); coupled L2 and decoupled weight decay part by up to {split:.3g} (relative) for "
                  f"{', '.join(adaptive.rule)}")
    rule = "adam" if "adam" in set(df.rule) else [r for r in df.rule.unique() if r != "frozen"][0]
    xcols = [c for c in df.columns if c.startswith("x_")]
    return Result(
        figure=_plot_errors(df, rule), table=best, verdict=verdict, reason=reason,
        interval=f"closed-form error <= {pred_err:.3g}; coupled vs decoupled distance {split:.3g}",
        measured={"closed_form_error": pred_err, "coupled_vs_decoupled": split, "kappa_A": info["kappa_A"],
                  "kappa_jacobi": info["kappa_jacobi"], "skipped": info["skipped"]},
        rules={r: rule_fidelity(r) for r in df.rule.unique() if r != "frozen"} | {"preconditioned": "RECON"},
        extra_figures={"solution_path": _plot_paths(df, rule, len(xcols))},
        extra_tables={"agreement": agree, "predictions": pred, "runs": df.drop(columns=["divergence_warning"])})


def _units(p):
    return (1 + len(p["rules"]) + len(p["seed_methods"])) * len(p["kinds"]) * len(p["lams"])


register(Experiment(
    name="ye_regularization", title="Where the penalty sits under preconditioning changes the solution", paper=YE,
    claim="with a preconditioner, regularization has to be combined with care: penalizing the original variables "
          "p, decoupled decay, or the preconditioned variables z are different methods, and the right choice "
          "follows from the theory of preconditioning (including for gradient-norm regularization)",
    expected="each frozen-preconditioner run ends at its kind's closed-form fixed point (to 1e-6), and for "
             "adaptive rules coupled L2 and decoupled weight decay give visibly different solutions",
    setup="least squares, 60 samples x 20 features with geometric scales (std 1 to 30), correlation 0.5, noise 6, "
          "2000 held-out samples; a lambda grid per kind, one batched run per rule and kind, cosine schedule for "
          "adaptive rules, a frozen Jacobi preconditioner at step 1/k_max",
    kind="regularization", fidelity="RECON", sizes={"ci": CI, "full": FULL}, run=_run, units=_units))

r"""E07: regularization under preconditioning on ill-conditioned least squares.

Question (Ye 2024 §5; docs/spec/ye_preconditioning.md): where weight decay and other penalties sit relative to
the preconditioner — coupled L2 in p, decoupled / intrinsic-variable L2 in z, L1 in p or z,
gradient-norm in p or z — how much does the choice change the solution, the train error and the
test error, for Adam, AdaGrad, RMSProp, the seed methods that have a preconditioner, and a
frozen (Jacobi) preconditioner for which every fixed point is known in closed form?

For each rule and each regularization kind one batched run covers the whole lambda grid
(lambda is an array hyperparameter of shape ``(n_lam, 1)``).  Each final iterate is compared with

* ``ridge``: the coupled-L2 closed form :math:`(A+\lambda I)^{-1}b`;
* ``frozen``: the closed form of the same kind with the frozen Jacobi preconditioner
  (:func:`precond_theory.regularization.fixed_point`);
* ``self``: the closed form of the same kind with the run's *own final* preconditioner M_T
  (a run at a fixed point of the adaptive iteration is a fixed point of the frozen one with M_T);
* ``ema``: :func:`precond_theory.regularization.ema_fixed_point` (Adam, RMSProp, AdamRAG: the
  fixed point with M set by the fixed point itself).

Outputs under ``out_dir`` (default ``results/e07_regularization``): ``runs.parquet`` (one row per
rule x kind x lambda: errors, norms, distances, the solution vector), ``agreement.csv`` (how far
the choices part, per rule and pair of kinds), ``predictions.csv`` (how well each closed form
predicts each run), ``best.csv`` (best test error per rule and kind), and figures
``error_vs_lambda.png``, ``solution_path.png``, ``shrinkage.png``.

Run: ``python experiments/e07_regularization.py [out_dir]``.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

CONFIG = {
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
    from precond_theory.problems.finite_sum import LeastSquares, make_least_squares

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
    from precond_theory import rules

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
    from precond_theory import regularization as R

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


def run_all(cfg: dict) -> tuple[list[dict], dict]:
    from precond_theory import DivergenceWarning, regularization as R, rules, run

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


def plot(df, cfg: dict, out: Path, A: np.ndarray) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from precond_theory import regularization as R

    paths = []
    rules_ = list(dict.fromkeys(df.rule))
    kinds = cfg["kinds"]
    fig, axes = plt.subplots(2, len(rules_), figsize=(3.0 * len(rules_), 5.6), sharex=True, squeeze=False)
    for c, rname in enumerate(rules_):
        for kind in kinds:
            g = df[(df.rule == rname) & (df.kind == kind)].sort_values("lam")
            ls = "--" if kind in ("l2_z", "gradnorm_z", "l1_z_prox") else "-"
            axes[0, c].loglog(g.lam, g.train_loss, ls, label=kind)
            axes[1, c].loglog(g.lam, g.test_loss, ls, label=kind)
        axes[0, c].set_title(rname)
        axes[1, c].set_xlabel("lambda")
    axes[0, 0].set_ylabel("train loss")
    axes[1, 0].set_ylabel("test loss")
    axes[1, -1].legend(fontsize=6)
    fig.tight_layout()
    p = out / "error_vs_lambda.png"
    fig.savefig(p, dpi=120)
    plt.close(fig)
    paths.append(str(p))

    n = cfg["data"]["dim"]
    prules = [r for r in cfg["path_rules"] if r in rules_]
    show = ["l2_p", "decoupled", "l1_p_prox", "l1_z_prox"]
    fig, axes = plt.subplots(len(prules), len(show), figsize=(3.0 * len(show), 2.6 * len(prules)), sharex=True,
                             squeeze=False)
    for r_, rname in enumerate(prules):
        for c, kind in enumerate(show):
            g = df[(df.rule == rname) & (df.kind == kind)].sort_values("lam")
            for i in range(n):
                axes[r_, c].semilogx(g.lam, g[f"x_{i}"], lw=0.8)
            axes[r_, c].set_title(f"{rname}: {kind}", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("lambda")
    fig.tight_layout()
    p = out / "solution_path.png"
    fig.savefig(p, dpi=120)
    plt.close(fig)
    paths.append(str(p))

    Mj = 1.0 / np.diag(A)
    fig, ax = plt.subplots(figsize=(5.0, 3.4))
    for lam, mk in ((0.01, "o"), (1.0, "s")):
        for kind, col in (("l2_p", "C0"), ("decoupled", "C1")):
            sh = R.shrinkage(kind, A, lam=lam, M=Mj)
            ax.plot(np.arange(1, n + 1), np.sort(sh.factors)[::-1], mk + "-", color=col, ms=3, lw=0.8,
                    label=f"{kind}, lambda = {lam:g}")
    ax.set_xlabel("direction, by decreasing factor")
    ax.set_ylabel("shrinkage factor k/(k + lambda)")
    ax.set_title("coupled: eigvecs of A; decoupled: of M^1/2 A M^1/2 (M = Jacobi)", fontsize=7)
    ax.legend(fontsize=6)
    fig.tight_layout()
    p = out / "shrinkage.png"
    fig.savefig(p, dpi=120)
    plt.close(fig)
    paths.append(str(p))
    return paths


def main(out_dir: str | Path = "results/e07_regularization", config: dict | None = None) -> dict:
    """Run E07 and write its tables and figures under ``out_dir``; returns paths and summaries."""
    import pandas as pd

    from precond_theory.trace import write_parquet_atomic

    cfg = CONFIG if config is None else config
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rows, info = run_all(cfg)
    df = pd.DataFrame(rows)
    write_parquet_atomic(df, out / "runs.parquet")
    agree, pred, best = summarize(df, cfg)
    agree.to_csv(out / "agreement.csv", index=False)
    pred.to_csv(out / "predictions.csv", index=False)
    best.to_csv(out / "best.csv", index=False)
    _, _, A, _, _ = make_data(cfg)
    figs = plot(df, cfg, out, A)
    info["total_s"] = round(time.perf_counter() - t0, 1)
    (out / "info.json").write_text(json.dumps({"config": cfg, **info}, indent=1, default=float))
    with pd.option_context("display.width", 200, "display.max_rows", 200, "display.precision", 3):
        print(f"kappa(A) = {info['kappa_A']:.3g}, kappa(Jacobi-preconditioned) = {info['kappa_jacobi']:.3g}; "
              f"skipped: {info['skipped']}; time {info['total_s']} s")
        print("\nWhere the choices part (relative max-norm distance between final iterates):")
        print(agree.to_string(index=False))
        print("\nHow well each closed form predicts each run (max over lambda, relative to |x_ls|_inf):")
        print(pred.to_string(index=False))
        print("\nBest test loss per rule and kind:")
        print(best.to_string(index=False))
    return {"runs": str(out / "runs.parquet"), "figures": figs, "agreement": agree, "predictions": pred,
            "best": best, "info": info}


if __name__ == "__main__":
    main(*(sys.argv[1:2] or []))

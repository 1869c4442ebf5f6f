"""Comparison experiments: a method against baselines on controlled problems, each at its own
best learning rate from a grid, paired over seeded starts.

Criteria (what "better" means in the claim):

``steps``        steps until the metric falls to ``target`` x its initial median (fewer is better);
``final``        the metric after the last step (smaller is better);
``test``         held-out loss after the last step, learning rate tuned on the training loss;
``oscillation``  fraction of coordinates whose update changes sign from one step to the next;
``stable``       how many learning rates of the grid give a run that neither diverges nor ends
                 above its start (more is better);
``robust``       how many learning rates end within a factor 10 of the best final value any
                 rule reaches from that start (more is better).

Adaptive and sign-based rules share one learning-rate grid; gradient-scaled rules (SGD, heavy
ball, Nesterov, AdaRem) use the grid times 10/L when the problem knows its smoothness L.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._base import Experiment, Result, register
from ._race import best_lr, combine, lr_sweep, paired_verdict, rule_fidelity, starts, steps_to_target, summarize

__all__ = ["comparison", "CRITERIA", "build_problem"]

CRITERIA = {"steps": ("steps to target", True, "smaller"), "final": ("final value", True, "smaller"),
            "test": ("held-out loss", True, "smaller"), "oscillation": ("update sign-flip fraction", False, "smaller"),
            "stable": ("number of stable learning rates", False, "larger"),
            "robust": ("number of near-best learning rates", False, "larger")}


def build_problem(spec: dict[str, Any]) -> tuple[Any, Any]:
    """The problem of ``spec`` and, with ``test = n_test``, held-out data ``(Z, y)``.

    ``{"name": "least_squares_split", n_train, n_test, dim, scale_max, corr, noise, seed}``
    builds least squares on the first n_train rows of one synthetic data set and keeps the
    remaining rows as the test set.
    """
    from .. import problems

    spec = dict(spec)
    name = spec.pop("name")
    for k in ("start", "start_scale", "metric", "target", "target_abs"):
        spec.pop(k, None)
    if name != "least_squares_split":
        return problems.make(name, **spec), None
    from ..problems.finite_sum import LeastSquares, make_least_squares

    m, n = int(spec["n_train"]), int(spec["dim"])
    full = make_least_squares(m + int(spec["n_test"]), n, scale=np.geomspace(1.0, spec["scale_max"], n).tolist(),
                              corr=spec["corr"], noise=spec["noise"], seed=spec["seed"])
    Z, y = np.asarray(full.A), np.asarray(full.b)
    A = Z[:m].T @ Z[:m] / m
    x_ls = np.linalg.solve(A, Z[:m].T @ y[:m] / m)
    r = Z[:m] @ x_ls - y[:m]
    eigs = np.linalg.eigvalsh(A)
    prob = LeastSquares(A=Z[:m], b=y[:m], x_star=x_ls, f_star=float(r @ r / (2 * m)), L=float(eigs[-1]),
                        mu=float(eigs[0]), eigs=eigs, name="least_squares_train", params=dict(spec))
    return prob, (Z[m:], y[m:])


def _starts(problem: Any, spec: dict[str, Any], seeds: int) -> np.ndarray:
    scale = float(spec.get("start_scale", 1.0))
    if spec.get("start") == "saddle":
        pts = [p for p in problem.stationary_points if p.kind == "saddle"]
        if not pts:
            raise ValueError(f"start='saddle': problem {problem.name!r} lists no saddle among its stationary points")
        # seed s starts near saddle s mod (number of saddles): every saddle is a start
        return np.stack([np.asarray(pts[s % len(pts)].x, dtype=float)
                         + scale * np.random.default_rng(s).standard_normal(problem.dim) for s in range(seeds)])
    return starts(problem, seeds, scale)


#: Rules whose step is not normalized by gradient magnitudes: their grid is scaled by 10/L.
_GRADIENT_SCALED = ("sgd", "heavy_ball", "nesterov", "ravine", "adarem")


def _grid(name: str, problem: Any, lrs: list[float]) -> list[float]:
    """The learning-rate grid of rule ``name``: as given for adaptive and sign-based rules (whose
    steps do not scale with the gradient), times 10/L for gradient-scaled rules when the problem
    knows its smoothness L (so the grid covers the stable range lr < 2/L)."""
    L = getattr(problem, "L", None)
    if name in _GRADIENT_SCALED and L is not None and np.isfinite(float(L)) and float(L) > 0:
        return [float(v) * 10.0 / float(L) for v in lrs]
    return [float(v) for v in lrs]


def _flip_fraction(iterates: np.ndarray) -> np.ndarray:
    """Per run: fraction of (step, coordinate) pairs whose update changes sign."""
    dx = np.diff(iterates, axis=0)  # (T, *batch, n)
    s = np.sign(dx)
    flips = (s[1:] * s[:-1]) < 0
    valid = (s[1:] != 0) & (s[:-1] != 0)
    with np.errstate(invalid="ignore"):
        return flips.sum(axis=(0, -1)) / np.maximum(valid.sum(axis=(0, -1)), 1)


def _per_problem(spec: dict[str, Any], rules_: dict[str, dict[str, Any]], p: dict[str, Any], criterion: str,
                 advance: Callable[[int], None]) -> dict[str, Any]:
    import pandas as pd

    problem, test = build_problem(spec)
    S, steps = int(p["seeds"]), int(p["steps"])
    x0 = _starts(problem, spec, S)
    metric = spec.get("metric") or ("f_gap" if problem.f_star is not None else "grad_norm_sq")
    frames, traces, grids = [], {}, {}
    for i, (name, hps) in enumerate(rules_.items()):
        keep = criterion == "oscillation"
        lrs = grids[name] = _grid(name, problem, p["lrs"])
        f, tr = lr_sweep(name, problem, lrs, x0, steps=steps, record="all" if keep else "log", hps=hps,
                         keep_iterates=keep, advance=advance, rule_index=i)
        frames.append(f)
        traces[name] = tr
    table = pd.concat(frames, ignore_index=True)
    summ = summarize(table, metric)
    col = f"objective_{metric}"
    per_rule, tuned_rows = {}, []
    for i, name in enumerate(rules_):
        lr_b = best_lr(summ, i)
        g = summ[(summ.rule_index == i) & (summ.lr == lr_b)].sort_values("seed")
        tuned = table[(table.rule_index == i) & (table.p_solver_lr == lr_b)]
        tuned_rows.append(tuned)
        j = grids[name].index(lr_b)
        if criterion == "steps":
            wide = tuned.pivot_table(index="stop_val", columns="seed", values=col, aggfunc="first", dropna=False)
            y0 = float(np.median(summ[summ.rule_index == 0].groupby("seed")["first"].first()))
            target = spec["target_abs"] if "target_abs" in spec else float(spec.get("target", 1e-6)) * y0
            first = summ["first"].to_numpy(float)
            if np.any(first <= target):  # steps to target would be 0: the criterion could not tell rules apart
                raise ValueError(f"problem {spec['name']!r}: the target {target:g} of {metric} is met at the start by "
                                 f"{int(np.sum(first <= target))} of {first.size} runs (smallest value at step 0: "
                                 f"{float(np.min(first)):g}); choose a target below every start")
            val = steps_to_target(wide.index.to_numpy(float), wide.to_numpy(float), target, cap=steps + 1)
        elif criterion == "final":
            val = g["final"].to_numpy()
        elif criterion == "test":
            Zt, yt = test
            xf = np.asarray(traces[name].x_final)[j]  # (S, n)
            r = xf @ Zt.T - yt
            val = np.where(np.isfinite(r).all(axis=1), (r * r).mean(axis=1) / 2, np.inf)
        elif criterion == "oscillation":
            val = _flip_fraction(np.asarray(traces[name].iterates)[:, j])
        else:
            val = None
        per_rule[name] = {"lr": lr_b, "value": val, "g": g}
    if criterion in ("stable", "robust"):
        best_any = summ.groupby("seed")["final"].min()
        for i, name in enumerate(rules_):
            g = summ[summ.rule_index == i]
            if criterion == "stable":
                ok = (g.diverged_at < 0) & (g.final < g["first"])
            else:
                ok = g.final <= 10 * g.seed.map(best_any)
            per_rule[name]["value"] = g.assign(ok=ok).groupby("seed")["ok"].sum().sort_index().to_numpy(float)
    return {"problem": problem, "metric": metric, "summary": summ, "per_rule": per_rule,
            "tuned": pd.concat(tuned_rows, ignore_index=True), "target": spec.get("target")}


def _censored(criterion: str, p: dict[str, Any], a_name: str, b_name: str, a: Any, b: Any) -> str:
    """For steps to a target: how many seeds of each rule never reached it (counted as the horizon
    plus one, so a ratio involving them is a bound, and two such runs compare as equal)."""
    if criterion != "steps":
        return ""
    cap = int(p["steps"]) + 1
    na, nb = int(np.sum(np.asarray(a) >= cap)), int(np.sum(np.asarray(b) >= cap))
    if not (na or nb):
        return ""
    n = len(a)
    return (f"; target not reached within {cap - 1} steps by {a_name} in {na}/{n} and by {b_name} in {nb}/{n} "
            f"seeds (counted as {cap} steps: censored)")


def _figure(results: list[dict[str, Any]], criterion: str, fid: dict[str, str]) -> Any:
    from ..plotting import paper_figure, paper_style, plot_convergence, plot_sensitivity

    n = len(results)
    with paper_style():
        fig, axes = paper_figure(1, n, width="single" if n == 1 else "double", aspect=0.8, squeeze=False)
        for ax, res in zip(axes[0], results):
            title = res["problem"].name
            if criterion in ("stable", "robust"):
                plot_sensitivity(res["summary"], metric=res["metric"], ax=ax, fidelity=fid, title=title)
            else:
                plot_convergence(res["tuned"], metric=res["metric"], by="rule_index", group_by=[], ax=ax, title=title)
        for ax in axes[0][1:]:
            if ax.get_legend():
                ax.get_legend().remove()
    return fig


def comparison(name: str, *, title: str, paper: str, claim: str, expected: str, subject: str,
               baselines: list[str], criterion: str, problems: list[dict[str, Any]],
               rules: dict[str, dict[str, Any]] | None = None, sizes: dict[str, dict[str, Any]],
               kind: str = "comparison") -> Experiment:
    """Register an experiment comparing ``subject`` with each of ``baselines`` by ``criterion``
    on each of ``problems``; sizes give ``steps``, ``seeds`` and ``lrs``.  The experiment's fidelity
    label is the subject rule's own (``rules.get(subject).fidelity``)."""
    what, use_log, better = CRITERIA[criterion]
    rules_ = {r: dict((rules or {}).get(r, {})) for r in [subject, *baselines]}
    prob_text = "; ".join(", ".join(f"{k}={v}" for k, v in s.items()) for s in problems)
    setup = (f"{subject} vs {', '.join(baselines)}, each at its best learning rate of its grid (smallest median "
             f"final metric), paired over seeded starts; criterion: {what}; problems: {prob_text}")

    def units(p: dict[str, Any]) -> int:
        return len(problems) * len(rules_) * len(p["lrs"]) * int(p["seeds"])

    def run(p: dict[str, Any], advance: Callable[[int], None]) -> Result:
        import pandas as pd

        results = [_per_problem(spec, rules_, p, criterion, advance) for spec in problems]
        parts, rows = [], []
        for res in results:
            pr = res["per_rule"]
            for b in baselines:
                a_val, b_val = pr[subject]["value"], pr[b]["value"]
                if use_log:
                    a_val, b_val = np.maximum(a_val, 1e-300), np.maximum(b_val, 1e-300)
                if use_log and not (np.isfinite(a_val).all() and np.isfinite(b_val).all()):
                    ok = np.isfinite(a_val) & np.isfinite(b_val)
                    if (~np.isfinite(a_val)).all() and np.isfinite(b_val).all():
                        parts.append({"verdict": "violated", "reason": f"{subject} diverged at its best lr on "
                                      f"{res['problem'].name}, {b} did not", "interval": [np.nan, np.nan]})
                        continue
                    a_val, b_val = a_val[ok], b_val[ok]
                    if a_val.size < 2:
                        parts.append({"verdict": "inconclusive", "reason": f"too few finite runs on "
                                      f"{res['problem'].name}", "interval": [np.nan, np.nan]})
                        continue
                pv = paired_verdict(a_val, b_val, log=use_log, what=what, names=(subject, b), better=better,
                                    margin=0.01 if criterion == "oscillation" else None)
                pv["reason"] = f"{res['problem'].name}: {pv['reason']}" + _censored(criterion, p, subject, b,
                                                                                   a_val, b_val)
                parts.append(pv)
            for r, d in pr.items():
                v = np.asarray(d["value"], dtype=float)
                g = d["g"]
                rows.append({"problem": res["problem"].name, "rule": r, "fidelity": rule_fidelity(r),
                             "best_lr": d["lr"], what: float(np.median(v)), "q25": float(np.quantile(v, 0.25)),
                             "q75": float(np.quantile(v, 0.75)), f"final {res['metric']}": float(g.final.median()),
                             "diverged (all lrs)": f"{int((res['summary'].query('rule == @r').diverged_at >= 0).sum())}"
                                                   f"/{len(res['summary'].query('rule == @r'))}"})
        verdict, reason = combine(parts)
        fid = {r: rule_fidelity(r) for r in rules_}
        intervals = "; ".join(f"[{q['interval'][0]:+.3g}, {q['interval'][1]:+.3g}]" for q in parts)
        return Result(figure=_figure(results, criterion, fid), table=pd.DataFrame(rows), verdict=verdict,
                      reason=reason, interval=intervals, rules=fid,
                      measured={"criterion": criterion, "parts": [{k: q.get(k) for k in ("verdict", "reason",
                                                                                          "estimate", "interval")}
                                                                   for q in parts]})

    return register(Experiment(name=name, title=title, paper=paper, claim=claim, expected=expected, setup=setup,
                               kind=kind, fidelity=rule_fidelity(subject), sizes=sizes, run=run,
                               units=units))

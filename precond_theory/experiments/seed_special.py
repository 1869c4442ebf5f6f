"""Two seed claims that need their own measurement: SOAA's O(n) cost, and the local rate of
preconditioned gradient descent in Ye's framework."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _claims_api as api
from ._base import Experiment, Result, register
from ._race import rule_fidelity

__all__ = ["linear_cost_verdict"]


def _state_elements(state: Any) -> int:
    """Number of array entries in a rule's state (a pytree of arrays, tuples, dicts, dataclasses)."""
    import dataclasses

    if state is None or isinstance(state, (bool, int, float, str)):
        return 0
    if hasattr(state, "shape") and hasattr(state, "dtype"):
        return int(np.prod(state.shape, dtype=int))
    if isinstance(state, dict):
        return sum(_state_elements(v) for v in state.values())
    if isinstance(state, (list, tuple)):
        return sum(_state_elements(v) for v in state)
    if dataclasses.is_dataclass(state):
        return sum(_state_elements(getattr(state, f.name)) for f in dataclasses.fields(state))
    return 0


def linear_cost_verdict(dims: Any, elements: Any, calls: Any) -> tuple[str, str, float]:
    """Is the state O(n) (elements = c n + d with d small) and the oracle work per step constant?

    Takes the log-log slope of state size against n between the two largest n; ``consistent`` when the slope lies within
    0.05 of 1 and the oracle calls per step do not grow with n, ``violated`` otherwise.
    """
    dims, el, calls = (np.asarray(v, dtype=float) for v in (dims, elements, calls))
    if dims.size < 2:
        raise ValueError("linear_cost_verdict needs at least two dimensions")
    o = np.argsort(dims)
    dims, el, calls = dims[o], el[o], calls[o]
    # slope between the two largest n: a few scalars in the state (counters, radii) bend small-n slopes
    slope = float(np.log(el[-1] / el[-2]) / np.log(dims[-1] / dims[-2]))
    grows = calls.max() > calls.min() * 1.0001
    if abs(slope - 1.0) <= 0.05 and not grows:
        return "consistent", f"state size grows like n^{slope:.3f}; oracle calls per step constant ({calls[0]:g})", slope
    why = f"state size grows like n^{slope:.3f}" + ("; oracle calls per step grow with n" if grows else "")
    return "violated", why, slope


def _run_cost(p: dict[str, Any], advance: Any) -> Result:
    import pandas as pd

    from .. import problems, rules
    from ..plotting import line_style, paper_figure, paper_style
    from ..run import run

    rows = []
    for name in p["rules"]:
        for n in p["dims"]:
            prob = problems.make("quadratic", dim=int(n), kappa=100.0, rotate=False)
            rule = rules.make(name, lr=0.01)
            x0 = np.asarray(prob.x_star) + 1.0
            state = rule.init(np.asarray(x0)[None])
            tr = run(rule, prob, steps=int(p["steps"]), x0=x0, record=[int(p["steps"])])
            advance(1)
            c = tr.meta["oracle_calls"]
            rows.append({"rule": name, "fidelity": rule_fidelity(name), "n": int(n),
                         "state_elements": _state_elements(state),
                         "grad_calls_per_step": c["grad"] / p["steps"], "value_calls_per_step": c["value"] / p["steps"],
                         "hvp_calls_per_step": c["hvp"] / p["steps"]})
    table = pd.DataFrame(rows)
    parts = {}
    for name, g in table.groupby("rule", sort=False):
        calls = g.grad_calls_per_step + g.value_calls_per_step + g.hvp_calls_per_step
        parts[name] = linear_cost_verdict(g.n, g.state_elements, calls)
    verdict, reason, slope = parts["soaa"]
    with paper_style():
        fig, ax = paper_figure()
        for i, (name, g) in enumerate(table.groupby("rule", sort=False)):
            st = line_style(i, rule_fidelity(name))
            ax.plot(g.n, g.state_elements, color=st["color"], ls=st["ls"], marker=st["marker"],
                    label=f"{name} (slope {parts[name][2]:.2f})")
        nn = np.asarray(p["dims"], dtype=float)
        ax.plot(nn, nn ** 2, color="0.3", ls=":", label=r"$n^2$ (full matrix)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("dimension $n$")
        ax.set_ylabel("optimizer state (array entries)")
        ax.legend(loc="upper left")
    return Result(figure=fig, table=table, verdict=verdict, reason=f"soaa: {reason}; adam: {parts['adam'][1]}",
                  interval=f"log-log slope {slope:.3f} (claimed 1)", rules={r: rule_fidelity(r) for r in p["rules"]},
                  measured={"slopes": {k: v[2] for k, v in parts.items()}})


register(Experiment(
    name="soaa_linear_cost", title="SOAA's cost is O(n) per step", paper="SOAA (Vo & Vo, arXiv 2410.02293)",
    claim="approximating the Fisher information by its diagonal brings the cost from O(n^2) to O(n), like Adam",
    expected="SOAA's optimizer state grows linearly with the dimension (log-log slope 1, like Adam's) and its "
             "oracle work per step does not grow with n",
    setup="diagonal quadratics of dimension n = 10 ... 10^4 (CI: up to 10^3); state entries after init, oracle "
          "calls per step over a short run", kind="cost", fidelity="CONCORDANT",
    sizes={"ci": {"dims": [10, 100, 1000], "steps": 5, "rules": ["soaa", "adam"]},
           "full": {"dims": [10, 100, 1000, 10000], "steps": 20, "rules": ["soaa", "adam"]}},
    run=_run_cost, units=lambda p: len(p["dims"]) * len(p["rules"])))


def _run_local_rate(p: dict[str, Any], advance: Any) -> Result:
    import pandas as pd

    from .. import problems, rules, theory
    from ..claims import Claim
    from ..plotting import plot_rate_check

    n = int(p["dim"])
    prob = problems.make("least_squares", n_samples=int(p["n_samples"]), dim=n,
                         scale=np.geomspace(1.0, float(p["scale_max"]), n).tolist(), corr=float(p["corr"]), seed=0)
    H = np.asarray(prob.hessian(prob.x_star))
    M = 1.0 / np.diag(H)  # Jacobi: a fixed diagonal preconditioner
    s = np.sqrt(M)
    lam = np.linalg.eigvalsh(s[:, None] * H * s[None, :])
    lam_h = np.linalg.eigvalsh(H)
    lr = 2.0 / (lam[0] + lam[-1])
    rho = float(theory.preconditioned_gd_local_rate(lam[0], lam[-1], lr))
    base = api.get_claim("ye_preconditioned_local")
    claim = Claim(metric="dist_sq", shape="linear", kind="rate", rate=rho ** 2, fidelity="recon",
                  name="ye_preconditioned_local", statement=base.statement, source=base.source,
                  assumptions=base.assumptions)
    rc, _ = api.check(claim, rule=rules.make("preconditioned", lr=lr, diag=M), problem=prob, steps=int(p["steps"]),
                      x0=np.asarray(prob.x_star) + 1.0)
    advance(1)
    rec = api.record(rc)
    ax = plot_rate_check(rc, title=f"preconditioned GD (Jacobi): {rec['verdict']}")
    table = pd.DataFrame([{"kappa(H)": float(lam_h[-1] / lam_h[0]), "kappa(M^1/2 H M^1/2)": float(lam[-1] / lam[0]),
                           "lr": lr, "claimed rho^2": rho ** 2, "fitted rho^2": rec["fitted"],
                           "interval": rec["interval"]}])
    return Result(figure=ax.figure, table=table, verdict=rec["verdict"], reason=rec["reason"], interval=rec["interval"],
                  measured=rec, rules={"preconditioned": rule_fidelity("preconditioned")})


register(Experiment(
    name="ye_preconditioned_local_rate", title="Preconditioned GD converges at the rate of the preconditioned "
                                               "condition number", paper="Ye, preconditioning and regularization "
                                                                         "(arXiv 2410.00232)",
    claim="preconditioning p = P z turns gradient descent into gradient descent on a problem with Hessian "
          "P^T H P; its local convergence is governed by the condition number of M^1/2 H M^1/2 (M = P P^T)",
    expected="||x_k - x*||^2 contracts by ((kappa_M - 1)/(kappa_M + 1))^2 per step at the step "
             "2/(lambda_min + lambda_max), kappa_M = cond(M^1/2 H M^1/2), not at the rate of cond(H)",
    setup="least squares with badly scaled, correlated features (std 1 to scale_max, correlation 0.2), fixed "
          "Jacobi preconditioner M = diag(H)^-1, step 2/(lambda_min + lambda_max) of M^1/2 H M^1/2, start x* + 1",
    kind="rate", fidelity="RECON",
    sizes={"ci": {"dim": 20, "n_samples": 200, "scale_max": 30.0, "corr": 0.2, "steps": 3000},
           "full": {"dim": 50, "n_samples": 500, "scale_max": 100.0, "corr": 0.2, "steps": 20000}},
    run=_run_local_rate, units=lambda p: 1))

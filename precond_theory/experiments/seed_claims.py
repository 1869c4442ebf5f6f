"""The seed papers' empirical claims (speed, stability, oscillations, robustness to the learning
rate, training and held-out error, saddle escape, cost) as comparison experiments.

The claims are the abstracts' statements in the project's words; the methods' fidelity is that
of their implementation (docs/spec/): AdaRem, AdamRAG, AdapGradm and HAdapGradm are RECON,
SOAA is CONCORDANT.  A deep-learning claim is tested on the controlled problem where it can
be: a verdict here is about that problem, not about ImageNet.
"""

from __future__ import annotations

from ._compare import comparison

SOAA = "SOAA (Vo & Vo, arXiv 2410.02293)"
ADAREM = "AdaRem (Liu et al., arXiv 2010.11041)"
ADAMRAG = "AdamRAG (Zhang et al., Neural Process. Lett. 2025)"
ADAPG = "AdapGradm/HAdapGradm (Chen et al., Neural Networks 2026)"

GRID_CI = [1e-3, 1e-2, 1e-1]
GRID_FULL = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0]
WIDE_CI = [1e-2, 1e-1, 1.0, 10.0]
WIDE_FULL = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0]


def _sizes(steps_ci=150, steps_full=3000, seeds_ci=3, seeds_full=10, grid=(GRID_CI, GRID_FULL)):
    return {"ci": {"steps": steps_ci, "seeds": seeds_ci, "lrs": list(grid[0])},
            "full": {"steps": steps_full, "seeds": seeds_full, "lrs": list(grid[1])}}


LOGISTIC = {"name": "logistic_regression", "n_samples": 200, "dim": 10, "scale": [1.0, 1.0, 1.0, 1.0, 1.0, 3.0, 3.0,
                                                                                   10.0, 10.0, 30.0]}
NONCONVEX = {"name": "nonconvex_regression", "n_samples": 100, "dim": 20, "target": 1e-6}
QUAD_AXIS = {"name": "quadratic", "dim": 20, "kappa": 1000.0, "rotate": False}
NET = {"name": "two_layer_net", "n_samples": 64, "d_in": 4, "hidden": 8, "scale": 0.5}
SPLIT = {"name": "least_squares_split", "n_train": 60, "n_test": 2000, "dim": 20, "scale_max": 30.0, "corr": 0.5,
         "noise": 6.0, "seed": 0}
ROSEN = {"name": "rosenbrock", "dim": 4, "start_scale": 0.3}
# the four saddles of Himmelblau's function sit at f = 13.3, 67.7, 104.0 and 178.3: f <= 10 is below all of them
SADDLE = {"name": "himmelblau", "start": "saddle", "start_scale": 1e-3, "metric": "f", "target_abs": 10.0}

# ------------------------------------------------------------------------------------------ SOAA
comparison(
    "soaa_faster_than_adam", title="SOAA converges faster than Adam", paper=SOAA,
    claim="SOAA (diagonal Fisher preconditioning with an adaptive trust region) converges faster than first-order "
          "optimizers such as Adam under a similar computational budget",
    expected="SOAA reaches the target in fewer steps than Adam, each at its best learning rate, on a convex "
             "(logistic regression) and a nonconvex (regularized nonconvex regression) problem",
    subject="soaa", baselines=["adam"], criterion="steps", problems=[LOGISTIC, NONCONVEX], sizes=_sizes())

comparison(
    "soaa_more_stable_than_adam", title="SOAA is stable over more learning rates than Adam", paper=SOAA,
    kind="stability",
    claim="SOAA's trust region, sized from the observed loss reduction, makes its convergence more stable than "
          "Adam's",
    expected="over a wide learning-rate grid, more SOAA runs than Adam runs neither diverge nor end above their "
             "start, on an ill-conditioned quadratic and on Rosenbrock's function",
    subject="soaa", baselines=["adam"], criterion="stable", problems=[QUAD_AXIS, ROSEN],
    sizes=_sizes(grid=(WIDE_CI, WIDE_FULL)))

# ---------------------------------------------------------------------------------------- AdaRem
comparison(
    "adarem_fewer_oscillations", title="AdaRem's parameters oscillate less", paper=ADAREM,
    claim="AdaRem damps a parameter's learning rate when its past direction disagrees with the current gradient, "
          "so parameters oscillate far less than under other adaptive methods",
    expected="the fraction of coordinates whose update flips sign between steps is smaller for AdaRem than for "
             "Adam and for heavy-ball momentum, on an ill-conditioned (ravine) quadratic and Rosenbrock's function",
    subject="adarem", baselines=["adam", "heavy_ball"], criterion="oscillation", problems=[QUAD_AXIS, ROSEN],
    sizes=_sizes(steps_ci=150, steps_full=2000))

comparison(
    "adarem_faster_than_adaptive", title="AdaRem trains faster than adaptive methods", paper=ADAREM,
    claim="AdaRem trains faster than earlier adaptive learning-rate methods (Adam, RMSProp)",
    expected="AdaRem reaches the target in fewer steps than Adam and RMSProp at their best learning rates",
    subject="adarem", baselines=["adam", "rmsprop"], criterion="steps", problems=[LOGISTIC, NONCONVEX],
    sizes=_sizes())

comparison(
    "adarem_lower_test_error", title="AdaRem has lower test error than Adam", paper=ADAREM,
    claim="AdaRem reaches a lower test error than adaptive learning-rate methods",
    expected="after the same number of steps, AdaRem's held-out loss is lower than Adam's (learning rates tuned on "
             "the training loss) on noisy, ill-conditioned least squares with a held-out set",
    subject="adarem", baselines=["adam"], criterion="test", problems=[SPLIT], sizes=_sizes())

# --------------------------------------------------------------------------------------- AdamRAG
comparison(
    "adamrag_faster", title="AdamRAG converges faster than NAG, Adam and Lion", paper=ADAMRAG,
    claim="AdamRAG (Adam with Ravine extrapolation and momentum) converges faster than NAG, Adam and Lion",
    expected="AdamRAG reaches the target in fewer steps than each of Nesterov's method, Adam and Lion at their "
             "best learning rates",
    subject="adamrag", baselines=["nesterov", "adam", "lion"], criterion="steps", problems=[LOGISTIC, NONCONVEX],
    sizes=_sizes())

comparison(
    "adamrag_lr_robust", title="AdamRAG is robust to the learning rate", paper=ADAMRAG,
    kind="stability",
    claim="AdamRAG is more robust to the choice of learning rate than its competitors, reducing tuning",
    expected="more learning rates of a wide grid end within a factor 10 of the best final value for AdamRAG than "
             "for Adam",
    subject="adamrag", baselines=["adam"], criterion="robust", problems=[LOGISTIC, NONCONVEX],
    sizes=_sizes(grid=(WIDE_CI, WIDE_FULL)))

comparison(
    "adamrag_lower_test_error", title="AdamRAG generalizes better than Adam", paper=ADAMRAG,
    claim="AdamRAG's Ravine extrapolation improves generalization over Adam",
    expected="AdamRAG's held-out loss is lower than Adam's on noisy least squares with a held-out set",
    subject="adamrag", baselines=["adam"], criterion="test", problems=[SPLIT], sizes=_sizes())

comparison(
    "adamrag_escapes_saddles", title="AdamRAG escapes saddle points", paper=ADAMRAG,
    kind="counterexample",
    claim="AdamRAG's extrapolation steps keep the iteration from being trapped at saddle points",
    expected="started 1e-3 from one of the four saddles of Himmelblau's function (seed s at saddle s mod 4), AdamRAG "
             "gets below f = 10 (the saddles sit at f = 13.3 to 178.3) in fewer steps than Adam",
    subject="adamrag", baselines=["adam"], criterion="steps", problems=[SADDLE], sizes=_sizes())

# ---------------------------------------------------------------------------- AdapGradm/HAdapGradm
comparison(
    "hadapgradm_lower_training_error", title="HAdapGradm reaches lower training error than Adam", paper=ADAPG,
   
    claim="HAdapGradm reaches lower training error than Adam and the baseline optimizers",
    expected="HAdapGradm's final training loss is lower than Adam's and SGD's at their best learning rates on a "
             "two-layer tanh network fitting a teacher and on nonconvex regression",
    subject="hadapgradm", baselines=["adam", "sgd"], criterion="final", problems=[NET, NONCONVEX],
    rules={"hadapgradm": {"curvature": "belief"}}, sizes=_sizes())

comparison(
    "hadapgradm_lower_test_error", title="HAdapGradm generalizes better than Adam", paper=ADAPG,
    claim="HAdapGradm generalizes better than Adam",
    expected="HAdapGradm's held-out loss is lower than Adam's on noisy least squares with a held-out set",
    subject="hadapgradm", baselines=["adam"], criterion="test", problems=[SPLIT],
    rules={"hadapgradm": {"curvature": "belief"}}, sizes=_sizes())

comparison(
    "adapgradm_faster_than_adam", title="AdapGradm's curvature makes it faster than Adam", paper=ADAPG,
   
    claim="AdapGradm's diagonal Hessian approximation from first-order information captures curvature, giving "
          "faster convergence than first-order adaptive methods at a similar cost",
    expected="AdapGradm reaches the target in fewer steps than Adam on an axis-aligned ill-conditioned quadratic "
             "(where a diagonal Hessian is exact) and on logistic regression",
    subject="adapgradm", baselines=["adam"], criterion="steps", problems=[QUAD_AXIS, LOGISTIC],
    rules={"adapgradm": {"curvature": "belief"}}, sizes=_sizes())

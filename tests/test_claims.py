"""Claims, the catalog and check_claim on real runs: true claims confirmed where the exact behaviour
is known, false claims refuted, undecidable data inconclusive; bad input and the CLI."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from precond_theory import oracles, problems, rules, theory
from precond_theory.claims import KNOWN_METRICS, Claim, catalog, evaluate_expression, get_claim, load_claims
from precond_theory.cli import app
from precond_theory.problems import make_quadratic
from precond_theory.rates import check, check_claim
from precond_theory.run import run
from precond_theory.verify.instances import INSTANCES


def convex_quadratic():
    """Convex, not strongly convex on the horizons used: 200 eigenvalues log-spaced in [1e-10, 1],
    x0 - x* = -(1,...,1), so the squared coefficients have density 1/lambda: GD decays exactly like
    1/k and Nesterov like 1/k^2 while 1 << k << 1/sqrt(mu) = 1e5 (docs/theory.md)."""
    p = make_quadratic(dim=200, kappa=1e10, mu=1e-10, rotate=False)
    return p, np.asarray(p.x_star) - 1.0


def wells(dim):
    """Smooth nonconvex f(x) = sum x_i^2/2 + 2(1 - cos x_i): f'' = 1 + 2 cos x_i in [-1, 3], L = 3."""
    return problems.from_functions(value=lambda x: np.sum(x * x / 2 + 2 * (1 - np.cos(x)), axis=-1),
                                   grad=lambda x: x + 2 * np.sin(x), dim=dim, L=3.0, f_star=0.0,
                                   x_star=np.zeros(dim), x0=np.full(dim, 3.0), name="wells")


# ------------------------------------------------------------------------------- claims as data
def test_unknown_metric_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown metric 'loss'.*known metrics: f, f_gap"):
        Claim(metric="loss", order=-1.0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(metric="f_gap", kind="bound", order=-1.0), "kind must be one of"),
    (dict(metric="f_gap"), "needs order"),
    (dict(metric="f_gap", shape="linear", rate=1.5), r"rate must lie in \(0, 1\)"),
    (dict(metric="f_gap", shape="linear", order=-1.0), "not order"),
    (dict(metric="f_gap", order=-1.0, bound="no_such_theorem"), "not a function of precond_theory.theory"),
    (dict(metric="f_gap", order="fast"), "order must be a finite number"),
    (dict(metric="f_gap", order=-1.0, margin=-0.1), "margin must be > 0"),
])
def test_claim_validation(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        Claim(**kwargs)


def test_catalog_holds_classical_false_and_seed_claims():
    cat = catalog()
    for name in ("gd_convex", "gd_quadratic_linear", "nesterov_convex", "sgd_nonconvex", "adagrad_regret",
                 "adam_type_nonconvex", "amsgrad_regret", "adam_regret_reddi", "sgd_constant_noise_limit",
                 "gd_linear_convex", "soaa_template", "adarem_regret", "adamrag_nonconvex", "adapgradm_nonconvex",
                 "hadapgradm_nonconvex", "ye_preconditioned_local"):
        assert name in cat and cat[name].name == name and cat[name].source
    assert cat["sgd_nonconvex"].horizon == "per_horizon"
    for name in ("adarem_regret", "adamrag_nonconvex", "adapgradm_nonconvex", "ye_preconditioned_local"):
        assert cat[name].fidelity == "recon"
    assert cat["soaa_template"].fidelity == "template" and cat["adam_regret_reddi"].fidelity == "false"
    # every setup names a registered rule and problem (nothing is run here)
    for c in cat.values():
        if c.setup is not None:
            rules.get(c.setup.rule)
            assert c.setup.problem["name"] in (*problems.available(), *INSTANCES), c.name
    with pytest.raises(ValueError, match="unknown claim 'nope'; catalog claims: .*gd_convex"):
        get_claim("nope")


def test_catalog_matches_theory():
    # the catalog's claims restate theory.py's statements
    for name, stated in (("adam_type_nonconvex", theory.adam_type_nonconvex()),
                         ("amsgrad_regret", theory.amsgrad_regret()),
                         ("adarem_regret", theory.adarem_stated_rate()),
                         ("adamrag_nonconvex", theory.adamrag_stated_rate())):
        c = get_claim(name)
        assert (c.metric, c.order, c.log_power) == (stated.metric, stated.order, stated.log_power)


def test_expressions_are_arithmetic_only():
    assert evaluate_expression("2/(mu + L)", {"mu": 1.0, "L": 3.0}) == 0.5
    assert evaluate_expression("min(1, 5/sqrt(T))/L", {"T": 100.0, "L": 2.0}) == 0.25
    for bad in ("__import__('os')", "L.real", "[1, 2]"):
        with pytest.raises(ValueError, match="allowed"):
            evaluate_expression(bad, {"L": 1.0})
    with pytest.raises(ValueError, match="uses 'kappa'"):
        evaluate_expression("kappa", {"L": 1.0})
    with pytest.raises(ValueError, match="not valid arithmetic"):
        evaluate_expression("1/", {})


def test_toml_claims(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text('metric = "f_gap"\norder = -1.0\nsource = "me"\n')
    assert load_claims(f)["mine"].order == -1.0
    f.write_text('metric = "f_gap"\norder = -1.0\n[oops\n')
    with pytest.raises(ValueError, match="mine.toml.*not valid TOML"):
        load_claims(f)
    f.write_text('[a]\nmetric = "f_gap"\norder = -1.0\nspeed = 2\n')
    with pytest.raises(ValueError, match="unknown field.*speed"):
        load_claims(f)
    f.write_text('[a]\nmetric = "gap"\norder = -1.0\n')
    with pytest.raises(ValueError, match="claim 'a'.*unknown metric 'gap'"):
        load_claims(f)
    f.write_text('[a]\nmetric = "f_gap"\norder = -1.0\nsetup = { rule = "sgd", problem = { name = "quadratic" }, '
                 'horizons = [10, 0, 20] }\n')
    with pytest.raises(ValueError, match="positive integers; got horizon 0"):
        load_claims(f)
    with pytest.raises(ValueError, match="cannot read"):
        load_claims(tmp_path / "missing.toml")


# ------------------------------------------------------------------------- true claims confirmed
def test_gd_at_the_optimal_step_has_the_theoretical_rate():
    # f_gap, dist_sq and grad_norm_sq all contract by rho^2, rho = (kappa-1)/(kappa+1) (Nesterov 2004,
    # Thm 2.1.15): the two extreme eigenvectors share it exactly, so 1% is a loose tolerance.
    p = make_quadratic(dim=20, kappa=50.0, seed=1)
    rho = theory.gd_quadratic_rate(p.mu, p.L)
    c = get_claim("gd_quadratic_linear")
    rc = check_claim(c, rules.make("sgd", lr=theory.gd_quadratic_optimal_step(p.mu, p.L)), p, steps=1500)
    assert rc.verdict == "consistent", rc.reason
    assert abs(rc.rate / rho**2 - 1) < 0.01 and rc.floor is not None and rc.floor.kind == "roundoff"
    rc = check_claim("gd_quadratic_linear")  # the catalog's own setup
    assert rc.verdict == "consistent" and abs(np.sqrt(rc.rate) / rc.claimed**0.5 - 1) < 0.01


def test_nesterov_on_a_convex_problem_has_order_minus_two():
    p, x0 = convex_quadratic()
    c = Claim(metric="f_gap", order=-2.0, kind="rate", bound="nesterov_convex_bound")
    rc = check_claim(c, rules.make("nesterov", lr=1 / p.L), p, steps=10000, x0=x0)
    # measured -1.98 over k = 100..1e4; the 1/k corrections to the Bessel asymptotics are < 0.05 there
    assert rc.verdict == "consistent", rc.reason
    assert abs(rc.order + 2) < 0.05 and "below the explicit bound" in rc.reason


def test_sgd_with_inverse_sqrt_horizon_step_has_order_minus_half():
    # E min_{t<=T} ||grad f||^2 ~ (lr L sigma^2 d / 2) at stationarity, lr = 0.5/sqrt(T): order -1/2.
    # d = 100 keeps the minimum over t close to the mean (the min-over-time and eta*lambda/2
    # corrections shift the order by about -0.03, measured -0.56); one batched run of 5 x 6.
    c = Claim(metric="min_grad_norm_sq", order=-0.5, kind="rate", horizon="per_horizon")
    oracle = oracles.make("gaussian", variance=100.0)
    rc, tr = check_claim(c, lambda T: rules.make("sgd", lr=0.5 / np.sqrt(T)), wells(100), oracle=oracle, seeds=6,
                         horizons=[500, 1000, 2000, 4000, 8000], return_trace=True)
    assert rc.verdict == "consistent", rc.reason
    assert abs(rc.order + 0.5) < 0.1 and rc.n_runs == 6
    assert tr.batch_shape == (5, 6)  # all horizons in one batched call, one trajectory per T


# ---------------------------------------------------------------------------- false claims refuted
def test_adam_on_reddis_problem_is_refuted_and_amsgrad_is_not():
    # Reddi et al. Thm 1: C = 3, beta1 = 0, beta2 = 1/(1+C^2), alpha_t = 0.5/sqrt(t): Adam goes to +1
    # and its regret grows linearly (order 1), so "R_T = O(sqrt T)" is violated; AMSGrad keeps it.
    p = problems.make("reddi_periodic", C=3.0)
    c = get_claim("adam_regret_reddi")

    def proj(rule):
        return rules.with_projection(rules.with_schedule(rule, "inverse_sqrt"), box=(-1.0, 1.0))

    rc = check_claim(c, proj(rules.make("adam", lr=0.5, b1=0.0, b2=0.1)), p, steps=10000)
    assert rc.verdict == "violated" and rc.order > 0.9, rc.reason
    rc = check_claim(c, proj(rules.make("amsgrad", lr=0.5, b1=0.0, b2=0.1)), p, steps=10000)
    assert rc.verdict == "consistent", rc.reason


def test_constant_step_sgd_does_not_drive_the_gradient_to_zero_under_noise():
    p = make_quadratic(dim=50, kappa=10.0)
    c = Claim(metric="grad_norm_sq", kind="limit")
    rc = check_claim(c, rules.make("sgd", lr=0.1 / p.L), p, oracle=oracles.make("gaussian", variance=1.0), seeds=6,
                     steps=20000)
    assert rc.verdict == "violated" and rc.floor.kind == "noise", rc.reason
    # stationary level E||grad||^2 = sum_i lr lam_i s^2/(2 - lr lam_i), s^2 = 1/50 per coordinate; the
    # floor level is a median of log-values over the plateau (below the mean of a chi-square-like
    # quantity), hence the 25% tolerance
    lam = p.eigs
    level = np.sum(0.1 / p.L * lam * (1.0 / 50) / (2 - 0.1 / p.L * lam))
    assert rc.floor.level == pytest.approx(level, rel=0.25)
    # without noise the same claim holds (control)
    assert check_claim(c, rules.make("sgd", lr=0.1 / p.L), p, steps=3000).verdict == "consistent"


def test_gd_is_not_linear_on_a_convex_problem():
    p, x0 = convex_quadratic()
    rc = check_claim(Claim(metric="f_gap", shape="linear"), rules.make("sgd", lr=1 / p.L), p, steps=10000, x0=x0)
    assert rc.verdict == "violated" and "decelerates" in rc.reason
    # ... while its O(1/k) bound holds, with the theorem's constant
    rc = check_claim("gd_convex", rules.make("sgd", lr=1 / p.L), p, steps=10000, x0=x0)
    assert rc.verdict == "consistent" and abs(rc.order + 1) < 0.02


# ------------------------------------------------------------------------------- undecidable data
def test_undecidable_data_is_inconclusive():
    p = make_quadratic(dim=5, kappa=10.0)
    short = check_claim(Claim(metric="f_gap", order=-1.0), rules.make("sgd", lr=0.1), p, steps=3)
    assert short.verdict == "inconclusive" and "too short" in short.reason
    one_d = make_quadratic(eigenvalues=[2.0])  # GD with lr = 1/L lands on x* in one step
    at_once = check_claim(Claim(metric="f_gap", order=-1.0), rules.make("sgd", lr=0.5), one_d, steps=100)
    assert at_once.verdict == "inconclusive" and "at once" in at_once.reason
    c = Claim(metric="min_grad_norm_sq", order=-0.5, kind="rate", horizon="per_horizon")
    for seed in range(3):  # one dimension, two seeds: the minimum over t is far too noisy to decide
        rc = check_claim(c, lambda T: rules.make("sgd", lr=0.5 / np.sqrt(T)), wells(1),
                         oracle=oracles.make("gaussian", variance=10.0), seeds=2, horizons=[100, 200, 400, 800, 1600],
                         seed=seed)
        assert rc.verdict == "inconclusive", rc.reason


# ------------------------------------------------------------------------------------- bad input
def test_bad_input_to_check_claim():
    p = make_quadratic(dim=5, kappa=10.0)
    per_T = Claim(metric="min_grad_norm_sq", order=-0.5, horizon="per_horizon")
    sgd = rules.make("sgd", lr=0.1)
    with pytest.raises(ValueError, match="positive integers; got horizon -5"):
        check_claim(per_T, lambda T: sgd, p, horizons=[100, -5, 200])
    with pytest.raises(ValueError, match="at least 3 distinct"):
        check_claim(per_T, lambda T: sgd, p, horizons=[100, 200])
    with pytest.raises(ValueError, match="pass horizons"):
        check_claim(per_T, lambda T: sgd, p)
    with pytest.raises(ValueError, match="at least two seeds"):
        check_claim(Claim(metric="f_gap", order=-1.0), sgd, p, oracle=oracles.make("gaussian"), seeds=1, steps=10)
    with pytest.raises(ValueError, match="horizons apply to per-horizon claims"):
        check_claim(Claim(metric="f_gap", order=-1.0), sgd, p, steps=10, horizons=[1, 2, 3])
    with pytest.raises(ValueError, match="steps must be"):
        check_claim(Claim(metric="f_gap", order=-1.0), sgd, p)
    with pytest.raises(ValueError, match="has no setup"):
        check_claim(Claim(metric="f_gap", order=-1.0))
    tr = run(sgd, p, steps=20)
    with pytest.raises(ValueError, match="check_claim"):
        check(per_T, tr)
    with pytest.raises(ValueError, match="'regret' was not recorded in this trace; recorded: .*f_gap"):
        check(Claim(metric="regret", order=0.5), tr)
    assert set(KNOWN_METRICS) >= {"f_gap", "min_grad_norm_sq", "regret"}


# ------------------------------------------------------------------------------------------- CLI
def test_cli_check_prints_the_verdict_and_writes_the_figure(tmp_path):
    r = CliRunner().invoke(app, ["check", "gd_quadratic_linear", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "consistent" in r.output and "[0.92" in r.output
    assert (tmp_path / "gd_quadratic_linear.png").stat().st_size > 1000


def test_cli_check_file_and_errors(tmp_path):
    f = tmp_path / "claim.toml"
    f.write_text('name = "mine"\nmetric = "dist_sq"\nshape = "linear"\nkind = "upper_bound"\n'
                 'setup = { rule = "sgd", rule_params = { lr = "1/L" }, steps = 400, problem = { name = "quadratic", '
                 'dim = 5, kappa = 10.0 } }\n')
    r = CliRunner().invoke(app, ["check", "--file", str(f), "--out", str(tmp_path)])
    assert r.exit_code == 0 and "consistent" in r.output and (tmp_path / "mine.png").exists(), r.output
    bad = tmp_path / "bad.toml"
    bad.write_text("metric = \n")
    for args, match in ((["check", "--file", str(bad)], "not valid TOML"), (["check", "nope"], "unknown claim 'nope'"),
                        (["check"], "exactly one of a catalog claim NAME, --file claim.toml or --all"),
                        (["check", "gd_convex", "--all"], "exactly one of"),
                        (["check", "gd_convex", "--mutant", "lr_x3"], "unknown mutant 'lr_x3'"),
                        (["check", "gd_convex", "--replicates", "3"], "--replicates applies to --power only"),
                        (["check", "gd_convex", "--power", "--mutant", "sign_flip"], "give one of them"),
                        (["check", "sgd_nonconvex", "--horizons", "100,0,400"], "got horizon 0"),
                        (["check", "sgd_nonconvex", "--horizons", "100,x"], "comma-separated"),
                        (["check", "sgd_constant_noise_limit", "--seeds", "1"], "at least two seeds")):
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 2 and match in " ".join(r.output.split()), (args, r.output)
    r = CliRunner().invoke(app, ["check", "--list"])
    assert r.exit_code == 0 and "adam_regret_reddi" in r.output
    r = CliRunner().invoke(app, ["check", "gd_convex_tight", "--mutant", "lr_x1.5", "--out", str(tmp_path)])
    assert r.exit_code == 0 and "assumption step_le_1_over_L does not hold" in " ".join(r.output.split()), r.output
    assert "nothing was run" in r.output and not (tmp_path / "gd_convex_tight.png").exists()
    data = tmp_path / "t.json"
    r = CliRunner().invoke(app, ["check", "gd_convex_tight", "--mutant", "lr_x0.5", "--json", str(data), "--out",
                                 str(tmp_path)])
    import json
    rows = json.loads(data.read_text())["rows"]
    assert r.exit_code == 0 and rows[0][0] == "`gd_convex_tight`" and rows[0][-1] == "violated", r.output


def test_per_horizon_falls_back_to_one_run_per_horizon():
    # wrapped rules cannot be stacked into one batched rule: one run per horizon T, each of T steps
    p = make_quadratic(dim=5, kappa=10.0)
    c = Claim(metric="min_grad_norm_sq", order=-0.5, horizon="per_horizon")
    rc, traces = check_claim(c, lambda T: rules.with_schedule(rules.make("sgd", lr=0.5 / np.sqrt(T)), "constant"), p,
                             horizons=[16, 32, 64, 128, 256], return_trace=True)
    assert [t.meta["steps"] for t in traces] == [16, 32, 64, 128, 256]
    assert rc.verdict == "consistent" and rc.k.tolist() == [16, 32, 64, 128, 256]

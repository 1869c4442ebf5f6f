"""Problems: derivatives against finite differences, exact constants, stationary points, batching,
user functions and bad input, on NumPy and array-api-strict (and CuPy when a GPU is visible).

Finite-difference tolerances are derived, not tuned (see :func:`_fd_bound`): a central
difference with step h has truncation error ``h^2 |D3| / 6`` (D3 the next directional
derivative, estimated by a second difference with step ``s = eps**(1/4)``) and round-off error
about ``eps * (|f(x+hu)| + |f(x-hu)| + scale) / h``; the test allows ten times their sum, the
factor covering the error of the D3 estimate and the few-ulp constants of each evaluation.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from precond_theory import problems, rules
from precond_theory._xp import to_numpy
from precond_theory.problems import from_functions, make, make_quadratic
from precond_theory.run import run

EPS = float(np.finfo(np.float64).eps)

# name -> (registry name, small parameters); points are drawn around each problem's own scale
CASES = {
    "quadratic": ("quadratic", dict(dim=6, kappa=50.0)),
    "quadratic_axis_two_cluster": ("quadratic", dict(dim=5, kappa=10.0, rotate=False, spectrum="two_cluster")),
    "quadratic_linear": ("quadratic", dict(dim=4, kappa=7.0, spectrum="linear", mu=0.5, f_star=-2.0)),
    "quadratic_user_eigs": ("quadratic", dict(eigenvalues=[0.1, 3.0, 3.0, 9.0])),
    "quadratic_batched": ("quadratic", dict(dim=4, kappa=[2.0, 10.0, 100.0])),
    "least_squares": ("least_squares", dict(n_samples=30, dim=5, mean=0.5, scale=[1.0, 2.0, 3.0, 4.0, 5.0], corr=0.3)),
    "least_squares_underdetermined": ("least_squares", dict(n_samples=4, dim=6)),
    "least_squares_ridge": ("least_squares", dict(n_samples=20, dim=3, lam=0.1, corr=-0.2)),
    "logistic_regression": ("logistic_regression", dict(n_samples=40, dim=4, mean=[1.0, 0.0, -1.0, 2.0], corr=0.2)),
    "huber": ("huber", dict(dim=5, kappa=10.0, delta=0.5)),
    "log_sum_exp": ("log_sum_exp", dict(dim=4)),
    "gd_worst_case": ("gd_worst_case", dict(dim=3, N=5)),
    "nesterov_worst_case": ("nesterov_worst_case", dict(dim=7, active=5)),
    "nesterov_worst_case_strong": ("nesterov_worst_case", dict(dim=6, L=4.0, mu=0.5)),
    "rosenbrock": ("rosenbrock", dict(dim=4)),
    "three_hump_camel": ("three_hump_camel", {}),
    "six_hump_camel": ("six_hump_camel", {}),
    "himmelblau": ("himmelblau", {}),
    "styblinski_tang": ("styblinski_tang", dict(dim=3)),
    "nonconvex_regression": ("nonconvex_regression", dict(n_samples=20, dim=4)),
    "phase_retrieval": ("phase_retrieval", dict(dim=4)),
    "two_layer_net": ("two_layer_net", dict(n_samples=16, d_in=3, hidden=4)),
    "lessard_piecewise": ("lessard_piecewise", dict(dim=2)),
    "reddi_periodic": ("reddi_periodic", dict(C=3.0)),
    "reddi_stochastic": ("reddi_stochastic", dict(C=20.0, delta=1.0, seed=3)),
}
KINKS = {"lessard_piecewise": (1.0, 2.0)}  # points are kept 1e-3 away from these


def _backend(name):
    if name == "cupy":
        try:
            cupy = importlib.import_module("cupy")
            if cupy.cuda.runtime.getDeviceCount() < 1:
                raise RuntimeError
        except Exception:
            pytest.skip("CuPy with a visible GPU is not available")
        return cupy
    return np if name == "numpy" else pytest.importorskip(name)


@pytest.fixture(params=["numpy", "array_api_strict", "cupy"])
def pxp(request):
    return _backend(request.param)


def build(case, xp=np, **extra):
    name, params = CASES[case]
    return make(name, **params, **extra, xp=xp)


def points(case, p, rng, count=3):
    """Host points (count, *batch, n) around the problem's scale, away from known kinks."""
    n = p.dim
    base = to_numpy(p.default_x0()) if p.x_star is None else to_numpy(p.x_star)
    shape = (count, *p.batch_shape, n)
    if case == "lessard_piecewise":
        x = rng.uniform(-1.0, 4.0, shape)
        for k in KINKS[case]:
            x = np.where(np.abs(x - k) < 1e-3, x + 0.01, x)
        return x
    spread = 1.0 if case not in ("rosenbrock", "styblinski_tang") else 0.7
    return base + spread * rng.standard_normal(shape)


def call(p, method, x, *args):
    return getattr(p, method)(x, *args, 0) if p.online and method != "hvp" else getattr(p, method)(x, *args)


def _fd_bound(fp, fm, d3, h, scale, eps=EPS):
    return 10 * (h * h * np.abs(d3) / 6 + eps * (np.abs(fp) + np.abs(fm) + scale) / h)


def _host(a):
    return np.asarray(to_numpy(a), dtype=np.float64)


DTYPES = ["float64", "float32"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_gradient_matches_central_differences(case, pxp, dtype):
    p = build(case, pxp, dtype=dtype)
    eps = float(np.finfo(dtype).eps)
    rng = np.random.default_rng(11)
    xh = points(case, p, rng).astype(dtype)
    u = rng.standard_normal(xh.shape)
    u = (u / np.linalg.norm(u, axis=-1, keepdims=True)).astype(dtype)
    x, U = pxp.asarray(xh), pxp.asarray(u)
    h = (eps ** (1 / 3) * np.maximum(1.0, np.max(np.abs(xh), axis=-1))).astype(dtype)
    s = (eps ** (1 / 4) * np.maximum(1.0, np.max(np.abs(xh), axis=-1))).astype(dtype)
    H, S = pxp.asarray(h[..., None]), pxp.asarray(s[..., None])
    fp, fm = _host(call(p, "value", x + H * U)), _host(call(p, "value", x - H * U))
    g = _host(call(p, "grad", x))
    assert call(p, "grad", x).dtype == x.dtype and call(p, "value", x).dtype == x.dtype
    d3 = np.sum(u * _host(call(p, "grad", x + S * U) - 2 * call(p, "grad", x) + call(p, "grad", x - S * U)),
                axis=-1) / s.astype(np.float64) ** 2
    h = h.astype(np.float64)
    fd = (fp - fm) / (2 * h)
    analytic = np.sum(g * u, axis=-1)
    scale = np.abs(_host(call(p, "value", x))) + np.linalg.norm(g, axis=-1) * np.linalg.norm(xh, axis=-1) + 1
    bound = _fd_bound(fp, fm, d3, h, scale, eps) + 10 * eps * xh.shape[-1] * np.sum(np.abs(g * u), axis=-1)
    assert np.all(np.abs(fd - analytic) <= bound), (fd, analytic, bound)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_hvp_matches_central_differences_and_hessian_is_symmetric(case, pxp, dtype):
    p = build(case, pxp, dtype=dtype)
    eps = float(np.finfo(dtype).eps)
    rng = np.random.default_rng(12)
    xh = points(case, p, rng).astype(dtype)
    v = rng.standard_normal(xh.shape)
    vn = np.linalg.norm(v, axis=-1, keepdims=True)
    x, V, Vh = pxp.asarray(xh), pxp.asarray(v.astype(dtype)), pxp.asarray((v / vn).astype(dtype))
    h = (eps ** (1 / 3) * np.maximum(1.0, np.max(np.abs(xh), axis=-1, keepdims=True))).astype(dtype)
    s = (eps ** (1 / 4) * np.maximum(1.0, np.max(np.abs(xh), axis=-1, keepdims=True))).astype(dtype)
    H, S = pxp.asarray(h), pxp.asarray(s)
    gp, gm = _host(call(p, "grad", x + H * Vh)), _host(call(p, "grad", x - H * Vh))
    h, s = h.astype(np.float64), s.astype(np.float64)
    fd = (gp - gm) / (2 * h) * vn
    hv_x = p.hvp(x, V) if not p.online else p.hvp(x, V, 0)
    assert hv_x.dtype == x.dtype
    hv = _host(hv_x)
    d4 = _host(p.hvp(x + S * Vh, Vh) - 2 * p.hvp(x, Vh) + p.hvp(x - S * Vh, Vh)) / s**2
    g = _host(call(p, "grad", x))
    norm = lambda a: np.linalg.norm(a, axis=-1, keepdims=True)  # noqa: E731
    scale = norm(hv) * norm(xh) / vn + 1
    bound = vn * _fd_bound(norm(gp), norm(gm), norm(d4), h, scale + norm(g), eps)
    assert np.all(np.abs(fd - hv) <= bound), np.max(np.abs(fd - hv) / bound)
    if not p.online:
        Hm = _host(p.hessian(x))
        assert Hm.shape == (*xh.shape, xh.shape[-1])
        np.testing.assert_allclose(Hm, np.swapaxes(Hm, -1, -2), rtol=0, atol=100 * eps * (np.abs(Hm).max() + 1))


@pytest.mark.parametrize("case", sorted(CASES))
def test_batched_evaluation_equals_one_point_at_a_time(case, pxp):
    p = build(case, pxp)
    xh = points(case, p, np.random.default_rng(13), count=2)
    x = pxp.asarray(xh)
    g, f = to_numpy(call(p, "grad", x)), to_numpy(call(p, "value", x))
    assert f.shape == xh.shape[:-1] and g.shape == xh.shape
    for i in range(xh.shape[0]):
        gi, fi = to_numpy(call(p, "grad", pxp.asarray(xh[i]))), to_numpy(call(p, "value", pxp.asarray(xh[i])))
        np.testing.assert_allclose(gi, g[i], rtol=1e-13, atol=1e-13 * (np.abs(g).max() + 1))
        np.testing.assert_allclose(fi, f[i], rtol=1e-13, atol=1e-13 * (np.abs(f).max() + 1))


def _hessian_scale(p, x):
    H = to_numpy(p.hessian(x))
    return np.max(np.abs(np.linalg.eigvalsh(H))) if H.size else 0.0


@pytest.mark.parametrize("case", sorted(c for c in CASES if not CASES[c][0].startswith("reddi")))
def test_x_star_is_stationary_and_f_star_is_its_value(case, pxp):
    p = build(case, pxp)
    if p.x_star is None:
        assert case in ("six_hump_camel", "himmelblau", "nonconvex_regression")
        return
    xs = pxp.asarray(p.x_star)
    n = p.dim
    xh = to_numpy(xs)
    g = to_numpy(p.grad(xs))
    x0 = p.default_x0()
    scale = _hessian_scale(p, xs) * (np.linalg.norm(xh, axis=-1) + 1) + np.linalg.norm(to_numpy(p.grad(x0)), axis=-1)
    assert np.all(np.linalg.norm(g, axis=-1) <= 10 * n * EPS * scale), (np.linalg.norm(g, axis=-1), scale)
    f = to_numpy(p.value(xs))
    fs = to_numpy(p.f_star) if not isinstance(p.f_star, float) else p.f_star
    vscale = np.abs(fs) + np.abs(to_numpy(p.value(x0))) + 1
    assert np.all(np.abs(f - fs) <= 10 * n * EPS * vscale)
    # x_star is a minimiser: f does not decrease along random directions
    d = np.random.default_rng(0).standard_normal((4, *xh.shape)) * 1e-3
    assert np.all(to_numpy(p.value(pxp.asarray(xh + d))) >= f - 10 * n * EPS * vscale)


@pytest.mark.parametrize("case", ["quadratic", "quadratic_axis_two_cluster", "quadratic_linear", "quadratic_user_eigs",
                                  "quadratic_batched", "least_squares", "least_squares_underdetermined",
                                  "least_squares_ridge", "nesterov_worst_case", "nesterov_worst_case_strong"])
def test_L_and_mu_are_the_extreme_hessian_eigenvalues(case, pxp):
    p = build(case, pxp)
    x = pxp.asarray(points(case, p, np.random.default_rng(5), count=1)[0])
    w = np.linalg.eigvalsh(to_numpy(p.hessian(x)))
    L, mu = np.asarray(p.L), np.asarray(p.mu)
    tol = 100 * p.dim * EPS * np.max(np.abs(w))
    if case.startswith("nesterov"):  # class constants: exact spectrum in eigs, L/mu bound it
        np.testing.assert_allclose(w, p.eigs, rtol=0, atol=tol)
        assert w[-1] <= L + tol and w[0] >= mu - tol
        if p.mu == 0 and p.params["active"] < p.dim:
            assert abs(w[0]) <= tol
        return
    np.testing.assert_allclose(w[..., -1], L, rtol=0, atol=tol)
    np.testing.assert_allclose(w[..., 0], mu, rtol=0, atol=tol)
    if hasattr(p, "eigs") and p.eigs is not None:
        np.testing.assert_allclose(w, p.eigs, rtol=0, atol=tol)
    if case == "least_squares_underdetermined":
        assert p.mu == 0.0  # singular Hessian; x_star is the minimum-norm minimiser
        A = to_numpy(p.A)
        np.testing.assert_allclose(to_numpy(p.x_star), np.linalg.pinv(A) @ to_numpy(p.b), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", ["logistic_regression", "huber", "log_sum_exp", "gd_worst_case",
                                  "nonconvex_regression", "lessard_piecewise"])
def test_stated_constants_bound_the_hessian_everywhere(case, pxp):
    p = build(case, pxp)
    rng = np.random.default_rng(6)
    xh = np.concatenate([points(case, p, rng, count=20), 5 * rng.standard_normal((5, p.dim))])
    if case == "lessard_piecewise":
        xh = points(case, p, rng, count=25)
    w = np.linalg.eigvalsh(to_numpy(p.hessian(pxp.asarray(xh))))
    tol = 100 * p.dim * EPS * (np.abs(w).max() + 1)
    lower = p.lower_curvature if case == "nonconvex_regression" else p.mu
    assert np.all(w[..., -1] <= p.L + tol) and np.all(w[..., 0] >= lower - tol)
    if case == "logistic_regression":  # exact spectrum at x_star is stored, and lies within [mu, L]
        ws = np.linalg.eigvalsh(to_numpy(p.hessian(p.x_star)))
        np.testing.assert_allclose(ws, p.eigs, rtol=1e-12)
    if case == "lessard_piecewise":  # both curvature values occur
        assert np.isclose(w.min(), 1.0) and np.isclose(w.max(), 25.0)


@pytest.mark.parametrize("case", sorted(c for c in CASES if CASES[c][0] in (
    "rosenbrock", "three_hump_camel", "six_hump_camel", "himmelblau", "styblinski_tang", "nonconvex_regression",
    "phase_retrieval", "two_layer_net")))
def test_listed_stationary_points(case, pxp):
    p = build(case, pxp)
    assert p.stationary_points
    for sp in p.stationary_points:
        x = pxp.asarray(np.asarray(sp.x))
        xh = np.asarray(sp.x)
        hs = _hessian_scale(p, x)
        g = to_numpy(p.grad(x))
        assert np.linalg.norm(g) <= 100 * p.dim * EPS * (hs * (np.linalg.norm(xh) + 1) + abs(sp.value) + 1), (sp, g)
        w = np.linalg.eigvalsh(to_numpy(p.hessian(x)))
        np.testing.assert_allclose(w, sp.hessian_eigenvalues, rtol=0, atol=1e-9 * (hs + 1))
        np.testing.assert_allclose(float(to_numpy(p.value(x))), sp.value, rtol=0,
                                   atol=100 * EPS * (abs(sp.value) + hs + 1))
        expected = "minimum" if w[0] > 0 else ("maximum" if w[-1] < 0 else "saddle")
        assert sp.kind == expected or (sp.kind == "minimum" and w[0] > -1e-9 * hs)


@pytest.mark.parametrize("case, counts, box", [
    ("three_hump_camel", {"minimum": 3, "saddle": 2}, 2.5),
    ("six_hump_camel", {"minimum": 6, "saddle": 7, "maximum": 2}, 2.5),
    ("himmelblau", {"minimum": 4, "saddle": 4, "maximum": 1}, 5.0),
])
def test_two_dimensional_tables_are_complete(case, counts, box):
    """Newton from a 41x41 grid of starts (vectorised, 60 steps) finds no stationary point that
    the table lacks, and the table's counts per kind match the literature."""
    p = build(case)
    kinds = [sp.kind for sp in p.stationary_points]
    assert {k: kinds.count(k) for k in set(kinds)} == counts
    g1 = np.linspace(-box, box, 41)
    x = np.stack(np.meshgrid(g1, g1), -1).reshape(-1, 2)
    with np.errstate(all="ignore"):
        for _ in range(60):
            step = np.linalg.solve(p.hessian(x) + 1e-300 * np.eye(2), p.grad(x)[..., None])[..., 0]
            x = x - step
    ok = np.all(np.isfinite(x), -1) & (np.linalg.norm(p.grad(x), axis=-1) < 1e-8) & (np.abs(x).max(-1) < 3 * box)
    table = np.asarray([sp.x for sp in p.stationary_points])
    dist = np.min(np.linalg.norm(x[ok][:, None, :] - table[None], axis=-1), axis=1)
    assert ok.sum() > 100 and np.all(dist < 1e-6)


def test_rosenbrock_local_minimum_for_moderate_dimensions():
    for dim, expected in ((3, 1), (4, 2), (7, 2), (8, 1)):
        p = make("rosenbrock", dim=dim)
        assert len(p.stationary_points) == expected
    p4 = make("rosenbrock", dim=4)
    # Kok & Sandrock (2009): the second minimum of the 4-D function, f ~ 3.7014
    assert abs(p4.stationary_points[1].value - 3.7014) < 1e-4


def test_styblinski_tang_counts_and_global_minimum():
    p = make("styblinski_tang", dim=3)
    assert len(p.stationary_points) == 27
    kinds = [sp.kind for sp in p.stationary_points]
    assert kinds.count("minimum") == 8 and kinds.count("maximum") == 1
    assert abs(p.f_star / 3 - (-39.16616570377142)) < 1e-12


def test_batched_quadratic_is_a_kappa_sweep(pxp):
    kappas = [2.0, 10.0, 100.0]
    p = make_quadratic(4, kappa=kappas, xp=pxp, seed=3)
    assert p.batch_shape == (3,)
    np.testing.assert_allclose(p.L, kappas)
    np.testing.assert_allclose(p.mu, 1.0)
    np.testing.assert_allclose(p.kappa, kappas)
    xs = to_numpy(p.x_star)
    np.testing.assert_array_equal(xs, np.broadcast_to(xs[0], xs.shape))  # one seed: same x_star and rotation
    x = np.random.default_rng(1).standard_normal((3, 4))
    fb = to_numpy(p.value(pxp.asarray(x)))
    for i, kap in enumerate(kappas):
        single = make_quadratic(4, kappa=kap, xp=pxp, seed=3)
        np.testing.assert_allclose(to_numpy(single.value(pxp.asarray(x[i]))), fb[i], rtol=1e-14)
    extra = to_numpy(p.grad(pxp.asarray(np.stack([xs + x, xs + 2 * x]))))  # (2, 3, 4): extra leading batch axis
    np.testing.assert_allclose(extra[1], 2 * extra[0], rtol=1e-14)
    assert tuple(p.default_x0().shape) == (3, 4) and tuple(p.hessian(pxp.asarray(x)).shape) == (3, 4, 4)
    per_seed = make_quadratic(4, kappa=10.0, seed=[0, 1], xp=pxp)
    xs2 = to_numpy(per_seed.x_star)
    assert per_seed.batch_shape == (2,) and not np.allclose(xs2[0], xs2[1])


def test_run_steps_a_batched_problem_member_by_member(pxp):
    p = make_quadratic(5, kappa=[4.0, 40.0], xp=pxp, seed=1)
    lr = pxp.asarray(np.asarray(1.0 / p.L)[:, None])  # (2, 1): gradient descent with step 1/L per member
    tr = run(rules.make("sgd", lr=lr), p, steps=30, batch=(3, 1), record="all")
    assert tr.metrics["dist_sq"].shape == (31, 3, 2)
    rate = (1 - 1 / np.asarray(p.kappa)) ** 2  # contraction of ||x - x*||^2 per step
    bound = tr.metrics["dist_sq"][0] * rate ** tr.steps[:, None, None]
    assert np.all(tr.metrics["dist_sq"] <= bound * (1 + 1e-9))


def test_problem_data_are_identical_on_every_backend(pxp):
    for case in ("quadratic", "least_squares", "logistic_regression", "two_layer_net"):
        a, b = build(case, np), build(case, pxp)
        np.testing.assert_array_equal(to_numpy(a.x_star), to_numpy(b.x_star))
        assert a.L == b.L


def test_float32_problems_keep_their_dtype():
    import array_api_strict as xps

    for case in ("quadratic", "least_squares", "rosenbrock", "reddi_periodic", "two_layer_net"):
        p = build(case, xps, dtype="float32")
        x = p.default_x0()
        g = call(p, "grad", x)
        assert x.dtype == xps.float32 and g.dtype == xps.float32 and call(p, "value", x).dtype == xps.float32


def test_logistic_x_star_is_newton_accurate():
    p = make("logistic_regression", n_samples=200, dim=6, corr=0.5, lam=1e-3)
    assert np.linalg.norm(p.grad(p.x_star)) < 1e-14
    assert p.mu == 1e-3 and p.L >= p.eigs[-1]


def test_from_functions_wraps_user_objectives(pxp):
    A = np.diag([1.0, 4.0, 9.0])
    Ax = pxp.asarray(A)

    def value(x):
        return 0.5 * pxp.sum(x * (x @ Ax), axis=-1)

    p = from_functions(value=value, grad=lambda x: x @ Ax, dim=3, x_star=np.zeros(3), f_star=0.0, L=9.0, mu=1.0,
                       name="diag", xp=pxp)
    v = pxp.asarray([[1.0, -2.0, 0.5]])
    hv = to_numpy(p.hvp(pxp.asarray([[0.3, 0.1, -0.2]]), v))  # central differences: exact for a quadratic
    np.testing.assert_allclose(hv, to_numpy(v) @ A, rtol=1e-9)
    assert p.name == "diag" and p.L == 9.0 and tuple(p.default_x0().shape) == (3,)
    q = from_functions(value=value, grad=lambda x: x @ Ax, hvp=lambda x, v: v @ Ax, dim=3, xp=pxp)
    np.testing.assert_array_equal(to_numpy(q.hvp(v, v)), to_numpy(v) @ A)


def test_available_lists_every_problem_and_make_builds_it():
    names = problems.available()
    assert {c[0] for c in CASES.values()} == set(names)
    for name in names:
        assert make(name).name == name


@pytest.mark.parametrize("call_, field", [
    (lambda: make_quadratic(4, kappa=0.5), "kappa"),
    (lambda: make_quadratic(4, kappa=[10.0, 0.5]), "kappa"),
    (lambda: make_quadratic(0), "dim"),
    (lambda: make_quadratic(eigenvalues=[1.0, -1.0]), "eigenvalues"),
    (lambda: make_quadratic(4, mu=0.0), "mu"),
    (lambda: make_quadratic(4, kappa=[10.0, 20.0], mu=[1.0, 2.0, 3.0]), "kappa, mu, seed"),
    (lambda: make_quadratic(eigenvalues=[[1.0, 2.0]] * 3, seed=[0, 1]), "eigenvalues"),
    (lambda: make("least_squares", dim=3, scale=[1.0, 2.0]), "scale"),
    (lambda: make("least_squares", dim=3, corr=1.5), "corr"),
    (lambda: make("least_squares", noise=-1.0), "noise"),
    (lambda: make("logistic_regression", lam=0.0), "lam"),
    (lambda: make("rosenbrock", dim=1), "dim"),
    (lambda: make("huber", delta=0.0), "delta"),
    (lambda: make("gd_worst_case", h=2.5), "h"),
    (lambda: make("nesterov_worst_case", dim=3, active=4), "active"),
    (lambda: make("reddi_periodic", C=1.5), "C"),
    (lambda: make("reddi_stochastic", C=5.0, delta=6.0), "delta"),
    (lambda: make("log_sum_exp", dim=4, n_terms=3), "n_terms"),
    (lambda: from_functions(value=sum, grad=sum, dim=3, x_star=np.zeros(2)), "x_star"),
    (lambda: from_functions(value=sum, grad=sum, dim=0), "dim"),
    (lambda: make("no_such_problem"), "quadratic"),
])
def test_bad_input_raises_value_error_naming_the_field(call_, field):
    with pytest.raises(ValueError, match=field):
        call_()


def test_unknown_parameter_lists_the_known_ones():
    with pytest.raises(TypeError, match="kappa"):
        make("quadratic", kapa=3.0)

"""Conditioning: dense spectra and cut-offs, matrix-free extreme eigenvalues against dense
``eigvalsh``, tracking along runs, reference scalings, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from precond_theory import conditioning as C
from precond_theory import rules, run
from precond_theory._xp import to_numpy
from precond_theory.problems import make_quadratic

EPS = float(np.finfo(np.float64).eps)


def rotated(n: int, eigs: np.ndarray, seed: int = 0) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    q = q * np.sign(np.diag(r))
    H = (q * eigs) @ q.T
    return (H + H.T) / 2


def host(a):
    return np.asarray(to_numpy(a))


# ------------------------------------------------------------------------------ dense
def test_spectrum_on_every_backend(xp):
    H = xp.asarray(rotated(6, np.geomspace(1.0, 1e3, 6)))
    rep = C.spectrum(H)
    assert host(rep.eigs).shape == (6,)
    np.testing.assert_allclose(host(rep.eigs), np.geomspace(1.0, 1e3, 6), rtol=1e-12)
    np.testing.assert_allclose(host(rep.kappa), 1e3, rtol=1e-12)
    assert int(host(rep.neg_count)) == 0 and int(host(rep.zero_count)) == 0
    assert float(host(C.condition_number(H))) == pytest.approx(1e3, rel=1e-12)


def test_spectrum_is_batched():
    Hs = np.stack([np.diag([1.0, 2.0, 4.0]), np.diag([-1.0, 1.0, 3.0]), np.diag([0.0, 1.0, 5.0])])
    rep = C.spectrum(np.broadcast_to(Hs, (2, 3, 3, 3)))
    assert rep.kappa.shape == (2, 3)
    np.testing.assert_array_equal(rep.kappa[0], [4.0, np.inf, np.inf])
    np.testing.assert_array_equal(rep.neg_count[1], [0, 1, 0])
    np.testing.assert_array_equal(rep.zero_count[1], [0, 0, 1])


def test_zero_cutoff_is_n_eps_max_abs_eigenvalue():
    # tol = n * eps * max|lambda| (NumPy matrix_rank's threshold): 2 * eps for diag(1, .)
    below, above = C.spectrum(np.diag([1.0, 1.0 * EPS])), C.spectrum(np.diag([1.0, 4.0 * EPS]))
    assert below.kappa == np.inf and int(below.zero_count) == 1
    assert above.kappa == pytest.approx(1 / (4 * EPS)) and int(above.zero_count) == 0
    assert C.spectrum(np.diag([1.0, -4.0 * EPS])).neg_count == 1
    # a user rtol replaces n * eps
    assert C.spectrum(np.diag([1.0, 1e-6]), rtol=1e-5).kappa == np.inf


def test_saddle_reports_morse_index_and_infinite_kappa():
    rep = C.spectrum(rotated(5, np.array([-2.0, -1.0, 1.0, 3.0, 4.0])))
    assert int(rep.neg_count) == 2 and rep.kappa == np.inf
    assert float(rep.lambda_min) == pytest.approx(-2.0)


def test_nonfinite_input_gives_nan_without_check():
    H = np.stack([np.eye(2), np.full((2, 2), np.nan)])
    assert np.isnan(C.spectrum(H, check=False).kappa[1]) and C.spectrum(H, check=False).kappa[0] == 1.0
    with pytest.raises(ValueError, match="non-finite"):
        C.spectrum(H)


def test_preconditioned_spectrum_diagonal_and_dense(xp):
    Hn = rotated(5, np.geomspace(1.0, 100.0, 5), seed=3)
    pn = np.random.default_rng(1).uniform(0.1, 3.0, 5)
    s = np.sqrt(pn)
    want = np.linalg.eigvalsh(s[:, None] * Hn * s[None, :])
    got = C.preconditioned_spectrum(xp.asarray(Hn), xp.asarray(pn))
    np.testing.assert_allclose(host(got.eigs), want, rtol=1e-12)
    A = np.random.default_rng(2).standard_normal((5, 5))
    Mn = A @ A.T + np.eye(5)
    want_M = np.sort(np.linalg.eigvals(Mn @ Hn).real)  # similar to M^1/2 H M^1/2
    for factor in ("cholesky", "sqrt"):
        got_M = C.preconditioned_spectrum(xp.asarray(Hn), M=xp.asarray(Mn), factor=factor)
        np.testing.assert_allclose(host(got_M.eigs), want_M, rtol=1e-10)
    np.testing.assert_allclose(host(C.condition_number(xp.asarray(Hn), M=xp.asarray(np.diag(pn)))),
                               want[-1] / want[0], rtol=1e-12)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: C.spectrum(np.ones((2, 3))), "square"),
        (lambda: C.spectrum(np.ones(3)), "square"),
        (lambda: C.spectrum(np.array([[1.0, 2.0], [0.0, 1.0]])), "not symmetric"),
        (lambda: C.spectrum(np.array([[1, 0], [0, 1]])), "floating"),
        (lambda: C.preconditioned_spectrum(np.eye(3), np.array([1.0, 0.0, 2.0])), "strictly positive"),
        (lambda: C.preconditioned_spectrum(np.eye(3), np.array([1.0, -1.0, 2.0])), "strictly positive"),
        (lambda: C.preconditioned_spectrum(np.eye(3), np.array([1.0, np.nan, 2.0])), "strictly positive"),
        (lambda: C.preconditioned_spectrum(np.eye(3), np.ones(2)), "shape"),
        (lambda: C.preconditioned_spectrum(np.eye(3)), "exactly one"),
        (lambda: C.preconditioned_spectrum(np.eye(3), np.ones(3), M=np.eye(3)), "exactly one"),
        (lambda: C.preconditioned_spectrum(np.eye(2), M=np.diag([1.0, -1.0])), "positive definite"),
        (lambda: C.preconditioned_spectrum(np.eye(2), M=np.diag([1.0, -1.0]), factor="sqrt"), "positive definite"),
        (lambda: C.preconditioned_spectrum(np.eye(2), M=np.array([[1.0, 0.5], [0.0, 1.0]])), "M is not symmetric"),
        (lambda: C.preconditioned_spectrum(np.eye(2), M=np.eye(2), factor="qr"), "factor"),
    ],
)
def test_bad_matrix_input(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_symmetry_tolerance_accepts_round_off():
    H = np.diag([1.0, 2.0]) + np.array([[0.0, 1e-12], [0.0, 0.0]])
    assert C.spectrum(H).kappa == pytest.approx(2.0)  # 1e-12 < sqrt(eps)
    with pytest.raises(ValueError, match="symmetry_rtol"):
        C.spectrum(H, symmetry_rtol=1e-14)


# ----------------------------------------------------------------------- matrix-free
@pytest.mark.parametrize("n", [50, 200, 500])
@pytest.mark.parametrize("kappa", [1e2, 1e4, 1e8])
def test_extreme_eigenvalues_match_dense(n, kappa):
    # geometric spectra: the smallest eigenvalue sits in a tight cluster (the case where
    # ARPACK's which='SA' fails); Lanczos with full reorthogonalization must still find it.
    H = rotated(n, np.geomspace(1.0, kappa, n), seed=n)
    w = np.linalg.eigvalsh(H)
    r = C.extreme_eigenvalues(lambda v: H @ v, n)
    lmin, lmax = r
    assert r.converged and r.n_hvp <= n + 3  # exact after at most n steps (+2 symmetry-check HVPs)
    # dense eigvalsh is itself accurate to about eps * ||H|| absolutely (backward stability)
    assert abs(lmax - w[-1]) <= 1e-7 * w[-1]
    assert abs(lmin - w[0]) <= 1e-7 * abs(w[0]) + 64 * EPS * w[-1]
    assert r.kappa == pytest.approx(w[-1] / w[0], rel=1e-6)


def test_extreme_eigenvalues_preconditioned_and_indefinite():
    n = 120
    H = rotated(n, np.concatenate([[-3.0, -0.5], np.geomspace(0.01, 50.0, n - 2)]), seed=7)
    p = np.random.default_rng(0).uniform(0.2, 5.0, n)
    want = np.linalg.eigvalsh(np.sqrt(p)[:, None] * H * np.sqrt(p)[None, :])
    r = C.extreme_eigenvalues(lambda v: H @ v, n, p=p)
    assert r.lambda_min == pytest.approx(want[0], rel=1e-7) and r.lambda_max == pytest.approx(want[-1], rel=1e-7)
    assert r.indefinite and r.kappa == math.inf


def spiked(n: int, seed: int = 0) -> np.ndarray:
    lam = np.concatenate([[0.1], np.geomspace(1.0, 10.0, n - 2), [100.0]])
    return rotated(n, lam, seed)


@pytest.mark.parametrize(
    "kw",
    [{"reorth": "none"}, {"ncv": 20}, {"method": "arpack"}, {"method": "lobpcg", "rtol": 1e-6}, {"which": "max"}],
    ids=["no-reorth", "thick-restart", "arpack", "lobpcg", "max-only"],
)
def test_extreme_eigenvalues_other_paths_on_separated_ends(kw):
    n = 300
    H = spiked(n)
    r = C.extreme_eigenvalues(lambda v: H @ v, n, **kw)
    assert r.converged
    assert r.lambda_max == pytest.approx(100.0, rel=1e-6)
    if kw.get("which") != "max":
        assert r.lambda_min == pytest.approx(0.1, rel=1e-5)
    if "ncv" in kw:
        assert r.n_restarts > 0


def test_extreme_eigenvalues_array_api_strict():
    xps = pytest.importorskip("array_api_strict")
    n = 40
    Hn = rotated(n, np.geomspace(1.0, 1e4, n))
    H = xps.asarray(Hn)
    r = C.extreme_eigenvalues(lambda v: H @ v, n, xp=xps)
    w = np.linalg.eigvalsh(Hn)
    assert r.lambda_min == pytest.approx(w[0], rel=1e-8) and r.lambda_max == pytest.approx(w[-1], rel=1e-10)
    rp = C.extreme_eigenvalues(lambda v: H @ v, n, p=xps.asarray(1 / np.diag(Hn)))
    assert rp.kappa == pytest.approx(float(C.condition_number(Hn, 1 / np.diag(Hn))), rel=1e-6)


def test_extreme_eigenvalues_cupy_path(cupy):
    cp = cupy
    n = 200
    H = cp.asarray(spiked(n))
    for method in ("lanczos", "arpack"):
        r = C.extreme_eigenvalues(lambda v: H @ v, n, xp=cp, method=method)
        assert r.lambda_min == pytest.approx(0.1, rel=1e-6) and r.lambda_max == pytest.approx(100.0, rel=1e-8)


def test_extreme_eigenvalues_reports_nonconvergence():
    n = 200
    H = rotated(n, np.geomspace(1.0, 1e6, n))
    with pytest.warns(C.ConvergenceWarning, match="raise maxiter"):
        r = C.extreme_eigenvalues(lambda v: H @ v, n, maxiter=30)
    assert not r.converged and r.n_hvp == 32


def test_extreme_eigenvalues_bad_input():
    H = np.array([[2.0, 1.0], [0.0, 3.0]])
    with pytest.raises(ValueError, match="not symmetric"):
        C.extreme_eigenvalues(lambda v: H @ v, 2)
    with pytest.raises(ValueError, match="shape"):
        C.extreme_eigenvalues(lambda v: np.ones(3), 2, check_symmetry=False)
    with pytest.raises(ValueError, match="strictly positive"):
        C.extreme_eigenvalues(lambda v: v, 2, p=np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="method"):
        C.extreme_eigenvalues(lambda v: v, 2, method="eig")
    with pytest.raises(TypeError, match="callable"):
        C.extreme_eigenvalues(np.eye(2), 2)
    with pytest.raises(ValueError, match="n must be"):
        C.extreme_eigenvalues(lambda v: v, 0)


# --------------------------------------------------------------------------- tracking
@pytest.mark.parametrize("name", ["adagrad", "rmsprop", "adam"])
def test_tracking_metrics_along_a_run(name):
    prob = make_quadratic(8, 50.0, rotate=True, seed=2)
    rule = rules.make(name, lr=0.05)
    x0 = np.random.default_rng(0).standard_normal((2, 8))
    steps = 6
    tr = run(rule, prob, steps=steps, x0=x0, record="all", metrics=C.tracking_metrics(rule, prob))
    H = np.asarray(prob.A)
    assert tr.metrics["kappa_H"].shape == (steps + 1, 2)
    np.testing.assert_allclose(tr.metrics["kappa_H"], prob.L / prob.mu, rtol=1e-9)
    assert np.all(np.isnan(tr.metrics["kappa_PHP"][0])) and np.all(np.isnan(tr.metrics["precond_spread"][0]))
    # replay the rule by hand and recompute kappa(P_k^1/2 H P_k^1/2) for each run of the batch
    x, state = x0.copy(), rule.init(x0)
    for k in range(1, steps + 1):
        dx, state = rule.update(prob.grad(x), state, x)
        x = x + dx
        p = np.broadcast_to(np.asarray(rule.preconditioner(state)), x.shape)
        for b in range(2):
            want = float(C.condition_number(H, p[b]))
            assert tr.metrics["kappa_PHP"][k, b] == pytest.approx(want, rel=1e-9)
            assert tr.metrics["precond_spread"][k, b] == pytest.approx(p[b].max() / p[b].min(), rel=1e-12)


def test_tracking_metrics_lanczos_matches_dense():
    prob = make_quadratic(20, 1e3, rotate=True, seed=1)
    rule = rules.make("adam", lr=0.05)
    dense = run(rule, prob, steps=20, record=[20], metrics=C.tracking_metrics(rule, prob))
    mf = run(rule, prob, steps=20, record=[20], metrics=C.tracking_metrics(rule, prob, method="lanczos", prefix="mf_"))
    np.testing.assert_allclose(mf.metrics["mf_kappa_PHP"], dense.metrics["kappa_PHP"], rtol=1e-6)
    np.testing.assert_allclose(mf.metrics["mf_kappa_H"], dense.metrics["kappa_H"], rtol=1e-6)


def test_tracking_metrics_errors():
    with pytest.raises(ValueError, match="has no preconditioner"):
        C.tracking_metrics(rules.make("sgd", lr=0.1))
    with pytest.raises(ValueError, match="names entry"):
        C.tracking_metrics(rules.make("adam"), names=("kappa_X",))


# ----------------------------------------------------------------------- scalings
def test_reference_scalings():
    H = rotated(6, np.geomspace(1.0, 1e3, 6), seed=4) * np.geomspace(1, 30, 6)[:, None] * np.geomspace(1, 30, 6)
    H = (H + H.T) / 2
    dj = C.jacobi_scaling(H)
    np.testing.assert_allclose(np.diag(np.sqrt(dj)[:, None] * H * np.sqrt(dj)[None, :]), 1.0, rtol=1e-14)
    dr = C.ruiz_scaling(H)
    Cr = np.sqrt(dr)[:, None] * H * np.sqrt(dr)[None, :]
    np.testing.assert_allclose(np.abs(Cr).max(axis=1), 1.0, atol=1e-7)
    dn = C.row_norm_scaling(H)
    np.testing.assert_allclose(dn, 1 / np.linalg.norm(H, axis=1))
    opt = C.optimal_diagonal_scaling(H, rtol=1e-6)
    k_opt = float(C.condition_number(H, opt.d))
    assert opt.converged and opt.lower_bound <= k_opt * (1 + 1e-12)
    assert k_opt == pytest.approx(float(opt.kappa), rel=1e-9)
    assert (k_opt - opt.lower_bound) <= 1e-6 * k_opt
    for d in (dj, dr, dn):  # the optimum beats every reference, and Jacobi is within n of it (van der Sluis)
        assert k_opt <= float(C.condition_number(H, d)) * (1 + 1e-9)
    assert float(C.condition_number(H, dj)) <= 6 * k_opt
    np.testing.assert_allclose(C.diagonal_scaling(H, "ruiz"), dr)


@pytest.mark.parametrize("H", [np.array([[4.0, 1.5], [1.5, 1.0]]), np.array([[1e-3, -2e-2], [-2e-2, 5.0]])])
def test_optimal_scaling_2x2_closed_form(H):
    # for n = 2 the Jacobi scaling is optimal (Forsythe & Straus 1955):
    # kappa* = (1 + |r|)/(1 - |r|), r = H12 / sqrt(H11 H22)
    r = abs(H[0, 1]) / math.sqrt(H[0, 0] * H[1, 1])
    want = (1 + r) / (1 - r)
    opt = C.optimal_diagonal_scaling(H, rtol=1e-7)  # the certified interval [lower_bound, kappa]
    assert float(opt.kappa) == pytest.approx(want, rel=1e-10)
    assert want * (1 - 1e-7) <= float(opt.lower_bound) <= want * (1 + 1e-12)
    # and no diagonal on a fine grid does better (direct check of optimality)
    for t in np.geomspace(1e-3, 1e3, 61):
        assert float(C.condition_number(H, np.asarray(opt.d) * np.array([t, 1.0]))) >= want * (1 - 1e-12)


def test_scaling_bad_input():
    with pytest.raises(ValueError, match="positive diagonal"):
        C.jacobi_scaling(np.diag([1.0, -1.0]))
    with pytest.raises(ValueError, match="positive definite"):
        C.optimal_diagonal_scaling(np.diag([1.0, -1.0]))
    with pytest.raises(ValueError, match="max_dim"):
        C.optimal_diagonal_scaling(np.eye(5), max_dim=4)
    with pytest.raises(ValueError, match="zero row"):
        C.row_norm_scaling(np.diag([1.0, 0.0]))
    with pytest.raises(ValueError, match="method"):
        C.diagonal_scaling(np.eye(2), "best")


# ------------------------------------------------------------------- anytime brackets
def householder_operator(lam: np.ndarray, seed: int = 0):
    """hvp of Q diag(lam) Q^T with Q two Householder reflections (dense, O(n) per product)."""
    rng = np.random.default_rng(seed)
    n = lam.size
    u1, u2 = rng.standard_normal(n), rng.standard_normal(n)
    u1, u2 = u1 / np.linalg.norm(u1), u2 / np.linalg.norm(u2)
    perm = rng.permutation(n)
    lam = lam[perm]

    def hvp(v):
        v = v - 2 * (u1 @ v) * u1
        v = v - 2 * (u2 @ v) * u2
        v = lam * v
        v = v - 2 * (u2 @ v) * u2
        return v - 2 * (u1 @ v) * u1

    return hvp


def contains(r: C.EigenvalueBracket, lo: float, hi: float) -> bool:
    """The two brackets contain the true extreme eigenvalues (Ritz side up to the rounding allowance)."""
    return (r.lower_min <= lo <= r.lambda_min + r.rounding) and (r.lambda_max - r.rounding <= hi <= r.upper_max)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bracket_contains_dense_eigenvalues(seed):
    n = 300
    H = rotated(n, np.geomspace(1e-3, 1.0, n), seed=seed)  # dense geometric spectrum: no gap at either end
    w = np.linalg.eigvalsh(H)
    r = C.eigenvalue_bracket(lambda v: H @ v, n, rtol=1e-2, seed=seed)
    assert r.certified and r.stopped == "converged"
    assert contains(r, w[0], w[-1])
    assert r.width_min <= 1e-2 * r.lambda_min and r.width_max <= 1e-2 * r.lambda_max
    lmin, lmax = r
    assert (lmin, lmax) == (r.lambda_min, r.lambda_max)


def test_bracket_n2000_gapless_and_preconditioned_indefinite():
    n = 2000
    lam = np.geomspace(1e-2, 1.0, n)
    r = C.eigenvalue_bracket(householder_operator(lam), n, rtol=1e-2)
    assert r.certified and contains(r, lam[0], lam[-1])
    H = rotated(150, np.concatenate([[-2.0], np.geomspace(0.1, 5.0, 149)]), seed=3)
    p = np.random.default_rng(0).uniform(0.5, 2.0, 150)
    w = np.linalg.eigvalsh(np.sqrt(p)[:, None] * H * np.sqrt(p)[None, :])
    r = C.eigenvalue_bracket(lambda v: H @ v, 150, p=p, rtol=1e-3)
    assert r.certified and contains(r, w[0], w[-1])


def test_bracket_rejects_a_wrong_operator():
    """A certified bracket of a slightly different operator excludes the true eigenvalue."""
    n = 300
    H = rotated(n, np.geomspace(1e-3, 1.0, n))
    w = np.linalg.eigvalsh(H)
    r = C.eigenvalue_bracket(lambda v: 1.03 * (H @ v), n, rtol=1e-2)
    assert r.certified and not contains(r, w[0], w[-1])


def test_bracket_flags_a_too_small_budget():
    n = 1000
    lam = np.geomspace(1e-5, 1.0, n)
    hvp = householder_operator(lam)
    seen = []
    r = C.eigenvalue_bracket(hvp, n, max_hvp=60, callback=seen.append)
    assert not r.certified and r.stopped == "max_hvp" and r.n_hvp == 60
    assert r.width_min > 1e-3 * r.lambda_min  # too wide to certify 1e-3, and honest about it
    assert contains(r, lam[0], lam[-1])
    assert seen and [s["n_hvp"] for s in seen] == sorted(s["n_hvp"] for s in seen) and seen[-1]["n_hvp"] == 60
    r = C.eigenvalue_bracket(hvp, n, max_seconds=1e-9)
    assert not r.certified and r.stopped == "max_seconds"


def test_bracket_invariant_subspace_is_exact():
    d = np.repeat([0.5, 2.0, 7.0], 20)  # three distinct eigenvalues: the Krylov space is invariant after 3 products
    r = C.eigenvalue_bracket(lambda v: d * v, 60)
    assert r.stopped == "invariant" and r.certified and r.n_hvp <= 2 + 4
    assert r.lambda_min == pytest.approx(0.5, rel=1e-12) and r.lambda_max == pytest.approx(7.0, rel=1e-12)


def test_bracket_bad_input():
    H = np.eye(3)
    with pytest.raises(ValueError, match="confidence"):
        C.eigenvalue_bracket(lambda v: H @ v, 3, confidence=1.0)
    with pytest.raises(ValueError, match="max_hvp"):
        C.eigenvalue_bracket(lambda v: H @ v, 3, max_hvp=0)
    with pytest.raises(TypeError, match="callback"):
        C.eigenvalue_bracket(lambda v: H @ v, 3, callback=3)
    with pytest.raises(ValueError, match="symmetric"):
        C.eigenvalue_bracket(lambda v: np.triu(np.ones((3, 3))) @ v, 3)


def test_non_finite_hvp_is_a_clear_error_naming_hvp():
    from precond_theory.conditioning import extreme_eigenvalues

    with pytest.raises(ValueError, match="hvp returned a non-finite value"):
        extreme_eigenvalues(lambda v: v * np.nan, 50)
    res = extreme_eigenvalues(lambda v: 3.0 * v, 50)  # the finite operator still works
    assert res.lambda_min == pytest.approx(3.0) and res.lambda_max == pytest.approx(3.0)


# ------------------------------------------------ the lean Lanczos step (in place, fused with numba)
@pytest.mark.parametrize("n, path", [(400, "blas"), (20000, "numba")])
def test_lean_lanczos_step_matches_the_reference_recurrence(monkeypatch, n, path):
    """Before orthogonality is lost (k << n) the lean and reference recurrences agree to rounding."""
    from precond_theory.conditioning import _lanczos_lean as lean
    from precond_theory.conditioning import bracket as B

    if path == "numba":
        pytest.importorskip("numba")
    taken = lean.lean_step(np, np.float64, n)
    assert taken is not None and (taken is lean._NUMBA) == (path == "numba")
    hvp = householder_operator(np.geomspace(1e-4, 1.0, n))
    got = C.eigenvalue_bracket(hvp, n, max_hvp=40, check_symmetry=False)
    monkeypatch.setattr(B, "lean_step", lambda *a: None)
    ref = C.eigenvalue_bracket(hvp, n, max_hvp=40, check_symmetry=False)
    for key in ("lambda_min", "lambda_max", "lower_min", "upper_max", "residual_min"):
        assert getattr(got, key) == pytest.approx(getattr(ref, key), rel=1e-10), key
    assert got.n_hvp == ref.n_hvp == 40


@pytest.mark.parametrize("n", [400, 20000])
def test_lean_lanczos_step_leaves_the_product_alone_and_scans_it(n):
    """An hvp may return its input or a buffer it keeps; a NaN in a product is still named."""
    r = C.eigenvalue_bracket(lambda v: v, n)  # identity: returns q itself
    assert r.stopped == "invariant" and r.lambda_min == pytest.approx(1.0) and r.lambda_max == pytest.approx(1.0)
    d = np.geomspace(0.1, 1.0, n)
    calls = []

    def nan_at_7(v):
        calls.append(1)
        out = d * v
        if len(calls) == 7:
            out[n // 2] = np.nan
        return out

    with pytest.raises(ValueError, match="non-finite value .* at product 7"):
        C.eigenvalue_bracket(nan_at_7, n)


def test_lean_lanczos_float32_bracket_contains_the_spectrum():
    n = 500
    lam = np.geomspace(1e-2, 1.0, n)
    hvp = householder_operator(lam)
    r = C.eigenvalue_bracket(lambda v: hvp(v.astype(np.float64)).astype(np.float32), n, dtype="float32", rtol=3e-2)
    assert r.certified and contains(r, lam[0], lam[-1])

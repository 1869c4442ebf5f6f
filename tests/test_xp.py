"""The backend layer: namespaces, host conversion, the seeded RNG shim, tolerances."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from precond_theory import _xp


def test_to_numpy_and_namespace(xp):
    a = xp.asarray([1.0, 2.0, 3.0])
    host = _xp.to_numpy(a)
    assert isinstance(host, np.ndarray) and host.tolist() == [1.0, 2.0, 3.0]
    assert _xp.array_namespace(a) is not None
    assert _xp.is_cupy(_xp.array_namespace(a)) == (type(a).__module__.startswith("cupy"))


def test_mixed_backends_rejected():
    xs = pytest.importorskip("array_api_strict")
    with pytest.raises(TypeError, match="different backends"):
        _xp.array_namespace(np.zeros(2), xs.zeros(2))


def test_default_rtol_is_four_sqrt_eps():
    assert _xp.default_rtol("float64") == pytest.approx(4 * np.sqrt(np.finfo(np.float64).eps), rel=1e-15)
    assert _xp.default_rtol(np.float32) == pytest.approx(4 * np.sqrt(np.finfo(np.float32).eps), rel=1e-7)


def test_rng_same_stream_on_host_backends():
    xs = pytest.importorskip("array_api_strict")
    a = _xp.Rng(7, np).normal((3, 4))
    b = _xp.to_numpy(_xp.Rng(7, xs).normal((3, 4)))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, _xp.Rng(8, np).normal((3, 4)))


def test_rng_draws_have_their_laws():
    """Moments of each draw against the law (n = 200000: the standard errors are below 0.01)."""
    r = _xp.Rng(0, np)
    n = 200_000
    z = r.normal((n,))
    assert abs(z.mean()) < 5 / np.sqrt(n) and abs(z.var() - 1) < 5 * np.sqrt(2 / n)
    s = r.rademacher((n,))
    assert set(np.unique(s)) == {-1.0, 1.0} and abs(s.mean()) < 5 / np.sqrt(n)
    t = r.student_t(5.0, (n,))  # variance df/(df-2) = 5/3
    assert abs(t.var() - 5 / 3) < 0.05
    u = r.uniform((n,), -1.0, 3.0)
    assert u.min() >= -1 and u.max() < 3 and abs(u.mean() - 1) < 0.02
    p = _xp.to_numpy(r.permutation(6, (4,)))
    assert all(sorted(row) == list(range(6)) for row in p)


def test_rng_rejects_bad_seed():
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        _xp.Rng(-1, np)


def test_rule_modules_use_only_the_array_namespace():
    """Numerical rule code calls the array namespace, never NumPy directly (DESIGN: backends)."""
    rules_dir = Path(_xp.__file__).parent / "rules"
    offenders = []
    for path in sorted(rules_dir.glob("*.py")):
        if path.name in ("base.py", "registry.py", "__init__.py"):
            continue  # host-side validation and registry bookkeeping only
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                if any(n == "numpy" or n.startswith("numpy.") for n in names):
                    offenders.append(f"{path.name}:{node.lineno}")
    assert not offenders, f"rule modules import numpy: {offenders}"

"""Shared fixtures: the array backend fixture ``xp`` (numpy, read-only numpy, array_api_strict,
cupy when a GPU is visible) and dtype-aware tolerances."""

from __future__ import annotations

import os

# Small dense problems run faster single-threaded, and this machine's 2 cores are shared:
# keep OpenBLAS from oversubscribing them (must be set before NumPy is imported).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import importlib  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

BACKENDS = ["numpy", "numpy_readonly", "array_api_strict", "cupy"]


def _cupy_or_skip():
    try:
        cupy = importlib.import_module("cupy")
        if cupy.cuda.runtime.getDeviceCount() < 1:
            raise RuntimeError("no GPU")
    except Exception as exc:  # ImportError, CUDA errors: no usable GPU here
        pytest.skip(f"CuPy with a visible GPU is not available ({type(exc).__name__})")
    return cupy


class ReadOnlyNumpy:
    """NumPy namespace whose ``asarray`` returns non-writeable arrays: any hidden in-place
    update of an input fails loudly (array-api-extra's NUMPY_READONLY backend)."""

    def __init__(self):
        import array_api_compat.numpy as xnp

        self._xp = xnp

    def __getattr__(self, name):
        return getattr(self._xp, name)

    def asarray(self, *args, **kwargs):
        a = np.array(self._xp.asarray(*args, **kwargs), copy=True)
        a.flags.writeable = False
        return a


@pytest.fixture(params=BACKENDS)
def backend(request):
    """(name, namespace) for every backend; CuPy is skipped without a GPU, never failed."""
    name = request.param
    if name == "numpy":
        return name, np
    if name == "numpy_readonly":
        return name, ReadOnlyNumpy()
    if name == "array_api_strict":
        return name, pytest.importorskip("array_api_strict")
    return name, _cupy_or_skip()


@pytest.fixture
def xp(backend):
    return backend[1]


@pytest.fixture
def cupy():
    """The CuPy module when a GPU is visible; the test is skipped otherwise."""
    return _cupy_or_skip()

"""The nn tests run NumPy's BLAS and PyTorch single-threaded (restored afterwards): these tests
are many small matrix products, which multi-threaded BLAS pools slow down, badly so when other
processes share the cores."""
import ctypes
import glob
import os

import numpy as np
import pytest


def _openblas_thread_functions():
    """(get, set) for the OpenBLAS that NumPy loaded, or None where it cannot be found."""
    root = os.path.dirname(os.path.dirname(np.__file__))
    for path in glob.glob(os.path.join(root, "numpy.libs", "*openblas*")) + \
            glob.glob(os.path.join(root, "scipy_openblas*", "lib", "*openblas*.so*")):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", ""):
                get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                set_ = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                if get is not None and set_ is not None:
                    return get, set_
    return None


_BLAS = _openblas_thread_functions()


@pytest.fixture(autouse=True, scope="module")
def _single_threaded():
    blas_before = _BLAS[0]() if _BLAS else None
    try:
        import torch
    except ImportError:
        torch = None
    torch_before = torch.get_num_threads() if torch is not None else None
    if _BLAS:
        _BLAS[1](1)
    if torch is not None:
        torch.set_num_threads(1)
    yield
    if _BLAS:
        _BLAS[1](blas_before)
    if torch is not None:
        torch.set_num_threads(torch_before)

"""The `device` fixture: a test that takes it runs once per device.

- cpu;
- cuda, where CuPy finds an NVIDIA GPU (skipped otherwise, with the reason);
- cuda-emulated: the cuda device's code paths (the CuPy backend, device moves, every op's kernels
  called through the cupy namespace) over the CuPy look-alike in tests/emulated_cupy.py, which runs
  everywhere and enforces CuPy's rules (no implicit host copies, no host arrays in device math).
Tests get the device as a string ("cpu" or "cuda")."""
import contextlib

import pytest

from gradview.engine import backends


def _cuda_skip_reason():
    if backends.is_available("cuda"):
        return None
    error = backends._loaded.get("cuda:error")
    return "no CUDA device here (needs CuPy and an NVIDIA GPU)" + (f": {error}" if error else "")


_EMULATED = []


@contextlib.contextmanager
def emulated_cuda():
    """Make the cuda device the CuPy backend over the emulation, for the duration."""
    if not _EMULATED:
        from tests.emulated_cupy import emulated_cuda_backend
        _EMULATED.append(emulated_cuda_backend())
    saved = {key: backends._loaded[key] for key in ("cuda", "cuda:error") if key in backends._loaded}
    backends._loaded["cuda"] = _EMULATED[0]
    backends._loaded.pop("cuda:error", None)
    try:
        yield
    finally:
        backends._loaded.pop("cuda", None)
        backends._loaded.update(saved)


_reason = _cuda_skip_reason()
DEVICES = [
    pytest.param("cpu", id="cpu"),
    pytest.param("cuda", id="cuda", marks=pytest.mark.skipif(_reason is not None, reason=str(_reason))),
    pytest.param("cuda-emulated", id="cuda-emulated"),
]


@pytest.fixture(params=DEVICES)
def device(request):
    if request.param == "cuda-emulated":
        with emulated_cuda():
            yield "cuda"
    else:
        yield request.param

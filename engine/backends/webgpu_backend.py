"""The WebGPU backend: `webgpu` tensors live on the browser's GPU, through Pyodide's bridge to
JavaScript.

It loads only in a browser (Pyodide) whose `navigator.gpu` gives an adapter. Elsewhere `load()`
raises and the device is simply unavailable: `gradview.engine.backends.available()` leaves it out and
`torch.device("webgpu")` tensors raise a RuntimeError that says why.

Tensors hold `WebGPUArray`s (webgpu/gpuarray.py): a GPU buffer plus shape, strides, offset and
dtype; the kernels on them are split by concern in the modules webgpu/core.py lists.
The ops run their forward and backward through `xp` (webgpu/xp.py), NumPy's names backed by WGSL
kernels (webgpu/kernels.py): elementwise ops with broadcasting and strided inputs, reductions along
any dims, a tiled (batched) matmul, softmax / log_softmax / logsumexp, where, comparisons,
gather / scatter and copies, in float32 (integer tensors are held in 32 bits, bool as 0/1).
Where no kernel covers a case, NumPy runs on the values with a one-time WebGPUFallbackWarning.

Values stay on the GPU: kernels are queued and sent in batches, and only printing, .item(),
.cpu(), .tolist() or the graph inspector read them back, waiting with `pyodide.ffi.run_sync`
(JSPI; Chromium, Python started with runPythonAsync as in a Web Worker).

What differs from the cpu device:
- float64 and float16 tensors raise a TypeError that suggests float32; int64 values are held in
  32 bits (a RuntimeError names values beyond); where NumPy would promote to float64 inside an op
  (a bool mask times 1.0), the GPU computes in float32.
- An index out of range in a gather or scatter is found on the GPU and raised (IndexError) at the
  next read, as CUDA reports device-side errors late.
- sin, cos and tan reduce their argument exactly up to |x| = 8192 (float32 accuracy there).
- Without a kernel (floor division and remainder, sorting, boolean-mask indexing, nonzero, ...)
  NumPy runs on the values: the same result, read back and uploaded, one notice per op.
"""
import json
import sys

from .base import Backend
from .numpy_backend import NumpyRandom


class WebGPUBackend(Backend):
    name = "webgpu"

    def __init__(self, runtime, info):
        from .webgpu import core, xp
        self.runtime = runtime
        self.info = info
        self.xp = xp
        self.ndarray = core.WebGPUArray
        self.random = NumpyRandom()  # values are drawn on the CPU (as for cpu tensors) and uploaded
        self._core = core

    def device_name(self, index=0):
        info = self.info
        name = " ".join(p for p in (info.get("vendor"), info.get("architecture"), info.get("description")) if p)
        return name or "WebGPU adapter"

    def device_of(self, array):
        return "webgpu:0"

    def from_numpy(self, array, index=None):
        return self._core.upload(array)

    def to_numpy(self, array):
        return self._core.download(array)

    def synchronize(self, index=None):
        self.runtime.synchronize()

    def special(self, name, x, host, n=None):
        if name == "erf":  # a WGSL kernel
            return self.xp.erf(x)
        return super().special(name, x, host, n)


BACKEND = WebGPUBackend


def _bridge_source():
    import importlib.resources
    return (importlib.resources.files(__package__) / "webgpu" / "bridge.js").read_text()


def load():
    if sys.platform != "emscripten":
        raise RuntimeError("WebGPU runs in a browser: this Python is not Pyodide")
    import js
    from pyodide.code import run_js
    from pyodide.ffi import run_sync, to_js, can_run_sync

    navigator = getattr(js, "navigator", None)
    gpu = getattr(navigator, "gpu", None) if navigator is not None else None
    if gpu is None:
        raise RuntimeError("this browser has no WebGPU (navigator.gpu is missing); tensors stay on the cpu")
    bridge = getattr(js, "gradviewWebGPU", None)
    if bridge is None:
        run_js(_bridge_source())
        bridge = js.gradviewWebGPU
    if not can_run_sync():
        raise RuntimeError("WebGPU needs pyodide.ffi.run_sync (JSPI) to wait for the GPU, and Python started "
                           "with runPythonAsync (as in a Web Worker)")
    try:
        info = json.loads(run_sync(bridge.init()))
    except Exception as exc:  # a JsException: no adapter, no device
        message = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise RuntimeError(f"WebGPU has no usable adapter here: {message}") from None
    from .webgpu import common
    from .webgpu.runtime import Runtime
    runtime = Runtime(bridge, run_sync, to_js, can_run_sync)
    runtime.cpu_like = bool(info.get("fallback")) or info.get("architecture") == "swiftshader"
    common.RT = runtime
    return WebGPUBackend(runtime, info)

"""The WebGPU backend's parts: the JavaScript bridge (bridge.js), the runtime that queues kernels
(runtime.py), the WGSL kernels (kernels.py), the array class and the ops on it (gpuarray.py and the
modules core.py lists, core.py gathering them), the array namespace (xp.py) and the NumPy fallback
(fallback.py). engine/backends/webgpu_backend.py puts them together."""

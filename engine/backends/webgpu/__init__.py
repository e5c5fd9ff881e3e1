"""The WebGPU backend's parts: the JavaScript bridge (bridge.js), the runtime that queues kernels
(runtime.py), the WGSL kernels (kernels.py), the array class (core.py), the array namespace
(xp.py) and the NumPy fallback (fallback.py). engine/backends/webgpu_backend.py puts them together."""

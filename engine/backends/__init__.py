"""Array backends, one file each, looked up by device type and imported lazily.

A backend is a small object with:
  name        device type ("cpu", "cuda", "webgpu")
  xp          the array namespace (NumPy-compatible) the ops are written against
  ndarray     the backend's array class
  is_available() / device_count()
  from_numpy(np_array, index) / to_numpy(array)  moving data across devices
  random      a per-backend random generator with seed(), standard_normal(), random(), integers()
  synchronize(index)

A backend that cannot load (no CuPy, no GPU, not in a browser) is simply unavailable:
`get(name)` raises a clear RuntimeError only when something asks to use it.
"""
import importlib

_MODULES = {"cpu": "numpy_backend", "cuda": "cupy_backend", "webgpu": "webgpu_backend"}
_loaded = {}


def _load(name):
    if name not in _loaded:
        module_name = _MODULES.get(name)
        if module_name is None:
            raise RuntimeError(
                f"Expected one of cpu, cuda, webgpu device type at start of device string: {name}")
        try:
            module = importlib.import_module(f"{__name__}.{module_name}")
            backend = module.load()
        except Exception as exc:  # any failure to load means "not available here"
            backend = None
            _loaded[name + ":error"] = exc
        _loaded[name] = backend
    return _loaded[name]


def is_available(name):
    backend = _load(name)
    return backend is not None and backend.is_available()


class CudaUnavailableError(RuntimeError, AssertionError):
    """No CUDA here. PyTorch raises AssertionError for this; being a RuntimeError too keeps it with
    the engine's other device errors."""


def get(name):
    backend = _load(name)
    if backend is None or not backend.is_available():
        reason = _loaded.get(name + ":error")
        detail = f" ({reason})" if reason else ""
        if name == "cuda":
            raise CudaUnavailableError("Torch not compiled with CUDA enabled: the cuda device needs CuPy and an "
                                       f"NVIDIA GPU{detail}")
        raise RuntimeError(f"the {name} device is not available here{detail}")
    return backend


def owner_of(array):
    """The loaded non-cpu backend whose array this is, or None (NumPy arrays, and anything else)."""
    for name in ("cuda", "webgpu"):
        backend = _loaded.get(name)
        if backend is not None and isinstance(array, backend.ndarray):
            return backend
    return None


def available():
    return [name for name in _MODULES if is_available(name)]


# ---------------------------------------------------------------------------------------------
# PyTorch's torch.backends switches, so scripts that set or read them run unchanged. Nothing here
# uses cuDNN, TF32 or Metal: the flags are kept, and change nothing.
class _Switches:
    def __init__(self, **flags):
        self.__dict__.update(flags)


class _CudnnSwitches(_Switches):
    def is_available(self):
        return is_available("cuda")

    def version(self):
        return None


cudnn = _CudnnSwitches(enabled=True, benchmark=False, deterministic=False, allow_tf32=True)
mps = _Switches(is_available=lambda: False, is_built=lambda: False)
cuda = _Switches(matmul=_Switches(allow_tf32=False, allow_fp16_reduced_precision_reduction=True),
                 is_built=lambda: True)

"""Array backends, one file each, registered below and loaded when first asked for.

A backend file declares a `Backend` subclass (engine/backends/base.py) as `BACKEND`:
  name        device type ("cpu", "cuda", "webgpu")
  xp          the array namespace (NumPy-compatible) the ops are written against
  ndarray     the backend's array class; `host` when that is NumPy's, in host memory
  is_available() / device_count()
  from_numpy(np_array, index) / to_numpy(array)  moving data across devices
  random      a per-backend random generator with seed() that manual_seed seeds (or None)
  special(name, x, host)  scipy.special's functions on the backend's arrays
  synchronize(index)
and a `load()` that returns the backend object. Device types, the owner of an array and seeding
are read from the registry, so a new backend is its file plus one line in REGISTRY.

A backend that cannot load (no CuPy, no GPU, not in a browser) is simply unavailable:
`get(name)` raises a clear RuntimeError only when something asks to use it.
"""
import importlib

# The backend files, cpu first. Importing one is cheap: what it needs (CuPy, the browser) loads in load().
REGISTRY = (
    "numpy_backend",
    "cupy_backend",
    "webgpu_backend",
)

_DECLARED = {}  # device type -> the backend file's module
for _module_name in REGISTRY:
    _module = importlib.import_module(f"{__name__}.{_module_name}")
    _DECLARED[_module.BACKEND.name] = _module
del _module_name, _module

DEVICE_TYPES = tuple(_DECLARED)  # ("cpu", "cuda", "webgpu")
_MODULES = {name: module.__name__.rpartition(".")[2] for name, module in _DECLARED.items()}
_loaded = {}


def _load(name):
    if name not in _loaded:
        module = _DECLARED.get(name)
        if module is None:
            raise RuntimeError(
                f"Expected one of {', '.join(DEVICE_TYPES)} device type at start of device string: {name}")
        try:
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
    """The loaded device backend (not a host one) whose array this is, or None (NumPy arrays, and
    anything else)."""
    for name in DEVICE_TYPES:
        backend = _loaded.get(name)
        if backend is not None and not backend.host and isinstance(array, backend.ndarray):
            return backend
    return None


def of_namespace(xp):
    """The loaded backend whose array namespace `xp` is (ops get `xp`, not the backend)."""
    for name in DEVICE_TYPES:
        backend = _loaded.get(name)
        if backend is not None and backend.xp is xp:
            return backend
    raise RuntimeError(f"no loaded backend has the array namespace {getattr(xp, '__name__', xp)!r}")


def manual_seed(seed):
    """Seed the generator of every loaded backend that has one (the cpu's is engine.creation's)."""
    for name in DEVICE_TYPES:
        backend = _loaded.get(name)
        if backend is not None and backend.random is not None:
            backend.random.seed(int(seed))


def available():
    return [name for name in DEVICE_TYPES if is_available(name)]


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

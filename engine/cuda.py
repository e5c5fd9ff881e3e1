"""`torch.cuda`: the CUDA device through the CuPy backend, unavailable (not an error) without it.

Memory figures come from CuPy's memory pool, which is where the engine's device arrays live.
"""
from . import backends
from .amp import GradScaler as _GradScaler, autocast as _autocast
from ._tensortype import cuda_types as _cuda_types

globals().update(_cuda_types())  # torch.cuda.FloatTensor, ...: typed constructors of cuda tensors

_current = 0         # the device "cuda" without an index means (torch.cuda.set_device)
_peak_allocated = 0  # the highest memory_allocated() seen since the last reset


def is_available():
    return backends.is_available("cuda")


def device_count():
    return backends.get("cuda").device_count() if is_available() else 0


def current_device():
    backends.get("cuda")
    return _current


def set_device(device):
    global _current
    index = _index(device)
    if index < 0:
        return  # PyTorch ignores negative indices here
    count = backends.get("cuda").device_count()
    if index >= count:
        raise RuntimeError(f"CUDA error: invalid device ordinal (device {index}, {count} device(s) available)")
    _current = index


class device:
    """`with torch.cuda.device(1):` makes that GPU the current one for the block."""

    def __init__(self, device):
        self.index = _index(device)
        self._previous = None

    def __enter__(self):
        self._previous = _current
        set_device(self.index)
        return self

    def __exit__(self, *exc):
        set_device(self._previous)
        return False


def _index(device):
    if device is None:
        return _current
    if isinstance(device, int):
        return device
    index = getattr(device, "index", None)
    if index is not None:
        return index
    text = str(device)
    return int(text.split(":")[-1]) if ":" in text else _current


def get_device_name(device=None):
    return backends.get("cuda").device_name(_index(device))


class _DeviceProperties:
    def __init__(self, props):
        name = props["name"]
        self.name = name.decode() if isinstance(name, bytes) else name
        self.total_memory = int(props.get("totalGlobalMem", 0))
        self.major = int(props.get("major", 0))
        self.minor = int(props.get("minor", 0))
        self.multi_processor_count = int(props.get("multiProcessorCount", 0))

    def __repr__(self):
        return (f"_CudaDeviceProperties(name='{self.name}', major={self.major}, minor={self.minor}, "
                f"total_memory={self.total_memory // (1024 * 1024)}MB, "
                f"multi_processor_count={self.multi_processor_count})")


def get_device_properties(device=None):
    return _DeviceProperties(backends.get("cuda").device_properties(_index(device)))


def get_device_capability(device=None):
    p = get_device_properties(device)
    return p.major, p.minor


def is_bf16_supported(including_emulation=True):
    return False  # the engine has no bfloat16


def synchronize(device=None):
    if is_available():
        backends.get("cuda").synchronize(device)


def manual_seed(seed):
    if is_available():
        backends.get("cuda").random.seed(int(seed))


manual_seed_all = manual_seed


def is_initialized():
    return is_available()


# --- memory (0 where there is no cuda device, as in PyTorch)
def _pool():
    return backends.get("cuda").memory_pool() if is_available() else None


def memory_allocated(device=None):
    global _peak_allocated
    pool = _pool()
    used = int(pool.used_bytes()) if pool is not None else 0
    _peak_allocated = max(_peak_allocated, used)
    return used


def max_memory_allocated(device=None):
    """The highest memory_allocated() observed since the last reset (CuPy keeps no peak of its own,
    so this is sampled whenever either function is called: a lower bound of PyTorch's figure)."""
    memory_allocated(device)
    return _peak_allocated


def reset_peak_memory_stats(device=None):
    global _peak_allocated
    _peak_allocated = 0


def memory_reserved(device=None):
    pool = _pool()
    return int(pool.total_bytes()) if pool is not None else 0


max_memory_reserved = memory_reserved


def empty_cache():
    pool = _pool()
    if pool is not None:
        pool.free_all_blocks()


class amp:
    """torch.cuda.amp (PyTorch's older spelling of torch.amp for cuda)."""
    GradScaler = _GradScaler

    @staticmethod
    def autocast(enabled=True, dtype=None, cache_enabled=True):
        return _autocast("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)

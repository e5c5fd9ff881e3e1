"""`torch.accelerator`: PyTorch's device-neutral view of "the GPU", here the cuda device when CuPy
finds one (`torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else
"cpu"` picks it, as PyTorch's tutorials do)."""
from . import cuda as _cuda
from ._device import device as _Device


def is_available():
    return _cuda.is_available()


def current_accelerator(check_available=False):
    return _Device("cuda") if _cuda.is_available() else None


def device_count():
    return _cuda.device_count()


def current_device_index():
    return _cuda.current_device() if _cuda.is_available() else -1


current_device_idx = current_device_index


def set_device_index(device):
    if _cuda.is_available():
        _cuda.set_device(device)


set_device_idx = set_device_index


def synchronize(device=None):
    _cuda.synchronize(device)


def empty_cache():
    _cuda.empty_cache()


def memory_allocated(device=None):
    return _cuda.memory_allocated(device)


def max_memory_allocated(device=None):
    return _cuda.max_memory_allocated(device)


def memory_reserved(device=None):
    return _cuda.memory_reserved(device)


def reset_peak_memory_stats(device=None):
    _cuda.reset_peak_memory_stats(device)

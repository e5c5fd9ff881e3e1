"""`torch.save` and `torch.load`: checkpoints of tensors, state dicts, optimizers' state and modules.

A file is a Python pickle in which each tensor is its NumPy data, its device and requires_grad (the
engine's own format: PyTorch's zip checkpoints are not read, nor written). As in PyTorch:
- `map_location` moves what is loaded: a device or its name ("cpu"), a {saved: wanted} dict of
  device names, or a function (tensor on the cpu, saved device name) -> tensor;
- `weights_only=True` (the default) unpickles only tensors, NumPy arrays, dtypes, devices, plain
  containers and values, so a file from elsewhere cannot run code; `weights_only=False` loads any
  pickle, modules included (for files you trust).
"""
import collections
import io
import os
import pickle

from . import _dtype
from ._device import device as Device

_SAFE_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set, ("builtins", "frozenset"): frozenset, ("builtins", "slice"): slice,
    ("builtins", "complex"): complex, ("builtins", "range"): range,
    ("engine._device", "device"): Device,
}
_SAFE_NUMPY = {("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "scalar"), ("numpy.core.multiarray", "scalar"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}
_CUDA_MISSING = ("Attempting to deserialize object on a CUDA device but torch.cuda.is_available() is False. If you "
                 "are running on a CPU-only machine, please use torch.load with map_location=torch.device('cpu') "
                 "to map your storages to the CPU.")


def save(obj, f, pickle_module=None, pickle_protocol=pickle.DEFAULT_PROTOCOL, _use_new_zipfile_serialization=True):
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as handle:
            pickle.dump(obj, handle, protocol=pickle_protocol)
    else:
        pickle.dump(obj, f, protocol=pickle_protocol)


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None, **pickle_load_args):
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as handle:
            return _Unpickler(handle, map_location, weights_only).load()
    if isinstance(f, (bytes, bytearray)):
        f = io.BytesIO(f)
    return _Unpickler(f, map_location, weights_only).load()


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, map_location, weights_only):
        super().__init__(file)
        self.map_location = map_location
        self.weights_only = weights_only

    def find_class(self, module, name):
        if (module, name) == ("engine.tensor", "_rebuild"):
            return self._tensor
        if (module, name) == ("engine.nn.parameter", "_rebuild_parameter"):
            return self._parameter
        if (module, name) in _SAFE_GLOBALS:
            return _SAFE_GLOBALS[module, name]
        if module == "engine._dtype" and isinstance(getattr(_dtype, name, None), _dtype.dtype):
            return getattr(_dtype, name)
        if self.weights_only and (module, name) not in _SAFE_NUMPY:
            raise pickle.UnpicklingError(
                f"Weights only load failed: {module}.{name} is not an allowed global (only tensors, arrays and "
                "plain containers load with weights_only=True). Re-running torch.load with weights_only=False "
                "loads anything the file holds, which can run arbitrary code: do it only for files you trust.")
        return super().find_class(module, name)

    def _tensor(self, array, saved_device, requires_grad):
        from .tensor import Tensor
        t = self._placed(Tensor._make(array), saved_device)
        t._rg = requires_grad
        return t

    def _parameter(self, array, saved_device, requires_grad):
        from .nn.parameter import Parameter
        from .tensor import Tensor
        return Parameter(self._placed(Tensor._make(array), saved_device), requires_grad)

    def _placed(self, t, saved_device):
        """The cpu tensor `t` moved where map_location says (by default: where it was saved)."""
        where = self.map_location
        if callable(where) and not isinstance(where, (str, Device)):
            moved = where(t, saved_device)
            return moved if moved is not None else t
        if isinstance(where, dict):
            where = where.get(saved_device, saved_device)
        target = Device(where if where is not None else saved_device)
        if target.type == "cpu":
            return t
        from . import backends
        if target.type == "cuda" and not backends.is_available("cuda"):
            raise RuntimeError(_CUDA_MISSING)
        return t.to(target)

"""`torch.save` and `torch.load` in PyTorch's checkpoint format, so files go both ways.

A checkpoint is PyTorch's zip archive: `data.pkl` (a protocol-2 pickle in which each tensor is
`torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)` and each
storage a persistent id naming a record), one record per storage under `data/`, 64-byte aligned,
and the small version records. PyTorch loads what the engine saves and the engine loads what
PyTorch saves (tensors, parameters, state dicts, optimizers' state, dtypes, devices, plain values).
As in PyTorch:
- `map_location` moves what is loaded: a device or its name ("cpu"), a {saved: wanted} dict of
  device names, or a function (tensor on the cpu, saved device name) -> tensor;
- `weights_only=True` (the default) unpickles only tensors, dtypes, devices, plain containers and
  values, so a file from elsewhere cannot run code; `weights_only=False` loads any pickle (files
  you trust), where a pickled `torch.*` class is looked up in the engine under the same path.
"""
import collections
import importlib
import io
import os
import pickle
import secrets
import zipfile

import numpy as np

from . import _dtype
from ._device import device as Device

_STORAGE_DTYPES = {  # PyTorch's storage class names <-> NumPy element types
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16, "CharStorage": np.int8,
    "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}
_STORAGE_OF = {np.dtype(v): k for k, v in _STORAGE_DTYPES.items()}
_ALIGNMENT = 64
_CUDA_MISSING = ("Attempting to deserialize object on a CUDA device but torch.cuda.is_available() is False. If you "
                 "are running on a CPU-only machine, please use torch.load with map_location=torch.device('cpu') "
                 "to map your storages to the CPU.")


# ---------------------------------------------------------------------------------------------
# saving
class _Global:
    """A name written into the pickle as PyTorch's global (module, name), whatever is installed."""

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __call__(self, *args):  # pickle wants reduce functions callable; this one is only ever written
        raise TypeError(f"{self.module}.{self.name} is a name in a checkpoint, not a function")


_REBUILD_TENSOR = _Global("torch._utils", "_rebuild_tensor_v2")
_REBUILD_PARAMETER = _Global("torch._utils", "_rebuild_parameter")
_DEVICE = _Global("torch", "device")


class _Pickler(pickle._Pickler):
    """Engine tensors, dtypes and devices pickled as PyTorch's; each tensor's data becomes a storage
    record. (The pure-Python pickler, because it lets globals be written by name.)"""

    def __init__(self, file):
        super().__init__(file, protocol=2)
        self.storages = []  # (key, contiguous NumPy array, device name)

    def reducer_override(self, obj):
        from .tensor import Tensor
        if isinstance(obj, Tensor):
            data = np.asarray(obj.detach()._host(), order="C")  # (ascontiguousarray would make 0-d 1-d)
            if data.dtype not in _STORAGE_OF:
                raise pickle.PicklingError(f"can't save a tensor of dtype {obj.dtype}")
            key = str(len(self.storages))
            self.storages.append((key, data, str(obj.device) if obj.device.type != "cpu" else "cpu"))
            storage = ("storage", _Global("torch", _STORAGE_OF[data.dtype]), key, self.storages[-1][2], data.size)
            stride = tuple(s // data.itemsize for s in data.strides) if data.ndim else ()
            tensor = (_REBUILD_TENSOR, (_PersistentStorage(storage), 0, tuple(data.shape), stride,
                                        bool(obj._rg) and type(obj).__name__ != "Parameter",
                                        collections.OrderedDict()))
            if type(obj).__name__ == "Parameter":
                return _REBUILD_PARAMETER, (_Reduced(tensor), bool(obj._rg), collections.OrderedDict())
            return tensor
        if isinstance(obj, Device):
            return _DEVICE, (str(obj),)
        return NotImplemented

    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, _PersistentStorage) else None

    def save_global(self, obj, name=None):
        if isinstance(obj, _Global):
            self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("utf-8"))
            self.memoize(obj)
            return
        super().save_global(obj, name)

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, _dtype.dtype):
            obj = _dtype_globals.setdefault(obj.name, _Global("torch", obj.name))
        if isinstance(obj, _Global):
            memo = self.memo.get(id(obj))
            if memo is not None:
                self.write(self.get(memo[0]))
                return
            return self.save_global(obj)
        if isinstance(obj, _Reduced):
            return self.save_reduce(*obj.value, obj=obj)
        return super().save(obj, save_persistent_id)


_dtype_globals = {}


class _PersistentStorage:
    def __init__(self, pid):
        self.pid = pid


class _Reduced:
    """A (callable, args) pair to be written as a REDUCE (the tensor inside a parameter)."""

    def __init__(self, value):
        self.value = value


def save(obj, f, pickle_module=None, pickle_protocol=2, _use_new_zipfile_serialization=True, _disable_byteorder_record=False):
    buffer = io.BytesIO()
    pickler = _Pickler(buffer)
    pickler.dump(obj)
    records = [("data.pkl", buffer.getvalue()), (".format_version", b"1"),
               (".storage_alignment", str(_ALIGNMENT).encode()), ("byteorder", b"little")]
    records += [(f"data/{key}", array.tobytes()) for key, array, _ in pickler.storages]
    records += [("version", b"3\n"), (".data/serialization_id", str(secrets.randbits(128)).zfill(40).encode())]
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as handle:
            _write_archive(handle, records)
    else:
        _write_archive(f, records)


def _write_archive(handle, records):
    """PyTorch's layout: records stored uncompressed under archive/, each one's data 64-byte aligned
    (an extra field pads the local header)."""
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in records:
            info = zipfile.ZipInfo("archive/" + name, date_time=(1980, 1, 1, 0, 0, 0))
            header_end = zf.fp.tell() + 30 + len(info.filename.encode("utf-8")) + 4
            info.extra = b"FB" + (-header_end % _ALIGNMENT).to_bytes(2, "little") + b"Z" * (-header_end % _ALIGNMENT)
            zf.writestr(info, data)


# ---------------------------------------------------------------------------------------------
# loading
def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None, **pickle_load_args):
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as handle:
            return _load(handle, map_location, weights_only)
    if isinstance(f, (bytes, bytearray)):
        f = io.BytesIO(f)
    return _load(f, map_location, weights_only)


def _load(handle, map_location, weights_only):
    if not zipfile.is_zipfile(handle):
        handle.seek(0)
        raise RuntimeError("Invalid magic number; corrupt file? (this is not a checkpoint written by torch.save: "
                           "PyTorch's zip format is expected)")
    handle.seek(0)
    with zipfile.ZipFile(handle) as zf:
        names = zf.namelist()
        pkl = next((n for n in names if n.endswith("/data.pkl") and n.count("/") == 1), None)
        if pkl is None:
            raise RuntimeError("PytorchStreamReader failed locating file data.pkl: file not found")
        prefix = pkl[:-len("data.pkl")]
        return _Unpickler(io.BytesIO(zf.read(pkl)), zf, prefix, map_location, weights_only).load()


class _Storage:
    def __init__(self, array, location):
        self.array, self.location = array, location


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, archive, prefix, map_location, weights_only):
        super().__init__(file)
        self.archive, self.prefix = archive, prefix
        self.map_location = map_location
        self.weights_only = weights_only
        self.storages = {}

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        _, storage_type, key, location, numel = pid
        if key not in self.storages:
            raw = self.archive.read(f"{self.prefix}data/{key}")
            self.storages[key] = _Storage(np.frombuffer(raw, dtype=storage_type)[:numel], location)
        return self.storages[key]

    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return self._tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return self._parameter
        if module == "torch" and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        if module == "torch" and isinstance(getattr(_dtype, name, None), _dtype.dtype):
            return getattr(_dtype, name)
        if module == "torch" and name == "device":
            return Device
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if self.weights_only:
            if module == "builtins" and name in ("set", "frozenset", "slice", "complex", "range"):
                return super().find_class(module, name)
            raise pickle.UnpicklingError(
                f"Weights only load failed: {module}.{name} is not an allowed global (only tensors, dtypes, devices "
                "and plain containers load with weights_only=True). Re-running torch.load with weights_only=False "
                "loads anything the file holds, which can run arbitrary code: do it only for files you trust.")
        if module == "torch" or module.startswith("torch."):
            try:  # the engine mirrors PyTorch's module paths
                return getattr(importlib.import_module("gradview.engine" + module[len("torch"):]), name)
            except (ImportError, AttributeError):
                raise pickle.UnpicklingError(f"{module}.{name} has no counterpart in the engine") from None
        return super().find_class(module, name)

    def _tensor(self, storage, offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
        from .tensor import Tensor
        item = storage.array.itemsize
        view = np.lib.stride_tricks.as_strided(storage.array[offset:], shape=tuple(size),
                                               strides=tuple(s * item for s in stride))
        t = self._placed(Tensor._make(np.array(view)), storage.location)
        t._rg = bool(requires_grad)
        return t

    def _parameter(self, data, requires_grad, backward_hooks=None, *rest):
        from .nn.parameter import Parameter
        return Parameter(data, requires_grad)

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

"""PyTorch's legacy tensor types and constructor: `torch.FloatTensor`, `torch.LongTensor`, ...,
`torch.cuda.FloatTensor`, ...; `torch.Tensor(...)` itself; `x.type(...)` and
`torch.set_default_tensor_type`.

A legacy type is a class whose instances are the tensors of its dtype and device (`isinstance`),
and calling it builds such a tensor with the legacy constructor's rules: integers or a
`torch.Size` give a shape, a sequence or array gives the data, a tensor is returned as an alias.
"""
import numbers

import numpy as np

from . import _dtype
from ._device import canonical


class tensortype(type):
    """The metaclass of the legacy types (PyTorch's `torch.tensortype`)."""

    def __instancecheck__(cls, obj):
        from .tensor import Tensor
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype and obj.device.type == cls._device_type

    def __call__(cls, *args, device=None):
        return legacy_new(args, cls.dtype, cls._device_type if device is None else device, typed=True)

    def __repr__(cls):
        return f"<class '{cls.__module__}.{cls.__name__}'>"


def _make_type(d, device_type):
    module = "torch" if device_type == "cpu" else f"torch.{device_type}"
    return tensortype(f"{d.title}Tensor", (), {
        "dtype": d, "is_cuda": device_type == "cuda", "is_sparse": False, "__module__": module,
        "_device_type": device_type, "__doc__": f"Tensors of dtype {d!r} on {device_type}."})


TYPES = {(d, dev): _make_type(d, dev) for d in _dtype.ALL for dev in ("cpu", "cuda")}
BY_NAME = {_dtype.legacy_type_name(d, dev): cls for (d, dev), cls in TYPES.items()}


def cpu_types():
    """{"FloatTensor": torch.FloatTensor, ...}: the names torch exports."""
    return {cls.__name__: cls for (d, dev), cls in TYPES.items() if dev == "cpu"}


def cuda_types():
    return {cls.__name__: cls for (d, dev), cls in TYPES.items() if dev == "cuda"}


def _size_args(args):
    """The shape a legacy constructor's arguments give, or None when they are data."""
    from .tensor import Size, Tensor
    if len(args) == 1 and isinstance(args[0], Size):
        return tuple(args[0])
    if args and all(isinstance(a, numbers.Integral) and not isinstance(a, (bool, np.bool_)) and
                    not isinstance(a, Tensor) for a in args):
        return tuple(int(a) for a in args)
    return None


def legacy_new(args, dtype, device, typed):
    """`torch.Tensor(*args)` / `torch.LongTensor(*args)`: a tensor of `dtype` on `device`."""
    from . import creation
    from .tensor import Tensor
    if len(args) == 1 and isinstance(args[0], Tensor):
        t = args[0]
        if typed and t.dtype is not dtype:
            raise TypeError(f"expected {_dtype.legacy_type_name(dtype, canonical(device).type)} (got "
                            f"{_dtype.legacy_type_name(t.dtype, t.device.type)})")
        return t.detach()  # an alias: same memory, same version counter, no autograd history
    if not args:
        return creation.empty(0, dtype=dtype, device=device)
    shape = _size_args(args)
    if shape is not None:
        return creation.empty(shape, dtype=dtype, device=device)
    if len(args) == 1 and isinstance(args[0], (list, tuple, np.ndarray)):
        return creation.tensor(args[0], dtype=dtype, device=device)
    if len(args) == 1:
        raise TypeError(f"new(): data must be a sequence (got {type(args[0]).__name__})")
    raise TypeError("new() received an invalid combination of arguments - got "
                    f"({', '.join(type(a).__name__ for a in args)})")


def resolve(spec):
    """What `x.type(spec)` converts to: (dtype, device type or None to keep the device)."""
    if isinstance(spec, tensortype):
        return spec.dtype, spec._device_type
    if isinstance(spec, str):
        cls = BY_NAME.get(spec)
        if cls is None:
            raise ValueError(f"invalid type: '{spec}'")
        return cls.dtype, cls._device_type
    return _dtype.as_dtype(spec), None


def set_default_tensor_type(t):
    """The dtype (and device) of a legacy type become the defaults of new tensors."""
    from ._device import set_default_device
    d, device_type = resolve(t)
    if not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _dtype.set_default_dtype(d)
    set_default_device(device_type)

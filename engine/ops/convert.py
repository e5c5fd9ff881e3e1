"""Conversions between dtypes and devices: `Tensor.to` and the device copy op (ToCopyBackward0)."""
from .._device import CPU, canonical, device as Device
from .._dtype import as_dtype
from ._core import OpDef, apply, Tensor
from ._registry import binds
from .shape import to_dtype


def _to_device(x, dev):
    return apply(_device_copy, (x,), (x.device, dev))


def _move(array, src, dst):
    host = array if src is CPU else src.backend.to_numpy(array)
    return host.copy() if dst is CPU else dst.backend.from_numpy(host, dst.index)


def _device_copy_forward(xp, x, src, dst):
    return _move(x, src, dst)


def _device_copy_vjp(m, g, node):
    src, dst = node.params
    if isinstance(g, Tensor):
        return g.to(src)
    return _move(g, dst, src)


_device_copy = OpDef("ToCopyBackward0", _device_copy_forward, _device_copy_vjp, kind="to",
                     result_device=lambda params: params[1])


@binds(method="to")
def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False, memory_format=None, tensor=None):
    if tensor is not None:  # to(tensor=t): t's dtype and device
        args = (tensor,) + args
    flags = []  # to(dtype, non_blocking, copy): trailing positional flags
    for a in args:
        if isinstance(a, bool):
            flags.append(a)
        elif isinstance(a, Tensor):
            dtype, device = a.dtype, a.device
        elif isinstance(a, (str, Device)) and not (isinstance(a, str) and a in ("float32", "float64")):
            device = a
        elif a is not None:
            dtype = as_dtype(a)
    if len(flags) > 1:
        copy = flags[1]
    result = self
    if device is not None:
        dev = canonical(device)
        if dev != self.device:
            result = _to_device(result, dev)
    if dtype is not None:
        result = to_dtype(result, as_dtype(dtype), copy=copy and result is self)
    elif copy and result is self:
        result = result.clone()
    return result

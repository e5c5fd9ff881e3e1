"""The `WebGPUArray` methods that run kernels or read values back, set on the class here (after
the modules they call): host values (`get`, `item`, printing), shape methods, reductions and
the operators. Where no kernel covers a case, the method or operator runs NumPy on the values
(fallback.py)."""
from __future__ import annotations

import types

import numpy as np

from . import common
from . import fallback
from .common import HOST, Unsupported
from .gpuarray import WebGPUArray, upload
from .elementwise import assign, astype, binary, clip, copy, unary
from .views import ascontiguousarray, diagonal, reshape, squeeze, swapaxes, transpose
from .indexing import getitem, setitem, take
from .reductions import argreduce, mean, reduce, var
from .matmul import matmul


def download(a):
    """The values of a GPU array as a NumPy array of its dtype."""
    n = a.size
    host_dt = HOST[a.store]
    if n == 0:
        return np.zeros(a.shape, dtype=a.dtype)
    if not a.is_c_contiguous():
        a = copy(a)
    raw = common.RT.read(a.buf.id, 4 * a.off, 4 * n)
    data = np.frombuffer(raw, dtype=host_dt).reshape(a.shape)
    if host_dt != a.dtype:
        data = data.astype(a.dtype)
    elif not data.flags.writeable:
        data = data.copy()
    return data


def _with_out(result, out):
    if out is None:
        return result
    assign(out, result)
    return out


def _fallback_op(name, a, b):
    """An operator NumPy has and no kernel covers (floor division, remainder): NumPy's, on the values."""
    return fallback.Fallback(name, getattr(np, name))(a, b)


class _Methods:
    """Their bodies; each is set on WebGPUArray below."""

    # -- host values -----------------------------------------------------------------------
    def get(self):
        """The values as a NumPy array (reads the GPU)."""
        return download(self)

    def __array__(self, dtype=None, copy=None):
        host = download(self)
        return host if dtype is None else host.astype(dtype, copy=False)

    def item(self, *args):
        return download(self).item(*args)

    def tolist(self):
        return download(self).tolist()

    def _scalar(self, kind):
        if self.size != 1:
            if kind is bool:
                raise ValueError("The truth value of an array with more than one element is ambiguous. "
                                 "Use a.any() or a.all()")
            raise TypeError("only length-1 arrays can be converted to Python scalars")
        return kind(download(self).reshape(()).item())

    def __bool__(self):
        return self._scalar(bool)

    def __float__(self):
        return self._scalar(float)

    def __int__(self):
        return self._scalar(int)

    def __complex__(self):
        return self._scalar(complex)

    def __index__(self):
        if self.dtype.kind not in "iu" or self.size != 1 or self.ndim:
            raise TypeError("only integer scalar arrays can be converted to a scalar index")
        return int(download(self).item())

    def __repr__(self):
        text = repr(download(self))
        return "webgpu_" + text if text.startswith("array(") else f"webgpu_array({text})"

    __str__ = __repr__

    def __format__(self, spec):
        return download(self).__format__(spec)

    def __reduce__(self):
        return (upload, (download(self),))

    # -- shape -----------------------------------------------------------------------------
    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        return reshape(self, shape)

    def transpose(self, *axes):
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
            axes = axes[0]
        return transpose(self, axes or None)

    def swapaxes(self, a, b):
        return swapaxes(self, a, b)

    def squeeze(self, axis=None):
        return squeeze(self, axis)

    def ravel(self, order="C"):
        return reshape(self, (-1,))

    def flatten(self, order="C"):
        return ascontiguousarray(self).reshape(-1).copy() if self.is_c_contiguous() else reshape(self, (-1,))

    def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
        return astype(self, dtype, copy)

    def copy(self, order="C"):
        return copy(self)

    def fill(self, value):
        assign(self, value)

    def diagonal(self, offset=0, axis1=0, axis2=1):
        return diagonal(self, offset, axis1, axis2)

    def __getitem__(self, key):
        return getitem(self, key)

    def __setitem__(self, key, value):
        setitem(self, key, value)

    # -- reductions ------------------------------------------------------------------------
    def sum(self, axis=None, dtype=None, out=None, keepdims=False, **kw):
        return _with_out(reduce("sum", self, axis, keepdims, dtype), out)

    def mean(self, axis=None, dtype=None, out=None, keepdims=False, **kw):
        return _with_out(mean(self, axis, dtype, keepdims=keepdims), out)

    def prod(self, axis=None, dtype=None, out=None, keepdims=False, **kw):
        return _with_out(reduce("prod", self, axis, keepdims, dtype), out)

    def max(self, axis=None, out=None, keepdims=False, **kw):
        return _with_out(reduce("max", self, axis, keepdims), out)

    def min(self, axis=None, out=None, keepdims=False, **kw):
        return _with_out(reduce("min", self, axis, keepdims), out)

    def any(self, axis=None, out=None, keepdims=False, **kw):
        return _with_out(reduce("any", self, axis, keepdims), out)

    def all(self, axis=None, out=None, keepdims=False, **kw):
        return _with_out(reduce("all", self, axis, keepdims), out)

    def argmax(self, axis=None, out=None, keepdims=False):
        return _with_out(argreduce("argmax", self, axis, keepdims), out)

    def argmin(self, axis=None, out=None, keepdims=False):
        return _with_out(argreduce("argmin", self, axis, keepdims), out)

    def var(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
        return _with_out(var(self, axis, ddof=ddof, keepdims=keepdims), out)

    def std(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
        return _with_out(unary("sqrt", var(self, axis, ddof=ddof, keepdims=keepdims)), out)

    def clip(self, min=None, max=None, out=None):
        return clip(self, min, max, out=out)

    def round(self, decimals=0, out=None):
        if decimals:
            raise Unsupported("round with decimals")
        return unary("rint", self, out=out)

    def dot(self, other):
        return matmul(self, other)

    def take(self, indices, axis=None):
        return take(self, indices, axis)

    def __getattr__(self, name):
        # methods without a kernel: NumPy's, on the values, with a one-time notice
        if name.startswith("_") or not hasattr(np.ndarray, name):
            raise AttributeError(f"'WebGPUArray' object has no attribute '{name}'")
        return fallback.attribute(self, name)

    # -- operators (arithmetic, comparison and in-place ones are set below the class) -----------
    def __floordiv__(self, o):
        return _fallback_op("floor_divide", self, o)

    def __rfloordiv__(self, o):
        return _fallback_op("floor_divide", o, self)

    def __mod__(self, o):
        return _fallback_op("remainder", self, o)

    def __rmod__(self, o):
        return _fallback_op("remainder", o, self)

    def __matmul__(self, o):
        return matmul(self, o)

    def __rmatmul__(self, o):
        return matmul(o, self)


for _name, _value in list(vars(_Methods).items()):
    if isinstance(_value, types.FunctionType):
        _value.__qualname__ = f"WebGPUArray.{_name}"
    if isinstance(_value, (types.FunctionType, property)):
        setattr(WebGPUArray, _name, _value)
del _name, _value


# ---------------------------------------------------------------------------------------------
# operators and methods fall back to NumPy where no kernel covers the case
def _guard_binop(npname, reflected=False, inplace=False):
    def op(self, other):
        a, b = (other, self) if reflected else (self, other)
        out = self if inplace else None
        try:
            return binary(npname, a, b, out=out)
        except Unsupported:
            return fallback.binary_op(npname, a, b, out=out)
    op.__name__ = npname
    return op


def _guard_unop(npname):
    def op(self):
        try:
            return unary(npname, self)
        except Unsupported:
            return fallback.call(npname, getattr(np, npname), (self,), {})
    return op


def _guard_method(name, fn):
    def method(self, *args, **kwargs):
        try:
            return fn(self, *args, **kwargs)
        except Unsupported:
            return fallback.method(self, name, args, kwargs)
    method.__name__ = name
    method.__doc__ = fn.__doc__
    return method


for _dunder, _np_name in (("add", "add"), ("sub", "subtract"), ("mul", "multiply"), ("truediv", "true_divide"),
                          ("pow", "power"), ("and", "bitwise_and"), ("or", "bitwise_or"), ("xor", "bitwise_xor")):
    setattr(WebGPUArray, f"__{_dunder}__", _guard_binop(_np_name))
    setattr(WebGPUArray, f"__r{_dunder}__", _guard_binop(_np_name, reflected=True))
    setattr(WebGPUArray, f"__i{_dunder}__", _guard_binop(_np_name, inplace=True))
for _dunder, _np_name in (("eq", "equal"), ("ne", "not_equal"), ("lt", "less"), ("le", "less_equal"),
                          ("gt", "greater"), ("ge", "greater_equal")):
    setattr(WebGPUArray, f"__{_dunder}__", _guard_binop(_np_name))
for _dunder, _np_name in (("neg", "negative"), ("abs", "absolute"), ("invert", "invert")):
    setattr(WebGPUArray, f"__{_dunder}__", _guard_unop(_np_name))
for _name in ("sum", "mean", "prod", "max", "min", "any", "all", "argmax", "argmin", "var", "std", "clip", "round",
              "astype", "take", "diagonal", "view", "__getitem__", "__setitem__", "fill", "copy", "reshape",
              "dot", "__matmul__", "__rmatmul__"):
    setattr(WebGPUArray, _name, _guard_method(_name, getattr(WebGPUArray, _name)))
del _dunder, _np_name, _name

"""The array namespace of the WebGPU backend (`backend.xp`): NumPy's names, on WebGPUArrays.

The engine's ops call `xp.exp(x)`, `xp.matmul(a, b)`, `xp.sum(x, axis=..., keepdims=...)` and so
on; here each name with a kernel runs on the GPU, and every other NumPy name (or a case a kernel
does not cover) runs NumPy on the values with a one-time notice (fallback.py), so any op the
engine has works on webgpu tensors and gives NumPy's result.
"""
from __future__ import annotations

import builtins
import sys

import numpy as np

from . import core, fallback
from .core import Unsupported, WebGPUArray, F32

ndarray = WebGPUArray
newaxis = None
inf = np.inf
nan = np.nan
pi = np.pi
e = np.e


def _guarded(name, impl, np_fn=None):
    np_fn = np_fn if np_fn is not None else getattr(np, name)

    def fn(*args, **kwargs):
        try:
            return impl(*args, **kwargs)
        except Unsupported:
            return fallback.call(name, np_fn, args, kwargs)
    fn.__name__ = name
    fn.__qualname__ = name
    return fn


class UFunc:
    """A NumPy ufunc name with a kernel; its methods (.at, .reduce, ...) as NumPy's where none."""

    def __init__(self, name, impl, at=None):
        self.__name__ = name
        self._impl = impl
        self._np = getattr(np, name)
        self._at = at

    def __call__(self, *args, **kwargs):
        try:
            return self._impl(*args, **kwargs)
        except Unsupported:
            return fallback.call(self.__name__, self._np, args, kwargs)

    def at(self, a, indices, b=None):
        if self._at is not None and a.__class__ is WebGPUArray:
            try:
                return self._at(a, indices, b)
            except Unsupported:
                pass
        return fallback.call(f"{self.__name__}.at", self._np.at, (a, indices, b), {}, mutates_first=True)

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(fallback.Fallback(self.__name__, self._np), attr)

    def __repr__(self):
        return f"<webgpu ufunc '{self.__name__}'>"


def _unary(name):
    def impl(x, out=None, *, dtype=None, **kwargs):
        if kwargs:
            raise Unsupported(f"{name} with {sorted(kwargs)}")
        return core.unary(name, x, out=out, dtype=dtype)
    return UFunc(name, impl)


def _binary(name):
    def impl(a, b, out=None, *, dtype=None, **kwargs):
        if kwargs or isinstance(out, tuple):
            raise Unsupported(f"{name} with {sorted(kwargs)}")
        if a.__class__ is not WebGPUArray and b.__class__ is not WebGPUArray and out.__class__ is not WebGPUArray:
            raise Unsupported(f"{name} of host values")
        return core.binary(name, a, b, out=out, dtype=dtype)
    return UFunc(name, impl, at=core.add_at if name == "add" else None)


for _name in set(core.UNARY_F32) | set(core.UNARY_I32) | set(core.PREDICATES) | {"logical_not", "invert"}:
    if hasattr(np, _name):
        globals()[_name] = _unary(_name)
for _name in set(core.BINARY) | set(core.COMPARE) | set(core.LOGICAL) | set(core.BITWISE):
    globals()[_name] = _binary(_name)
abs = globals()["absolute"]
del _name


def _where(condition, x=None, y=None):
    if x is None and y is None:
        raise Unsupported("where with one argument")
    return core.where(condition, x, y)


where = _guarded("where", _where)


def _clip(a, a_min=None, a_max=None, out=None, **kwargs):
    if kwargs:
        raise Unsupported("clip options")
    return core.clip(core.as_operand(a), a_min, a_max, out=out)


clip = _guarded("clip", _clip)


def _matmul(a, b, out=None, **kwargs):
    if kwargs:
        raise Unsupported("matmul options")
    return core.matmul(a, b, out=out)


matmul = UFunc("matmul", _matmul)


def _dot(a, b, out=None):
    a, b = core.as_operand(a), core.as_operand(b)
    if a.ndim > 2 or b.ndim > 2 or a.ndim == 0 or b.ndim == 0:
        raise Unsupported("dot beyond matrices")
    return core.matmul(a, b, out=out)


dot = _guarded("dot", _dot)


# ---------------------------------------------------------------------------------------------
# reductions
def _red(op):
    def impl(a, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
        if kwargs:
            raise Unsupported(f"{op} options {sorted(kwargs)}")
        return core._with_out(core.reduce(op, a, axis, keepdims, dtype), out)
    return impl


def _extreme(op):
    def impl(a, axis=None, out=None, keepdims=False, **kwargs):
        if kwargs:
            raise Unsupported(f"{op} options {sorted(kwargs)}")
        return core._with_out(core.reduce(op, a, axis, keepdims), out)
    return impl


sum = _guarded("sum", _red("sum"))
prod = _guarded("prod", _red("prod"))
amax = _guarded("amax", _extreme("max"))
amin = _guarded("amin", _extreme("min"))
max = _guarded("max", _extreme("max"))
min = _guarded("min", _extreme("min"))
any = _guarded("any", _extreme("any"))
all = _guarded("all", _extreme("all"))


def _mean(a, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
    if kwargs:
        raise Unsupported("mean options")
    return core._with_out(core.mean(a, axis, dtype, keepdims), out)


mean = _guarded("mean", _mean)


def _var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kwargs):
    if kwargs or dtype is not None:
        raise Unsupported("var options")
    return core._with_out(core.var(a, axis, ddof, keepdims), out)


def _std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kwargs):
    if kwargs or dtype is not None:
        raise Unsupported("std options")
    return core._with_out(core.unary("sqrt", core.var(a, axis, ddof, keepdims)), out)


var = _guarded("var", _var)
std = _guarded("std", _std)


def _arg(op):
    def impl(a, axis=None, out=None, *, keepdims=False):
        return core._with_out(core.argreduce(op, a, axis, keepdims), out)
    return impl


argmax = _guarded("argmax", _arg("argmax"))
argmin = _guarded("argmin", _arg("argmin"))


def _count_nonzero(a, axis=None, *, keepdims=False):
    a = core.as_operand(a)
    return core.reduce("sum", core.binary("not_equal", a, 0), axis, keepdims, core.INTP)


count_nonzero = _guarded("count_nonzero", _count_nonzero)


def _cum(op):
    def impl(a, axis=None, dtype=None, out=None):
        return core._with_out(core.scan(op, a, axis, dtype), out)
    return impl


cumsum = _guarded("cumsum", _cum("sum"))
cumprod = _guarded("cumprod", _cum("prod"))
tril = _guarded("tril", lambda m, k=0: core.tri(m, k, False))
triu = _guarded("triu", lambda m, k=0: core.tri(m, k, True))


# ---------------------------------------------------------------------------------------------
# fused kernels the engine's softmax, log_softmax and logsumexp use when the namespace has them
def fused_softmax(x, axis):
    return core.rowwise("softmax", x, axis)


def fused_log_softmax(x, axis):
    return core.rowwise("log_softmax", x, axis)


def fused_logsumexp(x, axes, keepdims=False):
    if len(axes) != 1:
        return None
    return core.rowwise("logsumexp", x, axes[0], keepdims)


# ---------------------------------------------------------------------------------------------
# shapes and views
reshape = _guarded("reshape", lambda a, newshape=None, order="C", shape=None: core.reshape(
    core.as_operand(a), shape if shape is not None else newshape))
transpose = _guarded("transpose", lambda a, axes=None: core.transpose(core.as_operand(a), axes))
swapaxes = _guarded("swapaxes", lambda a, axis1, axis2: core.swapaxes(core.as_operand(a), axis1, axis2))
moveaxis = _guarded("moveaxis", lambda a, source, destination: core.moveaxis(core.as_operand(a), source, destination))
expand_dims = _guarded("expand_dims", lambda a, axis: core.expand_dims(core.as_operand(a), axis))
squeeze = _guarded("squeeze", lambda a, axis=None: core.squeeze(core.as_operand(a), axis))
broadcast_to = _guarded("broadcast_to", lambda array, shape, subok=False: core.broadcast_to(array, shape))
flip = _guarded("flip", lambda m, axis=None: core.flip(core.as_operand(m), axis))
diagonal = _guarded("diagonal", lambda a, offset=0, axis1=0, axis2=1: core.diagonal(core.as_operand(a), offset,
                                                                                     axis1, axis2))
ravel = _guarded("ravel", lambda a, order="C": core.reshape(core.as_operand(a), (-1,)))
concatenate = _guarded("concatenate", lambda arrays, axis=0, out=None, dtype=None, casting="same_kind":
                       core.concatenate(list(arrays), axis, out, dtype))
stack = _guarded("stack", lambda arrays, axis=0, out=None, dtype=None, casting="same_kind":
                 core.stack(list(arrays), axis, out, dtype))
tile = _guarded("tile", lambda A, reps: core.tile(A, reps))
roll = _guarded("roll", lambda a, shift, axis=None: core.roll(a, shift, axis))
take = _guarded("take", lambda a, indices, axis=None, out=None, mode="raise":
                core._with_out(core.take(a, indices, axis), out))
take_along_axis = _guarded("take_along_axis", lambda arr, indices, axis: core.take_along_axis(arr, indices, axis))


def _put_along_axis(arr, indices, values, axis):
    if arr.__class__ is not WebGPUArray:
        raise Unsupported("put into a host array")
    core.put_along_axis(arr, indices, values, axis)


def _put_along_axis_fallback(arr, indices, values, axis):
    np.put_along_axis(arr, indices, values, axis)


def _guarded_inplace(name, impl, np_fn):
    def fn(*args, **kwargs):
        try:
            return impl(*args, **kwargs)
        except Unsupported:
            return fallback.call(name, np_fn, args, kwargs, mutates_first=True)
    fn.__name__ = name
    return fn


put_along_axis = _guarded_inplace("put_along_axis", _put_along_axis, _put_along_axis_fallback)


class _StrideTricks:
    def __getattr__(self, attr):
        return getattr(fallback.FallbackModule("lib.stride_tricks", np.lib.stride_tricks), attr)

    @staticmethod
    def as_strided(x, shape=None, strides=None, subok=False, writeable=True):
        if x.__class__ is not WebGPUArray:
            return np.lib.stride_tricks.as_strided(x, shape, strides, subok, writeable)
        return core.as_strided(x, x.shape if shape is None else shape, x.strides if strides is None else strides)


class _Lib:
    stride_tricks = _StrideTricks()

    def __getattr__(self, attr):
        return getattr(fallback.FallbackModule("lib", np.lib), attr)


lib = _Lib()


# ---------------------------------------------------------------------------------------------
# creation and conversion
def _dtype(dtype):
    return F32 if dtype is None else np.dtype(dtype)


def _shape(shape):
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)


def asarray(a, dtype=None, order=None, *, copy=None, like=None):
    if a.__class__ is WebGPUArray:
        if dtype is not None and np.dtype(dtype) != a.dtype:
            return _astype(a, dtype, False)
        return core.copy(a) if copy else a
    return core.to_array(a, dtype)


def _astype(a, dtype, copy):
    try:
        return core.astype(a, dtype, copy)
    except Unsupported:
        return fallback.method(a, "astype", (dtype,), {"copy": copy})


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, like=None):
    result = asarray(obj, dtype)
    if copy and result is obj:
        result = core.copy(result)
    if ndmin > result.ndim:
        result = core.reshape(result, (1,) * (ndmin - result.ndim) + result.shape)
    return result


def ascontiguousarray(a, dtype=None, like=None):
    return core.ascontiguousarray(a, dtype)


def copy(a, order="K", subok=False):
    return core.copy(a)


def asnumpy(a):
    return a.get() if a.__class__ is WebGPUArray else np.asarray(a)


def empty(shape, dtype=None, order="C", like=None):
    return core.empty(_shape(shape), _dtype(dtype))


def zeros(shape, dtype=None, order="C", like=None):
    return core.fill(_shape(shape), 0, _dtype(dtype))


def ones(shape, dtype=None, order="C", like=None):
    return core.fill(_shape(shape), 1, _dtype(dtype))


def full(shape, fill_value, dtype=None, order="C", like=None):
    if dtype is None:
        dtype = np.asarray(fill_value).dtype
        if dtype == np.float64:
            dtype = F32
    return core.fill(_shape(shape), fill_value, dtype)


def empty_like(a, dtype=None, order="K", subok=True, shape=None):
    return core.empty(_shape(shape) if shape is not None else a.shape, a.dtype if dtype is None else dtype)


def zeros_like(a, dtype=None, order="K", subok=True, shape=None):
    return core.fill(_shape(shape) if shape is not None else a.shape, 0, a.dtype if dtype is None else dtype)


def ones_like(a, dtype=None, order="K", subok=True, shape=None):
    return core.fill(_shape(shape) if shape is not None else a.shape, 1, a.dtype if dtype is None else dtype)


def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None):
    return core.fill(_shape(shape) if shape is not None else a.shape, fill_value, a.dtype if dtype is None else dtype)


def _arange(start, stop=None, step=1, dtype=None, like=None):
    return core.arange(start, stop, step, dtype)


arange = _guarded("arange", _arange)


def indices(dimensions, dtype=int, sparse=False):
    dims = _shape(dimensions)
    grids = []
    for d, n in enumerate(dims):
        g = core.arange(0, n, 1, dtype)
        g = core.reshape(g, tuple(n if j == d else 1 for j in range(len(dims))))
        grids.append(g if sparse else core.copy(core.broadcast_to(g, dims)))
    if sparse:
        return tuple(grids)
    return core.stack(grids, 0) if grids else core.empty((0,) + dims, dtype)


def broadcast_arrays(*args, subok=False):
    arrays = [core.as_operand(a) if not core._is_scalar(a) else core.to_array(a) for a in args]
    shape = np.broadcast_shapes(*[a.shape for a in arrays])
    return tuple(core.broadcast_to(a, shape) for a in arrays)


def isscalar(x):
    return np.isscalar(x)


def ndim(a):
    return a.ndim if a.__class__ is WebGPUArray else np.ndim(a)


def shape(a):
    return a.shape if a.__class__ is WebGPUArray else np.shape(a)


def size(a, axis=None):
    if a.__class__ is WebGPUArray:
        return a.size if axis is None else a.shape[axis]
    return np.size(a, axis)


def result_type(*args):
    return np.result_type(*[a.dtype if a.__class__ is WebGPUArray else a for a in args])


def can_cast(from_, to, casting="safe"):
    return np.can_cast(from_.dtype if from_.__class__ is WebGPUArray else from_, to, casting)


def errstate(**kwargs):
    return np.errstate(**kwargs)


def erf(x):
    """The error function (NumPy has none; SciPy's special.erf on the CPU)."""
    return core.unary("erf", x)


# ---------------------------------------------------------------------------------------------
# NumPy called directly on WebGPU arrays (np.exp(x), np_array * x, np.empty_like(x)) runs here
# as through xp, as CuPy arrays do; a NumPy array given as out= gets the values on the host.
# (Set on the class here, where this namespace is: `any`, `sum`, ... below are NumPy's names.)
_namespace = sys.modules[__name__]


def _array_ufunc(self, ufunc, method, *inputs, **kwargs):
    out = kwargs.get("out")
    outs = out if isinstance(out, tuple) else ((out,) if out is not None else ())
    if builtins.any(isinstance(o, np.ndarray) for o in outs):
        host = fallback.to_host(inputs)
        return getattr(ufunc, method)(*host, **kwargs)
    if len(outs) == 1:
        kwargs["out"] = outs[0]
    if method == "__call__":
        return getattr(_namespace, ufunc.__name__)(*inputs, **kwargs)
    if method == "at" and ufunc.__name__ == "add":
        return _namespace.add.at(*inputs)
    return fallback.call(f"{ufunc.__name__}.{method}", getattr(ufunc, method), inputs, kwargs,
                         mutates_first=method == "at")


def _array_function(self, func, types, args, kwargs):
    impl = getattr(_namespace, func.__name__, None) if func.__module__ in ("numpy", "numpy.core.fromnumeric") or \
        getattr(np, func.__name__, None) is func else None
    if impl is None or impl is func:
        return fallback.call(func.__name__, func, args, kwargs)
    return impl(*args, **kwargs)


def _array_namespace(self, api_version=None):
    return _namespace


WebGPUArray.__array_ufunc__ = _array_ufunc
WebGPUArray.__array_function__ = _array_function
WebGPUArray.__array_namespace__ = _array_namespace


# ---------------------------------------------------------------------------------------------
# every other NumPy name: NumPy on the values (one notice per name)
def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    value = getattr(np, name)  # AttributeError for names NumPy lacks too
    if isinstance(value, type) or not callable(value):
        if type(value).__name__ == "module":
            value = fallback.FallbackModule(name, value)
        globals()[name] = value
        return value
    wrapped = fallback.Fallback(name, value)
    globals()[name] = wrapped
    return wrapped

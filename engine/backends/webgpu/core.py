"""`WebGPUArray` and the kernels behind it: a NumPy-like strided array whose data is a GPU buffer.

An array is (buffer, shape, strides, offset, dtype), strides and offset counted in elements, so
transposes, slices, broadcasts, flips and diagonals are views that share the buffer. Kernels
read views through their strides, so views are never copied to feed an op.

A function here raises `Unsupported` when it has no kernel for a case (a dtype, too many dims);
the namespace (xp.py) then runs NumPy on the values instead, with a one-time notice. Nothing is
approximated: where WebGPU cannot give NumPy's answer (int64 arithmetic that could need more than
32 bits, float64), the case is unsupported or an error.
"""
from __future__ import annotations

import math
import numbers
import operator

import numpy as np

from ..._strides import cstrides, prod, view_strides  # noqa: F401  (used here and by the modules below)
from . import kernels as K
from .runtime import f32_bits

RT = None  # the Runtime, set when the backend loads


class Unsupported(Exception):
    """No kernel for this case: the caller falls back to NumPy."""


F32 = np.dtype(np.float32)
F64 = np.dtype(np.float64)
I32 = np.dtype(np.int32)
I64 = np.dtype(np.int64)
BOOL = np.dtype(np.bool_)
STORE = {F32: "f32", I32: "i32", I64: "i32", np.dtype(np.int16): "i32", np.dtype(np.int8): "i32",
         np.dtype(np.uint8): "i32", BOOL: "u32"}
WRAP = {np.dtype(np.uint8): "u8", np.dtype(np.int8): "i8", np.dtype(np.int16): "i16"}
HOST = {"f32": np.dtype(np.float32), "i32": np.dtype(np.int32), "u32": np.dtype(np.uint32)}
INT32_RANGE = (-2 ** 31, 2 ** 31 - 1)
# NumPy's platform integers (int32 in 32-bit Pyodide, int64 elsewhere): argmax gives INTP, a sum
# of bools SUM_INT, arange of ints ARANGE_INT
INTP = np.dtype(np.intp)
SUM_INT = np.zeros(1, bool).sum().dtype
ARANGE_INT = np.arange(1).dtype
MAX_GROUPS = 65535


def dtype_error(dt):
    dt = np.dtype(dt)
    if dt == F64:
        return TypeError("webgpu tensors cannot be float64: WebGPU has no 64-bit floats. Use float32 "
                         "(dtype=torch.float32, tensor.float(), or torch.set_default_dtype(torch.float32))")
    if dt == np.dtype(np.float16):
        return TypeError("webgpu tensors cannot be float16 here (WebGPU's shader-f16 is optional): use float32")
    return TypeError(f"webgpu tensors cannot hold {dt.name}: use float32, int32, int64 (values within 32 bits) "
                     "or bool")


def check_dtype(dt):
    dt = np.dtype(dt)
    if dt not in STORE:
        raise dtype_error(dt)
    return dt


def groups_1d(n, per_group, cap=MAX_GROUPS):
    g = max(1, min(-(-n // per_group), cap))
    return (g, 1, 1)


def groups_2d(n, per_group):
    g = max(1, -(-n // per_group))
    if g <= MAX_GROUPS:
        return (g, 1, 1)
    return (MAX_GROUPS, min(-(-g // MAX_GROUPS), MAX_GROUPS), 1)


def coalesce(shape, strides_list):
    """Merge adjacent dims that every operand walks contiguously, drop dims of size 1."""
    out_shape = []
    out_st = [[] for _ in strides_list]
    for d, n in enumerate(shape):
        if n == 1:
            continue
        if out_shape and all(st[-1] == s[d] * n for st, s in zip(out_st, strides_list)):
            out_shape[-1] *= n
            for st, s in zip(out_st, strides_list):
                st[-1] = s[d]
        else:
            out_shape.append(n)
            for st, s in zip(out_st, strides_list):
                st.append(s[d])
    return out_shape, out_st


def _int_word(v):
    return int(v) & 0xFFFFFFFF


class _Flags:
    """NumPy's array flags, by key or attribute."""

    __slots__ = ("c_contiguous", "f_contiguous")
    writeable = True
    owndata = False
    aligned = True

    def __init__(self, c, f):
        self.c_contiguous = c
        self.f_contiguous = f

    def __getitem__(self, key):
        return getattr(self, {"C": "c_contiguous", "F": "f_contiguous"}.get(key, key.lower()))


class _Ptr:
    __slots__ = ("ptr",)

    def __init__(self, ptr):
        self.ptr = ptr


# ---------------------------------------------------------------------------------------------
class WebGPUArray:
    """A strided view of a GPU buffer with NumPy's array interface (the parts the engine uses)."""

    __slots__ = ("buf", "shape", "st", "off", "dtype", "__weakref__")
    __array_priority__ = 10000.0
    __hash__ = None

    def __init__(self, buf, shape, st, off, dtype):
        self.buf = buf
        self.shape = shape
        self.st = st
        self.off = off
        self.dtype = dtype

    # -- attributes ------------------------------------------------------------------------
    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return prod(self.shape)

    @property
    def itemsize(self):
        return self.dtype.itemsize

    @property
    def nbytes(self):
        return self.size * self.dtype.itemsize

    @property
    def strides(self):
        item = self.dtype.itemsize
        return tuple(s * item for s in self.st)

    @property
    def T(self):
        return self.transpose()

    @property
    def mT(self):
        return swapaxes(self, -1, -2)

    @property
    def flags(self):
        return _Flags(self.is_c_contiguous(), transpose(self).is_c_contiguous())

    @property
    def base(self):
        return None

    @property
    def data(self):
        return _Ptr((self.buf.id << 32) + self.off * 4)

    @property
    def device(self):
        return "webgpu:0"

    # NumPy called directly on WebGPU arrays (np.exp(x), np_array * x, np.empty_like(x)) runs here
    # as through xp, as CuPy arrays do; a NumPy array given as out= gets the values on the host.
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from . import fallback, xp
        out = kwargs.get("out")
        outs = out if isinstance(out, tuple) else ((out,) if out is not None else ())
        if any(isinstance(o, np.ndarray) for o in outs):
            host = fallback.to_host(inputs)
            return getattr(ufunc, method)(*host, **kwargs)
        if len(outs) == 1:
            kwargs["out"] = outs[0]
        if method == "__call__":
            return getattr(xp, ufunc.__name__)(*inputs, **kwargs)
        if method == "at" and ufunc.__name__ == "add":
            return xp.add.at(*inputs)
        return fallback.call(f"{ufunc.__name__}.{method}", getattr(ufunc, method), inputs, kwargs,
                             mutates_first=method == "at")

    def __array_function__(self, func, types, args, kwargs):
        from . import fallback, xp
        impl = getattr(xp, func.__name__, None) if func.__module__ in ("numpy", "numpy.core.fromnumeric") or \
            getattr(np, func.__name__, None) is func else None
        if impl is None or impl is func:
            return fallback.call(func.__name__, func, args, kwargs)
        return impl(*args, **kwargs)

    def __array_namespace__(self, api_version=None):
        from . import xp
        return xp

    @property
    def store(self):
        return STORE[self.dtype]

    def is_c_contiguous(self):
        acc = 1
        for n, s in zip(reversed(self.shape), reversed(self.st)):
            if n == 0:
                return True
            if n != 1 and s != acc:
                return False
            acc *= n
        return True

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d array")
        for i in range(self.shape[0]):
            yield self[i]

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

    def __deepcopy__(self, memo):
        return self.copy()

    def __copy__(self):
        return self.copy()

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

    def view(self, dtype=None, type=None):
        if dtype is None or np.dtype(dtype) == self.dtype:
            return WebGPUArray(self.buf, self.shape, self.st, self.off, self.dtype)
        raise Unsupported("view as another dtype")

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

    def conj(self):
        return self

    def __getattr__(self, name):
        # methods without a kernel: NumPy's, on the values, with a one-time notice
        if name.startswith("_") or not hasattr(np.ndarray, name):
            raise AttributeError(f"'WebGPUArray' object has no attribute '{name}'")
        from . import fallback
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

    def __pos__(self):
        return self.copy()


def _fallback_op(name, a, b):
    from .xp import fallback
    return fallback(name)(a, b)


def _with_out(result, out):
    if out is None:
        return result
    assign(out, result)
    return out


def is_array(x):
    return x.__class__ is WebGPUArray


# ---------------------------------------------------------------------------------------------
# allocation and transfers
def empty(shape, dtype=F32):
    dtype = check_dtype(dtype)
    shape = tuple(int(s) for s in shape)
    n = prod(shape)
    return WebGPUArray(RT.alloc(4 * n), shape, cstrides(shape), 0, dtype)


def upload(host, dtype=None):
    """A NumPy array (or anything np.asarray takes) on the GPU."""
    host = np.asarray(host, dtype=dtype)
    dt = check_dtype(host.dtype)
    store = STORE[dt]
    if store == "i32" and dt.itemsize > 4 and host.size:
        lo, hi = int(host.min()), int(host.max())
        if lo < INT32_RANGE[0] or hi > INT32_RANGE[1]:
            raise RuntimeError(f"webgpu holds integers in 32 bits: {dt.name} values from {lo} to {hi} do not fit")
    data = np.ascontiguousarray(host, dtype=HOST[store])
    out = empty(host.shape, dt)
    if data.size:
        RT.write(out.buf.id, 0, data)
    return out


def download(a):
    """The values of a GPU array as a NumPy array of its dtype."""
    n = a.size
    host_dt = HOST[a.store]
    if n == 0:
        return np.zeros(a.shape, dtype=a.dtype)
    if not a.is_c_contiguous():
        a = copy(a)
    raw = RT.read(a.buf.id, 4 * a.off, 4 * n)
    data = np.frombuffer(raw, dtype=host_dt).reshape(a.shape)
    if host_dt != a.dtype:
        data = data.astype(a.dtype)
    elif not data.flags.writeable:
        data = data.copy()
    return data


def as_operand(x):
    """An array operand: WebGPU arrays as they are; NumPy arrays uploaded."""
    if x.__class__ is WebGPUArray:
        return x
    return upload(x)


def to_array(x, dtype=None):
    """Anything array-like as a WebGPU array (Python floats become float32)."""
    if x.__class__ is WebGPUArray:
        return x if dtype is None else astype(x, dtype, False)
    if dtype is None and not isinstance(x, (np.ndarray, np.generic)):
        host = np.asarray(x)
        if host.dtype == F64:
            host = host.astype(F32)
        return upload(host)
    return upload(np.asarray(x, dtype=dtype))


# ---------------------------------------------------------------------------------------------
# elementwise ops
UNARY_F32 = {
    "negative": "-a", "positive": "a", "absolute": "abs(a)", "abs": "abs(a)", "fabs": "abs(a)",
    "sign": "sign_(a)", "exp": "exp_(a)", "exp2": "exp2_(a)", "expm1": "expm1_(a)", "log": "log_(a)",
    "log2": "log2_(a)", "log10": "(log_(a) * 0.4342944819032518)", "log1p": "log1p_(a)", "sqrt": "sqrt_(a)",
    "square": "a * a", "reciprocal": "1.0 / a",
    "sin": "sin_(a)", "cos": "cos_(a)", "tan": "tan_(a)",
    "arcsin": "asin_(a)", "arccos": "acos_(a)",
    "arctan": "select(atan(a), a, isnan_(a))",
    "sinh": "sinh_(a)", "cosh": "cosh_(a)", "tanh": "tanh_(a)",
    "floor": "floor(a)", "ceil": "ceil(a)", "trunc": "trunc(a)", "rint": "round(a)", "fix": "trunc(a)",
    "erf": "erf_(a)",
}
UNARY_I32 = {"negative": "-a", "positive": "a", "absolute": "abs(a)", "abs": "abs(a)", "sign": "sign(a)",
             "square": "a * a", "invert": "~a"}
PREDICATES = {"isnan": "isnan_(a)", "isinf": "isinf_(a)", "isfinite": "isfinite_(a)"}
BINARY = {
    "add": {"f32": "a + b", "i32": "a + b"},
    "subtract": {"f32": "a - b", "i32": "a - b"},
    "multiply": {"f32": "a * b", "i32": "a * b"},
    "true_divide": {"f32": "a / b"},
    "divide": {"f32": "a / b"},
    "maximum": {"f32": "fmax_(a, b)", "i32": "max(a, b)"},
    "minimum": {"f32": "fmin_(a, b)", "i32": "min(a, b)"},
    "power": {"f32": "pow_(a, b)"},
    "arctan2": {"f32": "atan2_(a, b)"},
}
COMPARE = {"equal": "==", "not_equal": "!=", "less": "<", "less_equal": "<=", "greater": ">",
           "greater_equal": ">="}
LOGICAL = {"logical_and": "a & b", "logical_or": "a | b", "logical_xor": "a != b"}
BITWISE = {"bitwise_and": "&", "bitwise_or": "|", "bitwise_xor": "^"}
INT_EXACT = (I32,)  # integer dtypes whose arithmetic the GPU does exactly as NumPy (wrapping int32)


def _operand_dtype(x):
    """What np.result_type should see for an operand (Python scalars stay weak)."""
    if x.__class__ is WebGPUArray or isinstance(x, np.ndarray):
        return x.dtype
    if isinstance(x, np.generic):
        return x.dtype
    if isinstance(x, (bool, int, float)):
        return x
    if isinstance(x, numbers.Number):
        raise Unsupported(f"operand {type(x).__name__}")
    return np.asarray(x).dtype


def _is_scalar(x):
    return isinstance(x, (bool, int, float, np.generic)) or (isinstance(x, np.ndarray) and x.ndim == 0)


def _const_bits(value, ctype):
    if isinstance(value, np.ndarray):
        value = value.item()
    elif isinstance(value, np.generic):
        value = value.item()
    if ctype == "f32":
        return f32_bits(float(value))
    if ctype == "i32":
        v = int(value)
        if not INT32_RANGE[0] <= v <= INT32_RANGE[1]:
            raise Unsupported("integer constant beyond 32 bits")
        return v & 0xFFFFFFFF
    if ctype in ("u32", "bool"):
        return 1 if value else 0
    raise ValueError(ctype)


_PLANS = {}


def ewise(expr, args, ctypes, rtype, out_dtype, out=None, consts=(), shape=None):
    """Run `expr` elementwise over broadcast args (arrays or scalars), converting operand k to
    ctypes[k]; the result (of WGSL type rtype) is stored as out_dtype, into `out` if given.

    What depends only on the operands' layouts (the kernel, the merged dims and strides, the
    parameter words) is planned once per layout and reused: a call then fills in offsets and
    constants and queues the kernel."""
    arrays = []
    key = [expr, rtype, out_dtype, shape]
    for x, ct in zip(args, ctypes):
        if x.__class__ is not WebGPUArray:
            if _is_scalar(x):
                arrays.append(x)
                key.append(ct)
                continue
            x = as_operand(x)
        arrays.append(x)
        key.append((x.shape, x.st, x.dtype, ct))
    if out is not None:
        same = []
        for k, a in enumerate(arrays):
            if a.__class__ is WebGPUArray and a.buf is out.buf:
                if not _same_view(a, out):
                    # another view of the output's memory: compute apart, then copy in
                    tmp = ewise(expr, arrays, ctypes, rtype, out_dtype, None, consts, shape)
                    assign(out, tmp)
                    return out
                same.append(k)
        key.append((out.shape, out.st, out.dtype, tuple(same)))
    key = tuple(key)
    plan = _PLANS.get(key)
    if plan is None:
        plan = _plan(expr, arrays, ctypes, rtype, out_dtype, out, shape)
        if len(_PLANS) > 4096:
            _PLANS.clear()
        _PLANS[key] = plan
    pid, template, off_slots, const_slots, rshape, rst, n, rdtype, groups, bound = plan
    if out is None:
        result = WebGPUArray(RT.alloc(4 * n), rshape, rst, 0, rdtype)
    else:
        result = out
    if n == 0:
        return result
    words = template.copy()
    words[2] = result.off
    for k, slot in off_slots:
        words[slot] = arrays[k].off
    for k, slot, ct in const_slots:
        words[slot] = _const_bits(arrays[k], ct)
    for j, c in enumerate(consts):
        words[9 + j] = c
    ids = [arrays[k].buf.id for k in bound]
    ids.append(result.buf.id)
    RT.dispatch(pid, ids, words, groups)
    return result


def _plan(expr, arrays, ctypes, rtype, out_dtype, out, shape):
    shapes = [a.shape for a in arrays if a.__class__ is WebGPUArray]
    if shape is None:
        shape = broadcast_shapes(*shapes) if shapes else ()
    else:
        shape = tuple(shape)
        if shapes:
            broadcast_shapes(shape, *shapes)
    if out is not None:
        if out.shape != shape:
            if broadcast_shapes(out.shape, shape) != out.shape:
                raise ValueError(f"non-broadcastable output operand with shape {out.shape} doesn't match the "
                                 f"broadcast shape {shape}")
            shape = out.shape
        out_dtype = out.dtype
    n = prod(shape)
    rst = cstrides(shape)
    if n == 0:
        return (None, None, (), (), shape, rst, 0, out_dtype, None, ())
    st_list = [rst if out is None else _bstrides(out, shape)]
    for a in arrays:
        if a.__class__ is WebGPUArray:
            st_list.append(_bstrides(a, shape))
    cshape, cst = coalesce(shape, st_list)
    if len(cshape) > K.MAX_DIMS:
        raise Unsupported("more than 8 dims after merging")
    out_st = cst[0]
    contiguous = cstrides(cshape)
    out_mode = "c" if tuple(out_st) == contiguous else "g"
    words = [0] * (32 + 8 * len(arrays))
    words[0] = n
    words[1] = len(cshape)
    ops = []
    off_slots = []
    const_slots = []
    bound = []
    pos = 1
    for k, a in enumerate(arrays):
        ct = ctypes[k]
        if a.__class__ is WebGPUArray:
            st = cst[pos]
            pos += 1
            if out is not None and a.buf is out.buf:
                mode = "o"  # the same elements as the output: read them through the output binding
            elif not any(st):
                mode = "z"
            elif tuple(st) == contiguous:
                mode = "c"
            else:
                mode = "g"
                for d, s in enumerate(st):
                    words[32 + 8 * k + d] = s & 0xFFFFFFFF
            if mode != "o":
                off_slots.append((k, 3 + k))
                bound.append(k)
            ops.append((mode, a.store, ct))
        else:
            const_slots.append((k, 6 + k, ct))
            ops.append(("k", ct, ct))
    for d, s in enumerate(cshape):
        words[16 + d] = s
    if out_mode == "g":
        for d, s in enumerate(out_st):
            words[24 + d] = s & 0xFFFFFFFF
    out_store = STORE[out_dtype]
    wrap = WRAP.get(out_dtype)
    ops = tuple(ops)
    vector = n >= 16 and len(ops) > 0 and K.vectorizable(expr)
    if vector and out_mode == "c" and all(m in "czok" for m, _, _ in ops):
        key = ("ew4", expr, rtype, ops, out_store, wrap)
        pid = RT.pipelines.get(key)
        if pid is None:
            pid = RT.pipeline(key, _sig(ops), lambda: K.elementwise4(expr, ops, out_store, rtype, wrap))
        groups = groups_1d(-(-n // 4), K.EW4_WG, 512)
    elif vector and cshape[-1] >= 4:
        nd = len(cshape)
        key = ("ew4g", expr, rtype, ops, out_store, out_mode, wrap, nd)
        pid = RT.pipelines.get(key)
        if pid is None:
            pid = RT.pipeline(key, _sig(ops), lambda: K.elementwise4g(expr, ops, out_store, out_mode, rtype, wrap,
                                                                      nd))
        groups = groups_1d(n // cshape[-1] * -(-cshape[-1] // 4), K.EW4_WG, 512)
    else:
        nd = len(cshape)
        key = ("ew", expr, rtype, ops, out_store, out_mode, wrap, nd)
        pid = RT.pipelines.get(key)
        if pid is None:
            pid = RT.pipeline(key, _sig(ops), lambda: K.elementwise(expr, ops, out_store, out_mode, rtype, wrap, nd))
        groups = groups_1d(n, K.WG, 1024)
    return (pid, words, tuple(off_slots), tuple(const_slots), shape, rst, n, out_dtype, groups, tuple(bound))


def broadcast_shapes(*shapes):
    """NumPy's broadcast_shapes, without making arrays (ValueError when they do not broadcast)."""
    if len(shapes) == 1:
        return tuple(shapes[0])
    nd = max(len(s) for s in shapes)
    out = [1] * nd
    for s in shapes:
        lead = nd - len(s)
        for i, m in enumerate(s):
            j = lead + i
            if m != 1:
                if out[j] == 1:
                    out[j] = m
                elif out[j] != m:
                    raise ValueError("shape mismatch: objects cannot be broadcast to a single shape.  Mismatch is "
                                     f"between shapes {tuple(shapes[0])} and {tuple(s)}")
    return tuple(out)


def _sig(ops):
    return "".join("r" for mode, _, _ in ops if mode not in ("k", "o")) + "w"


def _same_view(a, b):
    return a.off == b.off and a.shape == b.shape and a.st == b.st


def _bstrides(a, shape):
    """a's strides broadcast to `shape` (0 where a is broadcast)."""
    lead = len(shape) - len(a.shape)
    st = [0] * lead
    for n, s, m in zip(a.shape, a.st, shape[lead:]):
        st.append(s if n == m else 0)
    return st


_RESULT_TYPES = {}


def _result_dtype(*args):
    """NumPy's result type, except that float64 (which only Python floats can bring in: a float64
    array cannot be on the GPU) is float32, WebGPU's float: bool_mask * 1.0 is float32 here."""
    key = tuple(a.dtype if a.__class__ is WebGPUArray else type(a) for a in args)
    dt = _RESULT_TYPES.get(key)
    if dt is not None:
        return dt
    try:
        dt = np.result_type(*[_operand_dtype(a) for a in args])
    except TypeError as exc:
        raise Unsupported(str(exc)) from None
    dt = F32 if dt == F64 else dt
    if all(k.__class__ is not type or k in (bool, int, float) for k in key):
        _RESULT_TYPES[key] = dt
    return dt


def unary(name, x, out=None, dtype=None):
    x = as_operand(x) if not _is_scalar(x) else to_array(x)
    dt = np.dtype(dtype) if dtype is not None else x.dtype
    if name == "logical_not":
        return ewise("!a", [x], ["bool"], "bool", BOOL, out)
    if name == "invert" and x.dtype == BOOL:
        return ewise("1u - a", [x], ["u32"], "u32", BOOL, out)
    if name in PREDICATES:
        if x.dtype != F32:
            raise Unsupported(f"{name} of {x.dtype}")
        return ewise(PREDICATES[name], [x], ["f32"], "bool", BOOL, out)
    if dt == F32 and x.dtype in (F32, BOOL, I32, I64) and name in UNARY_F32 and \
            (x.dtype == F32 or dtype is not None):
        return ewise(UNARY_F32[name], [x], ["f32"], "f32", F32, out)
    if dtype is None and x.dtype.kind in "biu" and name in UNARY_F32 and name not in UNARY_I32 and \
            name not in ("floor", "ceil", "trunc", "rint", "fix"):
        # NumPy gives float64 for exp(int): float32 here, WebGPU's float
        return ewise(UNARY_F32[name], [x], ["f32"], "f32", F32, out)
    if name == "invert" and x.dtype in STORE and x.dtype.kind in "iu" and x.dtype not in WRAP:
        return ewise("~a", [x], ["i32"], "i32", x.dtype, out)
    if dt in INT_EXACT and x.dtype == dt and name in UNARY_I32:
        return ewise(UNARY_I32[name], [x], ["i32"], "i32", dt, out)
    raise Unsupported(f"{name} of {x.dtype}")


def binary(name, a, b, out=None, dtype=None):
    if name in COMPARE:
        ct = STORE.get(_result_dtype(a, b))
        if ct is None:
            raise Unsupported(f"{name} of {_result_dtype(a, b)}")
        # not_equal as !(a == b): true where either side is nan, as in NumPy
        expr = "!(a == b)" if name == "not_equal" else f"a {COMPARE[name]} b"
        return ewise(expr, [a, b], [ct, ct], "bool", BOOL, out)
    if name in LOGICAL:
        return ewise(LOGICAL[name], [a, b], ["bool", "bool"], "bool", BOOL, out)
    if name in BITWISE:
        dt = _result_dtype(a, b)
        if dt == BOOL:
            return ewise(f"a {BITWISE[name]} b", [a, b], ["u32", "u32"], "u32", BOOL, out)
        if dt.kind in "iu" and dt in STORE and dt not in WRAP:
            return ewise(f"a {BITWISE[name]} b", [a, b], ["i32", "i32"], "i32", dt, out)
        raise Unsupported(f"{name} of {dt}")
    table = BINARY.get(name)
    if table is None:
        raise Unsupported(name)
    dt = np.dtype(dtype) if dtype is not None else _result_dtype(a, b)
    if out is not None and dtype is None:
        # in place (a += b): NumPy computes in the promoted type and casts back (same_kind)
        if not np.can_cast(dt, out.dtype, "same_kind"):
            raise Unsupported(f"{name} into {out.dtype}")
        dt = out.dtype if dt.kind == out.dtype.kind or out.dtype == F32 else dt
    if dt == F32:
        ct = "f32"
    elif dt in INT_EXACT:
        ct = "i32"
    else:
        raise Unsupported(f"{name} of {dt}")
    expr = table.get(ct)
    if expr is None:
        raise Unsupported(f"{name} of {dt}")
    return ewise(expr, [a, b], [ct, ct], ct, dt, out)


def where(cond, a, b, out=None):
    dt = _result_dtype(a, b)
    ct = STORE.get(dt)
    if ct is None:
        raise Unsupported(f"where of {dt}")
    if _is_scalar(cond):
        cond = to_array(np.asarray(cond, dtype=bool))
    return ewise("select(b, a, c)", [a, b, cond], [ct, ct, "bool"], ct, dt, out)


def clip(x, lo=None, hi=None, out=None):
    result = x
    if lo is not None:
        result = binary("maximum", result, lo)
    if hi is not None:
        result = binary("minimum", result, hi)
    if out is not None:
        assign(out, result)
        return out
    return result if result is not x else copy(x)


def astype(x, dtype, copy_=True):
    dt = np.dtype(dtype)
    if dt == x.dtype and not copy_:
        return x
    if dt not in STORE:
        raise dtype_error(dt)
    src, dst = x.store, STORE[dt]
    if not copy_ and src == dst and dt not in WRAP and not (x.dtype.kind == "b") and \
            not (dt.kind in "iu" and x.dtype.kind == "f") and (dt.kind == x.dtype.kind or dt.kind in "iu" and
                                                                x.dtype.kind in "iu"):
        return WebGPUArray(x.buf, x.shape, x.st, x.off, dt)
    return ewise("a", [x], [src], src, dt)


def copy(x):
    """A contiguous copy."""
    x = as_operand(x)
    if x.is_c_contiguous():
        result = empty(x.shape, x.dtype)
        RT.copy(x.buf.id, 4 * x.off, result.buf.id, 0, 4 * x.size)
        return result
    return ewise("a", [x], [x.store], x.store, x.dtype)


def assign(dst, value):
    """dst[...] = value (broadcast, cast to dst's dtype), in place."""
    if _is_scalar(value):
        if dst.size:
            ct = dst.store
            ewise("a", [value], [ct], ct, dst.dtype, out=dst, shape=dst.shape)
        return dst
    value = as_operand(value)
    try:
        shape = broadcast_shapes(dst.shape, value.shape)
    except ValueError:
        shape = None
    if shape != dst.shape:
        raise ValueError(f"could not broadcast input array from shape {value.shape} into shape {dst.shape}")
    if value.buf is dst.buf and not _same_view(value, dst):
        value = copy(value)
    elif value.buf is dst.buf:
        return dst
    if dst.size:
        ewise("a", [value], [value.store], value.store, dst.dtype, out=dst)
    return dst


def fill(shape, value, dtype):
    dtype = check_dtype(dtype)
    result = empty(shape, dtype)
    if result.size:
        ct = result.store
        ewise("a", [value], [ct], ct, dtype, out=result, shape=result.shape)
    return result


def arange(start, stop=None, step=1, dtype=None):
    if stop is None:
        start, stop = 0, start
    if dtype is None:
        dtype = ARANGE_INT if all(isinstance(v, (int, np.integer)) for v in (start, stop, step)) else F32
    dtype = check_dtype(dtype)
    n = max(0, math.ceil((stop - start) / step))
    result = empty((n,), dtype)
    if n:
        if result.store == "f32":
            ewise("pf(9u) + f32(i) * pf(10u)", [], [], "f32", dtype, out=result, shape=(n,),
                  consts=(f32_bits(float(start)), f32_bits(float(step))))
        else:
            if dtype.kind not in "iu" or not all(isinstance(v, (int, np.integer)) for v in (start, step)):
                raise Unsupported("arange")
            ewise("pi(9u) + i32(i) * pi(10u)", [], [], "i32", dtype, out=result, shape=(n,),
                  consts=(_int_word(start), _int_word(step)))
    return result


# ---------------------------------------------------------------------------------------------
# views
def _axis(axis, ndim):
    axis = operator.index(axis)
    if not -ndim <= axis < max(ndim, 1):
        raise np.exceptions.AxisError(f"axis {axis} is out of bounds for array of dimension {ndim}")
    return axis + ndim if axis < 0 else axis


def reshape(x, shape):
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    shape = [int(s) for s in shape]
    n = x.size
    if shape.count(-1) > 1:
        raise ValueError("can only specify one unknown dimension")
    if -1 in shape:
        known = prod(s for s in shape if s != -1)
        if known == 0 or n % known:
            raise ValueError(f"cannot reshape array of size {n} into shape {tuple(shape)}")
        shape[shape.index(-1)] = n // known
    shape = tuple(shape)
    if prod(shape) != n:
        raise ValueError(f"cannot reshape array of size {n} into shape {shape}")
    if shape == x.shape:
        return WebGPUArray(x.buf, x.shape, x.st, x.off, x.dtype)
    st = view_strides(x.shape, x.st, shape)
    if st is None:
        x = copy(x)
        st = cstrides(shape)
    return WebGPUArray(x.buf, shape, tuple(st), x.off, x.dtype)


def can_view(x, shape):
    return view_strides(x.shape, x.st, tuple(shape)) is not None


def transpose(x, axes=None):
    nd = x.ndim
    if axes is None:
        axes = tuple(range(nd - 1, -1, -1))
    else:
        axes = tuple(_axis(a, nd) for a in axes)
        if sorted(axes) != list(range(nd)):
            raise ValueError("axes don't match array")
    return WebGPUArray(x.buf, tuple(x.shape[a] for a in axes), tuple(x.st[a] for a in axes), x.off, x.dtype)


def swapaxes(x, a, b):
    nd = x.ndim
    a, b = _axis(a, nd), _axis(b, nd)
    axes = list(range(nd))
    axes[a], axes[b] = axes[b], axes[a]
    return transpose(x, axes)


def moveaxis(x, source, destination):
    nd = x.ndim
    src = [_axis(s, nd) for s in (source if isinstance(source, (tuple, list)) else (source,))]
    dst = [_axis(s, nd) for s in (destination if isinstance(destination, (tuple, list)) else (destination,))]
    order = [n for n in range(nd) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, order)


def expand_dims(x, axis):
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    nd = x.ndim + len(axes)
    axes = sorted(_axis(a, nd) for a in axes)
    shape, st = list(x.shape), list(x.st)
    for a in axes:
        shape.insert(a, 1)
        st.insert(a, 0)
    return WebGPUArray(x.buf, tuple(shape), tuple(st), x.off, x.dtype)


def squeeze(x, axis=None):
    if axis is None:
        keep = [d for d, n in enumerate(x.shape) if n != 1]
    else:
        axes = {_axis(a, x.ndim) for a in (axis if isinstance(axis, (tuple, list)) else (axis,))}
        for a in axes:
            if x.shape[a] != 1:
                raise ValueError("cannot select an axis to squeeze out which has size not equal to one")
        keep = [d for d in range(x.ndim) if d not in axes]
    return WebGPUArray(x.buf, tuple(x.shape[d] for d in keep), tuple(x.st[d] for d in keep), x.off, x.dtype)


def broadcast_to(x, shape):
    x = as_operand(x) if not _is_scalar(x) else to_array(x)
    shape = tuple(int(s) for s in shape) if not isinstance(shape, int) else (shape,)
    if len(shape) < x.ndim or broadcast_shapes(x.shape, shape) != shape:
        raise ValueError(f"operands could not be broadcast together with remapped shapes [original->remapped]: "
                         f"{x.shape} and requested shape {shape}")
    return WebGPUArray(x.buf, shape, tuple(_bstrides(x, shape)), x.off, x.dtype)


def flip(x, axis=None):
    axes = range(x.ndim) if axis is None else \
        [_axis(a, x.ndim) for a in (axis if isinstance(axis, (tuple, list)) else (axis,))]
    st = list(x.st)
    off = x.off
    for a in axes:
        if x.shape[a] > 1:
            off += (x.shape[a] - 1) * st[a]
        st[a] = -st[a]
    return WebGPUArray(x.buf, x.shape, tuple(st), off, x.dtype)


def diagonal(x, offset=0, axis1=0, axis2=1):
    nd = x.ndim
    a, b = _axis(axis1, nd), _axis(axis2, nd)
    if a == b:
        raise ValueError("axis1 and axis2 cannot be the same")
    na, nb = x.shape[a], x.shape[b]
    off = x.off
    if offset >= 0:
        n = max(0, min(na, nb - offset))
        if n:
            off += offset * x.st[b]
    else:
        n = max(0, min(na + offset, nb))
        if n:
            off -= offset * x.st[a]
    keep = [d for d in range(nd) if d not in (a, b)]
    return WebGPUArray(x.buf, tuple(x.shape[d] for d in keep) + (n,),
                       tuple(x.st[d] for d in keep) + (x.st[a] + x.st[b],), off, x.dtype)


def as_strided(x, shape, strides):
    item = x.dtype.itemsize
    return WebGPUArray(x.buf, tuple(int(s) for s in shape), tuple(int(s) // item for s in strides), x.off, x.dtype)


def ascontiguousarray(x, dtype=None):
    x = to_array(x, dtype)
    return x if x.is_c_contiguous() else copy(x)


def concatenate(arrays, axis=0, out=None, dtype=None):
    arrays = [a if a.__class__ is WebGPUArray else to_array(a) for a in arrays]
    if not arrays:
        raise ValueError("need at least one array to concatenate")
    if axis is None:
        arrays = [reshape(a, (-1,)) for a in arrays]
        axis = 0
    nd = arrays[0].ndim
    if nd == 0:
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    axis = _axis(axis, nd)
    base = arrays[0].shape
    for a in arrays[1:]:
        if a.ndim != nd:
            raise ValueError("all the input array dimensions except for the concatenation axis must match exactly, "
                             f"but along dimension 0, the array at index 0 has {nd} dimension(s) and the array "
                             f"has {a.ndim} dimension(s)")
        for d in range(nd):
            if d != axis and a.shape[d] != base[d]:
                raise ValueError("all the input array dimensions except for the concatenation axis must match "
                                 f"exactly, but along dimension {d}, the array at index 0 has size {base[d]} and "
                                 f"another has size {a.shape[d]}")
    dt = np.dtype(dtype) if dtype is not None else np.result_type(*[a.dtype for a in arrays])
    shape = list(base)
    shape[axis] = sum(a.shape[axis] for a in arrays)
    result = out if out is not None else empty(shape, dt)
    start = 0
    for a in arrays:
        n = a.shape[axis]
        if n:
            key = (slice(None),) * axis + (slice(start, start + n),)
            assign(getitem(result, key), a)
        start += n
    return result


def stack(arrays, axis=0, out=None, dtype=None):
    arrays = [a if a.__class__ is WebGPUArray else to_array(a) for a in arrays]
    if not arrays:
        raise ValueError("need at least one array to stack")
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError("all input arrays must have the same shape")
    axis = _axis(axis, arrays[0].ndim + 1)
    return concatenate([expand_dims(a, axis) for a in arrays], axis, out, dtype)


def tile(x, reps):
    reps = (reps,) if isinstance(reps, int) else tuple(reps)
    x = as_operand(x)
    if len(reps) < x.ndim:
        reps = (1,) * (x.ndim - len(reps)) + reps
    if len(reps) > x.ndim:
        x = reshape(x, (1,) * (len(reps) - x.ndim) + x.shape)
    inter = []
    big = []
    for r, n in zip(reps, x.shape):
        inter += [1, n]
        big += [r, n]
    expanded = broadcast_to(reshape(x, inter), big)
    return reshape(copy(expanded), [r * n for r, n in zip(reps, x.shape)])


def roll(x, shift, axis=None):
    x = as_operand(x)
    if axis is None:
        return reshape(roll(reshape(x, (-1,)), shift, 0), x.shape)
    shifts = shift if isinstance(shift, (tuple, list)) else (shift,)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    if len(shifts) == 1 and len(axes) > 1:
        shifts = shifts * len(axes)
    result = x
    for s, a in zip(shifts, axes):
        a = _axis(a, x.ndim)
        n = x.shape[a]
        if n == 0:
            continue
        s = int(s) % n
        if s:
            lead = (slice(None),) * a
            result = concatenate([getitem(result, lead + (slice(n - s, n),)),
                                  getitem(result, lead + (slice(0, n - s),))], a)
    return result if result is not x else copy(x)


# ---------------------------------------------------------------------------------------------
# indexing
def _is_int(p):
    return isinstance(p, (int, np.integer)) and not isinstance(p, (bool, np.bool_))


def _expand_key(key, ndim):
    if not isinstance(key, tuple):
        key = (key,)
    consumed = sum(1 for p in key if p is not None and p is not Ellipsis)
    out = []
    seen = False
    for p in key:
        if p is Ellipsis:
            if seen:
                raise IndexError("an index can only have a single ellipsis ('...')")
            seen = True
            out.extend([slice(None)] * (ndim - consumed))
        else:
            out.append(p)
    if consumed > ndim:
        raise IndexError(f"too many indices for array: array is {ndim}-dimensional, but {consumed} were indexed")
    return out


def basic_view(x, parts):
    shape, st = [], []
    off = x.off
    d = 0
    for p in parts:
        if p is None:
            shape.append(1)
            st.append(0)
        elif isinstance(p, slice):
            n = x.shape[d]
            start, stop, step = p.indices(n)
            length = len(range(start, stop, step))
            if length:
                off += start * x.st[d]
            shape.append(length)
            st.append(x.st[d] * step)
            d += 1
        else:
            n = x.shape[d]
            i = int(p)
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for axis {d} with size {n}")
            off += (i + n if i < 0 else i) * x.st[d]
            d += 1
    shape.extend(x.shape[d:])
    st.extend(x.st[d:])
    return WebGPUArray(x.buf, tuple(shape), tuple(st), off, x.dtype)


def _index_array(p):
    if p.__class__ is WebGPUArray:
        arr = p
    else:
        host = np.asarray(p)
        if host.dtype == F64 and host.size == 0:
            host = host.astype(np.int64)
        arr = None if host.dtype.kind not in "iub" else upload(host)
        if arr is None:
            raise IndexError("arrays used as indices must be of integer (or boolean) type")
    if arr.dtype.kind not in "iu":
        raise Unsupported("boolean mask index")
    return arr


def _advanced(x, parts):
    """(view, positions of the index arrays in the view, index arrays) or None when basic."""
    if not any(not (p is None or isinstance(p, slice) or _is_int(p)) for p in parts):
        return None
    if any(p is None for p in parts) or any(isinstance(p, (bool, np.bool_)) for p in parts):
        raise Unsupported("advanced index with None or a bool")
    plain = []
    positions = []
    index_arrays = []
    for d, p in enumerate(parts):
        if isinstance(p, slice):
            plain.append(p)
        else:
            plain.append(slice(None))
            positions.append(d)
            index_arrays.append(_index_array(p) if not _is_int(p) else upload(np.asarray(p, dtype=np.int64)))
    if len(index_arrays) > 4:
        raise Unsupported("more than 4 index arrays")
    return basic_view(x, plain), positions, index_arrays


def _index_geometry(v, positions, index_arrays):
    """Result shape, per result dim the view stride, per index array its strides over the result."""
    b = broadcast_shapes(*[a.shape for a in index_arrays])
    consecutive = positions == list(range(positions[0], positions[0] + len(positions)))
    others = [d for d in range(v.ndim) if d not in positions]
    if consecutive:
        p0 = positions[0]
        before = [d for d in others if d < p0]
        after = [d for d in others if d > p0]
    else:
        before, after = [], others
    shape = [v.shape[d] for d in before] + list(b) + [v.shape[d] for d in after]
    sst = [v.st[d] for d in before] + [0] * len(b) + [v.st[d] for d in after]
    ists = []
    for a in index_arrays:
        bst = _bstrides(a, b)
        ists.append([0] * len(before) + bst + [0] * len(after))
    return tuple(shape), sst, ists


def _indexed_groups(shape):
    inner = shape[-1] if shape else 1
    return groups_1d(prod(shape[:-1]) * -(-inner // 4), K.EW4_WG, 1024)


def _indexed_words(n, shape, base, other_off, index_arrays, dims, dstrides, sst, vst, ists):
    if not shape:  # a single element: as a 1-d result of one
        shape, sst, vst, ists = (1,), [0], [0] if vst is not None else None, [[0] for _ in ists]
    words = [0] * (40 + 8 * len(index_arrays))
    words[0] = n
    words[1] = len(shape)
    words[2] = base & 0xFFFFFFFF
    words[3] = other_off
    for t, a in enumerate(index_arrays):
        words[4 + t] = a.off
        words[8 + t] = dims[t]
        words[12 + t] = dstrides[t] & 0xFFFFFFFF
        for d, s in enumerate(ists[t]):
            words[40 + 8 * t + d] = s & 0xFFFFFFFF
    for d, s in enumerate(shape):
        words[16 + d] = s
        words[24 + d] = sst[d] & 0xFFFFFFFF
        if vst is not None:
            words[32 + d] = vst[d] & 0xFFFFFFFF
    return words


def gather(v, positions, index_arrays):
    shape, sst, ists = _index_geometry(v, positions, index_arrays)
    if len(shape) > K.MAX_DIMS:
        raise Unsupported("more than 8 dims")
    result = empty(shape, v.dtype)
    n = prod(shape)
    if n == 0:
        return result
    k = len(index_arrays)
    dims = [v.shape[d] for d in positions]
    dstrides = [v.st[d] for d in positions]
    words = _indexed_words(n, shape, v.off, result.off, index_arrays, dims, dstrides, sst, None, ists)
    nd = max(1, len(shape))
    key = ("gather", k, v.store, nd)
    pid = RT.pipelines.get(key) or RT.pipeline(key, "r" * (1 + k) + "ww", lambda: K.indexed("gather", k, v.store,
                                                                                            nd=nd))
    RT.dispatch(pid, [v.buf.id] + [a.buf.id for a in index_arrays] + [result.buf.id, 0], words,
                _indexed_groups(shape))
    return result


def scatter(v, positions, index_arrays, values, accumulate):
    shape, sst, ists = _index_geometry(v, positions, index_arrays)
    if len(shape) > K.MAX_DIMS:
        raise Unsupported("more than 8 dims")
    n = prod(shape)
    if n == 0:
        return
    if _is_scalar(values):
        values = to_array(np.asarray(values, dtype=v.dtype))
    values = as_operand(values)
    if broadcast_shapes(values.shape, shape) != shape:
        raise ValueError(f"shape mismatch: value array of shape {values.shape} could not be broadcast to indexing "
                         f"result of shape {shape}")
    if values.buf is v.buf or any(a.buf is v.buf for a in index_arrays):
        values = copy(values)
    mode = "add" if accumulate else "put"
    if mode == "add" and v.store == "u32":
        raise Unsupported("accumulating into bool")
    k = len(index_arrays)
    dims = [v.shape[d] for d in positions]
    dstrides = [v.st[d] for d in positions]
    words = _indexed_words(n, shape, v.off, values.off, index_arrays, dims, dstrides, sst, _bstrides(values, shape),
                           ists)
    nd = max(1, len(shape))
    key = (mode, k, v.store, values.store, nd)
    pid = RT.pipelines.get(key) or RT.pipeline(key, "r" * (1 + k) + "ww",
                                               lambda: K.indexed(mode, k, v.store, val_store=values.store, nd=nd))
    RT.dispatch(pid, [values.buf.id] + [a.buf.id for a in index_arrays] + [v.buf.id, 0], words,
                _indexed_groups(shape))


def getitem(x, key):
    parts = _expand_key(key, x.ndim)
    adv = _advanced(x, parts)
    if adv is None:
        return basic_view(x, parts)
    return gather(*adv)


def setitem(x, key, value):
    parts = _expand_key(key, x.ndim)
    adv = _advanced(x, parts)
    if adv is None:
        assign(basic_view(x, parts), value)
    else:
        scatter(*adv, value, False)


def add_at(x, key, values):
    parts = _expand_key(key, x.ndim)
    adv = _advanced(x, parts)
    if adv is None:
        view = basic_view(x, parts)
        binary("add", view, values, out=view)
    else:
        scatter(*adv, values, True)


def take(x, indices, axis=None):
    x = as_operand(x)
    if axis is None:
        x = reshape(x, (-1,))
        axis = 0
    axis = _axis(axis, x.ndim)
    idx = _index_array(indices) if not _is_int(indices) else None
    if idx is None:
        return basic_view(x, [slice(None)] * axis + [int(indices)])
    return gather(x, [axis], [idx])


def _along_axis(arr, indices, axis):
    if axis is None:
        raise Unsupported("along a flattened axis")
    axis = _axis(axis, arr.ndim)
    idx = _index_array(indices)
    if idx.ndim != arr.ndim:
        raise ValueError("`indices` and `arr` must have the same number of dimensions")
    shape = []
    for d in range(arr.ndim):
        if d == axis:
            shape.append(idx.shape[d])
        else:
            shape.append(broadcast_shapes((arr.shape[d],), (idx.shape[d],))[0])
    shape = tuple(shape)
    view = WebGPUArray(arr.buf, shape, tuple(0 if d == axis else (arr.st[d] if arr.shape[d] == shape[d] else 0)
                                             for d in range(arr.ndim)), arr.off, arr.dtype)
    return view, axis, broadcast_to(idx, shape), shape


def take_along_axis(arr, indices, axis):
    arr = as_operand(arr)
    view, axis, idx, shape = _along_axis(arr, indices, axis)
    # a gather whose index array covers every result dim: the view supplies the other dims' strides
    result = empty(shape, arr.dtype)
    n = prod(shape)
    if n == 0:
        return result
    words = _indexed_words(n, shape, view.off, result.off, [idx], [arr.shape[axis]], [arr.st[axis]],
                           list(view.st), None, [_bstrides(idx, shape)])
    nd = max(1, len(shape))
    key = ("gather", 1, arr.store, nd)
    pid = RT.pipelines.get(key) or RT.pipeline(key, "rrww", lambda: K.indexed("gather", 1, arr.store, nd=nd))
    RT.dispatch(pid, [arr.buf.id, idx.buf.id, result.buf.id, 0], words, _indexed_groups(shape))
    return result


def put_along_axis(arr, indices, values, axis):
    view, axis, idx, shape = _along_axis(arr, indices, axis)
    n = prod(shape)
    if n == 0:
        return
    if _is_scalar(values):
        values = to_array(np.asarray(values, dtype=arr.dtype))
    values = as_operand(values)
    if values.buf is arr.buf:
        values = copy(values)
    vst = _bstrides(values, shape)
    words = _indexed_words(n, shape, view.off, values.off, [idx], [arr.shape[axis]], [arr.st[axis]],
                           list(view.st), vst, [_bstrides(idx, shape)])
    nd = max(1, len(shape))
    key = ("put", 1, arr.store, values.store, nd)
    pid = RT.pipelines.get(key) or RT.pipeline(key, "rrww", lambda: K.indexed("put", 1, arr.store,
                                                                             val_store=values.store, nd=nd))
    RT.dispatch(pid, [values.buf.id, idx.buf.id, arr.buf.id, 0], words, _indexed_groups(shape))


# ---------------------------------------------------------------------------------------------
# reductions
def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        axes = tuple(sorted(_axis(a, ndim) for a in axis))
        if len(set(axes)) != len(axes):
            raise ValueError("duplicate value in 'axis'")
        return axes
    return (_axis(axis, ndim),)


def _reduce_kernel(op, x, axes, out, ctype, scale, chunked=True):
    """Reduce x over axes into the contiguous array out (its M elements, kept dims in order)."""
    kept = [d for d in range(x.ndim) if d not in axes]
    kshape, (kst,) = coalesce([x.shape[d] for d in kept], [[x.st[d] for d in kept]])
    rshape, (rst,) = coalesce([x.shape[d] for d in axes], [[x.st[d] for d in axes]])
    if len(kshape) > K.MAX_DIMS or len(rshape) > K.MAX_DIMS:
        raise Unsupported("more than 8 dims")
    M = prod(kshape)
    R = prod(rshape)
    # One thread per output row where there are rows enough (or the rows are short); a long
    # reduction into few rows is split into chunks (a thread each), then the chunks are reduced.
    # Only argmax/argmin of a few long rows use a workgroup per row (a tree in workgroup memory).
    if op in ("argmax", "argmin"):
        _reduce_dispatch(op, x, kshape, kst, rshape, rst, M, R, 1, R, out, ctype, scale, M >= 128 or R <= 64)
        return
    if chunked and M < 128 and R > 1024:
        chunks = min(-(-R // 512), max(1, 1024 // M))
        L = -(-R // chunks)
        chunks = -(-R // L)
        partial = empty((M * chunks,), F32 if ctype == "f32" else (I32 if ctype == "i32" else BOOL))
        _reduce_dispatch(op, x, kshape, kst, rshape, rst, M * chunks, R, chunks, L, partial, ctype, 1.0, True)
        part2 = WebGPUArray(partial.buf, (M, chunks), (chunks, 1), 0, partial.dtype)
        _reduce_kernel(op, part2, (1,), out, ctype, scale, chunked=False)
        return
    _reduce_dispatch(op, x, kshape, kst, rshape, rst, M, R, 1, R, out, ctype, scale, True)


def _reduce_dispatch(op, x, kshape, kst, rshape, rst, rows, R, chunks, L, out, ctype, scale, per_thread):
    words = [0] * 48
    words[0] = rows
    words[1] = R
    words[2] = len(kshape)
    words[3] = len(rshape)
    words[4] = chunks
    words[5] = L
    words[6] = x.off
    words[7] = f32_bits(scale)
    words[8] = out.off
    for d, (n, s) in enumerate(zip(kshape, kst)):
        words[16 + d] = n
        words[24 + d] = s & 0xFFFFFFFF
    for d, (n, s) in enumerate(zip(rshape, rst)):
        words[32 + d] = n
        words[40 + d] = s & 0xFFFFFFFF
    simple = len(rshape) <= 1
    if not rshape:
        words[40] = 0
    out_store = out.store
    key = ("red", op, x.store, ctype, out_store, per_thread, simple)
    pid = RT.pipelines.get(key) or RT.pipeline(key, "rw", lambda: K.reduction(op, x.store, ctype, out_store,
                                                                              per_thread, simple))
    RT.dispatch(pid, [x.buf.id, out.buf.id], words, groups_2d(rows, 64) if per_thread else groups_2d(rows, 1))


def reduce(op, x, axis=None, keepdims=False, dtype=None):
    x = as_operand(x) if not _is_scalar(x) else to_array(x)
    axes = _axes(axis, x.ndim)
    dt = x.dtype
    if op in ("any", "all"):
        ctype, out_dt = "u32", BOOL
    elif op == "sum" and dt == BOOL and (dtype is None or np.dtype(dtype) in (I64, I32)):
        ctype, out_dt = "i32", np.dtype(dtype) if dtype is not None else SUM_INT
    elif op in ("sum", "prod") and (dtype is not None and np.dtype(dtype) == F32 or dtype is None and dt == F32):
        ctype, out_dt = "f32", F32
    elif op in ("max", "min") and dt == F32:
        ctype, out_dt = "f32", F32
    elif op in ("max", "min") and dt.kind in "iu" and dt in STORE:
        ctype, out_dt = "i32", dt
    else:
        raise Unsupported(f"{op} of {dt}")
    shape = tuple(1 if d in axes else n for d, n in enumerate(x.shape)) if keepdims else \
        tuple(n for d, n in enumerate(x.shape) if d not in axes)
    R = prod(x.shape[d] for d in axes)
    if R == 0 or x.size == 0:
        raise Unsupported("empty reduction")
    out = empty(shape, out_dt)
    _reduce_kernel(op, x, axes, out, ctype, 1.0)
    return out


def mean(x, axis=None, dtype=None, keepdims=False):
    x = as_operand(x) if not _is_scalar(x) else to_array(x)
    if x.dtype != F32 and not (dtype is not None and np.dtype(dtype) == F32):
        raise Unsupported(f"mean of {x.dtype}")
    axes = _axes(axis, x.ndim)
    R = prod(x.shape[d] for d in axes)
    if R == 0 or x.size == 0:
        raise Unsupported("empty mean")
    shape = tuple(1 if d in axes else n for d, n in enumerate(x.shape)) if keepdims else \
        tuple(n for d, n in enumerate(x.shape) if d not in axes)
    out = empty(shape, F32)
    _reduce_kernel("sum", x, axes, out, "f32", 1.0 / R)
    return out


def var(x, axis=None, ddof=0, keepdims=False):
    x = as_operand(x)
    if x.dtype != F32:
        raise Unsupported(f"var of {x.dtype}")
    axes = _axes(axis, x.ndim)
    R = prod(x.shape[d] for d in axes)
    if R - ddof <= 0:
        raise Unsupported("var with no degrees of freedom")
    centered = binary("subtract", x, mean(x, axes, keepdims=True))
    sq = binary("multiply", centered, centered)
    total = reduce("sum", sq, axes, keepdims)
    return binary("multiply", total, 1.0 / (R - ddof))


def argreduce(op, x, axis=None, keepdims=False):
    x = as_operand(x)
    if x.dtype == F32:
        ctype = "f32"
    elif x.dtype.kind in "iu" and x.dtype in STORE:
        ctype = "i32"
    else:
        raise Unsupported(f"{op} of {x.dtype}")
    if x.size == 0:
        raise Unsupported("empty argmax")
    if axis is None:
        flat = x if x.ndim == 1 else reshape(x, (-1,))
        out = empty((1,) * x.ndim if keepdims else (), INTP)
        _reduce_kernel(op, flat, (0,), out, ctype, 1.0)
        return out
    a = _axis(axis, x.ndim)
    shape = tuple(1 if d == a else n for d, n in enumerate(x.shape)) if keepdims else \
        tuple(n for d, n in enumerate(x.shape) if d != a)
    out = empty(shape, INTP)
    _reduce_kernel(op, x, (a,), out, ctype, 1.0)
    return out


# ---------------------------------------------------------------------------------------------
# softmax, log_softmax, logsumexp
def rowwise(kind, x, axis, keepdims=False):
    """The fused kernels, or None where they do not apply (the composite runs instead)."""
    if x.__class__ is not WebGPUArray or x.dtype != F32 or x.ndim == 0:
        return None
    axis = _axis(axis, x.ndim)
    R = x.shape[axis]
    if R == 0 or x.size == 0:
        return None
    kept = [d for d in range(x.ndim) if d != axis]
    kshape, (kst,) = coalesce([x.shape[d] for d in kept], [[x.st[d] for d in kept]])
    if len(kshape) > K.MAX_DIMS:
        return None
    rows = prod(kshape)
    if kind == "logsumexp":
        shape = tuple(1 if d == axis else n for d, n in enumerate(x.shape)) if keepdims else \
            tuple(x.shape[d] for d in kept)
        out = empty(shape, F32)
    else:
        perm_shape = tuple(x.shape[d] for d in kept) + (R,)
        out = empty(perm_shape, F32)
    words = [0] * 32
    words[0] = rows
    words[1] = R
    words[2] = len(kshape)
    words[3] = x.st[axis] & 0xFFFFFFFF
    words[4] = x.off
    words[6] = out.off
    for d, (n, s) in enumerate(zip(kshape, kst)):
        words[16 + d] = n
        words[24 + d] = s & 0xFFFFFFFF
    per_thread = R <= 64 or rows >= 64
    key = ("row", kind, per_thread)
    pid = RT.pipelines.get(key) or RT.pipeline(key, "rw", lambda: K.rowwise(kind, per_thread))
    RT.dispatch(pid, [x.buf.id, out.buf.id], words, groups_2d(rows, 64) if per_thread else groups_2d(rows, 1))
    if kind == "logsumexp" or axis == x.ndim - 1:
        return out if kind == "logsumexp" else WebGPUArray(out.buf, x.shape, cstrides(x.shape), 0, F32)
    # back to the input's dim order: a view of the permuted result
    pst = cstrides(perm_shape)
    st = [0] * x.ndim
    for j, d in enumerate(kept):
        st[d] = pst[j]
    st[axis] = 1
    return WebGPUArray(out.buf, x.shape, tuple(st), 0, F32)


# ---------------------------------------------------------------------------------------------
# cumulative sums and products, tril / triu
def scan(op, x, axis=None, dtype=None):
    x = as_operand(x)
    if axis is None:
        x = reshape(x, (-1,))
        axis = 0
    axis = _axis(axis, x.ndim)
    dt = np.dtype(dtype) if dtype is not None else x.dtype
    if x.dtype == F32 and dt == F32:
        ctype = "f32"
    elif op == "sum" and x.dtype == BOOL and dt.kind in "iu" and dt in STORE:
        ctype = "i32"  # counts: no overflow within a GPU buffer
    else:
        raise Unsupported(f"cum{op} of {x.dtype}")
    R = x.shape[axis]
    kept = [d for d in range(x.ndim) if d != axis]
    kshape, (kst,) = coalesce([x.shape[d] for d in kept], [[x.st[d] for d in kept]])
    if len(kshape) > K.MAX_DIMS:
        raise Unsupported("more than 8 dims")
    rows = prod(kshape)
    perm_shape = tuple(x.shape[d] for d in kept) + (R,)
    out = empty(perm_shape, dt)
    if rows and R:
        words = [0] * 32
        words[0] = rows
        words[1] = R
        words[2] = len(kshape)
        words[3] = x.st[axis] & 0xFFFFFFFF
        words[4] = x.off
        for d, (n, s) in enumerate(zip(kshape, kst)):
            words[16 + d] = n
            words[24 + d] = s & 0xFFFFFFFF
        key = ("scan", op, x.store, ctype, out.store)
        pid = RT.pipelines.get(key) or RT.pipeline(key, "rw", lambda: K.scan(op, x.store, ctype, out.store))
        RT.dispatch(pid, [x.buf.id, out.buf.id], words, groups_2d(rows, 64))
    if axis == x.ndim - 1:
        return out
    pst = cstrides(perm_shape)
    st = [0] * x.ndim
    for j, d in enumerate(kept):
        st[d] = pst[j]
    st[axis] = pst[-1]
    return WebGPUArray(out.buf, x.shape, tuple(st), 0, dt)


def tri(x, k, upper):
    """tril / triu: the elements on and below (above) diagonal k of the last two dims, zeros elsewhere."""
    x = as_operand(x)
    if x.ndim < 2:
        raise Unsupported("tri of fewer than 2 dims")
    n, m = x.shape[-2:]
    rows = reshape(arange(0, n, 1, I32), (n, 1))
    cols = arange(0, m, 1, I32)
    offset = binary("subtract", cols, rows)  # j - i
    keep = binary("greater_equal" if upper else "less_equal", offset, int(k))
    zero = False if x.dtype == BOOL else 0
    return where(keep, x, zero)


# ---------------------------------------------------------------------------------------------
# matmul
def matmul(a, b, out=None):
    a = as_operand(a)
    b = as_operand(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: Input operand does not have enough dimensions")
    if a.dtype != F32 or b.dtype != F32:
        raise Unsupported(f"matmul of {a.dtype} and {b.dtype}")
    a2 = expand_dims(a, 0) if a.ndim == 1 else a
    b2 = expand_dims(b, 1) if b.ndim == 1 else b
    M, Ka = a2.shape[-2:]
    Kb, N = b2.shape[-2:]
    if Ka != Kb:
        raise ValueError(f"matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc signature "
                         f"(n?,k),(k,m?)->(n?,m?) (size {Kb} is different from {Ka})")
    batch = broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    shape = batch + (M, N)
    nb = prod(batch)
    result = empty(shape, F32)
    final_shape = shape[:-2] + ((M,) if a.ndim > 1 else ()) + ((N,) if b.ndim > 1 else ())
    if M * N * nb:
        if Ka == 0:
            assign(result, 0.0)
        elif M * N * nb <= 64 and Ka >= 8192:
            # long thin products: a multiply and a reduction spread K over the GPU
            prod_ = binary("multiply", expand_dims(a2, -1), expand_dims(b2, -3))
            out2 = WebGPUArray(result.buf, shape, result.st, 0, F32)
            _reduce_kernel("sum", prod_, (prod_.ndim - 2,), out2, "f32", 1.0)
        else:
            _matmul_dispatch(a2, b2, batch, M, N, Ka, result)
    if final_shape != shape:
        result = WebGPUArray(result.buf, final_shape, cstrides(final_shape), 0, F32)
    if out is not None:
        assign(out, result)
        return out
    return result


def _matmul_dispatch(a2, b2, batch, M, N, Kd, result):
    ab = _bstrides(WebGPUArray(None, a2.shape[:-2], a2.st[:-2], 0, F32), batch)
    bb = _bstrides(WebGPUArray(None, b2.shape[:-2], b2.st[:-2], 0, F32), batch)
    bshape, (ast, bst) = coalesce(list(batch), [ab, bb])
    if len(bshape) > 4:
        raise Unsupported("more than 4 batch dims")
    nb = prod(batch)
    words = [0] * 28
    words[0] = M
    words[1] = N
    words[2] = Kd
    words[3] = nb
    words[4] = a2.off
    words[5] = b2.off
    words[6] = a2.st[-2] & 0xFFFFFFFF
    words[7] = a2.st[-1] & 0xFFFFFFFF
    words[8] = b2.st[-2] & 0xFFFFFFFF
    words[9] = b2.st[-1] & 0xFFFFFFFF
    words[10] = result.off
    words[11] = len(bshape)
    for d, (n, sa, sb) in enumerate(zip(bshape, ast, bst)):
        words[16 + d] = n
        words[20 + d] = sa & 0xFFFFFFFF
        words[24 + d] = sb & 0xFFFFFFFF
    ids = [a2.buf.id, b2.buf.id, result.buf.id]
    big = M >= 16 and N >= 16 and M * N * Kd >= 1 << 15
    a_ok = a2.st[-1] == 1 and Kd % 4 == 0 and a2.st[-2] % 4 == 0 and a2.off % 4 == 0 and all(s % 4 == 0 for s in ast)
    b_rows = b2.st[-1] == 1 and b2.st[-2] % 4 == 0        # B read along its rows (x @ W)
    b_cols = b2.st[-2] == 1 and b2.st[-1] % 4 == 0        # B read along its columns (x @ W.t())
    b_ok = (b_rows or b_cols) and b2.off % 4 == 0 and all(s % 4 == 0 for s in bst)
    if big and RT.cpu_like and a_ok and b_ok:
        # on a CPU-emulated adapter: 4 x 4 blocks with 4-vector loads, no barriers
        key = ("mm_vec4", b_cols and not b_rows)
        pid = RT.pipelines.get(key) or RT.pipeline(key, "rrw", lambda: K.matmul_vec4(key[1]))
        groups = (-(-N // 32), -(-M // 32), min(nb, MAX_GROUPS))
        if groups[0] > MAX_GROUPS or groups[1] > MAX_GROUPS:
            raise Unsupported("matrix too large")
    elif big and (RT.cpu_like and M * N <= 320 * 320):
        # on a CPU-emulated adapter barriers are costly: 4 x 4 blocks straight from memory
        pid = RT.pipelines.get("mm_blocked") or RT.pipeline("mm_blocked", "rrw", K.matmul_blocked)
        groups = (-(-N // 32), -(-M // 32), min(nb, MAX_GROUPS))
        if groups[0] > MAX_GROUPS or groups[1] > MAX_GROUPS:
            raise Unsupported("matrix too large")
    elif M >= 32 and N >= 32 and M * N * Kd >= 1 << 16:
        pid = RT.pipelines.get("mm_tiled") or RT.pipeline("mm_tiled", "rrw", K.matmul_tiled)
        groups = (-(-N // K.MM_TILE), -(-M // K.MM_TILE), min(nb, MAX_GROUPS))
        if groups[0] > MAX_GROUPS or groups[1] > MAX_GROUPS:
            raise Unsupported("matrix too large")
    else:
        pid = RT.pipelines.get("mm_simple") or RT.pipeline("mm_simple", "rrw", K.matmul_simple)
        groups = groups_2d(M * N * nb, 64)
    RT.dispatch(pid, ids, words, groups)


# ---------------------------------------------------------------------------------------------
# operators and methods fall back to NumPy where no kernel covers the case
def _guard_binop(npname, reflected=False, inplace=False):
    def op(self, other):
        a, b = (other, self) if reflected else (self, other)
        out = self if inplace else None
        try:
            return binary(npname, a, b, out=out)
        except Unsupported:
            from . import fallback
            return fallback.binary_op(npname, a, b, out=out)
    op.__name__ = npname
    return op


def _guard_unop(npname):
    def op(self):
        try:
            return unary(npname, self)
        except Unsupported:
            from . import fallback
            return fallback.call(npname, getattr(np, npname), (self,), {})
    return op


def _guard_method(name, fn):
    def method(self, *args, **kwargs):
        try:
            return fn(self, *args, **kwargs)
        except Unsupported:
            from . import fallback
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

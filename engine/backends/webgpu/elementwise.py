"""Elementwise kernels: one planned WGSL kernel per expression and operand layout, with broadcasting
and strided operands; unary, binary, comparison, where, clip, casts, copies, fills and arange.

A function here raises `Unsupported` when it has no kernel for a case (a dtype, too many dims);
the namespace (xp.py) then runs NumPy on the values instead, with a one-time notice. Nothing is
approximated: where WebGPU cannot give NumPy's answer (int64 arithmetic that could need more than
32 bits, float64), the case is unsupported or an error."""
from __future__ import annotations

import math
import numbers

import numpy as np

from ..._strides import cstrides, prod
from . import common
from . import kernels as K
from .runtime import f32_bits
from .common import (ARANGE_INT, BOOL, F32, F64, I32, I64, INT32_RANGE, STORE, Unsupported, WRAP, _int_word,
    check_dtype, coalesce, dtype_error, groups_1d)
from .gpuarray import WebGPUArray, as_operand, empty, upload


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
        result = WebGPUArray(common.RT.alloc(4 * n), rshape, rst, 0, rdtype)
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
    common.RT.dispatch(pid, ids, words, groups)
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
        pid = common.RT.pipelines.get(key)
        if pid is None:
            pid = common.RT.pipeline(key, _sig(ops), lambda: K.elementwise4(expr, ops, out_store, rtype, wrap))
        groups = groups_1d(-(-n // 4), K.EW4_WG, 512)
    elif vector and cshape[-1] >= 4:
        nd = len(cshape)
        key = ("ew4g", expr, rtype, ops, out_store, out_mode, wrap, nd)
        pid = common.RT.pipelines.get(key)
        if pid is None:
            pid = common.RT.pipeline(key, _sig(ops), lambda: K.elementwise4g(expr, ops, out_store, out_mode, rtype, wrap,
                                                                      nd))
        groups = groups_1d(n // cshape[-1] * -(-cshape[-1] // 4), K.EW4_WG, 512)
    else:
        nd = len(cshape)
        key = ("ew", expr, rtype, ops, out_store, out_mode, wrap, nd)
        pid = common.RT.pipelines.get(key)
        if pid is None:
            pid = common.RT.pipeline(key, _sig(ops), lambda: K.elementwise(expr, ops, out_store, out_mode, rtype, wrap, nd))
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
        common.RT.copy(x.buf.id, 4 * x.off, result.buf.id, 0, 4 * x.size)
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

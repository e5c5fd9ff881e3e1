"""Reductions along any dims (sum, prod, max, min, any, all, mean, var, argmax / argmin), the
row-wise softmax / log_softmax / logsumexp, cumulative sums and products, and tril / triu."""
from __future__ import annotations

import numpy as np

from ..._strides import cstrides, prod
from . import common
from . import kernels as K
from .runtime import f32_bits
from .common import BOOL, F32, I32, I64, INTP, STORE, SUM_INT, Unsupported, coalesce, groups_2d
from .gpuarray import WebGPUArray, as_operand, empty
from .elementwise import _is_scalar, arange, binary, to_array, where
from .views import _axis, reshape


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
    pid = common.RT.pipelines.get(key) or common.RT.pipeline(key, "rw", lambda: K.reduction(op, x.store, ctype, out_store,
                                                                              per_thread, simple))
    common.RT.dispatch(pid, [x.buf.id, out.buf.id], words, groups_2d(rows, 64) if per_thread else groups_2d(rows, 1))


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
    pid = common.RT.pipelines.get(key) or common.RT.pipeline(key, "rw", lambda: K.rowwise(kind, per_thread))
    common.RT.dispatch(pid, [x.buf.id, out.buf.id], words, groups_2d(rows, 64) if per_thread else groups_2d(rows, 1))
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
        pid = common.RT.pipelines.get(key) or common.RT.pipeline(key, "rw", lambda: K.scan(op, x.store, ctype, out.store))
        common.RT.dispatch(pid, [x.buf.id, out.buf.id], words, groups_2d(rows, 64))
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

"""Indexing: basic indices as views, integer-array indices as gather and scatter kernels (with
an out-of-range check reported at the next read), take / take_along_axis / put_along_axis."""
from __future__ import annotations

import numpy as np

from ..._strides import prod
from . import common
from . import kernels as K
from .common import F64, Unsupported, groups_1d
from .gpuarray import WebGPUArray, as_operand, empty, upload
from .elementwise import _bstrides, _is_scalar, assign, binary, broadcast_shapes, copy, to_array
from .views import _axis, broadcast_to, reshape


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
    pid = common.RT.pipelines.get(key) or common.RT.pipeline(key, "r" * (1 + k) + "ww", lambda: K.indexed("gather", k, v.store,
                                                                                            nd=nd))
    common.RT.dispatch(pid, [v.buf.id] + [a.buf.id for a in index_arrays] + [result.buf.id, 0], words,
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
    pid = common.RT.pipelines.get(key) or common.RT.pipeline(key, "r" * (1 + k) + "ww",
                                               lambda: K.indexed(mode, k, v.store, val_store=values.store, nd=nd))
    common.RT.dispatch(pid, [values.buf.id] + [a.buf.id for a in index_arrays] + [v.buf.id, 0], words,
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
    pid = common.RT.pipelines.get(key) or common.RT.pipeline(key, "rrww", lambda: K.indexed("gather", 1, arr.store, nd=nd))
    common.RT.dispatch(pid, [arr.buf.id, idx.buf.id, result.buf.id, 0], words, _indexed_groups(shape))
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
    pid = common.RT.pipelines.get(key) or common.RT.pipeline(key, "rrww", lambda: K.indexed("put", 1, arr.store,
                                                                             val_store=values.store, nd=nd))
    common.RT.dispatch(pid, [values.buf.id, idx.buf.id, arr.buf.id, 0], words, _indexed_groups(shape))

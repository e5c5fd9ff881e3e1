"""Indexing: `x[...]` reads and writes (ints, slices, None, Ellipsis, bool masks, integer tensors
and lists), index_select, gather, scatter, masked_fill, nonzero."""
import numpy as np

from .. import _state
from ._core import OpDef, apply, is_raw_array
from ._registry import binds
from ..tensor import Tensor
from ..creation import scalar_tensor, full
from ._core import _xp_of as xp_of, broadcast_error
from . import inplace
from .shape import scatter_into
from .reduce import normalize_dim
from .shape import make_view, _size_list


def _to_index_part(part, xp):
    if isinstance(part, Tensor):
        data = part._data
        if data.dtype.kind not in "biu":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return data
    if isinstance(part, slice):
        if part.step is not None and int(part.step) <= 0:
            raise ValueError("step must be greater than zero")
        return slice(_int_or_none(part.start), _int_or_none(part.stop), _int_or_none(part.step))
    if isinstance(part, (list, tuple, range)):
        converted = [_to_index_part(p, xp) for p in part]
        return xp.asarray(converted)
    if is_raw_array(part):
        return part
    if isinstance(part, (bool, np.bool_)):
        return bool(part)
    if isinstance(part, (int, np.integer)):
        return int(part)
    if part is None or part is Ellipsis:
        return part
    if hasattr(part, "__index__"):
        return part.__index__()
    raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid "
                     "indices (got " + type(part).__name__ + ")")


def _int_or_none(v):
    if v is None:
        return None
    if isinstance(v, Tensor):
        return int(v.item())
    return int(v)


def normalize_index(index, xp):
    """A user's index as a tuple NumPy understands, and whether it is basic (gives a view)."""
    if not isinstance(index, tuple):
        index = (index,)
    parts = tuple(_to_index_part(p, xp) for p in index)
    basic = all(p is None or p is Ellipsis or isinstance(p, (int, slice)) and not isinstance(p, bool)
                for p in parts)
    return parts, basic


def _bounds_error(exc, shape):
    text = str(exc)
    if "out of bounds" in text:
        return IndexError(text.replace("axis", "dimension"))
    if "boolean index did not match" in text:
        return IndexError(f"The shape of the mask does not match the shape of the indexed tensor "
                          f"{_size_list(shape)}: {text}")
    return IndexError(text)


def _index_forward(xp, x, index):
    return x[index]


def _index_vjp(m, g, node):
    index = node.params[0]
    return m.scatter_into(node.shapes[0], index, g, True)


def _basic_vjp(m, g, node):
    return m.scatter_into(node.shapes[0], node.params[0], g, False)


# basic indexing is one view op, named like the last step PyTorch takes for the same index
_slice = OpDef("SliceBackward0", _index_forward, _basic_vjp, kind="slice")
_select = OpDef("SelectBackward0", _index_forward, _basic_vjp, kind="select")
_unsqueeze = OpDef("UnsqueezeBackward0", _index_forward, _basic_vjp, kind="unsqueeze")
_alias = OpDef("AliasBackward0", _index_forward, _basic_vjp, kind="alias")
_index = OpDef("IndexBackward0", _index_forward, _index_vjp, kind="index")


def _view_op(index, parts, shape):
    """PyTorch applies a basic index one step per entry (select, slice, unsqueeze), skipping
    slices that keep a whole dimension inside a tuple; the result's node is the last step's."""
    if not isinstance(index, tuple):
        part = parts[0]
        if part is None:
            return _unsqueeze
        if part is Ellipsis:
            return _alias
        return _slice if isinstance(part, slice) else _select
    op = _alias
    consumed = sum(1 for p in parts if p is not None and p is not Ellipsis)
    dim = 0
    for part in parts:
        if part is Ellipsis:
            dim += len(shape) - consumed
        elif part is None:
            op = _unsqueeze
        else:
            if isinstance(part, slice):
                if dim >= len(shape) or part.indices(shape[dim]) != (0, shape[dim], 1):
                    op = _slice
            else:
                op = _select
            dim += 1
    return op


@binds(method="__getitem__")
def getitem(x, index):
    parts, basic = normalize_index(index, x._xp)
    shape = x._data.shape
    try:
        if basic:
            return make_view(_view_op(index, parts, shape), x, (parts,))
        return apply(_index, (x,), (parts,))
    except IndexError as exc:
        raise _bounds_error(exc, shape) from None


# ---------------------------------------------------------------------------------------------
def _index_put_forward(xp, x, value, index, accumulate):
    out = x.copy()
    if accumulate:
        xp.add.at(out, index, value)
    else:
        out[index] = value
    return out


def _index_put_vjp(m, g, node):
    index, accumulate = node.params
    gx = g if accumulate else m.index_put(g, index, 0)
    gv = m.index(g, index) if (node._next[1] is not None) else None
    return gx, gv


_index_put = OpDef("IndexPutBackward0", _index_put_forward, _index_put_vjp, kind="index_put")
_copy_slices = OpDef("torch::autograd::CopySlices", _index_put_forward, _index_put_vjp, kind="setitem")


@binds("index_put", inplace=True)
def index_put(input, indices, values, accumulate=False):
    """Out of place: a copy of input with values written (or added) at indices; differentiable in both."""
    x, index, value = input, indices, values
    if not isinstance(value, Tensor):
        value = scalar_tensor(value, dtype=x.dtype, device=x.device)
    elif value.dtype is not x.dtype:
        value = value.to(x.dtype)
    parts, basic = normalize_index(index, x._xp) if not isinstance(index, tuple) or not _normalized(index) \
        else (index, False)
    if basic:
        op = _copy_slices
    else:
        # PyTorch indexes a view first when basic entries pick part of the tensor: CopySlices again
        view_parts = tuple(slice(None) if is_raw_array(p) else p for p in parts)
        op = _index_put if _view_op(view_parts, view_parts, x._data.shape) is _alias else _copy_slices
    try:
        return apply(op, (x, value), (parts, accumulate))
    except IndexError as exc:
        raise _bounds_error(exc, x._data.shape) from None


def _normalized(index):
    return all(p is None or p is Ellipsis or isinstance(p, (int, slice)) or is_raw_array(p) for p in index)


@binds(method="__setitem__")
def setitem(x, index, value):
    if not inplace.needs_graph(x, value):
        # nothing to record: write straight into the array
        if isinstance(value, Tensor):
            value = value._data
        parts, _ = normalize_index(index, x._xp)
        inplace.check_writable(x)
        try:
            x._data[parts] = value
        except IndexError as exc:
            raise _bounds_error(exc, x._data.shape) from None
        except ValueError as exc:
            raise RuntimeError(str(exc).replace("could not broadcast input array from shape",
                                                "shape mismatch: value tensor of shape")) from None
        x._version_box[0] += 1
        return
    inplace.run_inplace(x, lambda snapshot: index_put(snapshot, index, value), "setitem", (value,))


# ---------------------------------------------------------------------------------------------
def _along_axis_index(index, axis, xp):
    """Full index arrays addressing `index` positions along `axis` (for scatter-style writes)."""
    grids = [xp.arange(n).reshape((1,) * d + (n,) + (1,) * (index.ndim - d - 1))  # broadcasting aranges
             for d, n in enumerate(index.shape)]  # (CuPy's `indices` has no sparse=)
    grids[axis] = index
    return tuple(grids)


# an index (or mask) operand is no edge in PyTorch's graph
def _first_only(nodes):
    return nodes[:1]


def _skip_index(nodes):
    return nodes[:1] + nodes[2:]


def platform_indices(index):
    """NumPy's take casts indices 'safely' to the platform's intp, so int64 indices fail on 32-bit
    platforms (Pyodide): hand NumPy intp indices. Other backends take theirs as they are."""
    if isinstance(index, np.ndarray) and index.dtype != np.intp:
        return index.astype(np.intp)
    return index


def _index_select_forward(xp, x, index, axis):
    return xp.take(x, platform_indices(index), axis=axis)


def _index_select_vjp(m, g, node, index):
    axis = node.params[0]
    return m.scatter_into(node.shapes[0], (slice(None),) * axis + (_raw(index),), g, True)


def _raw(t):
    return getattr(t, "_data", t)


_index_select = OpDef("IndexSelectBackward0", _index_select_forward, _index_select_vjp, save_inputs=(1,),
                      kind="index_select", shown_edges=_first_only)


@binds("index_select")
def index_select(x, dim, index):
    if index._data.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    if index.dtype.category != 1:
        raise RuntimeError("index_select(): Expected dtype int32/int64 for index")
    axis = normalize_dim(dim, x._data.ndim)
    size = x._data.shape[axis] if x._data.ndim else 1
    idx = index._data.reshape(-1)
    if idx.size and (idx.max() >= size or idx.min() < -size):
        raise IndexError("index out of range in self")
    if x._data.ndim == 0:
        return x.reshape(1)[index].reshape(())
    return apply(_index_select, (x, index), (axis,))


def _gather_forward(xp, x, index, axis):
    if index.shape != x.shape:
        # take_along_axis broadcasts; PyTorch's gather reads only the index's extent
        x = x[tuple(slice(0, n) if d != axis else slice(None) for d, n in enumerate(index.shape))]
    return xp.take_along_axis(x, index, axis=axis)


def _gather_vjp(m, g, node, index):
    axis = node.params[0]
    idx = _raw(index)
    return m.scatter_into(node.shapes[0], _along_axis_index(idx, axis, _xp_of(idx)), g, True)


def _xp_of(a):
    return xp_of(a)


_gather = OpDef("GatherBackward0", _gather_forward, _gather_vjp, save_inputs=(1,), kind="gather",
                shown_edges=_first_only)


@binds("gather")
def gather(x, dim, index, *, sparse_grad=False):
    axis = normalize_dim(dim, x._data.ndim)
    if index.dtype.category != 1:
        raise RuntimeError("gather(): Expected dtype int64 for index")
    if index._data.ndim != x._data.ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    for d in range(x._data.ndim):
        if d != axis and index._data.shape[d] > x._data.shape[d]:
            raise RuntimeError(f"Size does not match at dimension {d} expected index {_size_list(index.shape)} to be "
                               f"smaller than self {_size_list(x.shape)} apart from dimension {axis}")
    idx = index._data
    size = x._data.shape[axis] if x._data.ndim else 1
    if idx.size:
        bad = idx[(idx >= size) | (idx < 0)]
        if bad.size:
            raise RuntimeError(f"index {int(bad.reshape(-1)[0])} is out of bounds for dimension {axis} with size "
                               f"{size}")
    if x._data.ndim == 0:
        return gather(x.reshape(1), 0, index.reshape(1)).reshape(())
    return apply(_gather, (x, index), (axis,))


def scatter_into_along(shape, index, axis, g):
    """Differentiable zeros(shape) with g placed at `index` along axis (max/min with dim, backward)."""
    idx = _along_axis_index(index, axis, _xp_of(index))
    return scatter_into(shape, idx, g)


def _scatter_forward(xp, x, index, src, axis, reduce_add):
    out = x.copy()
    full = _along_axis_index(index, axis, xp)
    if reduce_add:
        xp.add.at(out, full, src[tuple(slice(0, n) for n in index.shape)])
    else:
        out[full] = src[tuple(slice(0, n) for n in index.shape)]
    return out


def _scatter_vjp(m, g, node, index):
    axis, reduce_add = node.params
    idx = _raw(index)
    full = _along_axis_index(idx, axis, _xp_of(idx))
    gx = g if reduce_add else m.index_put(g, full, 0)
    gsrc = None
    if (node._next[2] is not None):
        gsrc = m.index(g, full)
        src_shape = node.shapes[2]
        if tuple(gsrc.shape) != tuple(src_shape):
            gsrc = m.scatter_into(src_shape, tuple(slice(0, n) for n in idx.shape), gsrc, False)
    return gx, None, gsrc


_scatter = OpDef("ScatterBackward0", _scatter_forward, _scatter_vjp, save_inputs=(1,), kind="scatter",
                 shown_edges=_skip_index)
_scatter_add = OpDef("ScatterAddBackward0", _scatter_forward, _scatter_vjp, save_inputs=(1,), kind="scatter_add",
                     shown_edges=_skip_index)


@binds("scatter", inplace=True)
def scatter(x, dim, index, src=None, value=None, reduce=None):
    if src is None:
        src = value
    if not isinstance(src, Tensor):
        src = full(index.shape, src, dtype=x.dtype, device=x.device)
    axis = normalize_dim(dim, x._data.ndim)
    if reduce == "add":
        return apply(_scatter_add, (x, index, src.to(x.dtype)), (axis, True))
    return apply(_scatter, (x, index, src.to(x.dtype)), (axis, False))


@binds("scatter_add", inplace=True)
def scatter_add(x, dim, index, src):
    axis = normalize_dim(dim, x._data.ndim)
    return apply(_scatter_add, (x, index, src.to(x.dtype)), (axis, True))


def _masked_fill_forward(xp, x, mask, value):
    return xp.where(mask, xp.asarray(value, dtype=x.dtype), x)


def _masked_fill_vjp(m, g, node, mask):
    return m.where(mask, 0.0, g) if (node._next[0] is not None) else None, None


_masked_fill = OpDef("MaskedFillBackward0", _masked_fill_forward, _masked_fill_vjp, save_inputs=(1,),
                     kind="masked_fill", shown_edges=_first_only)


def _masked_fill_tensor_forward(xp, x, mask, value):
    return xp.where(mask, value.astype(x.dtype), x)


def _masked_fill_tensor_vjp(m, g, node, mask):
    g_x = m.where(mask, 0.0, g) if node._next[0] is not None else None
    g_value = m.where(mask, g, 0.0) if node._next[2] is not None else None  # summed to 0-dim centrally
    return g_x, None, g_value


# a 0-dim tensor value that requires grad: its gradient is the sum of g over the filled places
_masked_fill_tensor = OpDef("MaskedFillBackward1", _masked_fill_tensor_forward, _masked_fill_tensor_vjp,
                            save_inputs=(1,), kind="masked_fill", shown_edges=lambda nodes: (nodes[0], nodes[2]))


@binds("masked_fill", inplace=True)
def masked_fill(x, mask, value):
    if mask.dtype.name != "bool":
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype {mask.dtype}")
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError("masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value._data.ndim} dimension(s).")
    error = broadcast_error([mask._data.shape, x._data.shape])
    if error is not None:
        raise error
    if isinstance(value, Tensor):
        if value._rg and _state.grad_enabled:
            return apply(_masked_fill_tensor, (x, mask, value.to(x.device)))
        value = value.item()
    return apply(_masked_fill, (x, mask), (value,))


@binds("masked_select")
def masked_select(x, mask):
    error = broadcast_error([x._data.shape, mask._data.shape])
    if error is not None:
        raise error
    shape = np.broadcast_shapes(x._data.shape, mask._data.shape)
    return getitem(x.expand(shape), mask.expand(shape))


@binds("nonzero")
def nonzero(x, *, as_tuple=False):
    xp = x._xp
    idx = xp.nonzero(x._data) if x._data.ndim else xp.nonzero(x._data.reshape(1))
    if as_tuple:
        return tuple(Tensor._make(xp.asarray(i, dtype=np.int64)) for i in idx)
    if not x._data.ndim:  # one row per nonzero element, with no coordinates
        return Tensor._make(xp.zeros((len(idx[0]), 0), dtype=np.int64))
    return Tensor._make(xp.stack(idx, axis=1).astype(np.int64) if idx else xp.zeros((0, 0), dtype=np.int64))


@binds("argwhere")
def argwhere(x):
    return nonzero(x)

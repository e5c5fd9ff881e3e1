"""Writes and reads at index positions beyond the core set: index_add/index_copy/index_fill/
index_reduce, masked_scatter, scatter_reduce, take/put, select/slice/diagonal_scatter."""
import numpy as np
from ._core import renamed, OpDef, apply, is_raw_array, _xp_of, Tensor
from ._registry import binds
from ._core import broadcast_error
from .reduce import normalize_dim
from .indexing import _along_axis_index, platform_indices
from .shape import _size_list
from . import shape as sh



def _const(g, array):
    """A constant array in the namespace of g (a tensor under create_graph)."""
    return array if is_raw_array(g) else Tensor._make(array)


# ---------------------------------------------------------------------------------------------
# index_add / index_copy / index_fill: writes at `index` positions along one dim
def _check_index(name, x, dim, index):
    if index.dtype.name not in ("int64", "int32"):
        raise RuntimeError(f"{name}(): Expected dtype int32/int64 for index but got: {index.dtype.title}")
    if index._data.ndim > 1:
        raise IndexError(f"{name}(): Index is supposed to be a vector, but got dim: {index._data.ndim} with type: "
                         f"{index.dtype.title} and size: {_size_list(index.shape)}")
    axis = normalize_dim(dim, x._data.ndim)
    size = x._data.shape[axis] if x._data.ndim else 1
    idx = index._data.reshape(-1)
    bad = idx[(idx < -size) | (idx >= size)]
    if bad.size:
        raise RuntimeError(f"index {int(bad[0])} is out of bounds for dimension {axis} with size {size}")
    return axis, (slice(None),) * axis + (idx,)


def _check_source(name, x, axis, index, source):
    if source.dtype is not x.dtype:
        raise RuntimeError(f"{name}(): self ({x.dtype.title}) and source ({source.dtype.title}) must have the "
                           "same scalar type")
    if source._data.ndim and source._data.shape[axis] != index._data.size:
        raise RuntimeError(f"{name}(): Number of indices ({index._data.size}) should be equal to source.size(dim): "
                           f"({source._data.shape[axis]}), for dim: {axis}")


def _index_add_forward(xp, x, source, where, alpha):
    out = x.copy()
    xp.add.at(out, where, source * alpha if alpha != 1 else source)
    return out


def _index_add_vjp(m, g, node):
    where, alpha = node.params
    gs = m.reshape(m.index(g, where), node.shapes[1])
    return g, gs * alpha if alpha != 1 else gs


def _index_copy_forward(xp, x, source, where):
    out = x.copy()
    out[where] = source
    return out


def _index_copy_vjp(m, g, node):
    where = node.params[0]
    return m.index_put(g, where, 0.0), m.reshape(m.index(g, where), node.shapes[1])


def _index_fill_forward(xp, x, value, where):
    out = x.copy()
    out[where] = value  # a value tensor comes as an input, a number as a param
    return out


def _index_fill_vjp(m, g, node):
    where = node.params[-1]
    gx = m.index_put(g, where, 0.0)
    return gx if len(node.shapes) == 1 else (gx, m.sum(m.index(g, where)))


_index_add = OpDef("IndexAddBackward0", _index_add_forward, _index_add_vjp, kind="index_add")
_index_copy = OpDef("IndexCopyBackward0", _index_copy_forward, _index_copy_vjp, kind="index_copy")
_index_fill_number = OpDef("IndexFillBackward0", _index_fill_forward, _index_fill_vjp, kind="index_fill")
_index_fill_tensor = OpDef("IndexFillBackward1", _index_fill_forward, _index_fill_vjp, kind="index_fill")


def _scalar_view(fn, x, index, *rest):
    """A 0-d tensor takes index ops as a 1-element vector."""
    rest = [r.reshape(-1) if isinstance(r, Tensor) else r for r in rest]
    return fn(x.reshape(1), 0, index.reshape(-1), *rest).reshape(())


@binds("index_add", inplace=True)
def index_add(input, dim, index, source, *, alpha=1):
    if input._data.ndim == 0:
        return _scalar_view(lambda *a: index_add(*a, alpha=alpha), input, index, source)
    axis, where = _check_index("index_add_", input, dim, index)
    _check_source("index_add_", input, axis, index, source)
    return apply(_index_add, (input, source), (where, alpha))


@binds("index_copy", inplace=True)
def index_copy(input, dim, index, source):
    if input._data.ndim == 0:
        return _scalar_view(index_copy, input, index, source)
    axis, where = _check_index("index_copy_", input, dim, index)
    _check_source("index_copy_", input, axis, index, source)
    return apply(_index_copy, (input, source), (where,))


@binds("index_fill", inplace=True)
def index_fill(input, dim, index, value):
    if input._data.ndim == 0:  # as a 1-element vector (the value stays as it is: 0-d or a number)
        normalize_dim(dim, 0)
        return index_fill(input.reshape(1), 0, index.reshape(-1), value).reshape(())
    _, where = _check_index("index_fill_", input, dim, index)
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError("index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value._data.ndim} dimension(s).")
        return apply(_index_fill_tensor, (input, value.to(input.dtype)), (where,))
    return apply(_index_fill_number, (input,), (value, where))


# ---------------------------------------------------------------------------------------------
def _masked_scatter_forward(xp, x, source, mask):
    out = x.copy()
    out[mask] = source.reshape(-1)[:int(mask.sum())]
    return out


def _masked_scatter_vjp(m, g, node):
    mask = node.params[0]
    xp = _xp_of(mask)
    picked = m.index(g, mask)  # the gradient of the first k source elements; the rest get none
    count = picked.shape[0]
    size = int(np.prod(node.shapes[1]))
    gs = m.scatter_into((size,), (xp.arange(count),), picked)
    return m.where(_const(g, mask), 0.0, g), m.reshape(gs, node.shapes[1])


_masked_scatter = OpDef("MaskedScatterBackward0", _masked_scatter_forward, _masked_scatter_vjp,
                        kind="masked_scatter")


@binds("masked_scatter", inplace=True)
def masked_scatter(input, mask, source):
    if mask.dtype.name != "bool":
        raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask with dtype {mask.dtype.title}")
    error = broadcast_error([input._data.shape, mask._data.shape])
    if error is not None:
        raise error
    xp = input._xp
    shape = tuple(np.broadcast_shapes(input._data.shape, mask._data.shape))
    if shape != input._data.shape:
        input = input.expand(shape)
    mask_data = xp.broadcast_to(mask._data, shape)
    if int(mask_data.sum()) > source._data.size:
        raise RuntimeError("Number of elements of source < number of ones in mask")
    return apply(_masked_scatter, (input, source.to(input.dtype)), (mask_data,))


# ---------------------------------------------------------------------------------------------
# scatter_reduce: a ufunc applied at the target positions; mean is the sum over the count
_REDUCE_UFUNCS = {"sum": "add", "mean": "add", "prod": "multiply", "amax": "maximum", "amin": "minimum"}


def _identity(reduce, dtype):
    """What a position starts from when its own value is left out (include_self=False)."""
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dtype.kind == "f":
        low, high = -np.inf, np.inf
    elif dtype.kind == "b":
        low, high = False, True
    else:
        low, high = np.iinfo(dtype).min, np.iinfo(dtype).max
    return low if reduce == "amax" else high


def _ufunc_at(xp, ufunc, out, where, values):
    """`ufunc.at(out, where, values)` (every write applied, repeats included). Where the backend
    lacks it (CuPy has `at` only for add, maximum and minimum, and its maximum/minimum lose float64
    precision) the writes go in rounds: the k-th
    write to each position in round k, so no round has a position twice and plain indexing works."""
    if xp is np or ufunc.__name__ == "add":  # CuPy's maximum.at/minimum.at round float64 (seen on an H200)
        try:
            ufunc.at(out, where, values)
            return
        except NotImplementedError:
            pass
    index = xp.broadcast_arrays(*where)
    linear = index[0].astype(np.int64)
    for d in range(1, len(index)):
        linear = linear * out.shape[d] + index[d]
    linear = linear.reshape(-1)
    values = xp.broadcast_to(values, index[0].shape).reshape(-1)
    order = xp.argsort(linear)
    ordered = linear[order]
    rank = xp.arange(ordered.size) - xp.searchsorted(ordered, ordered)  # its place among its position's writes
    flat = out.reshape(-1)  # a view: `out` is a fresh contiguous copy
    for k in range(int(rank.max()) + 1 if ordered.size else 0):
        pick = order[rank == k]
        targets = linear[pick]
        flat[targets] = ufunc(flat[targets], values[pick])


def _counts(xp, shape, where, include_self):
    """How many values reduce into each position (self included or not)."""
    count = xp.full(shape, 1 if include_self else 0, dtype=np.int64)
    xp.add.at(count, where, 1)
    return count


def _scatter_reduce_forward(xp, x, src, index, axis, reduce, include_self):
    where = _along_axis_index(index, axis, xp)
    part = src[tuple(slice(0, n) for n in index.shape)]
    out = x.copy()
    if not include_self:
        out[where] = _identity(reduce, x.dtype)
    _ufunc_at(xp, getattr(xp, _REDUCE_UFUNCS[reduce]), out, where, part)
    if reduce == "mean":
        count = _counts(xp, x.shape, where, include_self)
        total = out // xp.maximum(count, 1) if x.dtype.kind in "iu" else out / xp.maximum(count, 1)
        out = xp.where(count > 0, total.astype(x.dtype), x)
    return out


def _reduce_again(m, x, src, node):
    """The forward once more on other values (the prod backward's products that skip zeros)."""
    index, axis, reduce, include_self = node.params
    if is_raw_array(x):
        return _scatter_reduce_forward(_xp_of(x), x, src, index, axis, reduce, include_self)
    return scatter_reduce(x, axis, Tensor._make(index), src, reduce, include_self=include_self)


def _scatter_reduce_vjp(m, g, node, x, src, out):
    # PyTorch's scatter_reduce_backward, one formula per reduction
    index, axis, reduce, include_self = node.params
    where = _along_axis_index(index, axis, _xp_of(index))
    part = m.index(src, tuple(slice(0, n) for n in index.shape))
    take = lambda a: m.index(a, where)  # noqa: E731  (the gather of PyTorch's formulas)
    if reduce == "sum":
        gx, gs = g, take(g)
    elif reduce == "mean":
        xp = _xp_of(index)
        count = xp.maximum(_counts(xp, node.shapes[0], where, include_self), 1)
        g = g / (count.astype(g.dtype) if is_raw_array(g) else Tensor._make(count).to(g.dtype))
        gx, gs = g, take(g)
    elif reduce == "prod":
        zero_x = m.as_mask(x == 0)
        masked_x = m.where(zero_x, 1.0, x)
        gx = g * _reduce_again(m, masked_x, src, node) / masked_x
        zero_s = m.as_mask(part == 0)
        zeros_there = take(m.scatter_into(node.shapes[0], where, zero_s * 1.0))
        single = m.as_mask(zero_s & (zeros_there == 1))
        masked_src = m.where(single, 1.0, part)
        skipped = _reduce_again(m, x, masked_src, node)
        gs = m.where(single, take(g * skipped), take(g * out) / m.where(zero_s, 1.0, part))
    else:  # amax / amin: ties share the gradient evenly
        x_hit = m.as_mask(x == out)
        s_hit = m.as_mask(part == take(out))
        share = g / (x_hit * 1.0 + m.scatter_into(node.shapes[0], where, s_hit * 1.0))
        gx, gs = m.where(x_hit, share, 0.0), m.where(s_hit, take(share), 0.0)
    if not include_self:
        gx = m.index_put(gx, where, 0.0)
    if tuple(gs.shape) != tuple(node.shapes[1]):  # src larger than index: the rest takes no gradient
        gs = m.scatter_into(node.shapes[1], tuple(slice(0, n) for n in index.shape), gs)
    return gx, gs


_scatter_reduce = OpDef("ScatterReduceBackward0", _scatter_reduce_forward, _scatter_reduce_vjp,
                        save_inputs=(0, 1), save_output=True, kind="scatter_reduce")


@binds("scatter_reduce", inplace=True)
def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    if reduce not in _REDUCE_UFUNCS:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    if index.dtype.name != "int64":
        raise RuntimeError("scatter_reduce(): Expected dtype int64 for index")
    if src.dtype is not input.dtype:
        raise RuntimeError("scatter_reduce(): Expected self.dtype to be equal to src.dtype")
    axis = normalize_dim(dim, input._data.ndim)
    if input._data.ndim == 0:
        return scatter_reduce(input.reshape(1), 0, index.reshape(-1), src.reshape(-1), reduce,
                              include_self=include_self).reshape(())
    if index._data.ndim != input._data.ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    idx = index._data
    size = input._data.shape[axis]
    bad = idx[(idx < 0) | (idx >= size)]
    if bad.size:
        raise RuntimeError(f"index {int(bad.reshape(-1)[0])} is out of bounds for dimension {axis} with size {size}")
    return apply(_scatter_reduce, (input, src), (idx, axis, reduce, include_self))


# ---------------------------------------------------------------------------------------------
# take / put: the tensor as its flattened elements
def _flat_index(x, index, name):
    if index.dtype.name != "int64":
        raise RuntimeError(f"{name}(): Expected a long tensor for index, but got {index.dtype.title}")
    idx = index._data
    n = x._data.size
    bad = idx[(idx < -n) | (idx >= n)]
    if bad.size:
        raise IndexError(f"out of range: tried to access index {int(bad.reshape(-1)[0])} on a tensor of {n} "
                         "elements.")
    return platform_indices(x._xp.where(idx < 0, idx + n, idx))


def _take_forward(xp, x, index):
    return x.reshape(-1)[index]


def _take_vjp(m, g, node):
    shape = node.shapes[0]
    return m.reshape(m.scatter_into((int(np.prod(shape)),), (node.params[0],), g), shape)


_take = OpDef("TakeBackward0", _take_forward, _take_vjp, kind="take")


@binds("take")
def take(input, index):
    return apply(_take, (input,), (_flat_index(input, index, "take"),))


def _put_forward(xp, x, source, index, accumulate):
    out = x.copy()
    flat = out.reshape(-1)  # a view of the fresh copy
    if accumulate:
        xp.add.at(flat, index, source.reshape(-1))
    else:
        flat[index] = source.reshape(-1)
    return out


def _put_vjp(m, g, node):
    index, accumulate = node.params
    shape, src_shape = node.shapes
    flat = m.reshape(g, (-1,))
    gx = g if accumulate else m.reshape(m.index_put(flat, (index,), 0.0), shape)
    return gx, m.reshape(m.index(flat, (index,)), src_shape)


_put = OpDef("PutBackward0", _put_forward, _put_vjp, kind="put")


@binds("put", inplace=True)
def put(input, index, source, accumulate=False):
    if source._data.size != index._data.size:
        raise IndexError("put_(): Expected source and index to have the same number of elements, but got "
                         f"source.numel() = {source._data.size}, index.numel() = {index._data.size}")
    return apply(_put, (input, source.to(input.dtype)), (_flat_index(input, index, "put_"), accumulate))


@binds("take_along_dim")
def take_along_dim(input, indices, dim=None):
    from .indexing import gather
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    axis = normalize_dim(dim, input._data.ndim)
    # every dim but `dim` broadcasts between the two, as PyTorch's take_along_dim does
    shape_x, shape_i = list(input.shape), list(indices.shape)
    shape_x[axis] = shape_i[axis] = 1
    common = list(np.broadcast_shapes(tuple(shape_x), tuple(shape_i)))
    want_x, want_i = common.copy(), common.copy()
    want_x[axis], want_i[axis] = input.shape[axis], indices.shape[axis]
    if list(input.shape) != want_x:
        input = input.expand(want_x)
    if list(indices.shape) != want_i:
        indices = indices.expand(want_i)
    return gather(input, axis, indices)


# ---------------------------------------------------------------------------------------------
# index_reduce: scatter_reduce with the index repeated across the source's other dims
_index_reduce = renamed(_scatter_reduce, "IndexReduceBackward0")


@binds("index_reduce", inplace=True)
def index_reduce(input, dim, index, source, reduce, *, include_self=True):
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got {reduce}.")
    if input._data.ndim == 0:  # a 0-d tensor as a 1-element vector
        normalize_dim(dim, 0)
        return index_reduce(input.reshape(1), 0, index.reshape(-1), source.reshape(-1), reduce,
                            include_self=include_self).reshape(())
    axis = normalize_dim(dim, input._data.ndim)
    size = input._data.shape[axis] if input._data.ndim else 1
    if bool(((index._data < 0) | (index._data >= size)).any()):  # no negative indices here, unlike index_add
        raise IndexError("index out of range in self")
    _check_index("index_reduce_", input, dim, index)
    _check_source("index_reduce_", input, axis, index, source)
    xp = input._xp
    shape = [1] * source._data.ndim
    shape[axis] = -1
    idx = xp.broadcast_to(index._data.astype(np.int64).reshape(shape), source._data.shape).copy()
    return apply(_index_reduce, (input, source), (idx, axis, reduce, include_self))


# ---------------------------------------------------------------------------------------------
# select_scatter / slice_scatter / diagonal_scatter: a copy of input with src written into one view
def _locate(xp, a, kind, where):
    """(array, index) with array[index] the part of `a` the view selects (assignable in place)."""
    if kind != "diagonal":
        return a, where
    offset, d1, d2 = where
    moved = xp.moveaxis(a, (d1, d2), (-2, -1))
    rows, cols = moved.shape[-2] - max(-offset, 0), moved.shape[-1] - max(offset, 0)
    i = xp.arange(max(min(rows, cols), 0))
    return moved, (Ellipsis, i + max(-offset, 0), i + max(offset, 0))


def _view_of(xp, a, kind, where):
    array, index = _locate(xp, a, kind, where)
    return xp.asarray(array[index])


def _scatter_view_forward(xp, x, src, kind, where):
    out = x.copy()
    array, index = _locate(xp, out, kind, where)
    array[index] = src
    return out


def _scatter_view_vjp(m, g, node):
    kind, where = node.params
    if is_raw_array(g):
        xp = _xp_of(g)
        return _scatter_view_forward(xp, g, 0, kind, where), _view_of(xp, g, kind, where).copy()
    # create_graph: the same two pieces as differentiable functions of g (PyTorch's formulas)
    g_src = sh.diagonal(g, *where) if kind == "diagonal" else g[where]
    return apply(node.op, (g, g_src * 0), node.params), g_src


def _scatter_view(name, kind):
    op = OpDef(name, _scatter_view_forward, _scatter_view_vjp, kind=name.replace("Backward0", "").lower())

    def scatter(input, src, where):
        expected = _view_of(input._xp, input._data, kind, where).shape
        if tuple(src.shape) != tuple(expected):
            raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = "
                               f"{sh._size_list(src.shape)}, slice size = {sh._size_list(expected)}")
        return apply(op, (input, src.to(input.dtype)), (kind, where))
    return scatter


_select_scatter = _scatter_view("SelectScatterBackward0", "select")
_slice_scatter = _scatter_view("SliceScatterBackward0", "slice")
_diagonal_scatter = _scatter_view("DiagonalScatterBackward0", "diagonal")


@binds("select_scatter")
def select_scatter(input, src, dim, index):
    axis = normalize_dim(dim, input._data.ndim)
    sh.select(input.detach(), dim, index)  # PyTorch's checks of dim and index
    return _select_scatter(input, src, (slice(None),) * axis + (index % input._data.shape[axis],))


@binds("slice_scatter")
def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    axis = normalize_dim(dim, input._data.ndim)
    return _slice_scatter(input, src, (slice(None),) * axis + (slice(start, end, step),))


@binds("diagonal_scatter")
def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    nd = input._data.ndim
    d1, d2 = normalize_dim(dim1, nd), normalize_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return _diagonal_scatter(input, src, (offset, d1, d2))

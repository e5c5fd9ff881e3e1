"""Shape utilities composed of the core shape ops: tile, repeat_interleave, meshgrid, ravel, rot90,
flips, tensor_split and its h/v/d forms, dstack, column_stack, block_diag, cartesian products,
index tables, atleast_nd; unfold and fill_diagonal_; splits and copies under their own node names."""
import itertools
import math
import numpy as np
from .._dtype import int64, bool_, as_dtype
from ._core import renamed, OpDef, apply, ArrayMath
from ._registry import binds, register
from ..creation import empty, tensor, ones
from ._core import broadcast_error
from .scan import _slices
from . import elementwise as ew, shape as sh, reduce as red, indexing as ix
from .reduce import normalize_dim, normalize_dims
from ..tensor import Tensor, Size


# ---------------------------------------------------------------------------------------------
# shape
@binds("tile")
def tile(input, *dims_args, dims=None):
    dims = tuple(int(d) for d in sh._shape_arg(dims_args if dims is None else (dims,)))
    dims = (1,) * (input._data.ndim - len(dims)) + dims
    return sh.repeat(input, dims)


@binds("ravel")
def ravel(input):
    return sh.view(sh.contiguous(input), -1)


@binds("repeat_interleave")
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    if repeats is None:  # repeat_interleave(repeats): each index repeated that many times
        counts = input
        index = Tensor._make(counts._xp.arange(counts._data.shape[0], dtype=np.int64), device=counts.device)
        return repeat_interleave(index, counts)
    if dim is None:
        input, dim = sh.flatten(input), 0
    dim = normalize_dim(dim, input._data.ndim)
    if isinstance(repeats, Tensor) and repeats._data.ndim and repeats._data.size != 1:
        xp = input._xp
        if repeats._data.shape[0] != input.shape[dim]:
            raise RuntimeError("repeats must have the same size as input along dim")
        index = xp.repeat(xp.arange(repeats._data.shape[0]), repeats._data)
        if output_size is not None and index.shape[0] != output_size:
            raise RuntimeError("allocated size does not match required size")
        return ix.index_select(input, dim, Tensor._make(index.astype(np.int64), device=input.device))
    r = int(repeats.item()) if isinstance(repeats, Tensor) else int(repeats)
    shape = input.shape
    x = sh.unsqueeze(input, dim + 1)
    x = sh.expand(x, shape[:dim + 1] + (r,) + shape[dim + 1:])
    return sh.reshape(sh.clone(x), shape[:dim] + (shape[dim] * r,) + shape[dim + 1:])


def _rot90_forward(xp, x, k, dims):
    return xp.ascontiguousarray(xp.rot90(x, k, axes=dims))


_rot90 = OpDef("Rot90Backward0", _rot90_forward,
               lambda m, g, node: m.rot90(g, -node.params[0], node.params[1]), kind="rot90")


@binds("rot90")
def rot90(input, k=1, dims=(0, 1)):
    dims = tuple(dims)
    nd = input._data.ndim
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if nd < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {nd}")
    dims = tuple(normalize_dim(d, nd) for d in dims)
    if dims[0] == dims[1]:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {dims[0]} and dim1 = {dims[1]}")
    return apply(_rot90, (input,), (k % 4, dims))


@binds("fliplr")
def fliplr(input):
    if input._data.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return sh.flip(input, (1,))


@binds("flipud")
def flipud(input):
    if input._data.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return sh.flip(input, (0,))


def _sections(indices_or_sections, sections, indices, tensor_indices_or_sections=None):
    """The one of PyTorch's overloads' names given: sections (a count) or indices (split points)."""
    given = [v for v in (indices_or_sections, sections, indices, tensor_indices_or_sections) if v is not None]
    if len(given) != 1:
        raise TypeError("expected one of sections, indices or tensor_indices_or_sections")
    return given[0]


@binds("tensor_split")
def tensor_split(input, indices_or_sections=None, dim=0, *, sections=None, indices=None,
                 tensor_indices_or_sections=None):
    dim = normalize_dim(dim, input._data.ndim)
    size = input.shape[dim]
    sections = _sections(indices_or_sections, sections, indices, tensor_indices_or_sections)
    if isinstance(sections, Tensor):
        sections = sections.item() if sections._data.ndim == 0 else sections.tolist()
    if isinstance(sections, int):
        if sections <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {sections}")
        q, r = divmod(size, sections)
        bounds = [i * q + min(i, r) for i in range(sections + 1)]
    else:
        bounds = [0] + [min(max(int(i), 0), size) for i in sections] + [size]
    return tuple(_slices(input, dim, lo, max(lo, hi)) for lo, hi in zip(bounds[:-1], bounds[1:]))


def _split_fn(name, dim, min_dims):
    def split(input, indices_or_sections=None, *, sections=None, indices=None):
        indices_or_sections = _sections(indices_or_sections, sections, indices)
        nd = input._data.ndim
        if nd < min_dims:
            raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dims} dimension, but got a "
                               f"tensor with {nd} dimensions!")
        d = 0 if (name == "hsplit" and nd == 1) else dim
        if isinstance(indices_or_sections, int) and input.shape[d] % indices_or_sections:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {d}, but the size of the "
                               f"dimension {input.shape[d]} is not divisible by the split_size "
                               f"{indices_or_sections}!")
        return tensor_split(input, indices_or_sections, d)
    return split


hsplit = register(_split_fn("hsplit", 1, 1), torch="hsplit")
vsplit = register(_split_fn("vsplit", 0, 2), torch="vsplit")
dsplit = register(_split_fn("dsplit", 2, 3), torch="dsplit")


def _atleast(ndim):
    def one(t):
        n = t._data.ndim
        if n >= ndim:
            return t
        if n == 0:
            return sh.reshape(t, (1,) * ndim)
        if ndim == 2 or n == 2:  # (n,) -> (1, n); (a, b) -> (a, b, 1)
            return sh.unsqueeze(t, 0 if n == 1 else -1)
        return sh.unsqueeze(sh.unsqueeze(t, 0), -1)  # (n,) -> (1, n, 1)

    def atleast(*tensors):
        if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
            return tuple(one(t) for t in tensors[0])
        return one(tensors[0]) if len(tensors) == 1 else tuple(one(t) for t in tensors)
    return atleast


atleast_1d, atleast_2d, atleast_3d = (register(_atleast(n), torch=f"atleast_{n}d", method=False) for n in (1, 2, 3))


@binds("dstack", method=False)
def dstack(tensors):
    return sh.cat(list(atleast_3d(list(tensors))), 2)


@binds("column_stack", method=False)
def column_stack(tensors):
    return sh.cat([sh.reshape(t, (t.numel(), 1)) if t._data.ndim <= 1 else t for t in tensors], 1)


def _as_block(shape):
    return tuple(shape) if len(shape) == 2 else (1, shape[0] if shape else 1)  # 0-d: 1x1, (n,): 1xn


def _block_diag_forward(xp, *arrays):
    arrays = [a.reshape(_as_block(a.shape)) for a in arrays]
    out = xp.zeros((sum(a.shape[0] for a in arrays), sum(a.shape[1] for a in arrays)), dtype=arrays[0].dtype)
    r = c = 0
    for a in arrays:
        out[r:r + a.shape[0], c:c + a.shape[1]] = a
        r, c = r + a.shape[0], c + a.shape[1]
    return out


def _block_diag_vjp(m, g, node):
    grads, r, c = [], 0, 0
    for shape, edge in zip(node.shapes, node._next):
        h, w = _as_block(shape)
        block = m.index(g, (slice(r, r + h), slice(c, c + w)))
        grads.append(m.reshape(block, shape) if edge is not None else None)
        r, c = r + h, c + w
    return tuple(grads)


_block_diag = OpDef("BlockDiagBackward0", _block_diag_forward, _block_diag_vjp, kind="block_diag")


@binds("block_diag", method=False)
def block_diag(*tensors):
    for i, t in enumerate(tensors):
        if t._data.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                               f"{t._data.ndim} dimensions")
    if len(tensors) == 0:
        return empty(1, 0)
    rt = sh._common_dtype(tensors)
    return apply(_block_diag, tuple(t.to(rt) for t in tensors))  # promoted first: one dtype in the node


@binds("meshgrid", method=False)
def meshgrid(*tensors, indexing="ij"):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: {indexing}")
    # "xy": the first two inputs swap places, and so do their grids (PyTorch's way)
    swap = indexing == "xy" and len(tensors) >= 2
    order = list(tensors)
    if swap:
        order[0], order[1] = order[1], order[0]
    shape = tuple(t.numel() for t in order)
    grids = [sh.expand(sh.view(t, tuple(-1 if j == i else 1 for j in range(len(order)))), shape)
             for i, t in enumerate(order)]
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


@binds("cartesian_prod", method=False)
def cartesian_prod(*tensors):
    if len(tensors) == 1:
        return tensors[0]
    return sh.stack([sh.flatten(g) for g in meshgrid(*tensors, indexing="ij")], 1)


@binds("combinations", method=False)
def combinations(input, r=2, with_replacement=False):
    if input._data.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return empty(0, dtype=input.dtype, device=input.device)
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = np.array(list(pick(range(input.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    cols = [ix.index_select(input, 0, Tensor._make(input._xp.asarray(rows[:, j]), device=input.device))
            for j in range(r)]
    return sh.stack(cols, 1)


@binds("unravel_index", method=False)
def unravel_index(indices, shape):
    if not isinstance(indices, Tensor):
        indices = tensor(indices)
    if indices.dtype.is_floating_point or indices.dtype is bool_:
        raise TypeError("expected 'indices' to be integer dtype, but got " + str(indices.dtype))
    shape = tuple(int(s) for s in (shape if isinstance(shape, (tuple, list)) else (shape,)))
    xp, flat = indices._xp, indices._data.astype(np.int64)
    total = math.prod(shape)
    if flat.size and (bool(xp.any(flat < -total)) or bool(xp.any(flat >= total))):
        raise RuntimeError("index out of bounds for the given shape")
    flat = xp.where(flat < 0, flat + total, flat)
    out = []
    for size in reversed(shape):
        out.append(flat % size)
        flat = flat // size
    return tuple(Tensor._make(a, device=indices.device) for a in reversed(out))


@binds("vander", method=False)
def vander(x, N=None, increasing=False):
    if x._data.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else int(N)
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    if not x.dtype.is_floating_point and x.dtype is not int64:
        x = x.to(int64)  # integers (and bools) promote to long, as PyTorch's vander does
    cols = [ones(x.shape[0], 1, dtype=x.dtype, device=x.device)] if n else []
    if n > 1:
        cols.append(red.cumprod(sh.expand(sh.unsqueeze(x, 1), (x.shape[0], n - 1)), 1))
    result = sh.cat(cols, 1) if cols else ones(x.shape[0], 0, dtype=x.dtype, device=x.device)
    return result if increasing else sh.flip(result, (1,))


@binds("broadcast_shapes", method=False)
def broadcast_shapes(*shapes):
    shapes = [tuple(s) if isinstance(s, (tuple, list)) else (int(s),) for s in shapes]
    error = broadcast_error(shapes)
    if error is not None:
        raise error
    ndim = max((len(s) for s in shapes), default=0)
    out = [1] * ndim
    for s in shapes:
        for i, n in enumerate(s):
            j = ndim - len(s) + i
            out[j] = n if out[j] == 1 else out[j]
    return Size(out)


def _tri_indices(upper):
    def indices(row, col, offset=0, *, dtype=None, device=None, layout=None, requires_grad=False):
        rows, cols = (np.triu_indices if upper else np.tril_indices)(row, offset, col)
        dt = as_dtype(dtype) if dtype is not None else int64
        return tensor(np.stack([rows, cols]).astype(dt.np), dtype=dt, device=device)
    return indices


tril_indices, triu_indices = (register(_tri_indices(upper), torch=f"{part}_indices", method=False)
                              for upper, part in ((False, "tril"), (True, "triu")))


# ---------------------------------------------------------------------------------------------
# views: Tensor.unfold and the diagonal fill_diagonal_ writes through
def _as_strided(xp, x, shape, strides):
    if xp is np:
        return np.lib.stride_tricks.as_strided(x, shape=shape, strides=strides)
    return xp.lib.stride_tricks.as_strided(x, shape=shape, strides=strides)


def _unfold_forward(xp, x, dim, size, step):
    if x.ndim == 0:
        return x.reshape(1)
    n = (x.shape[dim] - size) // step + 1
    st = x.strides
    return _as_strided(xp, x, x.shape[:dim] + (n,) + x.shape[dim + 1:] + (size,),
                       st[:dim] + (st[dim] * step,) + st[dim + 1:] + (st[dim],))


def _unfold_vjp(m, g, node):
    # each window position k scatters its slice of the gradient back over the input
    dim, size, step = node.params
    shape = node.shapes[0]
    if not shape:
        return m.reshape(g, ())
    n = g.shape[dim]
    total = None
    for k in range(size):
        part = m.scatter_into(shape, (slice(None),) * dim + (slice(k, k + step * (n - 1) + 1, step),),
                              m.index(g, (Ellipsis, k)))
        total = part if total is None else total + part
    return total


_unfold = OpDef("UnfoldBackward0", _unfold_forward, _unfold_vjp, kind="unfold")


@binds(method="unfold")
def unfold(self, dimension, size, step):
    nd = self._data.ndim
    dim = normalize_dim(dimension, nd)
    length = self.shape[dim] if nd else 1
    if size > length:
        raise RuntimeError(f"maximum size for tensor at dimension {dim} is {length} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    return sh.make_view(_unfold, self, (dim, size, step))


def _address(a):
    return a.__array_interface__["data"][0] if isinstance(a, np.ndarray) else int(a.data.ptr)


def _storage(a):
    """(the flat memory a's elements live in, a's first element's index in it): the array that owns
    the memory, found through the chain of arrays a is a view of (PyTorch's storage)."""
    root = a
    while True:
        up = getattr(root, "base", None)
        if up is not None and not hasattr(up, "strides"):
            up = getattr(up, "base", None)   # as_strided's views hang from a wrapper around their array
        if up is None or not hasattr(up, "strides") or up.dtype != a.dtype:
            break
        root = up
    if not root.flags.c_contiguous:
        root = a if a.flags.c_contiguous else root
    if not root.flags.c_contiguous or root.dtype != a.dtype:
        return a.reshape(-1), 0   # a strided array with no flat owner: its own elements
    return root.reshape(-1), (_address(a) - _address(root)) // a.itemsize


def _geometry(size, stride, offset):
    """The storage index of each element of a (size, stride, offset) view."""
    index = np.full(tuple(size), offset, dtype=np.int64)
    for d, (n, st) in enumerate(zip(size, stride)):
        index += (np.arange(n, dtype=np.int64) * st).reshape((n,) + (1,) * (len(size) - d - 1))
    return index


def _as_strided_forward(xp, x, size, stride, offset, geometry):
    flat, own = _storage(x)
    in_stride, in_offset, storage_size = geometry
    if (flat.size, own) != (storage_size, in_offset) or tuple(st // x.itemsize for st in x.strides) != in_stride:
        # an array of the input's shape laid out otherwise (a gradient through CopySlices): placed
        # in a storage laid out as the input's was, as PyTorch does, and viewed from there
        flat = xp.zeros(storage_size, dtype=x.dtype)
        flat[xp.asarray(_geometry(x.shape, in_stride, in_offset).reshape(-1))] = x.reshape(-1)
        own = in_offset
    offset = own if offset is None else offset
    needed = offset + sum((n - 1) * st for n, st in zip(size, stride)) + 1 if all(size) else 0
    if needed > flat.size:
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, and "
                           f"itemsize {x.itemsize} requiring a storage size of {needed * x.itemsize} are out of "
                           f"bounds for storage of size {flat.size * x.itemsize}")
    return _as_strided(xp, flat[offset:] if offset < flat.size else flat[:0], tuple(size),
                       tuple(st * x.itemsize for st in stride))


def _as_strided_vjp(m, g, node):
    """PyTorch's as_strided_backward: the gradient is gathered in a zero storage at the positions the
    view reads, then read back at the input's own positions (shared by all its overlapping elements)."""
    size, stride, offset, (in_stride, in_offset, storage_size) = node.params
    shape = node.shapes[0]
    xp = m.xp if isinstance(m, ArrayMath) else g._xp
    out_index = _geometry(size, stride, in_offset if offset is None else offset).reshape(-1)
    in_index = _geometry(shape, in_stride, in_offset).reshape(-1)
    buffer = m.scatter_into((storage_size,), (xp.asarray(out_index),), m.reshape(g, (-1,)))
    grad = m.reshape(m.index(buffer, (xp.asarray(in_index),)), shape)
    counts = np.bincount(in_index, minlength=storage_size)[in_index] if in_index.size else in_index
    if counts.size and counts.max() > 1:   # the input itself overlaps (an expanded tensor)
        grad = grad / xp.asarray(counts.reshape(shape).astype(g.dtype))
    return grad


_as_strided_op = OpDef("AsStridedBackward0", _as_strided_forward, _as_strided_vjp, kind="as_strided")


def _as_strided_params(input, size, stride, storage_offset):
    size, stride = tuple(int(n) for n in size), tuple(int(st) for st in stride)
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if any(n < 0 for n in size):
        raise RuntimeError(f"as_strided: Negative sizes are not allowed, got {list(size)}")
    if any(st < 0 for st in stride):
        raise RuntimeError(f"as_strided: Negative strides are not supported at the moment, got strides: {list(stride)}")
    if storage_offset is not None and storage_offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {storage_offset}")
    flat, own = _storage(input._data)
    geometry = (tuple(st // input._data.itemsize for st in input._data.strides), own, flat.size)
    return size, stride, None if storage_offset is None else int(storage_offset), geometry


@binds("as_strided")
def as_strided(input, size, stride, storage_offset=None):
    """A view of the input's memory (its storage) with the given sizes, element strides and offset."""
    return sh.make_view(_as_strided_op, input, _as_strided_params(input, size, stride, storage_offset))


_as_strided_copy_op = renamed(_as_strided_op, "AsStridedBackward0_copy",
                              lambda xp, x, *params: _as_strided_forward(xp, x, *params).copy())


@binds("as_strided_copy", method=False)
def as_strided_copy(input, size, stride, storage_offset=None):
    return apply(_as_strided_copy_op, (input,), _as_strided_params(input, size, stride, storage_offset))


@binds("as_strided_scatter")
def as_strided_scatter(input, src, size, stride, storage_offset=None):
    """A copy of input with src written at the positions as_strided(size, stride, offset) of the copy reads."""
    out = input.contiguous().clone()
    target = as_strided(out, size, stride, storage_offset)
    if tuple(target.shape) != tuple(src.shape):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = {list(src.shape)}, "
                           f"slice size = {list(target.shape)}")
    target.copy_(src)
    return out


def _diagonal_view_forward(xp, x, count):
    return _as_strided(xp, x, (count,), (sum(x.strides),))


def _diagonal_view_vjp(m, g, node):
    shape = node.shapes[0]
    xp = m.xp if isinstance(m, ArrayMath) else g._xp
    step = sum(math.prod(shape[i + 1:]) for i in range(len(shape)))
    flat = np.arange(node.params[0]) * step
    index = tuple(xp.asarray(i) for i in np.unravel_index(flat, shape))
    return m.scatter_into(shape, index, g)


_diagonal_view = OpDef("AsStridedBackward0", _diagonal_view_forward, _diagonal_view_vjp, kind="as_strided")


@binds(method="fill_diagonal_")
def fill_diagonal_(self, fill_value, wrap=False):
    shape = self.shape
    if len(shape) < 2:
        raise RuntimeError("dimensions must larger than 1")
    if len(shape) > 2 and len(set(shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    count = min(shape)
    if wrap and len(shape) == 2 and shape[0] > shape[1] + 1:
        count = (shape[0] * shape[1] - 1) // (shape[1] + 1) + 1  # the diagonal restarts every n + 1 rows
    if count:  # through a view, as PyTorch does: the tensor's node becomes CopySlices
        sh.make_view(_diagonal_view, self, (count,)).fill_(fill_value)
    return self


@binds(method="where")
def _tensor_where(self, condition, other):
    return ew.where(condition, self, other)


# ---------------------------------------------------------------------------------------------
# reductions, splits and copies under PyTorch's own node names
_aminmax_ops = (renamed(red._amin, "AminmaxBackward0"), renamed(red._amax, "AminmaxBackward0"))


@binds("aminmax")
def aminmax(input, *, dim=None, keepdim=False):
    params = (normalize_dims(dim, input._data.ndim), keepdim)
    return red.return_type("aminmax", ("min", "max"))(*(apply(op, (input,), params) for op in _aminmax_ops))


_unsafe_split = renamed(sh._split, "UnsafeSplitBackward0")
_unsafe_split_sizes = renamed(sh._split_sizes, "UnsafeSplitWithSizesBackward0")
_narrow_copy = renamed(sh._narrow, "NarrowCopyBackward0", lambda xp, x, index: x[index].copy())


def _unsafe_pieces(op, input, pieces, dim):
    """The pieces of a split as outputs that are not views (no version or view tracking)."""
    axis = normalize_dim(dim, input._data.ndim)
    out, start = [], 0
    for piece in pieces:
        n = piece._data.shape[axis]
        out.append(apply(op, (input,), ((slice(None),) * axis + (slice(start, start + n),),)))
        start += n
    return tuple(out)


@binds("unsafe_split")
def unsafe_split(input, split_size, dim=0):
    op = _unsafe_split if isinstance(split_size, int) else _unsafe_split_sizes
    return _unsafe_pieces(op, input, sh.split(input.detach(), split_size, dim), dim)


@binds("unsafe_split_with_sizes")
def unsafe_split_with_sizes(input, split_sizes, dim=0):
    return _unsafe_pieces(_unsafe_split_sizes, input, sh.split(input.detach(), list(split_sizes), dim), dim)


@binds("unsafe_chunk")
def unsafe_chunk(input, chunks, dim=0):
    return _unsafe_pieces(_unsafe_split, input, sh.chunk(input.detach(), chunks, dim), dim)


@binds("split_with_sizes")
def split_with_sizes(input, split_sizes, dim=0):
    return sh.split(input, list(split_sizes), dim)


@binds("narrow_copy")
def narrow_copy(input, dim, start, length):
    sh.narrow(input.detach(), dim, start, length)  # PyTorch's checks
    axis = normalize_dim(dim, input._data.ndim)
    start = start + input._data.shape[axis] if start < 0 else start
    return apply(_narrow_copy, (input,), ((slice(None),) * axis + (slice(start, start + length),),))

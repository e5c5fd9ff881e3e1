"""Shape ops. Views (view, transpose, permute, expand, squeeze, unsqueeze, slicing, ...) return
tensors that share memory and the version counter with their base, as PyTorch's do."""
import math

import numpy as np

from .. import _state
from .._strides import view_strides
from ._core import OpDef, apply
from ._registry import binds
from .elementwise import write_out
from .._dtype import as_dtype, result_type
from ..tensor import Tensor
from ._core import broadcast_error
from .reduce import normalize_dim


def make_view(op, x, params=()):
    """Run a view op: the result aliases x's memory, base and version counter."""
    result = apply(op, (x,), params)
    base = x._base if x._base is not None else x
    parent_fn = x._view_fn
    forward = op.forward
    xp = x._xp
    if parent_fn is None:
        result._view_fn = lambda array: forward(xp, array, *params)
    else:
        result._view_fn = lambda array: forward(xp, parent_fn(array), *params)
    result._base = base
    result._version_box = x._version_box
    if _state.grad_enabled:
        # what Tensor._sync_view needs to remake the node if the base changes in place later
        chain = x._extra["view_ops"] if x._base is not None and x._extra and "view_ops" in x._extra else ()
        result._extra = {"view_ops": chain + ((op, params),), "view_version": x._version_box[0]}
    return result


def _size_list(shape):
    return "[" + ", ".join(str(int(s)) for s in shape) + "]"


def infer_shape(shape, numel):
    """Resolve one -1 in a requested shape, with PyTorch's errors."""
    shape = tuple(int(s) for s in shape)
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{_size_list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"shape '{_size_list(shape)}' is invalid for input of size {numel}")
    return shape


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    if len(shape) == 1 and hasattr(shape[0], "tolist") and not isinstance(shape[0], int):
        return tuple(shape[0].tolist())
    return tuple(shape)


def _reshape_forward(xp, x, shape):
    return xp.reshape(x, shape)


def _reshape_vjp(m, g, node):
    return m.reshape(g, node.shapes[0])


_view = OpDef("ViewBackward0", _reshape_forward, _reshape_vjp, kind="view")
_reshape_copy = OpDef("UnsafeViewBackward0", _reshape_forward, _reshape_vjp, kind="reshape")


def _can_view(data, shape):
    """Whether `data` can take `shape` without a copy (as PyTorch's view requires)."""
    if not isinstance(data, np.ndarray):
        return view_strides(data.shape, [s // data.itemsize for s in data.strides], shape) is not None
    try:
        np.reshape(data, shape, copy=False)
        return True
    except ValueError:
        return False
    except TypeError:  # NumPy before 2.1 (Pyodide's 2.0) has no copy= here: setting the shape tells
        probe = data.view()
        try:
            probe.shape = shape
        except AttributeError:
            return False
        return True


@binds(method="view")
def view(x, *shape, size=None, dtype=None):
    if size is not None or dtype is not None:  # view(size=...), view(dtype=...): PyTorch's keyword forms
        shape = (size if size is not None else dtype,)
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list)) and not hasattr(shape[0], "tolist"):
        return view_dtype(x, as_dtype(shape[0]))
    shape = infer_shape(_shape_arg(shape), x._data.size)
    if not _can_view(x._data, shape):
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one "
                           "dimension spans across two contiguous subspaces). Use .reshape(...) instead.")
    return make_view(_view, x, (shape,))


def view_dtype(x, dtype):
    return Tensor._make(x._data.view(dtype.np))


@binds("reshape")
def reshape(x, *shape_args, shape=None):
    shape = shape_args if shape is None else (shape,)
    shape = infer_shape(_shape_arg(shape), x._data.size)
    if _can_view(x._data, shape):
        return make_view(_view, x, (shape,))
    return apply(_reshape_copy, (x,), (shape,))


@binds("flatten")
def flatten(x, start_dim=0, end_dim=-1):
    nd = x._data.ndim
    if nd == 0:
        return reshape(x, 1)
    s = normalize_dim(start_dim, nd)
    e = normalize_dim(end_dim, nd)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return x
    shape = x._data.shape
    return reshape(x, shape[:s] + (math.prod(shape[s:e + 1]),) + shape[e + 1:])


@binds("unflatten")
def unflatten(x, dim, sizes):
    axis = normalize_dim(dim, x._data.ndim)
    shape = x._data.shape
    sizes = infer_shape(sizes, shape[axis])
    return reshape(x, shape[:axis] + tuple(sizes) + shape[axis + 1:])


def _transpose_forward(xp, x, a, b):
    return xp.swapaxes(x, a, b)


def _transpose_vjp(m, g, node):
    a, b = node.params
    return m.swapaxes(g, a, b)


_transpose = OpDef("TransposeBackward0", _transpose_forward, _transpose_vjp, kind="transpose")
_t = OpDef("TBackward0", _transpose_forward, _transpose_vjp, kind="t")
_t_low = OpDef("TBackward0", _reshape_forward, _reshape_vjp, kind="t")  # t() of a 0-d or 1-d tensor


@binds("transpose", "swapdims")
def transpose(x, dim0, dim1):
    nd = x._data.ndim
    a, b = normalize_dim(dim0, nd), normalize_dim(dim1, nd)
    return make_view(_transpose, x, (a, b)) if nd else make_view(_view, x, ((),))


@binds("swapaxes")
def swapaxes(input, axis0, axis1):
    return transpose(input, axis0, axis1)


@binds("t")
def t(x):
    nd = x._data.ndim
    if nd > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {nd}D")
    if nd < 2:
        return make_view(_t_low, x, (x._data.shape,))
    return make_view(_t, x, (0, 1))


def _permute_forward(xp, x, axes):
    return xp.transpose(x, axes)


def _permute_vjp(m, g, node):
    axes = node.params[0]
    inverse = tuple(np.argsort(axes))
    return m.transpose(g, inverse)


_permute = OpDef("PermuteBackward0", _permute_forward, _permute_vjp, kind="permute")


@binds("permute")
def permute(x, *dims_args, dims=None):
    dims = _shape_arg(dims_args if dims is None else (dims,))
    nd = x._data.ndim
    if len(dims) != nd:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
                           f"length of the desired ordering of dimensions i.e. input.dim() = {nd} is not equal "
                           f"to len(dims) = {len(dims)}")
    axes = tuple(normalize_dim(d, nd) for d in dims)
    if len(set(axes)) != nd:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return make_view(_permute, x, (axes,))


@binds("movedim", "moveaxis")
def movedim(x, source, destination):
    nd = x._data.ndim
    src = [normalize_dim(d, nd) for d in (source if isinstance(source, (tuple, list)) else [source])]
    dst = [normalize_dim(d, nd) for d in (destination if isinstance(destination, (tuple, list)) else [destination])]
    order = [d for d in range(nd) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(x, *order)


def _expand_forward(xp, x, shape):
    return xp.broadcast_to(x, shape)


def _expand_vjp(m, g, node):
    return g  # the central sum_to reduces it back to the input's shape


_expand = OpDef("ExpandBackward0", _expand_forward, _expand_vjp, kind="expand")


@binds(method="expand")
def expand(x, *sizes, size=None, implicit=False):
    sizes = _shape_arg(sizes if size is None else (size,))
    shape = x._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError(f"expand(torch.FloatTensor{{{_size_list(shape)}}}, size={_size_list(sizes)}): the "
                           "number of sizes provided ({}) must be greater or equal to the number of dimensions in "
                           "the tensor ({})".format(len(sizes), len(shape)))
    lead = len(sizes) - len(shape)
    target = []
    for i, s in enumerate(sizes):
        s = int(s)
        if i < lead:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a leading, "
                                   "non-existing dimension {i}")
            target.append(s)
            continue
        own = shape[i - lead]
        if s == -1:
            s = own
        elif own != 1 and s != own:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing size ({own}) at "
                               f"non-singleton dimension {i}.  Target sizes: {_size_list(sizes)}.  Tensor sizes: "
                               f"{_size_list(shape)}")
        target.append(s)
    return make_view(_expand, x, (tuple(target),))


@binds("broadcast_to")
def broadcast_to(input, size):
    return expand(input, tuple(size))


@binds("broadcast_tensors", method=False)
def broadcast_tensors(*tensors):
    shapes = [t._data.shape for t in tensors]
    error = broadcast_error(shapes)
    if error is not None:
        raise error
    shape = np.broadcast_shapes(*shapes)
    return tuple(expand(t, shape) for t in tensors)


def _squeeze_forward(xp, x, axes):
    return xp.reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


_squeeze_all = OpDef("SqueezeBackward0", _squeeze_forward, _reshape_vjp, kind="squeeze")
_squeeze_dim = OpDef("SqueezeBackward1", _squeeze_forward, _reshape_vjp, kind="squeeze")
_unsqueeze = OpDef("UnsqueezeBackward0", _reshape_forward, _reshape_vjp, kind="unsqueeze")


@binds("squeeze")
def squeeze(x, dim=None):
    shape = x._data.shape
    if dim is None:
        axes = tuple(i for i, n in enumerate(shape) if n == 1)
        return make_view(_squeeze_all, x, (axes,))
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    axes = tuple(normalize_dim(d, len(shape)) for d in dims) if shape else ()
    axes = tuple(a for a in axes if shape[a] == 1)
    return make_view(_squeeze_dim, x, (axes,))


@binds("unsqueeze")
def unsqueeze(x, dim):
    nd = x._data.ndim
    axis = normalize_dim(dim, nd + 1)
    shape = x._data.shape
    return make_view(_unsqueeze, x, (shape[:axis] + (1,) + shape[axis:],))


def _slice_forward(xp, x, index):
    return x[index]


def _slice_vjp(m, g, node):
    return m.scatter_into(node.shapes[0], node.params[0], g, False)


_narrow = OpDef("SliceBackward0", _slice_forward, _slice_vjp, kind="narrow")
_split = OpDef("SplitBackward0", _slice_forward, _slice_vjp, kind="split")
_split_sizes = OpDef("SplitWithSizesBackward0", _slice_forward, _slice_vjp, kind="split")
_unbind = OpDef("UnbindBackward0", _slice_forward, _slice_vjp, kind="unbind")
_select = OpDef("SelectBackward0", _slice_forward, _slice_vjp, kind="select")


@binds("narrow")
def narrow(x, dim, start, length):
    axis = normalize_dim(dim, x._data.ndim)
    size = x._data.shape[axis]
    if start < 0:
        start += size
    if start < 0 or start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    index = (slice(None),) * axis + (slice(start, start + length),)
    return make_view(_narrow, x, (index,))


@binds("select")
def select(x, dim, index):
    axis = normalize_dim(dim, x._data.ndim)
    size = x._data.shape[axis]
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size {_size_list(x._data.shape)} at "
                         f"dimension {dim}")
    return make_view(_select, x, ((slice(None),) * axis + (index % size,),))


@binds("split", method={"split": lambda self, split_size, dim=0: split(self, split_size, dim)})
def split(tensor, split_size_or_sections, dim=0):
    x = tensor
    axis = normalize_dim(dim, x._data.ndim)
    size = x._data.shape[axis]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0 and size:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {size}")
        bounds = [(i, min(i + step, size)) for i in range(0, size, step)] if step else [(0, 0)]
        op = _split
    else:
        sections = list(split_size_or_sections)
        if sum(sections) != size:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's size "
                               f"at dimension {dim}), but got split_sizes={sections}")
        bounds, start = [], 0
        for s in sections:
            bounds.append((start, start + s))
            start += s
        op = _split_sizes
    pre = (slice(None),) * axis
    return tuple(make_view(op, x, (pre + (slice(a, b),),)) for a, b in bounds)


@binds("chunk")
def chunk(x, chunks, dim=0):
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    size = x._data.shape[normalize_dim(dim, x._data.ndim)]
    step = max(-(-size // chunks), 1)
    return split(x, step, dim)


@binds("unbind")
def unbind(x, dim=0):
    axis = normalize_dim(dim, x._data.ndim)
    pre = (slice(None),) * axis
    return tuple(make_view(_unbind, x, (pre + (i,),)) for i in range(x._data.shape[axis]))


def _cat_forward(xp, *arrays_and_axis):
    *arrays, axis, dt = arrays_and_axis
    if dt is not None:
        arrays = [a.astype(dt) for a in arrays]
    return xp.concatenate(arrays, axis=axis)


def _cat_vjp(m, g, node):
    axis = node.params[0]
    grads, start = [], 0
    for shape in node.shapes:
        if len(shape) == 1 and shape[0] == 0 and len(node.shapes[0]) != 1:
            grads.append(None)  # a legacy empty 1-D input takes no part
            continue
        n = shape[axis]
        grads.append(m.index(g, (slice(None),) * axis + (slice(start, start + n),)))
        start += n
    return tuple(grads)


_cat = OpDef("CatBackward0", _cat_forward, _cat_vjp, kind="cat")


def _common_dtype(tensors):
    dims = [t.dtype for t in tensors if t._data.ndim]
    zero = [t.dtype for t in tensors if not t._data.ndim]
    return result_type(dims, zero, ())


@binds("cat", "concat", "concatenate", method=False)
def cat(tensors, dim=0, *, out=None):
    tensors = list(tensors)
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    used = [t for t in tensors if not (t._data.ndim == 1 and t._data.shape[0] == 0)] or tensors[:1]
    ref = used[0]._data
    if ref.ndim == 0:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    axis = normalize_dim(dim, ref.ndim)
    for i, t in enumerate(used):
        s = t._data.shape
        if len(s) != ref.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.ndim} and {len(s)}")
        for d in range(ref.ndim):
            if d != axis and s[d] != ref.shape[d]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {axis}. Expected size "
                                   f"{ref.shape[d]} but got size {s[d]} for tensor number {i} in the list.")
    rt = _common_dtype(used)
    dt = None if all(t.dtype is rt for t in used) else rt.np
    result = apply(_cat, tuple(used), (axis, dt))
    if out is not None:
        return write_out(out, result)
    return result


concat = concatenate = cat


def _stack_forward(xp, *arrays_and_axis):
    *arrays, axis, dt = arrays_and_axis
    if dt is not None:
        arrays = [a.astype(dt) for a in arrays]
    return xp.stack(arrays, axis=axis)


def _stack_vjp(m, g, node):
    axis = node.params[0]
    return tuple(m.index(g, (slice(None),) * axis + (i,)) for i in range(len(node.shapes)))


_stack = OpDef("StackBackward0", _stack_forward, _stack_vjp, kind="stack")


@binds("stack", method=False)
def stack(tensors, dim=0, *, out=None):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shape = tensors[0]._data.shape
    for i, t in enumerate(tensors):
        if t._data.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {_size_list(shape)} at entry 0 "
                               f"and {_size_list(t._data.shape)} at entry {i}")
    axis = normalize_dim(dim, len(shape) + 1)
    rt = _common_dtype(tensors)
    dt = None if all(t.dtype is rt for t in tensors) else rt.np
    result = apply(_stack, tuple(tensors), (axis, dt))
    if out is not None:
        return write_out(out, result)
    return result


@binds("hstack", method=False)
def hstack(tensors):
    tensors = list(tensors)
    return cat(tensors, 0 if tensors[0]._data.ndim == 1 else 1)


@binds("vstack", method=False)
def vstack(tensors):
    return cat([t if t._data.ndim > 1 else reshape(t, 1, -1) for t in tensors], 0)


def _repeat_forward(xp, x, reps):
    lead = len(reps) - x.ndim
    return xp.tile(x.reshape((1,) * lead + x.shape), reps)


def _repeat_vjp(m, g, node):
    reps = node.params[0]
    shape = node.shapes[0]
    full = (1,) * (len(reps) - len(shape)) + tuple(shape)
    # view the gradient as (rep0, size0, rep1, size1, ...) and sum over the rep axes
    split_shape = []
    for r, s in zip(reps, full):
        split_shape += [r, s]
    g = m.reshape(g, tuple(split_shape))
    g = m.sum(g, axis=tuple(range(0, 2 * len(reps), 2)))
    return m.reshape(g, shape)


_repeat = OpDef("RepeatBackward0", _repeat_forward, _repeat_vjp, kind="repeat")


@binds(method="repeat")
def repeat(x, *sizes, repeats=None):
    reps = _shape_arg(sizes if repeats is None else (repeats,))
    if len(reps) < x._data.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of "
                           "tensor")
    return apply(_repeat, (x,), (tuple(int(r) for r in reps),))


def _flip_forward(xp, x, axes):
    return xp.flip(x, axis=axes) if axes else x.copy()


def _flip_vjp(m, g, node):
    axes = node.params[0]
    return m.flip(g, axes) if axes else g


_flip = OpDef("FlipBackward0", _flip_forward, _flip_vjp, kind="flip")


@binds("flip")
def flip(x, dims):
    dims = dims if isinstance(dims, (tuple, list)) else (dims,)
    return apply(_flip, (x,), (tuple(normalize_dim(d, x._data.ndim) for d in dims),))


def _roll_forward(xp, x, shifts, axes):
    return xp.roll(x, shifts, axis=axes)


def _roll_vjp(m, g, node):
    shifts, axes = node.params
    neg = tuple(-s for s in shifts) if isinstance(shifts, tuple) else -shifts
    return m.roll(g, neg, axes)


_roll = OpDef("RollBackward0", _roll_forward, _roll_vjp, kind="roll")


@binds("roll")
def roll(x, shifts, dims=None):
    if dims is None:
        return reshape(apply(_roll, (flatten(x),), (shifts, 0)), x._data.shape)
    shifts = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
    dims = tuple(normalize_dim(d, x._data.ndim) for d in (dims if isinstance(dims, (tuple, list)) else (dims,)))
    return apply(_roll, (x,), (shifts, dims))


def _tri_forward(xp, x, k, upper):
    return xp.triu(x, k) if upper else xp.tril(x, k)


def _tri_vjp(m, g, node):
    k, upper = node.params
    return m.triu(g, k) if upper else m.tril(g, k)


_tril = OpDef("TrilBackward0", _tri_forward, _tri_vjp, kind="tril")
_triu = OpDef("TriuBackward0", _tri_forward, _tri_vjp, kind="triu")


@binds("tril", inplace=True)
def tril(x, diagonal=0):
    return apply(_tril, (x,), (diagonal, False))


@binds("triu", inplace=True)
def triu(x, diagonal=0):
    return apply(_triu, (x,), (diagonal, True))


def _clone_forward(xp, x):
    return x.copy()


def _identity_vjp(m, g, node):
    return g


_clone = OpDef("CloneBackward0", _clone_forward, _identity_vjp, kind="clone")
_contiguous = OpDef("CloneBackward0", lambda xp, x: xp.ascontiguousarray(x), _identity_vjp, kind="contiguous")


@binds("clone")
def clone(x, *, memory_format=None):
    return apply(_clone, (x,), ())


@binds(method="contiguous")
def contiguous(x, memory_format=None):
    data = x._data
    if data.flags.c_contiguous:
        return x
    return apply(_contiguous, (x,), ())


def _to_dtype_forward(xp, x, dt):
    return x.astype(dt)


_to_dtype = OpDef("ToCopyBackward0", _to_dtype_forward, _identity_vjp, kind="to")


def to_dtype(x, dtype, copy=False):
    if dtype is x.dtype and not copy:
        return x
    return apply(_to_dtype, (x,), (dtype.np,))


def _alias_forward(xp, x):
    return x[...]


_alias = OpDef("AliasBackward0", _alias_forward, _identity_vjp, kind="alias")
_view_as_self = OpDef("ViewBackward0", _alias_forward, _identity_vjp, kind="view")


@binds(method="view_as")
def view_as(x, other):
    return view(x, other._data.shape)


def alias(x):
    return make_view(_alias, x)


def _diagonal_forward(xp, x, offset, a, b):
    return xp.diagonal(x, offset, a, b)


def _diagonal_vjp(m, g, node):
    offset, a, b = node.params
    shape = node.shapes[0]
    if hasattr(g, "grad_fn"):  # a tensor: a backward with create_graph
        raise NotImplementedError("double backward through diagonal is not supported")
    xp = m.xp  # the gradient's own array namespace (NumPy, CuPy, WebGPU)
    out = xp.zeros(shape, dtype=g.dtype)
    idx = xp.arange(g.shape[-1])
    rows, cols = (idx, idx + offset) if offset >= 0 else (idx - offset, idx)
    moved = xp.moveaxis(out, (a, b), (-2, -1))
    moved[..., rows, cols] = g
    return out


_diagonal = OpDef("DiagonalBackward0", _diagonal_forward, _diagonal_vjp, kind="diagonal")


@binds("diagonal")
def diagonal(x, offset=0, dim1=0, dim2=1):
    nd = x._data.ndim
    return apply(_diagonal, (x,), (offset, normalize_dim(dim1, nd), normalize_dim(dim2, nd)))


def scatter_into(shape, index, g):
    """zeros(shape) with g added at index, differentiable (used by create_graph backwards)."""
    return apply(_scatter_into, (g,), (tuple(shape), index))


def _scatter_into_forward(xp, g, shape, index):
    out = xp.zeros(shape, dtype=g.dtype)
    xp.add.at(out, index, g)
    return out


def _scatter_into_vjp(m, gg, node):
    return m.index(gg, node.params[1])


_scatter_into = OpDef("IndexPutBackward0", _scatter_into_forward, _scatter_into_vjp, kind="index_put")


# the Tensor properties and protocols that are views
@binds(method=False, prop=("T", "H"))  # H: the conjugate transpose, T for real tensors
def _reversed_dims(self):
    return permute(self, *reversed(range(self._data.ndim)))


@binds(method=False, prop="mT")
def _matrix_transpose(self):
    return transpose(self, -2, -1)


@binds(method="__iter__")
def _iterate(self):
    if self._data.ndim == 0:
        raise TypeError("iteration over a 0-d tensor")
    return iter(unbind(self, 0))

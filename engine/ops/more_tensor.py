"""More Tensor methods and in-place forms (PyTorch's spellings beyond the core set): in-place twins
of existing ops, bit shifts, renorm, index_reduce, the *_scatter ops, aminmax, split variants,
attribute queries that are constant for real strided tensors, resize_, more samplers, qr/svd."""
import math

import numpy as np

from .._dtype import bool_
from ._core import OpDef, apply, is_raw_array, _xp_of, Tensor
from ._registry import binds, register
from . import elementwise as ew, reduce as red, shape as sh, linalg as la, indexing_more as _im
from .inplace import run_inplace
from .reduce import normalize_dim, normalize_dims


def _renamed(op, name, forward=None):
    """The same op under another of PyTorch's node names (unsafe_split's UnsafeSplitBackward0, ...)."""
    return OpDef(name, forward or op.forward, op.vjp, op.save_inputs, op.save_output, op.kind,
                 elementwise=op.elementwise, shown_edges=op.shown_edges, save_for=op.save_for)


# ---------------------------------------------------------------------------------------------
# bit shifts: PyTorch defines shifts by a negative count or by the width or more (C++ leaves them
# undefined): a left shift gives 0, a right shift the sign (-1 or 0)
def _shift(name, left):
    def forward(xp, a, b, dt):
        dt = np.dtype(dt) if dt is not None else (a.dtype if hasattr(a, "dtype") else b.dtype)
        if dt.kind not in "iu":
            from .._dtype import from_numpy_dtype
            raise NotImplementedError(f'"{name}_cpu" not implemented for '
                                      f"'{ew._type_title(from_numpy_dtype(dt))}'")
        a, b = xp.asarray(a).astype(dt), xp.asarray(b).astype(dt)
        bits = dt.itemsize * 8
        inside = (b >= 0) & (b < bits)
        b = xp.where(inside, b, 0)
        if left:  # through the unsigned type, so overflow wraps instead of being undefined
            unsigned = np.dtype(f"u{dt.itemsize}")
            return xp.where(inside, xp.left_shift(a.astype(unsigned), b.astype(unsigned)).astype(dt), 0).astype(dt)
        return xp.where(inside, xp.right_shift(a, b), xp.where(a < 0, -1, 0)).astype(dt)
    return ew.BinaryOp(name, forward, None, None, kind=name, differentiable=False)


bitwise_left_shift = register(_shift("lshift", True), torch='bitwise_left_shift', inplace=True)
bitwise_right_shift = register(_shift("rshift", False), torch='bitwise_right_shift', inplace=True)


# ---------------------------------------------------------------------------------------------
# renorm: each slice along dim scaled down to norm maxnorm where its p-norm is larger
def _pnorm(m, x, p, axes):
    a = m.abs(x)
    if p == math.inf:
        return a.max(axis=axes, keepdims=True) if is_raw_array(a) else a.amax(axes, True)
    return m.sum(a ** p, axis=axes, keepdims=True) ** (1.0 / p)


def _renorm_forward(xp, x, p, axes, maxnorm):
    norm = _pnorm(xp, x, p, axes)
    return x * xp.where(norm > maxnorm, maxnorm / (norm + 1e-7), 1.0).astype(x.dtype)


def _renorm_vjp(m, g, node, x):
    # PyTorch's renorm_backward: the scale's own gradient through the norm where it applied
    p, axes, maxnorm = node.params
    norm = _pnorm(m, x, p, axes)
    total = m.sum(x * g, axis=axes, keepdims=True)
    if p == math.inf:
        hit = m.as_mask(m.abs(x) == norm) * 1.0
        norm_grad = m.sign(x) * hit * total / m.sum(hit, axis=axes, keepdims=True)
    else:
        norm_grad = m.sign(x) * m.abs(x) ** (p - 1) * total / norm ** (p - 1)
    inverse = 1.0 / (norm + 1e-7)
    factor = inverse * maxnorm
    return m.where(m.as_mask(norm > maxnorm), factor * g - factor * inverse * norm_grad, g)


_renorm = OpDef("RenormBackward0", _renorm_forward, _renorm_vjp, save_inputs=(0,), kind="renorm")


@binds('renorm', inplace=True)
def renorm(input, p, dim, maxnorm):
    if input._data.ndim <= 1:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input._data.ndim} dimensions")
    if not input.dtype.is_floating_point:
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                           f"{ew._type_title(input.dtype)}")
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm:g}")
    axis = normalize_dim(dim, input._data.ndim)
    axes = tuple(i for i in range(input._data.ndim) if i != axis)
    return apply(_renorm, (input,), (float(p), axes, float(maxnorm)))


# ---------------------------------------------------------------------------------------------
# index_reduce: scatter_reduce with the index repeated across the source's other dims
_index_reduce = _renamed(_im._scatter_reduce, "IndexReduceBackward0")


@binds('index_reduce', inplace=True)
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
    _im._check_index("index_reduce_", input, dim, index)
    _im._check_source("index_reduce_", input, axis, index, source)
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


@binds('select_scatter')
def select_scatter(input, src, dim, index):
    axis = normalize_dim(dim, input._data.ndim)
    sh.select(input.detach(), dim, index)  # PyTorch's checks of dim and index
    return _select_scatter(input, src, (slice(None),) * axis + (index % input._data.shape[axis],))


@binds('slice_scatter')
def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    axis = normalize_dim(dim, input._data.ndim)
    return _slice_scatter(input, src, (slice(None),) * axis + (slice(start, end, step),))


@binds('diagonal_scatter')
def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    nd = input._data.ndim
    d1, d2 = normalize_dim(dim1, nd), normalize_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return _diagonal_scatter(input, src, (offset, d1, d2))


# ---------------------------------------------------------------------------------------------
# reductions, splits and copies under PyTorch's own node names
_aminmax_ops = (_renamed(red._amin, "AminmaxBackward0"), _renamed(red._amax, "AminmaxBackward0"))


@binds('aminmax')
def aminmax(input, *, dim=None, keepdim=False):
    params = (normalize_dims(dim, input._data.ndim), keepdim)
    return red.return_type("aminmax", ("min", "max"))(*(apply(op, (input,), params) for op in _aminmax_ops))


_unsafe_split = _renamed(sh._split, "UnsafeSplitBackward0")
_unsafe_split_sizes = _renamed(sh._split_sizes, "UnsafeSplitWithSizesBackward0")
_narrow_copy = _renamed(sh._narrow, "NarrowCopyBackward0", lambda xp, x, index: x[index].copy())


def _unsafe_pieces(op, input, pieces, dim):
    """The pieces of a split as outputs that are not views (no version or view tracking)."""
    axis = normalize_dim(dim, input._data.ndim)
    out, start = [], 0
    for piece in pieces:
        n = piece._data.shape[axis]
        out.append(apply(op, (input,), ((slice(None),) * axis + (slice(start, start + n),),)))
        start += n
    return tuple(out)


@binds('unsafe_split')
def unsafe_split(input, split_size, dim=0):
    op = _unsafe_split if isinstance(split_size, int) else _unsafe_split_sizes
    return _unsafe_pieces(op, input, sh.split(input.detach(), split_size, dim), dim)


@binds('unsafe_split_with_sizes')
def unsafe_split_with_sizes(input, split_sizes, dim=0):
    return _unsafe_pieces(_unsafe_split_sizes, input, sh.split(input.detach(), list(split_sizes), dim), dim)


@binds('unsafe_chunk')
def unsafe_chunk(input, chunks, dim=0):
    return _unsafe_pieces(_unsafe_split, input, sh.chunk(input.detach(), chunks, dim), dim)


@binds('split_with_sizes')
def split_with_sizes(input, split_sizes, dim=0):
    return sh.split(input, list(split_sizes), dim)


@binds('narrow_copy')
def narrow_copy(input, dim, start, length):
    sh.narrow(input.detach(), dim, start, length)  # PyTorch's checks
    axis = normalize_dim(dim, input._data.ndim)
    start = start + input._data.shape[axis] if start < 0 else start
    return apply(_narrow_copy, (input,), ((slice(None),) * axis + (slice(start, start + length),),))


# ---------------------------------------------------------------------------------------------
# real strided tensors: conjugation and the like are the tensor itself (PyTorch returns it too)
@binds('positive')
def positive(input):
    if input.dtype is bool_:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


@binds('conj', 'resolve_conj', 'resolve_neg', method=('share_memory_', 'conj', 'resolve_conj', 'resolve_neg'), prop='real')
def _itself(self):
    return self


def _matrix_transpose(what):
    def transpose(self):
        if self._data.ndim < 2:
            raise RuntimeError(f"tensor.{what} is only supported on matrices or batches of matrices. Got "
                               f"{self._data.ndim}-D tensor.")
        return sh.transpose(self, -2, -1)
    return transpose


@binds(method=False, prop='imag')
def _imag(self):
    raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")


@binds('is_nonzero')
def is_nonzero(input):
    n = input._data.size
    if n != 1:
        raise RuntimeError("Boolean value of Tensor with " + ("no values" if n == 0 else "more than one value") +
                           " is ambiguous")
    return bool(input.item())


@binds(method='storage_offset')
def _storage_offset(self):
    # a view's first element counted from its base's first element (both share the memory)
    return 0 if self._base is None else (self.data_ptr() - self._base.data_ptr()) // self.dtype.itemsize


@binds(method='new')
def _new(self, *args, **kwargs):
    """The legacy constructor: no arguments, sizes or a torch.Size give an empty tensor; data, a tensor."""
    from ..tensor import Size
    if not args or isinstance(args[0], (int, Size)) and not isinstance(args[0], bool):
        return self.new_empty(*(args or (0,)), **kwargs)
    return self.new_tensor(args[0], **kwargs)


@binds(method='new_empty_strided')
def _new_empty_strided(self, size, stride, *, dtype=None, device=None, requires_grad=False, **_):
    # the engine's arrays are laid out contiguously: the strides are not kept
    return self.new_empty(tuple(size), dtype=dtype, device=device, requires_grad=requires_grad)


@binds(method='resize_')
def _resize_(self, *size, memory_format=None):
    """PyTorch's resize_: the elements keep their order in memory; growing keeps what lay in the
    memory before a shrink, and the rest is new memory (zeros here, uninitialised in PyTorch)."""
    if self._rg:
        raise RuntimeError("cannot resize variables that require grad")
    shape = tuple(sh._shape_arg(size))
    if shape == tuple(self._data.shape):
        return self
    n, data = math.prod(shape), self._data
    storage = data.ravel(order="K")
    root = data
    while isinstance(getattr(root, "base", None), type(data)):
        root = root.base
    if root is not data and root.flags.c_contiguous and data.flags.c_contiguous:
        start = self.data_ptr() - Tensor._make(root, device=self.device).data_ptr()
        storage = root.reshape(-1)[start // data.itemsize:]
    if n > storage.size:
        storage = self._xp.concatenate([storage, self._xp.zeros(n - storage.size, dtype=data.dtype)])
    self._data = storage[:n].reshape(shape)
    return self


@binds(method='resize_as_')
def _resize_as_(self, other, memory_format=None):
    return _resize_(self, tuple(other.shape))


# ---------------------------------------------------------------------------------------------
# random: new samplers over PyTorch's stream, and the out-of-place forms of existing ones
def _sampler(name, draw, check=None):
    def sample_(self, *args, generator=None):
        if check is not None:
            check(self, *args)
        from ..creation import _rng

        def compute(old):
            data = draw(_rng(generator), old._data.shape, old._data.dtype, *args)
            if old.device.type != "cpu":
                data = old.device.backend.from_numpy(data, old.device.index)
            return Tensor._make(data, device=old.device)
        return run_inplace(self, compute, name)
    sample_.__name__ = name
    return sample_


def _positive_scale(name, what):
    def check(self, location=0.0, scale=1.0):
        if not scale > 0:
            raise RuntimeError(f"{name} expects {what} > 0.0, but found {what}={scale:g}")
        if not self.dtype.is_floating_point:
            raise NotImplementedError(f'"{name.rstrip("_")}_cpu" not implemented for \'{ew._type_title(self.dtype)}\'')
    return check


def _check_cauchy(self, median=0.0, sigma=1.0):
    if not self.dtype.is_floating_point:
        raise RuntimeError("Cauchy distribution is a continuous probability distribution. dtype must be a floating "
                           f"point but you specified {np.dtype(self.dtype.np).name.replace('int64', 'long int')}")
    _positive_scale("cauchy_", "sigma")(self, median, sigma)


def _check_geometric(self, p):
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p:g}")


_log_normal_ = register(_sampler("log_normal_", lambda rng, shape, dt, mean=1.0, std=2.0: rng.log_normal(shape, dt, mean, std),
                        _positive_scale("log_normal_", "std")), method='log_normal_')
_cauchy_ = register(_sampler("cauchy_", lambda rng, shape, dt, median=0.0, sigma=1.0: rng.cauchy(shape, dt, median, sigma),
                    _check_cauchy), method='cauchy_')
_geometric_ = register(_sampler("geometric_", lambda rng, shape, dt, p: rng.geometric(shape, dt, p), _check_geometric), method='geometric_')


@binds(method='bernoulli')
def _bernoulli(self, p=None, *, generator=None):
    if p is None:
        from ..creation import bernoulli
        return bernoulli(self, generator=generator)
    return self.new_empty(self.shape).bernoulli_(p, generator=generator)


@binds(method='multinomial')
def _multinomial(self, num_samples, replacement=False, *, generator=None):
    from ..creation import multinomial
    return multinomial(self, num_samples, replacement, generator=generator)


# ---------------------------------------------------------------------------------------------
# linear algebra in the older conventions, through torch.linalg
@binds('qr')
def qr(input, some=True):
    from .linalg_more import qr as linalg_qr
    return red.return_type("qr", ("Q", "R"))(*linalg_qr(input, "reduced" if some else "complete"))


@binds('svd')
def svd(input, some=True, compute_uv=True):
    """U, S, V (not Vh); without compute_uv, U and V are zero-filled as in PyTorch."""
    from .linalg_more import svd as linalg_svd, svdvals
    result = red.return_type("svd", ("U", "S", "V"))
    if not compute_uv:
        m, n = input.shape[-2:]
        zeros = lambda k: input.new_zeros(*input.shape[:-2], k, k).detach()  # noqa: E731
        return result(zeros(m), svdvals(input), zeros(n))
    u, s, vh = linalg_svd(input, full_matrices=not some)
    return result(u, s, sh.transpose(vh, -2, -1))


# ---------------------------------------------------------------------------------------------
def _nn(name):
    def method(self, *args, **kwargs):  # nn.functional imports the ops, so it is reached lazily
        from ..nn import functional as F
        return getattr(F, name)(self, *args, **kwargs)
    method.__name__ = name
    return method


@binds(inplace='addmm_')
def _addmm(input, mat1, mat2, *, beta=1, alpha=1):
    return la.addmm(input, mat1, mat2, beta=beta, alpha=alpha)


def _copy_variant(view):
    """torch.<view>_copy: the view op's result in memory of its own (tuples of views: each copied)."""
    def copy(input, *args, **kwargs):
        out = getattr(input, view)(*args, **kwargs)
        return tuple(t.clone() for t in out) if isinstance(out, (tuple, list)) else out.clone()
    copy.__name__ = f"{view}_copy"
    return copy


@binds('rsub', method=False)
def rsub(input, other, *, alpha=1):
    """other - alpha * input (sub with its operands swapped)."""
    from ..functions import sub
    return sub(other, input, alpha=alpha)


def _angle_forward(xp, x):
    return xp.where(x < 0, math.pi, xp.where(xp.isnan(x), x, 0)).astype(x.dtype)


# the argument of a real number: pi below zero, 0 elsewhere (nan stays nan); its gradient is zero
_angle = OpDef("AngleBackward0", _angle_forward, lambda m, g, node: m.zeros_like(g), kind="angle", elementwise=True)


@binds('angle')
def angle(input):
    from .._dtype import get_default_dtype
    return apply(_angle, (input if input.dtype.is_floating_point else input.to(get_default_dtype()),))


@binds('constant_pad_nd', method=False)
def constant_pad_nd(input, pad, value=0):
    from ..nn import functional as F
    return F.pad(input, pad, mode="constant", value=value)


def _false(input, *args):
    return False


# predicates and views with nothing to do for real tensors in one process's memory
register(_false, torch=("is_conj", "is_neg", "is_inference"),
         prop=("is_meta", "is_sparse", "is_quantized", "is_mps", "is_xpu"))
register(lambda input: input.dtype.is_signed, torch="is_signed")
register(lambda input, other: input.shape == other.shape, torch="is_same_size")
register(_matrix_transpose("adjoint()"), torch="adjoint")
register(_matrix_transpose("mH"), method=False, prop="mH")
register(lambda self: self.dtype.itemsize, method=False, prop="itemsize")
register(lambda self: self.dtype.itemsize * self._data.size, method=False, prop="nbytes")
for _view in ("view", "t", "permute", "expand", "squeeze", "unsqueeze", "transpose", "diagonal", "unbind",
              "split_with_sizes", "unfold"):  # torch-level only, as in PyTorch
    register(_copy_variant(_view), torch=f"{_view}_copy", method=False)
register(lambda input: input.clone(), torch="alias_copy", method=False)
register(lambda self, axis0, axis1: self.transpose_(axis0, axis1), method="swapaxes_")
register(lambda self, dim0, dim1: self.transpose_(dim0, dim1), method="swapdims_")
register(_nn("prelu"), method="prelu")
register(_nn("hardshrink"), method="hardshrink")
register(lambda self, other: bitwise_left_shift(self, other), method="__lshift__")
register(lambda self, other: bitwise_left_shift(other, self), method="__rlshift__")
register(lambda self, other: bitwise_right_shift(self, other), method="__rshift__")
register(lambda self, other: bitwise_right_shift(other, self), method="__rrshift__")
register(lambda self, other: run_inplace(self, lambda old: bitwise_left_shift(old, other), "lshift_"),
         method="__ilshift__")
register(lambda self, other: run_inplace(self, lambda old: bitwise_right_shift(old, other), "rshift_"),
         method="__irshift__")

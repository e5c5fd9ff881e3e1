"""Sorting and selection: sort, argsort, topk, kthvalue, median, mode, unique, searchsorted, quantile ..."""
import numpy as np

from ._core import OpDef, apply, Tensor
from ._registry import binds
from ._core import _xp_of
from .indexing import _along_axis_index, gather
from .shape import movedim
from .reduce import normalize_dim, return_type, _select_forward, _select_vjp
from .shape import _size_list


# ---------------------------------------------------------------------------------------------
# Every selection along a dim (sort, topk, kthvalue, median/nanmedian/mode with a dim) computes
# an index array first, then picks values with it: one node whose backward puts the gradient back
# at the picked positions.
def _pick_forward(xp, x, index, axis, keepdim):
    return x.copy() if x.ndim == 0 else _select_forward(xp, x, index, axis, keepdim)


def _pick_vjp(m, g, node):
    return g if not node.shapes[0] else _select_vjp(m, g, node)


def _picker(name, kind):
    return OpDef(name, _pick_forward, _pick_vjp, kind=kind)


_sort_op, _sort_stable_op = _picker("SortBackward0", "sort"), _picker("SortBackward1", "sort")
_topk_op = _picker("TopkBackward0", "topk")
_kthvalue_op = _picker("KthvalueBackward0", "kthvalue")
_median_dim_op = _picker("MedianBackward1", "median")
_nanmedian_dim_op = _picker("NanmedianBackward1", "nanmedian")
_mode_op = _picker("ModeBackward0", "mode")


def _pick(x, index, axis, keepdim, op, name):
    """(values, indices) of x at `index` (int64, the size of the result along axis, kept dims)."""
    values = apply(op, (x,), (index, axis, keepdim))
    if not keepdim and x._data.ndim:
        index = x._xp.squeeze(index, axis=axis)
    return return_type(name)(values, Tensor._make(index))


def _select(x, dim, keepdim, op, name, index_fn, nonempty=False):
    """Run index_fn(xp, data, axis) -> kept-dim int64 index along the dim, 0-d input as 1 element."""
    data = x._data
    axis = normalize_dim(dim, data.ndim)
    if nonempty and data.ndim and data.shape[axis] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {axis} to have non-zero size.")
    index = index_fn(x._xp, data.reshape(1) if data.ndim == 0 else data, axis)
    if data.ndim == 0:
        index = index.reshape(())
    return _pick(x, index.astype(np.int64), axis, keepdim, op, name)


def _order(xp, data, axis, descending=False):
    """Stable argsort; descending keeps equal elements in their original order, and puts NaN first
    (PyTorch's order: NaN counts as the largest value)."""
    if not descending:
        return xp.argsort(data, axis=axis, kind="stable")
    flipped = xp.argsort(xp.flip(data, axis=axis), axis=axis, kind="stable")
    return data.shape[axis] - 1 - xp.flip(flipped, axis=axis)


@binds("sort")
def sort(input, dim=-1, descending=False, stable=None, *, out=None):
    # torch.sort(..., stable=...) is the stable overload, whose node is SortBackward1
    op = _sort_op if stable is None else _sort_stable_op
    return _select(input, dim, True, op, "sort", lambda xp, d, axis: _order(xp, d, axis, descending))


@binds("argsort")
def argsort(input, dim=-1, descending=False, stable=False):
    return sort(input, dim, descending, stable).indices


@binds("msort")
def msort(input):
    return sort(input, 0).values


@binds("topk")
def topk(input, k, dim=-1, largest=True, sorted=True):
    data = input._data
    size = data.shape[normalize_dim(dim, data.ndim)] if data.ndim else 1
    if not 0 <= k <= size:
        raise RuntimeError("selected index k out of range")

    def index(xp, d, axis):
        return xp.take(_order(xp, d, axis, largest), xp.arange(k), axis=axis)
    return _select(input, dim, True, _topk_op, "topk", index)


@binds("kthvalue")
def kthvalue(input, k, dim=-1, keepdim=False):
    data = input._data
    axis = normalize_dim(dim, data.ndim)
    size = data.shape[axis] if data.ndim else 1
    if size and not 1 <= k <= size:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {axis}")

    def index(xp, d, axis):
        return xp.take(_order(xp, d, axis), xp.arange(k - 1, k), axis=axis)
    return _select(input, dim, keepdim, _kthvalue_op, "kthvalue", index, nonempty=True)


def _median_index(xp, data, axis, ignore_nan):
    """The lower median's position. A NaN makes median() NaN (the first NaN after sorting), while
    nanmedian() takes the median of the other values (NaN only when all are)."""
    order = xp.argsort(data, axis=axis, kind="stable")
    n = data.shape[axis]
    if data.dtype.kind != "f":
        rank = xp.full(order.shape[:axis] + (1,) + order.shape[axis + 1:], (n - 1) // 2)
    else:
        valid = n - xp.sum(xp.isnan(data), axis=axis, keepdims=True)
        rank = xp.maximum(valid - 1, 0) // 2 if ignore_nan else xp.where(valid < n, valid, (n - 1) // 2)
    return xp.take_along_axis(order, rank, axis=axis)


def _median_all_forward(xp, x, ignore_nan):
    flat = x.reshape(-1)
    if flat.size == 0:
        return xp.full((), xp.nan, dtype=x.dtype)
    return flat[_median_index(xp, flat, 0, ignore_nan)].reshape(())


def _median_all_vjp(m, g, node, x, out):
    # ties (and NaNs, when the median is NaN) share the gradient evenly, as in PyTorch
    mask = m.as_mask((x == out) | (m.isnan(x) & m.isnan(out)))
    return m.where(mask, g / m.sum(mask * 1.0), 0.0)


_median_all = OpDef("MedianBackward0", _median_all_forward, _median_all_vjp, save_inputs=(0,), save_output=True,
                    kind="median")
_nanmedian_all = OpDef("NanmedianBackward0", _median_all_forward, _median_all_vjp, save_inputs=(0,),
                       save_output=True, kind="nanmedian")


def _median(input, dim, keepdim, ignore_nan):
    name = "nanmedian" if ignore_nan else "median"
    if dim is None:
        return apply(_nanmedian_all if ignore_nan else _median_all, (input,), (ignore_nan,))
    op = _nanmedian_dim_op if ignore_nan else _median_dim_op
    return _select(input, dim, keepdim, op, name, lambda xp, d, axis: _median_index(xp, d, axis, ignore_nan),
                   nonempty=True)


@binds("median")
def median(input, dim=None, keepdim=False):
    return _median(input, dim, keepdim, False)


@binds("nanmedian")
def nanmedian(input, dim=None, keepdim=False):
    return _median(input, dim, keepdim, True)


def _mode_index(xp, data, axis):
    """The most frequent value (the smallest among equally frequent ones), at its last position."""
    moved = xp.moveaxis(data, axis, -1)
    n = moved.shape[-1]
    rows = moved.reshape(-1, n)
    order = xp.argsort(rows, axis=-1, kind="stable")
    ranked = xp.take_along_axis(rows, order, axis=-1)
    starts = xp.ones(ranked.shape, dtype=bool)
    starts[:, 1:] = ranked[:, 1:] != ranked[:, :-1]
    run = (xp.cumsum(starts.reshape(-1)) - 1).reshape(ranked.shape)  # runs numbered across all rows
    counts = xp.bincount(run.reshape(-1), minlength=1)
    best = xp.argmax(counts[run], axis=-1)  # the first longest run: the smallest value
    last = (xp.cumsum(counts) - 1)[run[xp.arange(run.shape[0]), best]]  # where that run ends
    index = order.reshape(-1)[last].reshape(moved.shape[:-1] + (1,))
    return xp.moveaxis(index, -1, axis)


@binds("mode")
def mode(input, dim=-1, keepdim=False):
    return _select(input, dim, keepdim, _mode_op, "mode", _mode_index, nonempty=True)


# ---------------------------------------------------------------------------------------------
# cummax / cummin: the index is the last position holding the running extreme; a NaN takes over
# from where it appears (each later NaN moves the index on), as in PyTorch's kernel
def _accumulate(xp, ufunc, a, axis):
    """`ufunc.accumulate(a, axis)`; where the backend lacks it (CuPy has it only for add and
    multiply) a scan in log2(n) whole-array steps: after the step of width s each position holds
    the ufunc of the 2s values ending there."""
    try:
        return ufunc.accumulate(a, axis=axis)
    except NotImplementedError:
        pass
    out = xp.moveaxis(a, axis, -1).copy()
    step = 1
    while step < out.shape[-1]:
        out[..., step:] = ufunc(out[..., step:], out[..., :-step])  # right side read before the write
        step *= 2
    return xp.moveaxis(out, -1, axis)


def _cum_extreme(input, dim, ufunc, op, name):
    data = input._data
    axis = normalize_dim(dim, data.ndim)
    xp = input._xp
    flat = data.reshape(1) if data.ndim == 0 else data
    running = _accumulate(xp, getattr(xp, ufunc), flat, axis)
    hit = flat == running
    if flat.dtype.kind == "f":
        hit = hit | xp.isnan(flat)
    shape = [1] * flat.ndim
    shape[axis] = flat.shape[axis]
    positions = xp.where(hit, xp.arange(flat.shape[axis]).reshape(shape), 0)
    index = _accumulate(xp, xp.maximum, positions, axis).astype(np.int64) if flat.size else positions.astype(np.int64)
    if data.ndim == 0:
        index = index.reshape(())
    values = apply(op, (input,), (index, axis))
    return return_type(name)(values, Tensor._make(index))


def _cum_forward(xp, x, index, axis):
    return x.copy() if x.ndim == 0 else xp.take_along_axis(x, index, axis=axis)


def _cum_vjp(m, g, node):
    index, axis = node.params
    if not node.shapes[0]:
        return g
    return m.scatter_into(node.shapes[0], _along_axis_index(index, axis, _xp_of(index)), g)


_cummax = OpDef("CummaxBackward0", _cum_forward, _cum_vjp, kind="cummax")
_cummin = OpDef("CumminBackward0", _cum_forward, _cum_vjp, kind="cummin")


@binds("cummax")
def cummax(input, dim):
    return _cum_extreme(input, dim, "maximum", _cummax, "cummax")


@binds("cummin")
def cummin(input, dim):
    return _cum_extreme(input, dim, "minimum", _cummin, "cummin")


# ---------------------------------------------------------------------------------------------
# unique / unique_consecutive: PyTorch puts their values in the graph with nodes whose
# derivative is not implemented
def _not_differentiable(name):
    def vjp(m, g, node):
        raise NotImplementedError(f"the derivative for '{name}' is not implemented.")
    return vjp


_unique_op = OpDef("Unique2Backward0", lambda xp, x, values: values, _not_differentiable("_unique2"),
                   kind="unique")
_unique_consecutive_op = OpDef("UniqueConsecutiveBackward0", lambda xp, x, values: values,
                               _not_differentiable("unique_consecutive"), kind="unique_consecutive")


def _unique_result(input, op, values, inverse, counts, return_inverse, return_counts):
    out = [apply(op, (input,), (values,))]
    if return_inverse:
        out.append(Tensor._make(inverse.astype(np.int64).reshape(input._data.shape)))
    if return_counts:
        out.append(Tensor._make(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


@binds("unique")
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    if dim is not None:
        raise NotImplementedError("unique with a dim is not supported")
    xp = input._xp
    # always sorted: PyTorch's order with sorted=False is unspecified
    values, inverse, counts = xp.unique(input._data.reshape(-1), return_inverse=True, return_counts=True)
    return _unique_result(input, _unique_op, values, inverse, counts, return_inverse, return_counts)


@binds("unique_consecutive")
def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    if dim is not None:
        raise NotImplementedError("unique_consecutive with a dim is not supported")
    xp = input._xp
    flat = input._data.reshape(-1)
    starts = xp.ones(flat.shape, dtype=bool)
    starts[1:] = flat[1:] != flat[:-1]
    positions = xp.nonzero(starts)[0]
    counts = xp.diff(xp.concatenate([positions, xp.asarray([flat.size], dtype=positions.dtype)]))
    return _unique_result(input, _unique_consecutive_op, flat[starts], xp.cumsum(starts) - 1, counts,
                          return_inverse, return_counts)


# ---------------------------------------------------------------------------------------------
@binds("searchsorted", method=False)
def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None, out=None):
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of left "
                               "while right was True")
        right = side == "right"
    seq = sorted_sequence._data
    xp = sorted_sequence._xp
    scalar = not isinstance(input, Tensor)
    values = xp.asarray(input) if scalar else input._data
    if scalar and seq.ndim != 1:
        raise RuntimeError("torch.searchsorted(): input value can be a scalar only when boundaries tensor "
                           f"dimension is 1, but we got boundaries tensor dim({seq.ndim}) and input value's "
                           "dim(0) numel(1)")
    if seq.ndim > 1 and seq.shape[:-1] != values.shape[:-1]:
        raise RuntimeError("torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                           "dimensions of boundaries tensor and input value tensor must match, but we got "
                           f"boundaries tensor {_size_list(seq.shape)} and input value tensor "
                           f"{_size_list(values.shape)}")
    if sorter is not None:
        seq = xp.take_along_axis(seq, sorter._data, axis=-1)
    if seq.ndim == 1:
        index = xp.searchsorted(seq, values, side="right" if right else "left")
    else:
        # one sorted row per row of values: count the boundaries below (or at) each value
        below = seq[..., None, :] <= values[..., None] if right else seq[..., None, :] < values[..., None]
        index = xp.sum(below, axis=-1)
    return Tensor._make(xp.asarray(index, dtype=np.int32 if out_int32 else np.int64))


@binds("bucketize", method=False)
def bucketize(input, boundaries, *, out_int32=False, right=False, out=None):
    if boundaries._data.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries._data.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


# ---------------------------------------------------------------------------------------------
# quantile / nanquantile: composed as PyTorch composes them (sort, gather the neighbouring
# ranks, lerp between them), ending in the squeeze whose node PyTorch shows
_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")

_squeeze_to = OpDef("SqueezeBackward4", lambda xp, x, shape: x.reshape(shape),
                    lambda m, g, node: m.reshape(g, node.shapes[0]), kind="squeeze")


def _quantile(input, q, dim, keepdim, interpolation, ignore_nan):
    data = input._data
    xp = input._xp
    if input.dtype.name not in ("float32", "float64"):
        raise RuntimeError("quantile() input tensor must be either float or double dtype")
    if isinstance(q, Tensor):
        if q._data.ndim > 1:
            raise RuntimeError("quantile() q must be a scalar or 1D tensor")
        if q.dtype is not input.dtype:
            raise RuntimeError("quantile() q tensor must be same dtype as the input tensor")
        qs = q._data.reshape(-1)
        if qs.size and not bool(xp.all((qs >= 0) & (qs <= 1))):
            raise RuntimeError("quantile() q values must be in the range [0, 1]")
        scalar_q = q._data.ndim == 0
    else:
        if not 0 <= q <= 1:
            raise RuntimeError(f"quantile() q must be in the range [0, 1] but got {q}")
        qs, scalar_q = xp.asarray([q], dtype=data.dtype), True
    if data.size == 0:
        raise RuntimeError("quantile() input tensor must be non-empty")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError("quantile() interpolation must be one of linear, lower, higher, midpoint or nearest, "
                           f"but got {interpolation}")
    if dim is None:
        rows, shape = input.reshape(-1), ((1,) * data.ndim if keepdim else ())
    else:
        axis = normalize_dim(dim, data.ndim)
        rows = movedim(input, axis, -1) if data.ndim else input.reshape(1)
        shape = tuple(1 if i == axis else n for i, n in enumerate(data.shape)) if keepdim else \
            data.shape[:axis] + data.shape[axis + 1:]
    ranked = sort(rows, -1).values
    last = ranked.shape[-1] - 1
    nan = xp.isnan(ranked._data)
    if ignore_nan:  # ranks among the non-NaN values (0 when there are none: the result is NaN)
        ranks = xp.maximum(qs * (last - xp.sum(nan, axis=-1, keepdims=True)), 0)
    else:  # a NaN anywhere picks the last (NaN) value
        ranks = xp.where(xp.any(nan, axis=-1, keepdims=True), last, qs * last)
    ranks = {"lower": xp.floor, "higher": xp.ceil, "nearest": xp.round}.get(interpolation, lambda r: r)(ranks)
    below = xp.floor(ranks)
    result = gather(ranked, -1, Tensor._make(below.astype(np.int64)))
    if interpolation in ("linear", "midpoint"):
        above = gather(ranked, -1, Tensor._make(xp.ceil(ranks).astype(np.int64)))
        weight = xp.full(ranks.shape, 0.5, dtype=ranks.dtype) if interpolation == "midpoint" else ranks - below
        result = result + (above - result) * Tensor._make(weight.astype(data.dtype))
    if not scalar_q:
        result = movedim(result, -1, 0)
    return apply(_squeeze_to, (result,), (((qs.size,) if not scalar_q else ()) + shape,))


@binds("quantile")
def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    return _quantile(input, q, dim, keepdim, interpolation, False)


@binds("nanquantile")
def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    return _quantile(input, q, dim, keepdim, interpolation, True)

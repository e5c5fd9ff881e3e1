"""Reductions: sum, mean, prod, max/min (whole tensor or along a dim), amax/amin, argmax/argmin,
var/std, logsumexp, norm, all/any, cumsum/cumprod."""
import collections
import math

import numpy as np

from .._dtype import get_default_dtype
from ._core import OpDef, apply, is_raw_array, _xp_of
from ._registry import binds, register
from .elementwise import write_out, maximum, minimum
from .._dtype import as_dtype
from ..tensor import Tensor
from .._dims import normalize_dim, normalize_dims  # noqa: F401  (the ops and nn import them from here)


def _kept_shape(shape, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _restore(m, g, shape, axes, keepdim):
    """Broadcast a reduced gradient back over the reduced axes."""
    if not keepdim and axes:
        g = m.reshape(g, _kept_shape(shape, axes))
    return m.expand_to(g, shape)


# ---------------------------------------------------------------------------------------------
def _sum_forward(xp, x, axes, keepdim, dt):
    if dt is None and x.dtype.kind in "biu":
        dt = np.int64  # integer sums accumulate in int64, as PyTorch's do
    return xp.sum(x, axis=axes, keepdims=keepdim, dtype=dt)


def _sum_vjp(m, g, node):
    axes, keepdim, _ = node.params
    return _restore(m, g, node.shapes[0], axes, keepdim)


_sum_all = OpDef("SumBackward0", _sum_forward, _sum_vjp, kind="sum")
_sum_dim = OpDef("SumBackward1", _sum_forward, _sum_vjp, kind="sum")


@binds("sum")
def sum(x, dim=None, keepdim=False, *, dtype=None, out=None):
    axes = normalize_dims(dim, x._data.ndim)
    op = _sum_all if dim is None else _sum_dim
    result = apply(op, (x,), (axes, keepdim, None if dtype is None else _np_dtype(dtype)))
    return _out(out, result)


def _np_dtype(dtype):
    return as_dtype(dtype).np


def _out(out, result):
    if out is None:
        return result
    return write_out(out, result)


def _mean_forward(xp, x, axes, keepdim, dt):
    if x.size == 0:  # nan, as PyTorch gives, without NumPy's "mean of empty slice" warning
        total = xp.sum(x, axis=axes, keepdims=keepdim, dtype=dt)
        return total / 0 if total.size else total
    return xp.mean(x, axis=axes, keepdims=keepdim, dtype=dt)


def _mean_vjp(m, g, node):
    axes, keepdim, _ = node.params
    shape = node.shapes[0]
    count = 1
    for a in axes:
        count *= shape[a]
    g = _restore(m, g, shape, axes, keepdim)
    return g / count if count else g


_mean_all = OpDef("MeanBackward0", _mean_forward, _mean_vjp, kind="mean")
_mean_dim = OpDef("MeanBackward1", _mean_forward, _mean_vjp, kind="mean")


@binds("mean")
def mean(x, dim=None, keepdim=False, *, dtype=None, out=None):
    if dtype is None and not x.dtype.is_floating_point:
        raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a floating point "
                           f"or complex dtype. Got: {x.dtype.title}")
    axes = normalize_dims(dim, x._data.ndim)
    op = _mean_all if dim is None else _mean_dim
    return _out(out, apply(op, (x,), (axes, keepdim, None if dtype is None else _np_dtype(dtype))))



def _prod_forward(xp, x, axes, keepdim, dt):
    if dt is None and x.dtype.kind in "biu":
        dt = np.int64
    return xp.prod(x, axis=axes, keepdims=keepdim, dtype=dt)


def _prod_vjp(m, g, node, x, out):
    axes, keepdim, _ = node.params
    shape = node.shapes[0]
    g_full = _restore(m, g, shape, axes, keepdim)
    out_full = _restore(m, out, shape, axes, keepdim)
    if is_raw_array(x) and not bool(_xp_of(x).all(x)):
        # with zeros, out / x is wrong: take the product of the other elements directly
        xp = _xp_of(x)
        moved = xp.moveaxis(x, axes, tuple(range(x.ndim - len(axes), x.ndim))) if axes else x
        flat = moved.reshape(moved.shape[:x.ndim - len(axes)] + (-1,))
        left = xp.cumprod(xp.concatenate([xp.ones_like(flat[..., :1]), flat[..., :-1]], axis=-1), axis=-1)
        right = xp.flip(xp.cumprod(xp.flip(xp.concatenate([flat[..., 1:], xp.ones_like(flat[..., :1])], axis=-1),
                                           axis=-1), axis=-1), axis=-1)
        prod_others = (left * right).reshape(moved.shape)
        others = xp.moveaxis(prod_others, tuple(range(x.ndim - len(axes), x.ndim)), axes) if axes else prod_others
        return g_full * others
    return g_full * out_full / x


_prod_all = OpDef("ProdBackward0", _prod_forward, _prod_vjp, save_inputs=(0,), save_output=True, kind="prod")
_prod_dim = OpDef("ProdBackward1", _prod_forward, _prod_vjp, save_inputs=(0,), save_output=True, kind="prod")


@binds("prod")
def prod(x, dim=None, keepdim=False, *, dtype=None):
    axes = normalize_dims(dim, x._data.ndim)
    return apply(_prod_all if dim is None else _prod_dim, (x,), (axes, keepdim, None if dtype is None else
                                                                  _np_dtype(dtype)))


# ---------------------------------------------------------------------------------------------
# max / min / amax / amin
def _extreme_forward(fn):
    def forward(xp, x, axes, keepdim):
        if x.size == 0:
            raise RuntimeError(f"{fn}(): Expected reduction dim to be specified for input.numel() == 0. "
                               "Specify the reduction dim with the 'dim' argument.")
        return getattr(xp, fn)(x, axis=axes, keepdims=keepdim)
    return forward


def _even_vjp(m, g, node, x, out):
    # ties share the gradient evenly (PyTorch's amax/amin/max() backward)
    axes, keepdim = node.params
    shape = node.shapes[0]
    mask = m.as_mask(x == _restore(m, out, shape, axes, keepdim))
    count = m.sum(mask * 1.0, axis=axes, keepdims=True)
    return m.where(mask, _restore(m, g, shape, axes, keepdim) / count, 0.0)


_amax = OpDef("AmaxBackward0", _extreme_forward("amax"), _even_vjp, save_inputs=(0,), save_output=True,
              kind="amax")
_amin = OpDef("AminBackward0", _extreme_forward("amin"), _even_vjp, save_inputs=(0,), save_output=True,
              kind="amin")
_max_all = OpDef("MaxBackward1", _extreme_forward("amax"), _even_vjp, save_inputs=(0,), save_output=True,
                 kind="max")
_min_all = OpDef("MinBackward1", _extreme_forward("amin"), _even_vjp, save_inputs=(0,), save_output=True,
                 kind="min")


@binds("amax")
def amax(x, dim=(), keepdim=False):
    return apply(_amax, (x,), (normalize_dims(dim if dim != () else None, x._data.ndim), keepdim))


@binds("amin")
def amin(x, dim=(), keepdim=False):
    return apply(_amin, (x,), (normalize_dims(dim if dim != () else None, x._data.ndim), keepdim))


_return_types = {}


def return_type(name, fields=("values", "indices")):
    if name not in _return_types:
        cls = collections.namedtuple(name, fields)
        cls.__module__ = "torch.return_types"
        cls.__repr__ = lambda self: (f"torch.return_types.{name}(\n" +
                                     ",\n".join(f"{f}={getattr(self, f)!r}" for f in fields) + ")")
        _return_types[name] = cls
    return _return_types[name]


def _select_forward(xp, x, index, axis, keepdim):
    out = xp.take_along_axis(x, index, axis=axis)
    return out if keepdim else xp.squeeze(out, axis=axis)


def _select_vjp(m, g, node):
    index, axis, keepdim = node.params
    if not keepdim:
        g = m.reshape(g, index.shape)
    return _scatter_along(m, node.shapes[0], index, axis, g)


def _scatter_along(m, shape, index, axis, g):
    if is_raw_array(g):
        out = m.zeros(shape, g)
        m.put_along_axis(out, index, g, axis=axis)
        return out
    from .indexing import scatter_into_along  # indexing's ops are built on these reductions
    return scatter_into_along(shape, index, axis, g)


_max_dim = OpDef("MaxBackward0", _select_forward, _select_vjp, kind="max")
_min_dim = OpDef("MinBackward0", _select_forward, _select_vjp, kind="min")


def _with_dim(x, dim, keepdim, arg_fn, op, name):
    axis = normalize_dim(dim, x._data.ndim)
    data = x._data
    if data.ndim == 0:  # a 0-d tensor reduces over its single element
        values, indices = _with_dim(x.reshape(1), 0, False, arg_fn, op, name)
        return return_type(name)(values, indices)
    if data.shape[axis] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {dim} to have non-zero size.")
    index = getattr(x._xp, arg_fn)(data, axis=axis, keepdims=True)
    values = apply(op, (x,), (index, axis, keepdim))
    indices = Tensor._make(index if keepdim else x._xp.squeeze(index, axis=axis))
    return return_type(name)(values, indices)


@binds("max")
def max(x, dim=None, keepdim=False, *, other=None, out=None):
    if other is not None:  # max(input, other=...): PyTorch's maximum overload
        return maximum(x, other)
    if isinstance(dim, Tensor):
        return maximum(x, dim)
    if dim is None:
        return apply(_max_all, (x,), (tuple(range(x._data.ndim)), False))
    return _with_dim(x, dim, keepdim, "argmax", _max_dim, "max")


@binds("min")
def min(x, dim=None, keepdim=False, *, other=None, out=None):
    if other is not None:  # min(input, other=...): PyTorch's minimum overload
        return minimum(x, other)
    if isinstance(dim, Tensor):
        return minimum(x, dim)
    if dim is None:
        return apply(_min_all, (x,), (tuple(range(x._data.ndim)), False))
    return _with_dim(x, dim, keepdim, "argmin", _min_dim, "min")


def _arg(fn):
    def arg(x, dim=None, keepdim=False):
        xp = x._xp
        data = x._data
        if data.size == 0:
            raise RuntimeError(f"{fn}(): Expected reduction dim to be specified for input.numel() == 0.")
        if dim is None:
            idx = getattr(xp, fn)(data.reshape(-1))
            if keepdim:
                idx = xp.asarray(idx).reshape((1,) * data.ndim)
            return Tensor._make(xp.asarray(idx, dtype=np.int64))
        axis = normalize_dim(dim, data.ndim)
        if data.ndim == 0:
            return Tensor._make(xp.zeros((), dtype=np.int64))
        return Tensor._make(xp.asarray(getattr(xp, fn)(data, axis=axis, keepdims=keepdim), dtype=np.int64))
    return arg


argmax = register(_arg("argmax"), torch="argmax")
argmin = register(_arg("argmin"), torch="argmin")


# ---------------------------------------------------------------------------------------------
def _var_forward(xp, x, axes, keepdim, correction):
    n = 1
    for a in axes:
        n *= x.shape[a]
    if n - correction <= 0:  # no degrees of freedom: PyTorch divides by max(0, n - correction), giving inf/nan
        m = xp.mean(x, axis=axes, keepdims=True)
        ss = xp.sum((x - m) ** 2, axis=axes, keepdims=keepdim)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (ss / x.dtype.type(0)).astype(x.dtype)
    return xp.var(x, axis=axes, keepdims=keepdim, ddof=correction)


def _dof(n, correction):
    """PyTorch's divisor max(0, n - correction), as a float whose reciprocal may be inf."""
    return float(n - correction) if n > correction else 0.0


def _var_vjp(m, g, node, x):
    axes, keepdim, correction = node.params
    shape = node.shapes[0]
    n = 1
    for a in axes:
        n *= shape[a]
    centered = x - m.sum(x, axis=axes, keepdims=True) / n
    dof = _dof(n, correction)
    return _restore(m, g, shape, axes, keepdim) * centered * (2.0 / dof if dof else math.inf)


_var = OpDef("VarBackward0", _var_forward, _var_vjp, save_inputs=(0,), kind="var")


def _std_forward(xp, x, axes, keepdim, correction):
    return xp.sqrt(_var_forward(xp, x, axes, keepdim, correction))


def _std_vjp(m, g, node, x, out):
    axes, keepdim, correction = node.params
    shape = node.shapes[0]
    n = 1
    for a in axes:
        n *= shape[a]
    centered = x - m.sum(x, axis=axes, keepdims=True) / n
    return _restore(m, g / (out * _dof(n, correction)), shape, axes, keepdim) * centered


_std = OpDef("StdBackward0", _std_forward, _std_vjp, save_inputs=(0,), save_output=True, kind="std")


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    if unbiased is None:
        return 1
    return 1 if unbiased else 0


@binds("var")
def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, bool):  # var(x, False) is the old unbiased= form
        dim, unbiased = None, dim
    _need_float(x, "var")
    return apply(_var, (x,), (normalize_dims(dim, x._data.ndim), keepdim, _correction(unbiased, correction)))


@binds("std")
def std(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    _need_float(x, "std")
    return apply(_std, (x,), (normalize_dims(dim, x._data.ndim), keepdim, _correction(unbiased, correction)))


def _need_float(x, name):
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"{name}(): input dtype should be either floating point or complex. Got "
                           f"{x.dtype.title} instead.")


def _logsumexp_forward(xp, x, axes, keepdim):
    fused = getattr(xp, "fused_logsumexp", None)  # one kernel, where a backend has it (WebGPU)
    if fused is not None and (out := fused(x, axes, keepdim)) is not None:
        return out
    if x.size == 0:
        return xp.log(xp.sum(xp.exp(x), axis=axes, keepdims=keepdim))
    top = xp.amax(x, axis=axes, keepdims=True)
    top = xp.where(xp.isfinite(top), top, 0)
    out = xp.log(xp.sum(xp.exp(x - top), axis=axes, keepdims=True)) + top
    return out if keepdim else xp.squeeze(out, axis=axes)


def _logsumexp_vjp(m, g, node, x, out):
    axes, keepdim = node.params
    shape = node.shapes[0]
    return _restore(m, g, shape, axes, keepdim) * m.exp(x - _restore(m, out, shape, axes, keepdim))


_logsumexp = OpDef("LogsumexpBackward0", _logsumexp_forward, _logsumexp_vjp, save_inputs=(0,), save_output=True,
                   kind="logsumexp")


@binds("logsumexp", special="logsumexp")
def logsumexp(x, dim, keepdim=False):
    if not x.dtype.is_floating_point:
        x = x.to(get_default_dtype())
    return apply(_logsumexp, (x,), (normalize_dims(dim, x._data.ndim), keepdim))


def _norm_forward(xp, x, axes, keepdim, p):
    a = xp.abs(x)
    if p == math.inf:
        return xp.amax(a, axis=axes, keepdims=keepdim)
    if p == -math.inf:
        return xp.amin(a, axis=axes, keepdims=keepdim)
    if p == 0:
        return xp.sum(a != 0, axis=axes, keepdims=keepdim).astype(x.dtype)
    if p == 2:
        return xp.sqrt(xp.sum(x * x, axis=axes, keepdims=keepdim))
    if p == 1:
        return xp.sum(a, axis=axes, keepdims=keepdim)
    return xp.sum(a ** p, axis=axes, keepdims=keepdim) ** (1.0 / p)


def _norm_vjp(m, g, node, x, out):
    axes, keepdim, p = node.params
    shape = node.shapes[0]
    g_full = _restore(m, g, shape, axes, keepdim)
    out_full = _restore(m, out, shape, axes, keepdim)
    if p == 2:
        return m.where(m.as_mask(out_full == 0), 0.0, g_full * x / out_full)
    if p == 1:
        return g_full * m.sign(x)
    if p in (math.inf, -math.inf):
        mask = m.as_mask(m.abs(x) == out_full)
        count = m.sum(mask * 1.0, axis=axes, keepdims=True)
        return m.where(mask, g_full * m.sign(x) / count, 0.0)
    if p == 0:
        return g_full * 0
    scale = m.where(m.as_mask(out_full == 0), 0.0, g_full / out_full ** (p - 1))
    if p < 1:  # |x|^(p-1) is infinite at 0: PyTorch takes the subgradient 0 there
        return scale * m.where(m.as_mask(x == 0), 0.0, m.sign(x) * m.abs(x) ** (p - 1))
    return scale * m.sign(x) * m.abs(x) ** (p - 1)


_norm = OpDef("LinalgVectorNormBackward0", _norm_forward, _norm_vjp, save_inputs=(0,), save_output=True,
              kind="norm")


@binds("norm")
def norm(x, p="fro", dim=None, keepdim=False, dtype=None):
    if p in ("fro", None):
        p = 2
    if p == "nuc":  # the sum of the singular values, over the last two dims or the two given
        from .norms import matrix_norm
        if dtype is not None:
            x = x.to(dtype)
        return matrix_norm(x, "nuc", (-2, -1) if dim is None else tuple(dim), keepdim)
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                           f"{x.dtype.title}")
    return apply(_norm, (x,), (normalize_dims(dim, x._data.ndim), keepdim, float(p)))


@binds("all")
def all(x, dim=None, keepdim=False):
    axes = None if dim is None else normalize_dims(dim, x._data.ndim)
    return Tensor._make(x._xp.asarray(x._xp.all(x._data, axis=axes, keepdims=keepdim)))


@binds("any")
def any(x, dim=None, keepdim=False):
    axes = None if dim is None else normalize_dims(dim, x._data.ndim)
    return Tensor._make(x._xp.asarray(x._xp.any(x._data, axis=axes, keepdims=keepdim)))


def _cumsum_forward(xp, x, axis, dt):
    if dt is None and x.dtype.kind in "biu":
        dt = np.int64
    return xp.cumsum(x, axis=axis, dtype=dt)


def _cumsum_vjp(m, g, node):
    axis = node.params[0]
    return m.flip(m.cumsum(m.flip(g, axis), axis), axis)


_cumsum = OpDef("CumsumBackward0", _cumsum_forward, _cumsum_vjp, kind="cumsum")


@binds("cumsum", inplace=True)
def cumsum(x, dim, *, dtype=None):
    axis = normalize_dim(dim, x._data.ndim)
    if x._data.ndim == 0:
        return x.clone()
    return apply(_cumsum, (x,), (axis, None if dtype is None else _np_dtype(dtype)))


def _cumprod_forward(xp, x, axis):
    return xp.cumprod(x, axis=axis)


def _cumprod_vjp(m, g, node, x, out):
    axis = node.params[0]
    # valid where x has no zeros: d out_j / d x_i = out_j / x_i for j >= i
    return m.flip(m.cumsum(m.flip(g * out, axis), axis), axis) / x


_cumprod = OpDef("CumprodBackward0", _cumprod_forward, _cumprod_vjp, save_inputs=(0,), save_output=True,
                 kind="cumprod")


@binds("cumprod", inplace=True)
def cumprod(x, dim, *, dtype=None):
    if x._data.ndim == 0:
        return x.clone()
    return apply(_cumprod, (x,), (normalize_dim(dim, x._data.ndim),))


@binds("count_nonzero")
def count_nonzero(x, dim=None):
    axes = None if dim is None else normalize_dims(dim, x._data.ndim)
    return Tensor._make(x._xp.asarray(x._xp.count_nonzero(x._data, axis=axes), dtype=np.int64))

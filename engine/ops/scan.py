"""Reductions and scans along a dim beyond sum/mean/cumsum (in reduce.py): nan-aware sums and means,
logcumsumexp, diff, trapezoid, histograms, bincount."""
import builtins
import numpy as np
from .._dtype import get_default_dtype, bool_, as_dtype
from ._core import OpDef, apply
from ._registry import binds
from .. import creation
from .special import _div_scalar, _mul_scalar
from . import elementwise as ew, shape as sh, reduce as red
from .reduce import normalize_dim, normalize_dims
from ..tensor import Tensor


# ---------------------------------------------------------------------------------------------
# reductions and scans
def _nansum_forward(xp, x, axes, keepdim, dt):
    if x.dtype.kind in "biu":
        return xp.sum(x, axis=axes, keepdims=keepdim, dtype=dt or np.int64)
    return xp.nansum(x, axis=axes, keepdims=keepdim, dtype=dt)


def _nansum_vjp(m, g, node, x):
    axes, keepdim, _ = node.params
    g = red._restore(m, g, node.shapes[0], axes, keepdim)
    return m.where(m.as_mask(m.isnan(x)), g * 0, g)


_nansum = OpDef("NansumBackward0", _nansum_forward, _nansum_vjp, save_inputs=(0,), kind="nansum")


@binds("nansum")
def nansum(input, dim=None, keepdim=False, *, dtype=None):
    dt = as_dtype(dtype).np if dtype is not None else None
    return apply(_nansum, (input,), (normalize_dims(dim, input._data.ndim), keepdim, dt))


@binds("nanmean")
def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    if not input.dtype.is_floating_point:
        raise RuntimeError("nanmean(): expected input to have floating point or complex dtype but got "
                           f"{input.dtype.title}")
    count = red.sum(ew.logical_not(ew.isnan(input)), dim, keepdim)
    return ew.div(nansum(input, dim, keepdim, dtype=dtype), count)


def _logcumsumexp_forward(xp, x, axis):
    if x.ndim == 0:
        return x.copy()
    try:
        return xp.logaddexp.accumulate(x, axis=axis)
    except (AttributeError, NotImplementedError, TypeError):  # a backend without ufunc.accumulate
        top = xp.max(x, axis=axis, keepdims=True)
        top = xp.where(xp.isfinite(top), top, 0)
        return xp.log(xp.cumsum(xp.exp(x - top), axis=axis)) + top


def _logcumsumexp_vjp(m, g, node, x, out):
    # d out_j / d x_i = exp(x_i - out_j) for j >= i: a reversed cumulative sum, shifted by the
    # largest out (the last one) so that nothing overflows
    axis = node.params[0]
    if not node.shapes[0]:
        return g
    last = m.index(out, (slice(None),) * axis + (slice(-1, None),))
    scaled = g * m.exp(last - out)
    rev = m.flip(m.cumsum(m.flip(scaled, (axis,)), axis), (axis,))
    return rev * m.exp(x - last)


_logcumsumexp = OpDef("LogcumsumexpBackward0", _logcumsumexp_forward, _logcumsumexp_vjp, save_inputs=(0,),
                      save_output=True, kind="logcumsumexp")


@binds("logcumsumexp")
def logcumsumexp(input, dim):
    if not input.dtype.is_floating_point:
        input = input.to(get_default_dtype())
    return apply(_logcumsumexp, (input,), (normalize_dim(dim, input._data.ndim),))


def _slices(x, dim, start, stop):
    return sh.narrow(x, dim, start, stop - start)


@binds("diff")
def diff(input, n=1, dim=-1, prepend=None, append=None):
    if input._data.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    dim = normalize_dim(dim, input._data.ndim)
    parts = [p for p in (prepend, input, append) if p is not None]
    if len(parts) > 1:
        parts = [p if p._data.ndim else sh.expand(p, input.shape[:dim] + (1,) + input.shape[dim + 1:])
                 for p in parts]
        input = sh.cat(parts, dim)
    for _ in range(n):
        size = input.shape[dim]
        if size == 0:
            break
        hi, lo = _slices(input, dim, 1, size), _slices(input, dim, 0, size - 1)
        input = ew.logical_xor(hi, lo) if input.dtype is bool_ else ew.sub(hi, lo)
    return input


@binds("trapezoid", method=False)
def trapezoid(y, x=None, *, dx=None, dim=-1):
    dim = normalize_dim(dim, y._data.ndim)
    size = y.shape[dim]
    if x is not None and isinstance(x, Tensor):
        if x._data.ndim == 1:  # a 1-d x lies along `dim`
            x = sh.reshape(x, (-1,) + (1,) * (y._data.ndim - dim - 1))
        dxs = diff(x, dim=-1 if x._data.ndim == 1 else dim - y._data.ndim)
        return _div_scalar(red.sum(dxs * (_slices(y, dim, 1, size) + _slices(y, dim, 0, size - 1)), dim), 2.0)
    spacing = 1.0 if dx is None and x is None else (dx if dx is not None else x)
    if size == 0:
        return red.sum(y, dim) * 0
    ends = sh.select(y, dim, 0) + sh.select(y, dim, -1)
    return _mul_scalar(red.sum(y, dim) - ends * 0.5, spacing)


def _along(t, dim, ndim):
    """A 1-d tensor of values along `dim`, shaped to broadcast against an ndim-d tensor."""
    return sh.reshape(t, (-1,) + (1,) * (ndim - dim - 1))


def _gradient_along(f, dim, h, edge_order):
    """Second-order central differences inside, first- or second-order one-sided ones at the two
    ends (NumPy's and PyTorch's scheme); h is a number or the coordinates along dim."""
    n, nd = f.shape[dim], f._data.ndim
    at = lambda a, b: _slices(f, dim, a, b)  # noqa: E731
    if not isinstance(h, Tensor):
        inner = (at(2, n) - at(0, n - 2)) / (2 * h)
        if edge_order == 1:
            first, last = (at(1, 2) - at(0, 1)) / h, (at(n - 1, n) - at(n - 2, n - 1)) / h
        else:
            first = (at(0, 1) * -1.5 + at(1, 2) * 2 - at(2, 3) * 0.5) / h
            last = (at(n - 3, n - 2) * 0.5 - at(n - 2, n - 1) * 2 + at(n - 1, n) * 1.5) / h
        return sh.cat([first, inner, last], dim)
    dx = diff(h)
    hs, hd = _along(_slices(dx, 0, 0, n - 2), dim, nd), _along(_slices(dx, 0, 1, n - 1), dim, nd)
    inner = (at(0, n - 2) * (-hd / (hs * (hd + hs))) + at(1, n - 1) * ((hd - hs) / (hd * hs))
             + at(2, n) * (hs / (hd * (hd + hs))))
    if edge_order == 1:
        first = (at(1, 2) - at(0, 1)) / _along(_slices(dx, 0, 0, 1), dim, nd)
        last = (at(n - 1, n) - at(n - 2, n - 1)) / _along(_slices(dx, 0, n - 2, n - 1), dim, nd)
    else:
        h1, h2, hm2, hm1 = (_along(_slices(dx, 0, i, i + 1), dim, nd) for i in (0, 1, n - 3, n - 2))
        first = (at(0, 1) * (-(2 * h1 + h2) / (h1 * (h1 + h2))) + at(1, 2) * ((h1 + h2) / (h1 * h2))
                 + at(2, 3) * (-h1 / (h2 * (h1 + h2))))
        last = (at(n - 3, n - 2) * (hm1 / (hm2 * (hm2 + hm1))) + at(n - 2, n - 1) * (-(hm1 + hm2) / (hm2 * hm1))
                + at(n - 1, n) * ((2 * hm1 + hm2) / (hm1 * (hm2 + hm1))))
    return sh.cat([first, inner, last], dim)


@binds("gradient", method=False)
def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """The derivative estimated along each dim (a tuple, one tensor per dim), with a uniform spacing
    (a number, or one per dim) or the coordinates of the samples along each dim (1-d tensors)."""
    nd = input._data.ndim
    dims = tuple(range(nd)) if dim is None else (dim,) if isinstance(dim, int) else tuple(dim)
    dims = tuple(normalize_dim(d, nd) for d in dims)
    if spacing is None:
        spacing = 1
    if not isinstance(spacing, (list, tuple)):
        spacings = (spacing,) * len(dims)
    elif len(spacing) == 1 and not isinstance(spacing[0], Tensor) and len(dims) > 1:
        spacings = tuple(spacing) * len(dims)
    else:
        spacings = tuple(spacing)
    if len(spacings) != len(dims):
        raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar or it's spacing and dim "
                           f"arguments to have the same length, but got a spacing argument of length "
                           f"{len(spacings)} and a dim argument of length {len(dims)}.")
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    for d in dims:
        if input.shape[d] < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least edge_order+1")
    if not input.dtype.is_floating_point:
        input = input.to(get_default_dtype())
    out = []
    for d, h in zip(dims, spacings):
        if isinstance(h, Tensor) and h._data.ndim == 0:
            h = h.item()
        out.append(_gradient_along(input, d, h, edge_order))
    return tuple(out)


@binds("trapz", method=False)
def trapz(y, x=None, *, dx=None, dim=-1):
    if x is not None and not isinstance(x, Tensor):
        dx, x = x, None  # trapz(y, dx, dim) in the old signature
    return trapezoid(y, x, dx=dx, dim=dim)


@binds("histc")
def histc(input, bins=100, min=0, max=0, *, out=None):
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for '{input.dtype.title}'")
    xp, x = input._xp, input._data
    lo, hi = float(min), float(max)
    if lo == hi and x.size:
        lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError("torch.histogram(): max must be larger than min")
    inside = (x >= lo) & (x <= hi)
    index = xp.floor((x[inside] - lo) * bins / (hi - lo)).astype(np.int64)
    index = xp.minimum(index, bins - 1)  # the top edge belongs to the last bin
    counts = xp.bincount(index, minlength=bins).astype(x.dtype)
    result = Tensor._make(counts, device=input.device)
    return ew.write_out(out, result) if out is not None else result


@binds("histogram")
def histogram(input, bins=100, *, range=None, weight=None, density=False, out=None):
    """Counts (or weights, or a density) per bin and the bin edges: NumPy's histogram, whose rules
    (edges, a degenerate range widened by 0.5, the top edge in the last bin) are PyTorch's."""
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for '{input.dtype.title}'")
    edges = bins._host() if isinstance(bins, Tensor) else int(bins)
    weights = weight._host() if weight is not None else None
    hist, edges = np.histogram(input._host(), edges, range=range, weights=weights, density=density)
    from .reduce import return_type
    dtype = input._data.dtype
    hist, edges = (creation.tensor(a.astype(dtype), device=input.device) for a in (hist, edges))
    if out is not None:
        ew.write_out(out[0], hist), ew.write_out(out[1], edges)
        hist, edges = out
    return return_type("histogram", ("hist", "bin_edges"))(hist, edges)


@binds("histogramdd", method=False)
def histogramdd(input, bins=10, *, range=None, weight=None, density=False):
    """The histogram of the points in input's last dim (NumPy's histogramdd, whose rules are PyTorch's):
    counts (or weights, or a density) per bin, and each dim's bin edges."""
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"histogramdd\" not implemented for '{input.dtype.title}'")
    points = input._host().reshape(-1, input.shape[-1])
    if isinstance(bins, (list, tuple)) and bins and isinstance(bins[0], Tensor):
        bins = [b._host() for b in bins]
    elif isinstance(bins, Tensor):
        bins = int(bins.item())
    pairs = None if range is None else [tuple(range[i:i + 2]) for i in builtins.range(0, len(range), 2)]
    weights = weight._host().reshape(-1) if weight is not None else None
    if isinstance(bins, list) and bins and isinstance(bins[0], np.ndarray):
        hist, edges = _histogram_given_edges(points, bins, weights, density), bins
    else:
        hist, edges = np.histogramdd(points, bins, range=pairs, weights=weights, density=density)
    from .reduce import return_type
    dtype = input._data.dtype
    return return_type("histogramdd", ("hist", "bin_edges"))(
        creation.tensor(hist.astype(dtype), device=input.device),
        tuple(creation.tensor(e.astype(dtype), device=input.device) for e in edges))


def _histogram_given_edges(points, edges, weights, density):
    """Counts over bins with given edges as PyTorch takes them: a point counts when it lies between
    each dim's first and last edge (the last edge closes the last bin); edges are not checked for order."""
    keep = np.ones(len(points), dtype=bool)
    index = []
    for d, e in enumerate(edges):
        x = points[:, d]
        keep &= (x >= e[0]) & (x <= e[-1])
        i = np.searchsorted(e, x, side="right") - 1
        index.append(np.clip(np.where(x == e[-1], len(e) - 2, i), 0, max(len(e) - 2, 0)))
    hist = np.zeros(tuple(max(len(e) - 1, 0) for e in edges))
    np.add.at(hist, tuple(i[keep] for i in index), 1.0 if weights is None else weights[keep])
    if density:
        volume = np.ones(())
        for e in edges:
            volume = np.multiply.outer(volume, np.diff(e))
        hist = hist / hist.sum() / volume
    return hist


@binds("bincount")
def bincount(input, weights=None, minlength=0):
    if input._data.ndim != 1 or input.dtype.is_floating_point:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    xp = input._xp
    if input._data.size and bool(xp.any(input._data < 0)):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is None:
        counts = xp.bincount(input._data, minlength=minlength).astype(np.int64)
    else:
        wd = weights._data
        counts = xp.bincount(input._data, weights=wd, minlength=minlength)
        counts = counts.astype(wd.dtype if wd.dtype == np.float32 else np.float64)
    return Tensor._make(counts, device=input.device)

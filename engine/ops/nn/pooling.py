"""Max and average pooling: a loop over kernel offsets on strided views."""

import numpy as np

from .._core import OpDef, apply, _xp_of
from ._common import _tensor_mode, _wrap, Stash
from .conv import _offset_slices, _padded_nchw


def pool_out_size(n, k, s, p, d, ceil_mode):
    span = n + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _pool_geometry(shape, kernel, stride, padding, dilation, ceil_mode):
    h, w = shape[2], shape[3]
    ho = pool_out_size(h, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    wo = pool_out_size(w, kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
    # extra room on the bottom/right for ceil_mode windows that run past the padded input
    pb = max((ho - 1) * stride[0] + dilation[0] * (kernel[0] - 1) + 1 - h - padding[0], padding[0])
    pr = max((wo - 1) * stride[1] + dilation[1] * (kernel[1] - 1) + 1 - w - padding[1], padding[1])
    return ho, wo, (padding[0], pb, padding[1], pr)


def _max_pool_forward(xp, x, kernel, stride, padding, dilation, ceil_mode, stash):
    if x.ndim == 3:  # unbatched
        return _max_pool_forward(xp, x[None], kernel, stride, padding, dilation, ceil_mode, stash)[0]
    ho, wo, pads = _pool_geometry(x.shape, kernel, stride, padding, dilation, ceil_mode)
    xpd = _padded_nchw(xp, x, pads, -xp.inf)
    best = None
    improved = []  # per later kernel offset: where it beat every earlier one (strictly, as PyTorch)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            s = xpd[_offset_slices(i, j, stride, dilation, (ho, wo))]
            if best is None:
                best = s.copy(order="K")
            else:
                improved.append(s > best)
                xp.maximum(best, s, out=best)
    stash.value = (improved, pads, (ho, wo))
    return best


def _max_pool_masks(xp, improved, shape):
    """One boolean mask per kernel offset: where that offset holds the (first) maximum."""
    masks = [None] * (len(improved) + 1)
    later = None
    for k in range(len(improved), 0, -1):
        gt = improved[k - 1]
        masks[k] = gt if later is None else gt & ~later
        later = gt.copy() if later is None else (later | gt)
    masks[0] = ~later if later is not None else xp.ones(shape, dtype=bool)
    return masks


def max_pool_indices(stash, shape, kernel, stride, dilation):
    """PyTorch's return_indices: flat positions h * W + w in each (unpadded) input plane."""
    improved, pads, (ho, wo) = stash.value
    xp = _xp_of(improved[0]) if improved else np
    masks = _max_pool_masks(xp, improved, (shape[0], shape[1], ho, wo))
    arg = xp.zeros(masks[0].shape, dtype=np.int64)
    for k, mask in enumerate(masks):
        arg[mask] = k
    kw = kernel[1]
    i = arg // kw
    j = arg % kw
    rows = xp.arange(ho).reshape(-1, 1) * stride[0] - pads[0] + i * dilation[0]
    cols = xp.arange(wo).reshape(1, -1) * stride[1] - pads[2] + j * dilation[1]
    return (rows * shape[3] + cols).astype(np.int64)


def _max_pool_vjp(m, g, node):
    return _unbatched_pool_vjp(_max_pool_vjp_4d, m, g, node)


def _unbatched_pool_vjp(vjp, m, g, node):
    shape = node.shapes[0]
    if len(shape) == 3:
        return vjp(m, g[None], node, (1,) + tuple(shape))[0]
    return vjp(m, g, node, shape)


def _max_pool_vjp_4d(m, g, node, shape):
    kernel, stride, padding, dilation, ceil_mode, stash = node.params
    improved, pads, out_hw = stash.value
    pt, pb, pl, pr = pads
    h, w = shape[2], shape[3]
    tensor = _tensor_mode(m)
    masks = _max_pool_masks(np if tensor else m.xp, improved, (shape[0], shape[1]) + tuple(out_hw))
    if tensor:
        total = None
        padded = (shape[0], shape[1], h + pt + pb, w + pl + pr)
        k = 0
        for i in range(kernel[0]):
            for j in range(kernel[1]):
                mask = _wrap(masks[k].astype(g._data.dtype))
                part = m.scatter_into(padded, _offset_slices(i, j, stride, dilation, out_hw), g * mask, True)
                total = part if total is None else total + part
                k += 1
        return total[:, :, pt:pt + h, pl:pl + w]
    xp = m.xp
    gx = xp.zeros((shape[0], h + pt + pb, w + pl + pr, shape[1]), dtype=g.dtype).transpose(0, 3, 1, 2)
    # windows that do not overlap are written directly; overlapping ones accumulate
    disjoint = all(s >= d * (kk - 1) + 1 for s, d, kk in zip(stride, dilation, kernel))
    k = 0
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            target = gx[_offset_slices(i, j, stride, dilation, out_hw)]
            if disjoint:
                xp.multiply(masks[k], g, out=target)
            else:
                target += masks[k] * g
            k += 1
    if pt or pb or pl or pr:
        gx = gx[:, :, pt:pt + h, pl:pl + w]
    return gx


_max_pool = OpDef("MaxPool2DWithIndicesBackward0", _max_pool_forward, _max_pool_vjp, kind="max_pool2d")


def max_pool2d(x, kernel, stride, padding, dilation, ceil_mode):
    stash = Stash()
    return apply(_max_pool, (x,), (kernel, stride, padding, dilation, ceil_mode, stash)), stash


def _avg_divisor(xp, shape, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override, dtype):
    h, w = shape[2], shape[3]
    ho = pool_out_size(h, kernel[0], stride[0], padding[0], 1, ceil_mode)
    wo = pool_out_size(w, kernel[1], stride[1], padding[1], 1, ceil_mode)
    if divisor_override:
        return ho, wo, divisor_override

    def extent(n_out, k, s, p, n):
        start = np.arange(n_out) * s - p
        end = np.minimum(start + k, n + p)
        size = end - start
        start_c = np.maximum(start, 0)
        end_c = np.minimum(end, n)
        return size, end_c - start_c

    sh, ch = extent(ho, kernel[0], stride[0], padding[0], h)
    sw, cw = extent(wo, kernel[1], stride[1], padding[1], w)
    div = np.outer(sh, sw) if count_include_pad else np.outer(ch, cw)
    return ho, wo, xp.asarray(div.astype(dtype))


def _avg_pool_forward(xp, x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    if x.ndim == 3:  # unbatched
        return _avg_pool_forward(xp, x[None], kernel, stride, padding, ceil_mode, count_include_pad,
                                 divisor_override)[0]
    ho, wo, div = _avg_divisor(xp, x.shape, kernel, stride, padding, ceil_mode, count_include_pad,
                               divisor_override, x.dtype)
    _, _, pads = _pool_geometry(x.shape, kernel, stride, padding, (1, 1), ceil_mode)
    xpd = _padded_nchw(xp, x, pads, 0)
    total = None
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            s = xpd[_offset_slices(i, j, stride, (1, 1), (ho, wo))]
            if total is None:
                total = s.copy(order="K")
            else:
                total += s
    total /= div
    return total


def _avg_pool_vjp(m, g, node):
    return _unbatched_pool_vjp(_avg_pool_vjp_4d, m, g, node)


def _avg_pool_vjp_4d(m, g, node, shape):
    kernel, stride, padding, ceil_mode, count_include_pad, divisor_override = node.params
    h, w = shape[2], shape[3]
    tensor = _tensor_mode(m)
    dtype = g._data.dtype if tensor else g.dtype
    ho, wo, div = _avg_divisor(g._xp if tensor else m.xp, shape, kernel, stride, padding, ceil_mode,
                               count_include_pad, divisor_override, dtype)
    _, _, pads = _pool_geometry(shape, kernel, stride, padding, (1, 1), ceil_mode)
    pt, pb, pl, pr = pads
    gd = g / (_wrap(div) if tensor and not isinstance(div, (int, float)) else div)
    if tensor:
        padded = (shape[0], shape[1], h + pt + pb, w + pl + pr)
        total = None
        for i in range(kernel[0]):
            for j in range(kernel[1]):
                part = m.scatter_into(padded, _offset_slices(i, j, stride, (1, 1), (ho, wo)), gd, True)
                total = part if total is None else total + part
        return total[:, :, pt:pt + h, pl:pl + w]
    xp = m.xp
    gx = xp.zeros((shape[0], h + pt + pb, w + pl + pr, shape[1]), dtype=g.dtype).transpose(0, 3, 1, 2)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            gx[_offset_slices(i, j, stride, (1, 1), (ho, wo))] += gd
    if pt or pb or pl or pr:
        gx = gx[:, :, pt:pt + h, pl:pl + w]
    return gx


_avg_pool = OpDef("AvgPool2DBackward0", _avg_pool_forward, _avg_pool_vjp, kind="avg_pool2d")


def avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    return apply(_avg_pool, (x,), (kernel, stride, padding, ceil_mode, count_include_pad, divisor_override))

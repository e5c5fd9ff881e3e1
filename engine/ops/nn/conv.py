"""Convolution on windows of a channels-last view (one im2col copy, one matrix product; the
backward loops over kernel offsets, never pixels), 3-D convolution on windows of the padded input
(one batched matrix product), and unfold/fold (im2col/col2im)."""

import math

import numpy as np

from .._core import OpDef, apply
from ._common import _composite_vjp, _engine, _tensor_mode, Stash
from .padding import constant_pad


# convolution: windows of a channels-last view, one matrix product
def _as_strided(xp, a, shape, strides):
    if xp is np:  # read-only, so nothing writes through the overlapping windows (CuPy has no such flag)
        return np.lib.stride_tricks.as_strided(a, shape=shape, strides=strides, writeable=False)
    return xp.lib.stride_tricks.as_strided(a, shape=shape, strides=strides)


def _out_size(n, k, s, d, lo, hi):
    return (n + lo + hi - d * (k - 1) - 1) // s + 1


def _pad_nhwc(xp, xh, pads, value=0):
    """A padded channels-last copy of xh (N, H, W, C); pads = ((top, bottom), (left, right))."""
    (pt, pb), (pl, pr) = pads
    if not (pt or pb or pl or pr):
        return xh
    n, h, w, c = xh.shape
    if value == 0:
        out = xp.zeros((n, h + pt + pb, w + pl + pr, c), dtype=xh.dtype)
    else:
        out = xp.full((n, h + pt + pb, w + pl + pr, c), value, dtype=xh.dtype)
    out[:, pt:pt + h, pl:pl + w, :] = xh
    return out


def _windows(xp, xpd, kernel, stride, dilation, out_hw):
    """(N, Ho, Wo, kh, kw, C) strided view of a padded NHWC array."""
    n, _, _, c = xpd.shape
    s0, s1, s2, s3 = xpd.strides
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out_hw
    return _as_strided(xp, xpd, (n, ho, wo, kh, kw, c), (s0, s1 * sh, s2 * sw, s1 * dh, s2 * dw, s3))


def _channels_last(x):
    """Whether x (N, C, H, W) is laid out channels-last in memory (an NHWC array seen as NCHW)."""
    s = x.strides
    return x.shape[1] > 1 and s[1] < s[3]


def _offset_slices(i, j, stride, dilation, out_hw):
    (sh, sw), (dh, dw), (ho, wo) = stride, dilation, out_hw
    return (slice(None), slice(None), slice(i * dh, i * dh + sh * (ho - 1) + 1, sh),
            slice(j * dw, j * dw + sw * (wo - 1) + 1, sw))


def _padded_nchw(xp, x, pads, value):
    """x padded with `value` (top, bottom, left, right), keeping x's memory layout."""
    pt, pb, pl, pr = pads
    if not (pt or pb or pl or pr):
        return x
    n, c, h, w = x.shape
    if _channels_last(x):
        xh = x.transpose(0, 2, 3, 1)
        return _pad_nhwc(xp, xh, ((pt, pb), (pl, pr)), value).transpose(0, 3, 1, 2)
    shape = (n, c, h + pt + pb, w + pl + pr)
    out = xp.zeros(shape, dtype=x.dtype) if value == 0 else xp.full(shape, value, dtype=x.dtype)
    out[:, :, pt:pt + h, pl:pl + w] = x
    return out

def _conv_forward(xp, x, w, *rest):
    if x.ndim == 3:  # conv1d: a height-1 image
        return _conv_forward(xp, x[:, :, None, :], w[:, :, None, :], *rest)[:, :, 0, :]
    stride, padding, dilation, groups, stash = rest[-5:]
    b = rest[0] if len(rest) == 6 else None
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (pt, pb), (pl, pr) = padding
    ho = _out_size(h, kh, stride[0], dilation[0], pt, pb)
    wo = _out_size(wd, kw, stride[1], dilation[1], pl, pr)
    rows = n * ho * wo
    if _channels_last(x):
        # columns (rows, kh*kw*C): each window's pixels with their channels contiguous
        xh = x.transpose(0, 2, 3, 1)
        xpd = _pad_nhwc(xp, xh, padding)
        if kh == 1 and kw == 1 and stride == (1, 1) and xpd is xh:
            cols = xh.reshape(rows, c)
        else:
            cols = _windows(xp, xpd, (kh, kw), stride, dilation, (ho, wo)).reshape(rows, kh * kw * c)
        if groups == 1:
            wk = w.transpose(2, 3, 1, 0).reshape(kh * kw * c, o)
            out = cols @ wk
        else:
            og = o // groups
            cols = cols.reshape(rows, kh * kw, groups, cg).transpose(2, 0, 1, 3).reshape(groups, rows, kh * kw * cg)
            wk = w.reshape(groups, og, cg, kh, kw).transpose(0, 3, 4, 2, 1).reshape(groups, kh * kw * cg, og)
            out = xp.matmul(cols, wk).transpose(1, 0, 2).reshape(rows, o)
        layout = "nhwc"
    else:
        # channels-first input (images): transposed columns (C*kh*kw, rows), filled one kernel
        # offset at a time so every copy runs along image rows
        xpd = _padded_nchw(xp, x, (pt, pb, pl, pr), 0)
        cols = xp.empty((c, kh, kw, n, ho, wo), dtype=x.dtype)
        for i in range(kh):
            for j in range(kw):
                cols[:, i, j] = xpd[_offset_slices(i, j, stride, dilation, (ho, wo))].transpose(1, 0, 2, 3)
        cols = cols.reshape(c * kh * kw, rows)
        if groups == 1:
            wk = w.reshape(o, c * kh * kw)
            out = cols.T @ wk.T
        else:
            og = o // groups
            cols = cols.reshape(groups, cg * kh * kw, rows)
            wk = w.reshape(groups, og, cg * kh * kw)
            out = xp.matmul(cols.transpose(0, 2, 1), wk.transpose(0, 2, 1)).transpose(1, 0, 2).reshape(rows, o)
        layout = "nchw"
    if b is not None:
        out += b
    stash.value = (layout, cols, wk)
    # PyTorch returns NCHW-contiguous output (LeNet's x.view(-1, n) relies on it)
    return xp.ascontiguousarray(out.reshape(n, ho, wo, o).transpose(0, 3, 1, 2))


def _col2im(xp, gcols, shape_nhwc, kernel, stride, dilation, padding, out_hw):
    """Sum (N, Ho, Wo, kh, kw, C) column gradients back onto the (unpadded) NHWC input."""
    n, h, w, c = shape_nhwc
    (pt, pb), (pl, pr) = padding
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out_hw
    gx = xp.zeros((n, h + pt + pb, w + pl + pr, c), dtype=gcols.dtype)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (ho - 1) + 1, sh)
            cols = slice(j * dw, j * dw + sw * (wo - 1) + 1, sw)
            gx[:, rows, cols, :] += gcols[:, :, :, i, j, :]
    if pt or pb or pl or pr:
        gx = gx[:, pt:pt + h, pl:pl + w, :]
    return gx


def _col2im_nchw(xp, gcols, shape, kernel, stride, dilation, padding, out_hw):
    """Sum (C, kh, kw, N, Ho, Wo) column gradients back onto the (unpadded) NCHW input."""
    n, c, h, w = shape
    (pt, pb), (pl, pr) = padding
    kh, kw = kernel
    gx = xp.zeros((n, c, h + pt + pb, w + pl + pr), dtype=gcols.dtype)
    for i in range(kh):
        for j in range(kw):
            gx[_offset_slices(i, j, stride, dilation, out_hw)] += gcols[:, i, j].transpose(1, 0, 2, 3)
    if pt or pb or pl or pr:
        gx = gx[:, :, pt:pt + h, pl:pl + w]
    return gx


def _conv_vjp(m, g, node, *saved):
    stride, padding, dilation, groups, stash = node.params
    if _tensor_mode(m):
        return _composite_vjp(_conv_composite, saved, node, g)
    xp = m.xp
    x_shape, w_shape = node.shapes[0], node.shapes[1]
    if len(x_shape) == 3:  # conv1d: the gradients of the height-1 image, squeezed back
        g4 = g[:, :, None, :]
        grads = _conv_vjp_2d(xp, g4, node, x_shape[:2] + (1,) + x_shape[2:], w_shape[:2] + (1,) + w_shape[2:])
        return tuple(None if gr is None else (gr[:, :, 0] if i < 2 else gr) for i, gr in enumerate(grads))
    return _conv_vjp_2d(xp, g, node, x_shape, w_shape)


def _conv_vjp_2d(xp, g, node, x_shape, w_shape):
    stride, padding, dilation, groups, stash = node.params
    n, c, h, wd = x_shape
    o, cg, kh, kw = w_shape
    ho, wo = g.shape[2], g.shape[3]
    rows = n * ho * wo
    layout, cols, wk = stash.value
    g2 = g.transpose(0, 2, 3, 1).reshape(rows, o)
    gx = gw = gb = None
    if len(node.shapes) == 3 and node.needs[2]:
        gb = xp.ones(rows, dtype=g2.dtype) @ g2  # a matrix-vector product sums rows fastest
    if layout == "nchw":
        if groups == 1:
            if node.needs[1]:
                gw = (g2.T @ cols.T).reshape(w_shape)
            if node.needs[0]:
                gcols = wk.T @ g2.T
        else:
            og = o // groups
            g3 = g2.reshape(rows, groups, og).transpose(1, 2, 0)  # (G, og, rows)
            if node.needs[1]:
                gw = xp.matmul(g3, cols.transpose(0, 2, 1)).reshape(w_shape)
            if node.needs[0]:
                gcols = xp.matmul(wk.transpose(0, 2, 1), g3)  # (G, cg*kh*kw, rows)
        if node.needs[0]:
            gcols = gcols.reshape(c, kh, kw, n, ho, wo)
            gx = _col2im_nchw(xp, gcols, x_shape, (kh, kw), stride, dilation, padding, (ho, wo))
        return (gx, gw, gb) if len(node.shapes) == 3 else (gx, gw)
    if groups == 1:
        if node.needs[1]:
            gw = (cols.T @ g2).reshape(kh, kw, c, o).transpose(3, 2, 0, 1)
            gw = xp.ascontiguousarray(gw)
        if node.needs[0]:
            gcols = g2 @ wk.T
    else:
        og = o // groups
        g3 = g2.reshape(rows, groups, og).transpose(1, 0, 2)
        if node.needs[1]:
            gwk = xp.matmul(cols.transpose(0, 2, 1), g3)  # (G, kh*kw*cg, og)
            gw = xp.ascontiguousarray(gwk.reshape(groups, kh, kw, cg, og).transpose(0, 4, 3, 1, 2)
                                      .reshape(o, cg, kh, kw))
        if node.needs[0]:
            gc = xp.matmul(g3, wk.transpose(0, 2, 1))  # (G, rows, kh*kw*cg)
            gcols = gc.reshape(groups, rows, kh * kw, cg).transpose(1, 2, 0, 3).reshape(rows, kh * kw * c)
    if node.needs[0]:
        if kh == 1 and kw == 1 and stride == (1, 1) and padding == ((0, 0), (0, 0)):
            gx = gcols.reshape(n, h, wd, c).transpose(0, 3, 1, 2)
        else:
            gcols = gcols.reshape(n, ho, wo, kh, kw, c)
            gx = _col2im(xp, gcols, (n, h, wd, c), (kh, kw), stride, dilation, padding, (ho, wo))
            gx = gx.transpose(0, 3, 1, 2)
    if len(node.shapes) == 3:
        return gx, gw, gb
    return gx, gw


_conv_ops = {n: OpDef("ConvolutionBackward0", _conv_forward, _conv_vjp, save_inputs=tuple(range(n)),
                      kind="conv2d") for n in (2, 3)}


def conv2d(x, w, b, stride, padding, dilation, groups):
    """x: (N, C, H, W), or (N, C, L) with a (O, C, k) weight for a 1-d convolution (its stride,
    padding and dilation then have a leading 1 / (0, 0) for the height); all checked by the caller."""
    inputs = (x, w) if b is None else (x, w, b)
    return apply(_conv_ops[len(inputs)], inputs, (stride, padding, dilation, groups, Stash()))


def _conv_composite(x, w, b=None, *, params):
    """The same convolution from unfold + matmul, for differentiating a backward."""
    stride, padding, dilation, groups, _ = params
    if x.dim() == 3:
        return _conv_composite(x.unsqueeze(2), w.unsqueeze(2), b, params=params).squeeze(2)
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (pt, pb), (pl, pr) = padding
    if pt != pb or pl != pr:
        x = constant_pad(x, (pl, pr, pt, pb))
        pad = (0, 0)
    else:
        pad = (pt, pl)
    ho = _out_size(x.shape[2], kh, stride[0], dilation[0], pad[0], pad[0])
    wo = _out_size(x.shape[3], kw, stride[1], dilation[1], pad[1], pad[1])
    cols = unfold(x, (kh, kw), dilation, pad, stride)  # (N, C*kh*kw, L)
    if groups == 1:
        out = w.reshape(o, -1).matmul(cols)
    else:
        E = _engine()
        og = o // groups
        k = cg * kh * kw
        parts = [w[i * og:(i + 1) * og].reshape(og, k).matmul(cols[:, i * k:(i + 1) * k]) for i in range(groups)]
        out = E.cat(parts, 1)
    out = out.reshape(n, o, ho, wo)
    if b is not None:
        out = out + b.reshape(1, o, 1, 1)
    return out


# ---------------------------------------------------------------------------------------------
# conv3d: the (N, G, C/G * k, L) columns of the zero-padded input, times the (G, O/G, C/G * k) weight
def _padded(xp, x, padding, value=0):
    if not any(a or b for a, b in padding):
        return x
    shape = x.shape[:2] + tuple(n + a + b for n, (a, b) in zip(x.shape[2:], padding))
    out = xp.zeros(shape, dtype=x.dtype) if value == 0 else xp.full(shape, value, dtype=x.dtype)
    out[(slice(None), slice(None)) + tuple(slice(a, a + n) for n, (a, _) in zip(x.shape[2:], padding))] = x
    return out


def _conv3d_geometry(x_shape, w_shape, stride, padding, dilation):
    return tuple(_out_size(n, k, s, d, a, b) for n, k, s, d, (a, b) in
                 zip(x_shape[2:], w_shape[2:], stride, dilation, padding))


def _conv3d_cols(xp, x, w_shape, stride, padding, dilation, groups):
    n, c = x.shape[:2]
    kernel = w_shape[2:]
    out = _conv3d_geometry(x.shape, w_shape, stride, padding, dilation)
    xpd = _padded(xp, x, padding)
    s = xpd.strides
    cg = c // groups
    win = _as_strided(xp, xpd, (n, groups, cg) + tuple(kernel) + out,
                          (s[0], s[1] * cg, s[1]) + tuple(st * d for st, d in zip(s[2:], dilation))
                          + tuple(st * v for st, v in zip(s[2:], stride)))
    return win.reshape(n, groups, cg * math.prod(kernel), math.prod(out)), out


def _conv3d_forward(xp, x, w, *rest):
    stride, padding, dilation, groups = rest[-4:]
    cols, out = _conv3d_cols(xp, x, w.shape, stride, padding, dilation, groups)
    o = w.shape[0]
    y = xp.matmul(w.reshape(groups, o // groups, -1), cols).reshape((x.shape[0], o) + out)
    if len(rest) == 5:
        y += rest[0].reshape(o, 1, 1, 1)
    return y


def _conv3d_vjp(m, g, node, *saved):
    stride, padding, dilation, groups = node.params
    if _tensor_mode(m):
        return _composite_vjp(_conv3d_composite, saved, node, g)
    xp = m.xp
    x, w = saved[0], saved[1]
    n, c = x.shape[:2]
    o, kernel, out = w.shape[0], w.shape[2:], g.shape[2:]
    g3 = g.reshape(n, groups, o // groups, -1)
    gx = gw = gb = None
    if len(saved) == 3 and node.needs[2]:
        gb = g.sum(axis=(0, 2, 3, 4))
    if node.needs[1]:
        cols, _ = _conv3d_cols(xp, x, w.shape, stride, padding, dilation, groups)
        gw = xp.matmul(g3, cols.transpose(0, 1, 3, 2)).sum(axis=0).reshape(w.shape)
    if node.needs[0]:
        # the columns' gradient, summed back onto the padded input one kernel offset at a time
        gcols = xp.matmul(w.reshape(groups, o // groups, -1).transpose(0, 2, 1), g3)
        gcols = gcols.reshape((n, c) + tuple(kernel) + tuple(out))
        shape = (n, c) + tuple(s + a + b for s, (a, b) in zip(x.shape[2:], padding))
        gpad = xp.zeros(shape, dtype=g.dtype)
        for offset in np.ndindex(*kernel):
            where = tuple(slice(i * d, i * d + st * (k - 1) + 1, st)
                          for i, d, st, k in zip(offset, dilation, stride, out))
            gpad[(slice(None), slice(None)) + where] += gcols[(slice(None), slice(None)) + offset]
        gx = gpad[(slice(None), slice(None)) + tuple(slice(a, a + s) for s, (a, _) in zip(x.shape[2:], padding))]
    return (gx, gw, gb) if len(saved) == 3 else (gx, gw)


def _conv3d_composite(x, w, b=None, *, params):
    """The same convolution as a sum of 2-D convolutions over the kernel's depth (for create_graph)."""
    stride, padding, dilation, groups = params
    x = constant_pad(x, tuple(p for pair in reversed(padding) for p in pair))
    n, c, _, h, wd = x.shape
    od = _out_size(x.shape[2], w.shape[2], stride[0], dilation[0], 0, 0)
    total = None
    for i in range(w.shape[2]):
        xs = x[:, :, i * dilation[0]:i * dilation[0] + stride[0] * (od - 1) + 1:stride[0]]
        xs = xs.transpose(1, 2).reshape(n * od, c, h, wd)
        part = conv2d(xs, w[:, :, i], None, stride[1:], ((0, 0), (0, 0)), dilation[1:], groups)
        total = part if total is None else total + part
    out = total.reshape(n, od, *total.shape[1:]).transpose(1, 2)
    return out if b is None else out + b.reshape(-1, 1, 1, 1)


_conv3d_ops = {k: OpDef("ConvolutionBackward0", _conv3d_forward, _conv3d_vjp, save_inputs=tuple(range(k)),
                        kind="conv3d") for k in (2, 3)}


def conv3d(x, w, b, stride, padding, dilation, groups):
    """x: (N, C, D, H, W), padding ((front, back), (top, bottom), (left, right)); checked by the caller."""
    inputs = (x, w) if b is None else (x, w, b)
    return apply(_conv3d_ops[len(inputs)], inputs, (stride, padding, dilation, groups))


# ---------------------------------------------------------------------------------------------
# unfold (im2col) and fold (col2im), each the other's VJP
def _unfold_forward(xp, x, kernel, dilation, padding, stride):
    n, c, h, w = x.shape
    (kh, kw), (ph, pw) = kernel, padding
    ho = _out_size(h, kh, stride[0], dilation[0], ph, ph)
    wo = _out_size(w, kw, stride[1], dilation[1], pw, pw)
    xpd = x
    if ph or pw:
        xpd = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
        xpd[:, :, ph:ph + h, pw:pw + w] = x
    s0, s1, s2, s3 = xpd.strides
    win = _as_strided(xp, xpd, (n, c, kh, kw, ho, wo),
                      (s0, s1, s2 * dilation[0], s3 * dilation[1], s2 * stride[0], s3 * stride[1]))
    return win.reshape(n, c * kh * kw, ho * wo)


def _fold_forward(xp, cols, output_size, kernel, dilation, padding, stride):
    n = cols.shape[0]
    (kh, kw), (ph, pw) = kernel, padding
    h, w = output_size
    c = cols.shape[1] // (kh * kw)
    ho = _out_size(h, kh, stride[0], dilation[0], ph, ph)
    wo = _out_size(w, kw, stride[1], dilation[1], pw, pw)
    g6 = cols.reshape(n, c, kh, kw, ho, wo)
    out = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    sh, sw = stride
    dh, dw = dilation
    for i in range(kh):
        for j in range(kw):
            out[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh, j * dw:j * dw + sw * (wo - 1) + 1:sw] += g6[:, :, i, j]
    return out[:, :, ph:ph + h, pw:pw + w] if (ph or pw) else out


def _unfold_vjp(m, g, node):
    kernel, dilation, padding, stride = node.params
    size = node.shapes[0][2:]
    if _tensor_mode(m):
        return fold(g, size, kernel, dilation, padding, stride)
    return _fold_forward(m.xp, g, size, kernel, dilation, padding, stride)


def _fold_vjp(m, g, node):
    output_size, kernel, dilation, padding, stride = node.params
    if _tensor_mode(m):
        return unfold(g, kernel, dilation, padding, stride)
    return _unfold_forward(m.xp, g, kernel, dilation, padding, stride)


_unfold = OpDef("Im2ColBackward0", _unfold_forward, _unfold_vjp, kind="unfold")
_fold = OpDef("Col2ImBackward0", _fold_forward, _fold_vjp, kind="fold")


def unfold(x, kernel, dilation, padding, stride):
    return apply(_unfold, (x,), (tuple(kernel), tuple(dilation), tuple(padding), tuple(stride)))


def fold(cols, output_size, kernel, dilation, padding, stride):
    return apply(_fold, (cols,), (tuple(output_size), tuple(kernel), tuple(dilation), tuple(padding),
                                  tuple(stride)))

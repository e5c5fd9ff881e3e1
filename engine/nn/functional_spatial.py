"""nn.functional: volumetric (3-D) convolution and pooling, unpooling, grid sampling, bags of
embeddings and other spatial helpers (re-exported by functional.py).

conv3d is one ConvolutionBackward0 node (windows of the padded input, one batched matrix product);
everything else is a composite of engine ops, so it differentiates for free (its node names are
those of the parts)."""
import math
import warnings

import numpy as np

from .. import creation
from ..ops import elementwise as _ew
from ..ops import nn as _nn
from ..ops.nn import _common, conv as _conv
from ..ops._core import OpDef, apply
from ..ops.shape import stack
from . import functional as F

__all__ = ["conv3d", "conv_transpose3d", "max_pool1d_with_indices", "max_pool2d_with_indices",
           "max_pool3d_with_indices", "max_pool3d", "avg_pool3d", "adaptive_avg_pool3d", "adaptive_max_pool3d",
           "lp_pool3d", "max_unpool1d", "max_unpool2d", "max_unpool3d", "grid_sample", "affine_grid",
           "embedding_bag", "channel_shuffle", "native_channel_shuffle", "pdist", "feature_alpha_dropout",
           "triplet_margin_with_distance_loss"]


def _triple(v):
    return F._pair(v, 3)


def _on(array, like):
    """A constant (index or weight array) as a tensor on `like`'s device."""
    return creation.tensor(array, device=like.device)


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
    return tuple(_conv._out_size(n, k, s, d, a, b) for n, k, s, d, (a, b) in
                 zip(x_shape[2:], w_shape[2:], stride, dilation, padding))


def _conv3d_cols(xp, x, w_shape, stride, padding, dilation, groups):
    n, c = x.shape[:2]
    kernel = w_shape[2:]
    out = _conv3d_geometry(x.shape, w_shape, stride, padding, dilation)
    xpd = _padded(xp, x, padding)
    s = xpd.strides
    cg = c // groups
    win = _conv._as_strided(xp, xpd, (n, groups, cg) + tuple(kernel) + out,
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
    if _common._tensor_mode(m):
        return _common._composite_vjp(_conv3d_composite, saved, node, g)
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
    x = _nn.constant_pad(x, tuple(p for pair in reversed(padding) for p in pair))
    n, c, _, h, wd = x.shape
    od = _conv._out_size(x.shape[2], w.shape[2], stride[0], dilation[0], 0, 0)
    total = None
    for i in range(w.shape[2]):
        xs = x[:, :, i * dilation[0]:i * dilation[0] + stride[0] * (od - 1) + 1:stride[0]]
        xs = xs.transpose(1, 2).reshape(n * od, c, h, wd)
        part = _nn.conv2d(xs, w[:, :, i], None, stride[1:], ((0, 0), (0, 0)), dilation[1:], groups)
        total = part if total is None else total + part
    out = total.reshape(n, od, *total.shape[1:]).transpose(1, 2)
    return out if b is None else out + b.reshape(-1, 1, 1, 1)


_conv3d_ops = {k: OpDef("ConvolutionBackward0", _conv3d_forward, _conv3d_vjp, save_inputs=tuple(range(k)),
                        kind="conv3d") for k in (2, 3)}


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    F._check_conv(input, weight, bias, groups, "conv3d", 3)
    if input.dim() == 4:
        return conv3d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    stride, dilation = _triple(stride), _triple(dilation)
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    kernel = tuple(weight.shape[2:])
    pads = F._conv_padding(padding, kernel, dilation, stride, 3)
    c = input.shape[1]
    if c != weight.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
                           f"{list(input.shape)} to have {weight.shape[1] * groups} channels, but got {c} channels "
                           "instead")
    padded = [n + a + b for n, (a, b) in zip(input.shape[2:], pads)]
    spans = [d * (k - 1) + 1 for d, k in zip(dilation, kernel)]
    if any(p < s for p, s in zip(padded, spans)):
        raise RuntimeError(f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). Kernel "
                           f"size: ({' x '.join(map(str, spans))}). Kernel size can't be greater than actual input "
                           "size")
    inputs = (input, weight) if bias is None else (input, weight, bias)
    return apply(_conv3d_ops[len(inputs)], inputs, (stride, pads, dilation, groups))


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The input gradient of a convolution: the input spread out by the stride (zeros between),
    padded by dilation * (kernel - 1) - padding (negative pads crop), convolved with the flipped
    weight whose in/out channels swap within each group."""
    if input.dim() not in (4, 5):
        raise RuntimeError(f"Expected 4D (unbatched) or 5D (batched) input to conv_transpose3d, but got input of "
                           f"size: {list(input.shape)}")
    if input.dim() == 4:
        return conv_transpose3d(input.unsqueeze(0), weight, bias, stride, padding, output_padding, groups,
                                dilation).squeeze(0)
    stride, padding, output_padding, dilation = (_triple(v) for v in (stride, padding, output_padding, dilation))
    cin, og = weight.shape[:2]
    kernel = tuple(weight.shape[2:])
    if input.shape[1] != cin:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected input"
                           f"{list(input.shape)} to have {cin} channels, but got {input.shape[1]} channels instead")
    if any(o >= s and o >= d for o, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError("output padding must be smaller than either stride or dilation, but got "
                           f"output_padding_depth: {output_padding[0]} output_padding_height: {output_padding[1]} "
                           f"output_padding_width: {output_padding[2]} stride_depth: {stride[0]} stride_height: "
                           f"{stride[1]} stride_width: {stride[2]} dilation_depth: {dilation[0]} dilation_height: "
                           f"{dilation[1]} dilation_width: {dilation[2]}")
    x = input
    for axis, s in zip((2, 3, 4), stride):
        if s > 1:
            size = x.shape[axis]
            zeros = creation.zeros_like(x)
            x = stack([x] + [zeros] * (s - 1), axis + 1).flatten(axis, axis + 1)
            x = x.narrow(axis, 0, (size - 1) * s + 1)
    pads = []
    for k, p, o, d in zip(reversed(kernel), reversed(padding), reversed(output_padding), reversed(dilation)):
        pads += [d * (k - 1) - p, d * (k - 1) - p + o]
    x = _nn.constant_pad(x, tuple(pads))
    w = weight.reshape(groups, cin // groups, og, *kernel).transpose(1, 2).reshape(groups * og, cin // groups,
                                                                                   *kernel)
    return conv3d(x, w.flip((2, 3, 4)), bias, 1, 0, dilation, groups)


# ---------------------------------------------------------------------------------------------
# 3-D pooling: every window gathered with one advanced index into (..., *out, K), then reduced
def _gather_windows(x, positions):
    """positions: per spatial dim an (out, k) array of positions in x's last dims."""
    nd = len(positions)
    index = []
    for i, pos in enumerate(positions):
        shape = [1] * (2 * nd)
        shape[i], shape[nd + i] = pos.shape
        index.append(_on(pos.reshape(shape), x))
    win = x[(Ellipsis,) + tuple(index)]
    out = tuple(p.shape[0] for p in positions)
    return win.reshape(*win.shape[:win.dim() - 2 * nd], *out, -1)


def _pool3d_args(input, kernel_size, stride, padding, dilation):
    if input.dim() not in (4, 5) or input.numel() == 0:
        raise RuntimeError("non-empty 4D or 5D (batch mode) tensor expected for input")
    kernel = _triple(kernel_size)
    stride = kernel if stride is None or (isinstance(stride, (list, tuple)) and not stride) else _triple(stride)
    return kernel, stride, _triple(padding), _triple(dilation)


def _pool_positions(input, kernel, stride, padding, dilation, ceil_mode):
    sizes = tuple(input.shape[input.dim() - len(kernel):])
    outs = [_nn.pool_out_size(n, k, s, p, d, ceil_mode) for n, k, s, p, d in
            zip(sizes, kernel, stride, padding, dilation)]
    if any(o < 1 for o in outs):
        c = input.shape[input.dim() - len(kernel) - 1]
        raise RuntimeError(f"Given input size: ({'x'.join(map(str, (c,) + sizes))}). Calculated output size: "
                           f"({'x'.join(map(str, [c] + outs))}). Output size is too small")
    # positions in the unpadded input: below 0 or past the end is padding (or ceil_mode's overhang)
    return [np.arange(o)[:, None] * s - p + np.arange(k) * d for o, k, s, p, d in
            zip(outs, kernel, stride, padding, dilation)]


def _pad_for(x, positions, value):
    """x padded (with `value`) to cover every position, and the positions shifted into it."""
    pads, shifted = [], []
    for n, pos in zip(x.shape[x.dim() - len(positions):], positions):
        lo, hi = max(0, -int(pos.min())), max(0, int(pos.max()) - n + 1)
        pads.append((lo, hi))
        shifted.append(pos + lo)
    flat = tuple(p for pair in reversed(pads) for p in pair)
    return (_nn.constant_pad(x, flat, value) if any(flat) else x), shifted


def _flat_positions(positions, sizes):
    """Each window element's flat index d * H * W + h * W + w in the input, shaped (*out, K)."""
    nd = len(positions)
    flat = 0
    for i, (pos, n) in enumerate(zip(positions, sizes)):
        shape = [1] * (2 * nd)
        shape[i], shape[nd + i] = pos.shape
        flat = flat * n + pos.reshape(shape)
    out = tuple(p.shape[0] for p in positions)
    return np.ascontiguousarray(np.broadcast_to(flat, out + tuple(p.shape[1] for p in positions))).reshape(*out, -1)


def _max_over_windows(x, positions, real, sizes, return_indices):
    """The windows' maxima (PyTorch's first maximum on ties) and, asked for, their flat indices."""
    values, arg = _gather_windows(x, positions).max(-1)
    if not return_indices:
        return values
    flat = _on(_flat_positions(real, sizes), x)
    return values, flat.expand(*arg.shape, flat.shape[-1]).gather(-1, arg.unsqueeze(-1)).squeeze(-1)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    kernel, stride, padding, dilation = _pool3d_args(input, kernel_size, stride, padding, dilation)
    for p, k, d in zip(padding, kernel, dilation):
        if p > (d * (k - 1) + 1) // 2:
            raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, but got kT: {kernel[0]} "
                               f"kW: {kernel[2]} kH: {kernel[1]} padT: {padding[0]} padW: {padding[2]} padH: "
                               f"{padding[1]} dT: {stride[0]} dW: {stride[2]} dH: {stride[1]} dilationT: "
                               f"{dilation[0]} dilationW: {dilation[2]} dilationH: {dilation[1]}")
    sizes = tuple(input.shape[-3:])
    real = _pool_positions(input, kernel, stride, padding, dilation, ceil_mode)
    x, positions = _pad_for(input, real, -math.inf)
    return _max_over_windows(x, positions, real, sizes, return_indices)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return F.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return F.max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    kernel, stride, padding, _ = _pool3d_args(input, kernel_size, stride, padding, 1)
    for p, k in zip(padding, kernel):
        if p > k // 2:
            raise RuntimeError("pad should be smaller than or equal to half of kernel size, but got "
                               f"padT = {padding[0]}, padW = {padding[2]}, padH = {padding[1]}, kT = {kernel[0]}, "
                               f"kW = {kernel[2]}, kH = {kernel[1]}")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    sizes = tuple(input.shape[-3:])
    real = _pool_positions(input, kernel, stride, padding, (1, 1, 1), ceil_mode)
    x, positions = _pad_for(input, real, 0)
    total = _gather_windows(x, positions).sum(-1)
    if divisor_override:
        return total / divisor_override
    # PyTorch's divisor: the window clipped to the padded input, or to the input itself
    counts = [((pos >= -p) & (pos < n + p)).sum(1) if count_include_pad else ((pos >= 0) & (pos < n)).sum(1)
              for pos, n, p in zip(real, sizes, padding)]
    div = np.multiply.outer(np.multiply.outer(counts[0], counts[1]), counts[2])
    return total / creation.tensor(div, dtype=input.dtype, device=input.device)


def _adaptive_output(input, output_size, nd, name):
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}(): Expected {nd + 1}D or {nd + 2}D tensor, but got {list(input.shape)}")
    sizes = tuple(input.shape[-nd:])
    outs = output_size if isinstance(output_size, (list, tuple)) else (output_size,) * nd
    return sizes, tuple(n if o is None else int(o) for n, o in zip(sizes, outs))


def _adaptive_bounds(n, o):
    """Window i covers [floor(i*n/o), ceil((i+1)*n/o)), as in PyTorch."""
    return np.arange(o) * n // o, -(-np.arange(1, o + 1) * n // o)


def adaptive_avg_pool3d(input, output_size):
    sizes, outs = _adaptive_output(input, output_size, 3, "adaptive_avg_pool3d")
    out = input
    for axis, (n, o) in enumerate(zip(sizes, outs), input.dim() - 3):
        start, end = _adaptive_bounds(n, o)
        cols = np.arange(n)[:, None]
        averaging = ((cols >= start) & (cols < end)) / (end - start)  # separable: one product per dim
        out = out.transpose(axis, -1).matmul(creation.tensor(averaging, dtype=input.dtype, device=input.device))
        out = out.transpose(axis, -1)
    return out


def adaptive_max_pool3d(input, output_size, return_indices=False):
    sizes, outs = _adaptive_output(input, output_size, 3, "adaptive_max_pool3d")
    positions = []
    for n, o in zip(sizes, outs):
        start, end = _adaptive_bounds(n, o)
        width = int((end - start).max())
        # windows padded to the widest by repeating their last index: the first maximum stays put
        positions.append(np.minimum(start[:, None] + np.arange(width), end[:, None] - 1))
    return _max_over_windows(input, positions, positions, sizes, return_indices)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    kd, kh, kw = _triple(kernel_size)
    if norm_type in (math.inf, -math.inf):
        out = max_pool3d(input.abs() if norm_type > 0 else -input.abs(), kernel_size, stride, 0, 1, ceil_mode)
        return out if norm_type > 0 else -out
    out = avg_pool3d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (out.sign() * F.relu(out.abs())).mul(kd * kh * kw).pow(1.0 / norm_type)


# ---------------------------------------------------------------------------------------------
# unpooling: each value scattered to its flat index in a zero plane
def _unpool_output_size(input, kernel, stride, padding, output_size):
    k = len(kernel)
    default = [(input.shape[input.dim() - k + d] - 1) * stride[d] + kernel[d] - 2 * padding[d] for d in range(k)]
    if output_size is None:
        return default
    if len(output_size) == k + 2:
        output_size = output_size[2:]
    if len(output_size) != k:
        raise ValueError(f"output_size should be a sequence containing {k} or {k + 2} elements, but it has a "
                         f"length of '{len(output_size)}'")
    for d in range(k):
        lo, hi = default[d] - stride[d], default[d] + stride[d]
        if not lo < output_size[d] < hi:
            raise ValueError(f'invalid output_size "{output_size}" (dim {d} must be between {lo} and {hi})')
    return [int(s) for s in output_size]


def _max_unpool(input, indices, kernel_size, stride, padding, output_size, nd):
    kernel = F._pair(kernel_size, nd)
    stride = kernel if stride is None else F._pair(stride, nd)
    size = _unpool_output_size(input, kernel, stride, F._pair(padding, nd), output_size)
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor ({list(input.shape)}) "
                           f"but got indices tensor with shape: {list(indices.shape)}")
    lead = tuple(input.shape[:input.dim() - nd])
    plane = math.prod(size)
    idx = indices.reshape(*lead, -1)
    host = idx._host()
    bad = (host < 0) | (host >= plane)
    if bad.any():  # PyTorch unpools 1-d as (L, 1) planes
        shown = "x".join(map(str, size + [1] if nd == 1 else size))
        raise RuntimeError(f"Found an invalid max index: {int(host[bad].max())} (output volumes are of size {shown})")
    out = creation.zeros(lead + (plane,), dtype=input.dtype, device=input.device)
    return out.scatter(-1, idx, input.reshape(*lead, -1)).reshape(*lead, *size)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 3)


# ---------------------------------------------------------------------------------------------
# grid sampling (the spatial transformer): source coordinates from the grid, then a weighted
# gather of the 2^d neighbouring input values (bilinear) or of the nearest one
def _unnormalize(coord, size, align_corners):
    return (coord + 1) / 2 * (size - 1) if align_corners else ((coord + 1) * size - 1) / 2


def _reflect(coord, twice_low, twice_high):
    if twice_low == twice_high:
        return coord * 0
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    coord = (coord - low).abs()
    extra = coord.fmod(span)
    flips = (coord / span).floor().detach()
    odd = flips.fmod(2) != 0
    return _ew.where(odd, span - extra, extra) + low


def _source(coord, size, padding_mode, align_corners):
    coord = _unnormalize(coord, size, align_corners)
    if padding_mode == "reflection":
        coord = _reflect(coord, 0, 2 * (size - 1)) if align_corners else _reflect(coord, -1, 2 * size - 1)
    if padding_mode != "zeros":
        coord = coord.clamp(0, size - 1)
    return coord


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError("nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
                         f"but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                      "Please specify align_corners=True if the old behavior is desired. See the documentation of "
                      "grid_sample for details.", stacklevel=2)
        align_corners = False
    if mode == "bicubic":
        raise NotImplementedError("grid_sample: mode='bicubic' is not supported")
    nd = input.dim() - 2
    if input.dim() not in (4, 5) or grid.dim() != input.dim() or grid.shape[-1] != nd:
        raise RuntimeError(f"grid_sampler(): expected {input.dim()}D input and grid with same number of dimensions "
                           f"and last dimension {nd}, but got input with sizes {list(input.shape)} and grid with "
                           f"sizes {list(grid.shape)}")
    if grid.shape[0] != input.shape[0]:
        raise RuntimeError("grid_sampler(): expected grid and input to have same batch size, but got input with "
                           f"sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    n, c = input.shape[:2]
    sizes = tuple(input.shape[2:])
    out_shape = tuple(grid.shape[1:-1])
    flat_in = input.reshape(n, c, -1)
    # the grid's last dim lists (x, y[, z]): the spatial dims in reverse
    coords = [_source(grid[..., nd - 1 - i].reshape(n, 1, -1), sizes[i], padding_mode, align_corners)
              for i in range(nd)]

    def corner(idx):
        """The input values at integer positions idx (per dim), zero outside the input."""
        inside, flat = None, 0
        for i, (p, size) in enumerate(zip(idx, sizes)):
            ok = (p >= 0) & (p <= size - 1)
            inside = ok if inside is None else inside & ok
            flat = flat * size + p.clamp(0, size - 1)
        values = flat_in.gather(2, flat.long().expand(n, c, flat.shape[-1]))
        return _ew.where(inside, values, 0.0)

    if mode == "nearest":
        # the grid still gets a (zero) gradient, as in PyTorch
        out = corner([x.round().detach() for x in coords]) + coords[0] * 0
    else:
        lows = [x.floor().detach() for x in coords]
        fracs = [x - lo for x, lo in zip(coords, lows)]
        out = 0
        for offsets in np.ndindex(*(2,) * nd):
            weight = 1
            for o, f in zip(offsets, fracs):
                weight = weight * (f if o else 1 - f)
            out = out + weight * corner([lo + o for lo, o in zip(lows, offsets)])
    return out.reshape(n, c, *out_shape)


def _base_coords(steps, align_corners):
    if steps <= 1:
        values = np.zeros(max(steps, 1))
    else:
        values = np.linspace(-1, 1, steps)
        if not align_corners:
            values = values * (steps - 1) / steps
    return values


def affine_grid(theta, size, align_corners=None):
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                      "Please specify align_corners=True if the old behavior is desired. See the documentation of "
                      "grid_sample for details.", stacklevel=2)
        align_corners = False
    if not theta.dtype.is_floating_point:
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    if len(size) == 4:
        if theta.dim() != 3 or theta.shape[-2] != 2 or theta.shape[-1] != 3:
            raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {size}. Got "
                             f"{theta.shape}.")
    elif len(size) == 5:
        if theta.dim() != 3 or theta.shape[-2] != 3 or theta.shape[-1] != 4:
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size {size}. Got "
                             f"{theta.shape}.")
    else:
        raise NotImplementedError("affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                                  f"respectively. Got size {size}.")
    size, spatial = [int(s) for s in size], [int(s) for s in size[2:]]
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
                      "align_corners=True. This is not an intended use case of affine_grid. See the documentation "
                      "of affine_grid for details.", stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    # the base grid: (x, y[, z], 1) at every output position, x running along the last dim
    axes = [_base_coords(s, align_corners) for s in spatial]
    mesh = np.meshgrid(*axes, indexing="ij")
    base = np.stack([m.ravel() for m in reversed(mesh)] + [np.ones(math.prod(spatial))], -1)
    base = creation.tensor(base, dtype=theta.dtype, device=theta.device)
    return base.matmul(theta.transpose(1, 2)).reshape(size[0], *spatial, len(spatial))


# ---------------------------------------------------------------------------------------------
# embedding bags: a (bags, indices) matrix of bag weights times the looked-up rows (sum, mean);
# max over the bags' rows padded to the longest bag with -inf
def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean",
                  sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    if weight.dtype.name in ("int64", "int32") and input.dtype.is_floating_point:
        warnings.warn("Argument order of nn.functional.embedding_bag was changed. Usage `embedding_bag(weight, "
                      "input, ...)` is deprecated, and should now be `embedding_bag(input, weight, ...)`.",
                      stacklevel=2)
        weight, input = input, weight
    if per_sample_weights is not None and tuple(input.shape) != tuple(per_sample_weights.shape):
        raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is not None, then it "
                         f"must have the same shape as the input ({input.shape})")
    if weight.dim() != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension {weight.dim()}")
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a mini-batch of "
                             f"fixed length sequences. However, found offsets of type {type(offsets)}")
        starts = np.arange(0, input.numel(), max(input.shape[1], 1))[:input.shape[0]]
        include_last_offset = False
        input = input.reshape(-1)
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.reshape(-1)
    elif input.dim() == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.dim() != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        starts = offsets._host().astype(np.int64)
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.dim()}")
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise ValueError("max mode does not support sparse weights")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError("embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                  f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
                                  "GitHub.")
    count = input.shape[0]
    if starts.size and starts[0] != 0:
        raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start from "
                           f"position 0. However, got {int(starts[0])}")
    if include_last_offset:  # one bag fewer; the last still runs to the end of the input (PyTorch's CPU kernel)
        starts = starts[:-1]
    ends = np.minimum(np.append(starts[1:], count), count)
    if max_norm is not None:
        F._embedding_renorm(weight, input._data, max_norm, norm_type)
    idx = input._host().astype(np.int64)
    if idx.size and (idx.max() >= weight.shape[0] or idx.min() < 0):
        raise IndexError("index out of range in self")
    kept = np.ones(count, dtype=bool) if padding_idx is None else idx != padding_idx % weight.shape[0]
    pos = np.arange(count)
    member = (pos >= starts[:, None]) & (pos < ends[:, None]) & kept  # (bags, indices)
    rows = F.embedding(input, weight)
    if mode == "max":
        width = max(int(member.sum(1).max()) if member.size else 0, 1)
        # each bag's kept positions, padded with a position whose row is masked to -inf
        order = np.argsort(~member, axis=1, kind="stable")[:, :width]
        valid = np.take_along_axis(member, order, 1)
        picked = rows[_on(order.reshape(-1), weight)].reshape(len(starts), width, -1)
        picked = picked.masked_fill(_on(~valid[..., None], weight), -math.inf)
        out = picked.max(1)[0]
        return _ew.where(_on(valid.any(1, keepdims=True), weight), out, 0.0)
    bags = member.astype(np.float64)
    if mode == "mean":
        bags /= np.maximum(bags.sum(1, keepdims=True), 1)
    bags = creation.tensor(bags, dtype=weight.dtype, device=weight.device)
    if per_sample_weights is not None:
        bags = bags * per_sample_weights
    return bags.matmul(rows)


def channel_shuffle(input, groups):
    if input.dim() < 3:
        raise RuntimeError(f"channel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.dim()} dimension(s)")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of groups:{groups}")
    n, c = input.shape[:2]
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels and {groups} groups.")
    return input.reshape(n, groups, c // groups, *input.shape[2:]).transpose(1, 2).reshape(input.shape)


native_channel_shuffle = channel_shuffle


def pdist(input, p=2):
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    i, j = np.triu_indices(input.shape[0], 1)
    return (input[_on(i, input)] - input[_on(j, input)]).norm(p, 1)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout of whole channels: one draw per (sample, channel), SELU's fixed point kept."""
    F._check_p(p)
    if not training or p == 0.0:
        return input
    if input.dim() < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    if p == 1.0:
        return input * 0.0
    from ..creation import default_generator
    shape = tuple(input.shape[:2]) + (1,) * (input.dim() - 2)
    keep = _on(default_generator._rng.bernoulli(shape, 1.0 - p, input._data.dtype), input)
    alpha = 1.7580993408473766
    a = 1.0 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    shift = (keep - 1) * (alpha * a) + alpha * a * p
    if inplace:
        return input.mul_(keep * a).add_(shift)
    return input * (keep * a) + shift


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0, swap=False,
                                      reduction="mean"):
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    if not anchor.dim() == positive.dim() == negative.dim():
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {anchor.dim()}D, positive {positive.dim()}D, and negative "
                           f"{negative.dim()}D inputs")
    distance = F.pairwise_distance if distance_function is None else distance_function
    d_pos, d_neg = distance(anchor, positive), distance(anchor, negative)
    if swap:
        d_neg = d_neg.minimum(distance(positive, negative))
    loss = (margin + d_pos - d_neg).clamp_min(0)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction} is not a valid value for reduction")

"""Pooling: max, average, adaptive, power-average and unpooling, in 1, 2 and 3 dimensions."""
import math

import numpy as np

from ... import creation
from ...ops import nn as _nn
from ...ops.shape import stack
from ...tensor import Tensor
from ._utils import _on, _pair, _triple
from .activation import relu


def _check_pool_input(input):
    if input.dim() not in (3, 4) or input.numel() == 0:
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")


def _pool_args(kernel_size, stride, padding, dilation):
    kernel = _pair(kernel_size)
    stride = kernel if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) else _pair(stride)
    return kernel, stride, _pair(padding), _pair(dilation)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    _check_pool_input(input)
    kernel, stride, padding, dilation = _pool_args(kernel_size, stride, padding, dilation)
    for p, k, d in zip(padding, kernel, dilation):
        if p > (d * (k - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={p}, "
                               f"kernel_size={k} and dilation={d}")
    unbatched = input.dim() == 3
    shape4 = (1,) + tuple(input.shape) if unbatched else tuple(input.shape)
    _check_pool_output(shape4, kernel, stride, padding, dilation, ceil_mode)
    out, stash = _nn.max_pool2d(input, kernel, stride, padding, dilation, ceil_mode)
    if return_indices:
        idx = _nn.max_pool_indices(stash, shape4, kernel, stride, dilation)
        indices = Tensor._make(idx[0] if unbatched else idx)
        return out, indices
    return out


def _check_pool_output(shape, kernel, stride, padding, dilation, ceil_mode):
    c, h, w = shape[1], shape[2], shape[3]
    ho = _nn.pool_out_size(h, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    wo = _nn.pool_out_size(w, kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
    if ho < 1 or wo < 1:
        raise RuntimeError(f"Given input size: ({c}x{h}x{w}). Calculated output size: ({c}x{ho}x{wo}). Output size "
                           "is too small")


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    k, s = _pair(kernel_size, 1)[0], (None if stride is None else _pair(stride, 1)[0])
    result = max_pool2d(input.unsqueeze(-2), (1, k), None if s is None else (1, s), (0, _pair(padding, 1)[0]),
                        (1, _pair(dilation, 1)[0]), ceil_mode, return_indices)
    if return_indices:
        return result[0].squeeze(-2), result[1].squeeze(-2)
    return result.squeeze(-2)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    _check_pool_input(input)
    kernel, stride, padding, _ = _pool_args(kernel_size, stride, padding, 1)
    for p, k in zip(padding, kernel):
        if p > k // 2:
            raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, but got padW = {p}, "
                               f"padH = {p}, kW = {k}, kH = {k}")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    shape4 = (1,) + tuple(input.shape) if input.dim() == 3 else tuple(input.shape)
    _check_pool_output(shape4, kernel, stride, padding, (1, 1), ceil_mode)
    return _nn.avg_pool2d(input, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    k = _pair(kernel_size, 1)[0]
    s = k if stride is None else _pair(stride, 1)[0]
    return avg_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, _pair(padding, 1)[0]), ceil_mode,
                      count_include_pad).squeeze(-2)


def adaptive_avg_pool2d(input, output_size):
    h, w = input.shape[-2], input.shape[-1]
    oh, ow = _pair(output_size) if not isinstance(output_size, (tuple, list)) else \
        tuple(h if o is None else o for o in output_size) if len(output_size) == 2 else _pair(output_size)
    if oh == 1 and ow == 1:
        return input.mean((-2, -1), keepdim=True)
    if h % oh == 0 and w % ow == 0:
        return avg_pool2d(input, (h // oh, w // ow), (h // oh, w // ow))
    rows = []
    for i in range(oh):
        h0, h1 = (i * h) // oh, -(-((i + 1) * h) // oh)
        cols = []
        for j in range(ow):
            w0, w1 = (j * w) // ow, -(-((j + 1) * w) // ow)
            cols.append(input[..., h0:h1, w0:w1].mean((-2, -1)))
        rows.append(stack(cols, -1))
    return stack(rows, -2)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    h, w = input.shape[-2], input.shape[-1]
    oh, ow = _pair(output_size)
    if h % oh == 0 and w % ow == 0:
        return max_pool2d(input, (h // oh, w // ow), (h // oh, w // ow), return_indices=return_indices)
    # uneven windows: the 3-d pooling over a depth of 1 (indices into h * w stay the same)
    out = adaptive_max_pool3d(input.unsqueeze(-3), (1, oh, ow), return_indices)
    if return_indices:
        return out[0].squeeze(-3), out[1].squeeze(-3)
    return out.squeeze(-3)


def _adaptive_1d(input, output_size, name):
    if input.dim() not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.dim()}-dimensional tensor for argument #1 "
                           f"'self' (while checking arguments for {name})")
    out = int(output_size[0] if isinstance(output_size, (tuple, list)) else output_size)
    size = input.shape[-1]
    # window i covers [floor(i*size/out), ceil((i+1)*size/out)), as in PyTorch
    start = np.arange(out) * size // out
    end = -(-np.arange(1, out + 1) * size // out)
    return start, end


def adaptive_avg_pool1d(input, output_size):
    start, end = _adaptive_1d(input, output_size, "adaptive_avg_pool1d")
    cols = np.arange(input.shape[-1])[:, None]
    averaging = ((cols >= start) & (cols < end)) / (end - start)  # (size, out): one matrix product
    return input.matmul(creation.tensor(averaging, dtype=input.dtype, device=input.device))


def adaptive_max_pool1d(input, output_size, return_indices=False):
    start, end = _adaptive_1d(input, output_size, "adaptive_max_pool1d")
    width = int((end - start).max()) if len(start) else 1
    # every window padded to the widest by repeating its last index: a repeat cannot change the
    # maximum, and the first maximum (PyTorch's choice) stays at the real position
    index = np.minimum(start[:, None] + np.arange(width), end[:, None] - 1)
    values, offsets = input[..., creation.tensor(index, device=input.device)].max(-1)
    if not return_indices:
        return values
    return values, offsets + creation.tensor(start, device=input.device)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    if norm_type in (math.inf, -math.inf):
        out = max_pool1d(input.abs() if norm_type > 0 else -input.abs(), kernel_size, stride, 0, 1, ceil_mode)
        return out if norm_type > 0 else -out
    out = avg_pool1d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (out.sign() * relu(out.abs())).mul(kernel_size).pow(1.0 / norm_type)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    kw, kh = _pair(kernel_size)
    if norm_type in (math.inf, -math.inf):
        out = max_pool2d(input.abs() if norm_type > 0 else -input.abs(), kernel_size, stride, 0, 1, ceil_mode)
        return out if norm_type > 0 else -out
    out = avg_pool2d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (out.sign() * relu(out.abs())).mul(kw * kh).pow(1.0 / norm_type)


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
                            return_indices=False):  # (PyTorch's default too: the indices come back whatever it says)
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):  # (PyTorch's default too: the indices come back whatever it says)
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):  # (PyTorch's default too: the indices come back whatever it says)
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


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
    return (out.sign() * relu(out.abs())).mul(kd * kh * kw).pow(1.0 / norm_type)


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
    kernel = _pair(kernel_size, nd)
    stride = kernel if stride is None else _pair(stride, nd)
    size = _unpool_output_size(input, kernel, stride, _pair(padding, nd), output_size)
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


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    return adaptive_max_pool1d(input, output_size, True)  # the indices whatever return_indices says, as in PyTorch


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=False):
    return adaptive_max_pool3d(input, output_size, True)

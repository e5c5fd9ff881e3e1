"""Convolutions (1-D, 2-D, 3-D and transposed), unfold and fold. conv1d/conv2d/conv3d are one
ConvolutionBackward0 node each; transposed convolutions are a matrix product into columns that
fold (col2im) sums into the image."""


from ... import creation
from ...ops import nn as _nn
from ...ops.shape import stack
from ..._dtype import scalar_type_name
from ._utils import _pair, _triple
from .padding import pad


def _conv_padding(padding, kernel, dilation, stride, ndim):
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * ndim
        if padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            pads = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                pads.append((total // 2, total - total // 2))
            return tuple(pads)
        raise RuntimeError(f"Invalid padding string: '{padding}'")
    p = _pair(padding, ndim)
    if any(v < 0 for v in p):
        raise RuntimeError("negative padding is not supported")
    return tuple((v, v) for v in p)


def _check_conv(input, weight, bias, groups, name, spatial):
    nd = input.dim()
    if nd not in (spatial + 1, spatial + 2):
        raise RuntimeError(f"Expected {spatial + 1}D (unbatched) or {spatial + 2}D (batched) input to {name}, but "
                           f"got input of size: {list(input.shape)}")
    if weight.dim() != spatial + 2:
        raise RuntimeError("weight should have at least three dimensions")
    if input.dtype is not weight.dtype:
        raise RuntimeError(f"expected scalar type {input.dtype.title} but found {weight.dtype.title}")
    if bias is not None:
        if bias.dtype is not input.dtype:
            raise RuntimeError(f"Input type ({scalar_type_name(input.dtype)}) and bias type "
                               f"({scalar_type_name(bias.dtype)}) should be the same")
        if bias.dim() != 1 or bias.shape[0] != weight.shape[0]:
            raise RuntimeError(f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional with "
                               f"{weight.shape[0]} elements, but got bias of size {list(bias.shape)} instead")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    _check_conv(input, weight, bias, groups, "conv2d", 2)
    if input.dim() == 3:
        return conv2d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    stride, dilation = _pair(stride), _pair(dilation)
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    kernel = tuple(weight.shape[2:])
    pads = _conv_padding(padding, kernel, dilation, stride, 2)
    n, c, h, w = input.shape
    if c != weight.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
                           f"{list(input.shape)} to have {weight.shape[1] * groups} channels, but got {c} channels "
                           "instead")
    hp, wp = h + sum(pads[0]), w + sum(pads[1])
    kh, kw = dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1
    if hp < kh or wp < kw:
        raise RuntimeError(f"Calculated padded input size per channel: ({hp} x {wp}). Kernel size: ({kh} x {kw}). "
                           "Kernel size can't be greater than actual input size")
    return _nn.conv2d(input, weight, bias, stride, pads, dilation, groups)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    _check_conv(input, weight, bias, groups, "conv1d", 1)
    if input.dim() == 2:
        return conv1d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    stride, dilation = (1, _pair(stride, 1)[0]), (1, _pair(dilation, 1)[0])
    if stride[1] <= 0:
        raise RuntimeError("non-positive stride is not supported")
    k = weight.shape[2]
    pads = ((0, 0),) + _conv_padding(padding, (k,), dilation[1:], stride[1:], 1)
    n, c, length = input.shape
    if c != weight.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
                           f"{list(input.shape)} to have {weight.shape[1] * groups} channels, but got {c} channels "
                           "instead")
    padded, span = length + sum(pads[1]), dilation[1] * (k - 1) + 1
    if padded < span:
        raise RuntimeError(f"Calculated padded input size per channel: ({padded}). Kernel size: ({span}). Kernel "
                           "size can't be greater than actual input size")
    return _nn.conv2d(input, weight, bias, stride, pads, dilation, groups)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    if input.dim() != 4:
        if input.dim() == 3:
            return unfold(input.unsqueeze(0), kernel_size, dilation, padding, stride).squeeze(0)
        raise RuntimeError(f"Input Error: Only 3D or 4D input Tensors are supported (got {input.dim()}D)")
    return _nn.unfold(input, _pair(kernel_size), _pair(dilation), _pair(padding), _pair(stride))


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    if input.dim() == 2:
        return fold(input.unsqueeze(0), output_size, kernel_size, dilation, padding, stride).squeeze(0)
    return _nn.fold(input, _pair(output_size), _pair(kernel_size), _pair(dilation), _pair(padding), _pair(stride))


# into columns that fold (col2im) sums into the image
def _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, spatial, name):
    if input.dim() not in (spatial + 1, spatial + 2):
        raise RuntimeError(f"Expected {spatial + 1}D (unbatched) or {spatial + 2}D (batched) input to {name}, but "
                           f"got input of size: {list(input.shape)}")
    if input.dim() == spatial + 1:
        return _conv_transpose(input.unsqueeze(0), weight, bias, stride, padding, output_padding, groups, dilation,
                               spatial, name).squeeze(0)
    if input.dtype is not weight.dtype:
        raise RuntimeError(f"expected scalar type {input.dtype.name.capitalize()} but found "
                           f"{weight.dtype.name.capitalize()}")
    if spatial == 1:  # a height-1 image
        out = _conv_transpose(input.unsqueeze(2), weight.unsqueeze(2), bias, (1,) + _pair(stride, 1),
                              (0,) + _pair(padding, 1), (0,) + _pair(output_padding, 1), groups,
                              (1,) + _pair(dilation, 1), 2, name)
        return out.squeeze(2)
    stride, padding, output_padding, dilation = (_pair(v) for v in (stride, padding, output_padding, dilation))
    n, c, h, w = input.shape
    cin, og, kh, kw = weight.shape
    if c != cin:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected input"
                           f"{list(input.shape)} to have {cin} channels, but got {c} channels instead")
    if any(o >= s and o >= d for o, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError("output padding must be smaller than either stride or dilation, but got "
                           f"output_padding_height: {output_padding[0]} output_padding_width: {output_padding[1]} "
                           f"stride_height: {stride[0]} stride_width: {stride[1]} dilation_height: {dilation[0]} "
                           f"dilation_width: {dilation[1]}")
    # columns (N, G, out/G * kh * kw, H * W) from one batched product per group
    x = input.reshape(n, groups, c // groups, h * w)
    wg = weight.reshape(groups, c // groups, og * kh * kw).transpose(-2, -1)
    cols = wg.matmul(x).reshape(n, groups * og * kh * kw, h * w)
    full = tuple((i - 1) * s + d * (k - 1) + 1 for i, s, d, k in zip((h, w), stride, dilation, (kh, kw)))
    out = _nn.fold(cols, full, (kh, kw), dilation, (0, 0), stride)
    # crop the padding, then output_padding extends the far edges (with zeros past the full image)
    size = tuple(f - 2 * p + o for f, p, o in zip(full, padding, output_padding))
    extra = tuple(max(0, p + s - f) for p, s, f in zip(padding, size, full))
    if any(extra):
        out = pad(out, (0, extra[1], 0, extra[0]))
    if any(padding) or any(extra) or any(output_padding):
        out = out[:, :, padding[0]:padding[0] + size[0], padding[1]:padding[1] + size[1]]
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    return out


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 2,
                           "conv_transpose2d")


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 1,
                           "conv_transpose1d")


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    _check_conv(input, weight, bias, groups, "conv3d", 3)
    if input.dim() == 4:
        return conv3d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    stride, dilation = _triple(stride), _triple(dilation)
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    kernel = tuple(weight.shape[2:])
    pads = _conv_padding(padding, kernel, dilation, stride, 3)
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
    return _nn.conv3d(input, weight, bias, stride, pads, dilation, groups)


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

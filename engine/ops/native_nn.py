"""The torch-level low-level forms of nn functions: `torch.native_*_norm` (the normalised output
together with the statistics its backward saves: mean and reciprocal standard deviation) and
`torch.grid_sampler*` (grid_sample with its modes given as numbers).

Each output is the engine's own nn node; the statistics are computed beside it.
"""

from ._registry import binds


def _nn():
    from . import nn   # loaded on first use: the engine's import does not pay for the nn kernels
    return nn


def _rstd(var, eps):
    return (var + eps).rsqrt()


@binds("native_layer_norm", method=False)
def native_layer_norm(input, normalized_shape, weight, bias, eps):
    k = len(tuple(normalized_shape))
    out = _nn().layer_norm(input, k, weight, bias, eps)
    dims = tuple(range(input.dim() - k, input.dim()))
    x = input.detach()   # PyTorch's saved statistics carry no gradient here
    return out, x.mean(dims, keepdim=True), _rstd(x.var(dims, unbiased=False, keepdim=True), eps)


@binds("native_batch_norm", method=False)
def native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps):
    if training:
        dims = (0,) + tuple(range(2, input.dim()))
        x = input.detach()
        mean, rstd = x.mean(dims), _rstd(x.var(dims, unbiased=False), eps)
    else:   # evaluation saves nothing: empty statistics
        mean = rstd = input.new_empty((0,))
    out = _nn().batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    return out, mean, rstd


@binds("native_group_norm", method=False)
def native_group_norm(input, weight, bias, N, C, HxW, group, eps):
    x = input.reshape(N, group, (C // group) * HxW)   # explicit: N may be 0
    out = _nn().layer_norm(x, 1, None, None, eps).reshape(input.shape)
    shape = (1, C) + (1,) * (input.dim() - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    # here the statistics are differentiable outputs, as in PyTorch
    return out, x.mean(-1), _rstd(x.var(-1, unbiased=False), eps)




_INTERPOLATION = ("bilinear", "nearest", "bicubic")
_PADDING = ("zeros", "border", "reflection")


@binds("grid_sampler", "grid_sampler_2d", "grid_sampler_3d", method=False)
def grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners):
    from ..nn.functional import grid_sample
    return grid_sample(input, grid, _INTERPOLATION[interpolation_mode], _PADDING[padding_mode], align_corners)

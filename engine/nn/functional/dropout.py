"""Dropout in its element, feature and alpha forms."""
import math

import numpy as np

from ...tensor import Tensor
from ._utils import _on


def _dropout_mask(input, p, shape):
    from ...creation import default_generator
    # PyTorch: empty_like(input).bernoulli_(1 - p), filled in the input's memory order (an attention
    # output is often a transposed view): drawn in that order here too, so seeded masks are PyTorch's
    order = _memory_order(input) if tuple(shape) == tuple(input.shape) else None
    if order is None:
        mask = default_generator._rng.bernoulli(tuple(shape), 1.0 - p, input._data.dtype)
    else:
        drawn = default_generator._rng.bernoulli(tuple(shape[a] for a in order), 1.0 - p, input._data.dtype)
        mask = np.ascontiguousarray(np.transpose(drawn, np.argsort(order)))
    mask /= (1.0 - p)
    if input.device.type != "cpu":
        mask = input.device.backend.from_numpy(mask, input.device.index)
    return Tensor._make(mask, device=input.device)


def _memory_order(input):
    """The axes of a dense but permuted tensor from outermost to innermost in memory, or None when it
    is laid out in order (or not dense)."""
    data = input._data
    if data.ndim < 2 or data.flags.c_contiguous:
        return None
    strides = [s // data.itemsize for s in data.strides]
    order = sorted(range(data.ndim), key=lambda a: (-strides[a], a))
    expected = 1
    for a in reversed(order):  # dense: each stride is the product of the sizes inside it
        if data.shape[a] != 1 and strides[a] != expected:
            return None
        expected *= data.shape[a]
    return order


def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout(input, p=0.5, training=True, inplace=False):
    _check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0 if not inplace else input.mul_(0.0)
    mask = _dropout_mask(input, p, input.shape)
    return input.mul_(mask) if inplace else input * mask


def _feature_dropout(input, p, training, inplace, batched_dims):
    _check_p(p)
    if not training or p == 0.0:
        return input
    shape = tuple(input.shape[:batched_dims]) + (1,) * (input.dim() - batched_dims)
    if p == 1.0:
        return input * 0.0
    mask = _dropout_mask(input, p, shape)
    return input.mul_(mask) if inplace else input * mask


def dropout1d(input, p=0.5, training=True, inplace=False):
    return _feature_dropout(input, p, training, inplace, 2 if input.dim() == 3 else 1)


def dropout2d(input, p=0.5, training=True, inplace=False):
    return _feature_dropout(input, p, training, inplace, 2 if input.dim() == 4 else 1)


def dropout3d(input, p=0.5, training=True, inplace=False):
    return _feature_dropout(input, p, training, inplace, 2 if input.dim() == 5 else 1)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    _check_p(p)
    if not training or p == 0.0:
        return input
    alpha = -1.7580993408473766
    a = ((1 - p) * (1 + p * alpha ** 2)) ** -0.5
    b = -a * alpha * p
    from ...creation import default_generator
    keep = default_generator._rng.bernoulli(tuple(input.shape), 1.0 - p, input._data.dtype)
    keep_t = Tensor._make(keep)
    return (input * keep_t + alpha * (1 - keep_t)) * a + b


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout of whole channels: one draw per (sample, channel), SELU's fixed point kept."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    if input.dim() < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    if p == 1.0:
        return input * 0.0
    from ...creation import default_generator
    shape = tuple(input.shape[:2]) + (1,) * (input.dim() - 2)
    keep = _on(default_generator._rng.bernoulli(shape, 1.0 - p, input._data.dtype), input)
    alpha = 1.7580993408473766
    a = 1.0 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    shift = (keep - 1) * (alpha * a) + alpha * a * p
    if inplace:
        return input.mul_(keep * a).add_(shift)
    return input * (keep * a) + shift

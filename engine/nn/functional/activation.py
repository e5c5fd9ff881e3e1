"""Activations, softmax and their in-place twins."""
import warnings

from ... import creation
from ...ops import elementwise as _ew
from ...ops import nn as _nn
from ...ops.inplace import run_inplace
from ...ops.reduce import normalize_dim
from ..._dtype import float64


def relu(input, inplace=False):
    if inplace:
        return input.relu_()
    return _ew.relu(input)


def relu_(input):
    return input.relu_()


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    if inplace:
        return run_inplace(input, lambda old: _nn.leaky_relu(old, negative_slope), "leaky_relu_")
    return _nn.leaky_relu(input, negative_slope)


def gelu(input, approximate="none"):
    return _nn.gelu(input, approximate)


def elu(input, alpha=1.0, inplace=False):
    return _nn.elu(input, alpha)


def selu(input, inplace=False):
    return _nn.elu(input, 1.6732632423543772848170429916717, 1.0507009873554804934193349852946)


def celu(input, alpha=1.0, inplace=False):
    return _nn.elu(input, alpha, 1.0, 1.0 / alpha)


def silu(input, inplace=False):
    return _nn.silu(input)


def mish(input, inplace=False):
    return input * softplus(input).tanh()


def softplus(input, beta=1.0, threshold=20.0):
    return _nn.softplus(input, beta, threshold)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if inplace:
        return run_inplace(input, lambda old: _nn.hardtanh(old, min_val, max_val), "hardtanh_")
    return _nn.hardtanh(input, min_val, max_val)


def sigmoid(input):
    return _ew.sigmoid(input)


def tanh(input):
    return _ew.tanh(input)


def hardsigmoid(input, inplace=False):
    return relu6(input + 3) / 6


def hardswish(input, inplace=False):
    return input * relu6(input + 3) / 6


def logsigmoid(input):
    return -softplus(-input)


def softsign(input):
    return input / (input.abs() + 1)


def tanhshrink(input):
    return input - input.tanh()


def threshold(input, threshold, value, inplace=False):
    return _ew.where(input > threshold, input, value)


def _softmax_dim(name, ndim, stacklevel=3):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
                  "dim=X as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def _softmax_like(op, name, input, dim, dtype, stacklevel=3):
    if dim is None:
        # one frame more than PyTorch's (this helper), so the warning names the caller's line
        dim = _softmax_dim(name, input.dim(), stacklevel + 1)
    if dtype is not None:
        input = input.to(dtype)
    if input.dim() == 0:
        return op(input.reshape(1), normalize_dim(dim, 0)).reshape(())
    return op(input, normalize_dim(dim, input.dim()))


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    return _softmax_like(_nn.softmax, "softmax", input, dim, dtype, _stacklevel)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    return _softmax_like(_nn.softmax, "softmin", -input, dim, dtype, _stacklevel)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    return _softmax_like(_nn.log_softmax, "log_softmax", input, dim, dtype, _stacklevel)


def prelu(input, weight):
    if weight.dim() > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.dim()}")
    channels = input.shape[1] if input.dim() >= 2 else 1
    if weight.numel() == 1:
        w = weight.reshape(())
    elif weight.numel() == channels:
        w = weight.reshape((1, channels) + (1,) * (input.dim() - 2))  # one slope per channel (dim 1)
    else:
        raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                           f"{weight.numel()} and channel size = {channels}.")
    return _ew.where(input > 0, input, w * input)


def glu(input, dim=-1):
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    dim = normalize_dim(dim, input.dim())
    if input.shape[dim] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim} is size {input.shape[dim]}")
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


def softshrink(input, lambd=0.5):
    if lambd < 0:
        raise RuntimeError(f"lambda must be in range [0, inf) for input dtype {input.dtype.title}, but found "
                           f"{lambd}")
    return input - input.clamp(-lambd, lambd)  # x -+ lambd outside the band, 0 (and no gradient) inside


def hardshrink(input, lambd=0.5):
    return _ew.where(input.abs() > lambd, input, 0.0)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    if inplace:
        return run_inplace(input, lambda old: rrelu(old, lower, upper, training), "rrelu_")
    if not training:
        return leaky_relu(input, (lower + upper) / 2)
    return rrelu_sampled(input, lower, upper)


def rrelu_sampled(input, lower, upper, generator=None):
    """Training-mode rrelu as PyTorch draws it: one double-precision uniform slope per element at or
    below zero, in order, the elements above zero keeping slope 1."""
    negative = input.detach() <= 0
    count = int(negative.sum().item())
    drawn = creation.empty(count, dtype=float64).uniform_(lower, upper, generator=generator)
    slopes = creation.ones(tuple(input.shape), dtype=float64, device=input.device)
    slopes[negative] = drawn.to(input.device)
    return _ew.where(negative, input * slopes.to(input.dtype), input)


def _inplace(name, fn):
    def variant(input, *args, **kwargs):
        return run_inplace(input, lambda old: fn(old, *args, **kwargs), name, (args, kwargs))
    variant.__name__ = variant.__qualname__ = name
    return variant


# the in-place twins PyTorch exports from nn.functional (the out-of-place forms may ignore `inplace`)
elu_ = _inplace("elu_", lambda x, alpha=1.0: elu(x, alpha))


leaky_relu_ = _inplace("leaky_relu_", lambda x, negative_slope=0.01: leaky_relu(x, negative_slope))


hardtanh_ = _inplace("hardtanh_", lambda x, min_val=-1.0, max_val=1.0: hardtanh(x, min_val, max_val))


_threshold = threshold  # the twin's own parameter is called `threshold`
threshold_ = _inplace("threshold_", lambda x, threshold, value: _threshold(x, threshold, value))


celu_ = _inplace("celu_", lambda x, alpha=1.0: celu(x, alpha))


selu_ = _inplace("selu_", lambda x: selu(x))


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, inplace=True)


def gumbel_softmax(logits, tau=1, hard=False, eps=1e-10, dim=-1):
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    gumbels = -creation.empty_like(logits).exponential_().log()  # ~Gumbel(0, 1)
    y_soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return y_soft
    index = y_soft.max(dim, keepdim=True)[1]
    y_hard = creation.zeros_like(logits).scatter_(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft  # straight through: one-hot values, soft gradients

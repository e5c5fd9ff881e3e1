"""nn.functional: more activations, distances, padding, normalisation and losses (re-exported by
functional.py). Everything here is a composite of engine ops, so autograd, devices and the graph view
come for free."""
import math
import warnings

import numpy as np

from .. import creation
from ..autograd import no_grad
from ..ops import elementwise as _ew
from ..ops.inplace import run_inplace
from ..ops.reduce import normalize_dim
from . import functional as F

__all__ = ["prelu", "glu", "softshrink", "hardshrink", "rrelu", "elu_", "leaky_relu_", "hardtanh_", "threshold_",
           "celu_", "selu_", "rrelu_", "gumbel_softmax", "instance_norm", "rms_norm", "local_response_norm",
           "adaptive_avg_pool1d", "adaptive_max_pool1d", "lp_pool1d", "lp_pool2d", "margin_ranking_loss",
           "hinge_embedding_loss", "cosine_embedding_loss", "triplet_margin_loss", "gaussian_nll_loss",
           "poisson_nll_loss", "soft_margin_loss", "multilabel_soft_margin_loss", "multi_margin_loss",
           "multilabel_margin_loss"]


# ---------------------------------------------------------------------------------------------
# activations
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
        raise RuntimeError(f"lambda must be in range [0, inf) for input dtype {F._title(input.dtype)}, but found "
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
        return F.leaky_relu(input, (lower + upper) / 2)
    slopes = creation.empty_like(input).uniform_(lower, upper)  # a random slope per element
    return _ew.where(input > 0, input, input * slopes)


def _inplace(name, fn):
    def variant(input, *args, **kwargs):
        return run_inplace(input, lambda old: fn(old, *args, **kwargs), name, (args, kwargs))
    variant.__name__ = variant.__qualname__ = name
    return variant


# the in-place twins PyTorch exports from nn.functional (the out-of-place forms may ignore `inplace`)
elu_ = _inplace("elu_", lambda x, alpha=1.0: F.elu(x, alpha))
leaky_relu_ = _inplace("leaky_relu_", lambda x, negative_slope=0.01: F.leaky_relu(x, negative_slope))
hardtanh_ = _inplace("hardtanh_", lambda x, min_val=-1.0, max_val=1.0: F.hardtanh(x, min_val, max_val))
threshold_ = _inplace("threshold_", lambda x, threshold, value: F.threshold(x, threshold, value))
celu_ = _inplace("celu_", lambda x, alpha=1.0: F.celu(x, alpha))
selu_ = _inplace("selu_", lambda x: F.selu(x))


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


# ---------------------------------------------------------------------------------------------
# normalisation
def _channel_shape(input):
    return (1, input.shape[1]) + (1,) * (input.dim() - 2)


# supersedes the statistics-free version in functional.py (its star import rebinds the name)
def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    if use_input_stats and math.prod(input.shape[2:]) == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size {input.shape}")
    if not use_input_stats and (running_mean is None or running_var is None):
        raise RuntimeError("Expected running_mean and running_var to be defined when use_input_stats is false")
    n, c = input.shape[0], input.shape[1]
    # batch norm over (1, n*c, ...): each instance's channel is a channel of its own, with its own
    # copy of the running statistics, averaged back over the batch afterwards (as PyTorch does)
    stats = [None if s is None else s.repeat(n) for s in (running_mean, running_var)]
    out = F.batch_norm(input.reshape(1, n * c, *input.shape[2:]), stats[0], stats[1], None, None,
                       use_input_stats, momentum, eps).reshape(input.shape)
    with no_grad():
        for buf, per_instance in zip((running_mean, running_var), stats):
            if buf is not None:
                buf.copy_(per_instance.view(n, c).mean(0))
    if weight is not None:
        out = out * weight.reshape(_channel_shape(input))
    if bias is not None:
        out = out + bias.reshape(_channel_shape(input))
    return out


def rms_norm(input, normalized_shape, weight=None, eps=None):
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if input.dim() < k or tuple(input.shape[input.dim() - k:]) != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*{', '.join(map(str, shape))}], but got input of size{list(input.shape)}")
    if eps is None:  # the machine epsilon of the type PyTorch computes in (float32 for half)
        eps = float(np.finfo(np.float64 if input.dtype.name == "float64" else np.float32).eps)
    out = input * (input * input).mean(tuple(range(-k, 0)), keepdim=True).add(eps).rsqrt()
    return out * weight if weight is not None else out


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    dim = input.dim()
    if dim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality                          input (got {dim} "
                         "dimensions)")
    if input.numel() == 0:
        return input
    # the mean of squares over a window of `size` channels, as a (size x 1) average pool
    sq = (input * input).reshape(input.shape[0], 1, input.shape[1], -1)
    sq = F.pad(sq, (0, 0, size // 2, (size - 1) // 2))
    div = F.avg_pool2d(sq, (size, 1), stride=1).reshape(input.shape)
    return input / (div * alpha + k) ** beta


# ---------------------------------------------------------------------------------------------
# pooling
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
        out = F.max_pool1d(input.abs() if norm_type > 0 else -input.abs(), kernel_size, stride, 0, 1, ceil_mode)
        return out if norm_type > 0 else -out
    out = F.avg_pool1d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (out.sign() * F.relu(out.abs())).mul(kernel_size).pow(1.0 / norm_type)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    kw, kh = F._pair(kernel_size)
    if norm_type in (math.inf, -math.inf):
        out = F.max_pool2d(input.abs() if norm_type > 0 else -input.abs(), kernel_size, stride, 0, 1, ceil_mode)
        return out if norm_type > 0 else -out
    out = F.avg_pool2d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (out.sign() * F.relu(out.abs())).mul(kw * kh).pow(1.0 / norm_type)


# ---------------------------------------------------------------------------------------------
# losses
def _reduce(loss, reduction):
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


def _legacy(size_average, reduce, reduction):
    reduction = F._reduction(size_average, reduce, reduction)
    F._check_reduction(reduction)
    return reduction


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    reduction = _legacy(size_average, reduce, reduction)
    if not input1.dim() == input2.dim() == target.dim():
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: {input1.shape}, input2: {input2.shape}, target: {target.shape} ")
    return _reduce((-target * (input1 - input2) + margin).clamp_min(0), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    reduction = _legacy(size_average, reduce, reduction)
    loss = _ew.where(target != 1, (margin - input).clamp_min(0), 0.0) + _ew.where(target != -1, input, 0.0)
    return _reduce(loss, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    reduction = _legacy(size_average, reduce, reduction)
    return _reduce((-target * input).exp().log1p(), reduction)


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    reduction = _legacy(size_average, reduce, reduction)
    dim = target.dim()
    if dim > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if input1.dim() != dim + 1 or input2.dim() != dim + 1:
        raise RuntimeError(f"{dim}D target tensor expects {dim + 1}D input tensors, but found inputs with sizes "
                           f"{list(input1.shape)} and {list(input2.shape)}.")
    eps = 1e-12  # PyTorch's, added to both squared magnitudes
    cos = (input1 * input2).sum(dim) / (((input1 * input1).sum(dim) + eps) * ((input2 * input2).sum(dim) + eps)).sqrt()
    loss = _ew.where(target == 1, 1 - cos, 0.0) + _ew.where(target == -1, (cos - margin).clamp_min(0), 0.0)
    return _reduce(loss, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean"):
    reduction = _legacy(size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    if not anchor.dim() == positive.dim() == negative.dim():
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {anchor.dim()}D, positive {positive.dim()}D, and negative "
                           f"{negative.dim()}D inputs")
    d_pos = F.pairwise_distance(anchor, positive, p, eps)
    d_neg = F.pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = d_neg.minimum(F.pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + d_pos - d_neg).clamp_min(0), reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = var * creation.ones_like(input)
    elif bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):  # one variance per sample: broadcast over the last dim
            var = var.unsqueeze(-1)
        elif not (input.dim() == var.dim() and sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    var = var.clone()
    with no_grad():
        var.clamp_(min=eps)  # clamped for stability, the gradient passing through unchanged (as PyTorch)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    reduction = _legacy(size_average, reduce, reduction)
    loss = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:  # Stirling's approximation of log(target!), counted where target > 1
        stirling = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + stirling.masked_fill(target <= 1, 0)
    return _reduce(loss, reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    reduction = _legacy(size_average, reduce, reduction)
    loss = -(target * F.logsigmoid(input) + (1 - target) * F.logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss.sum(input.dim() - 1) / input.shape[-1], reduction)


def _margin_inputs(input, target):
    """(input as (N, C), target as a host array of N rows) for the multi-class margin losses."""
    if input.dim() > 2:
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                           f"{list(input.shape)}")
    x = input.reshape(-1, input.shape[-1] if input.dim() else 1)
    return x, target._host().astype(np.int64)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                      reduction="mean"):
    reduction = _legacy(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.dim() != 1:
        raise ValueError("weight must be one-dimensional")
    x, t = _margin_inputs(input, target)
    n, c = x.shape
    if target.dim() > 1 or t.size != n:
        raise RuntimeError(f"multi_margin_loss: target tensor should be 1-D with size equal to the number of input "
                           f"samples (batch size). Expected target size [{n}], but got {list(target.shape)}. Input "
                           f"has shape {list(input.shape)}.")
    if t.size and (t.min() < 0 or t.max() >= c):
        raise RuntimeError("target out of range")
    t = t.reshape(n, 1)
    t_dev = creation.tensor(t, device=input.device)
    z = (margin - x.gather(1, t_dev) + x).clamp_min(0)  # sum over i != y of max(0, margin - x[y] + x[i])^p
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * weight[t_dev]
    is_target = creation.tensor(t == np.arange(c), device=input.device)
    loss = z.masked_fill(is_target, 0).sum(1) / c
    return _reduce(loss.reshape(target.shape), reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    reduction = _legacy(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: {list(input.shape)}")
    x, t = _margin_inputs(input, target)
    n, c = x.shape
    t = t.reshape(n, c)
    listed = np.cumprod(t != -1, axis=1).astype(bool)  # the targets are those before the first -1
    if ((t[listed] < 0) | (t[listed] >= c)).any():
        raise RuntimeError("argument #2 'target' is out of range")
    labels = np.where(listed, t, 0)
    is_target = np.zeros((n, c), bool)
    is_target[np.nonzero(listed)[0], labels[listed]] = True
    # every (listed target j, non-target i) pair: max(0, 1 - (x[j] - x[i]))
    x_j = x.gather(1, creation.tensor(labels, device=input.device))
    pairs = listed[:, :, None] & ~is_target[:, None, :]
    z = (1 - x_j.unsqueeze(2) + x.unsqueeze(1)).clamp_min(0)
    loss = z.masked_fill(creation.tensor(~pairs, device=input.device), 0).sum((1, 2)) / c
    return _reduce(loss.reshape(input.shape[:-1]), reduction)

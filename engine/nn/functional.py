"""`torch.nn.functional`: activations, linear and convolution, pooling, normalisation,
dropout, embedding, padding and the losses, with PyTorch's signatures, graph node names and
errors. Single-node ops live in engine/ops/nn.py; the rest are compositions of primitives."""
import numbers
import warnings

import numpy as np

from .._dtype import int64
from ..ops import nn as _nn
from ..ops import elementwise as _ew
from ..ops import linalg as _la
from ..ops.reduce import normalize_dim
from ..tensor import Tensor

_TITLES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
           "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}
_SCALAR_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
                 "int32": "int", "bool": "bool"}


def _title(dtype):
    return _TITLES.get(dtype.name, dtype.name)


def _pair(v, n=2):
    if isinstance(v, (tuple, list)):
        if len(v) == 1:
            return tuple(int(v[0]) for _ in range(n))
        return tuple(int(a) for a in v)
    return (int(v),) * n


# ---------------------------------------------------------------------------------------------
# activations
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
        from ..ops.inplace import run_inplace
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
        from ..ops.inplace import run_inplace
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


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    return input / denom


# ---------------------------------------------------------------------------------------------
# linear
def linear(input, weight, bias=None):
    if input.dtype is not weight.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {_title(input.dtype)} and "
                           f"{_title(weight.dtype)}")
    nd = input.dim()
    if bias is None:
        return input.matmul(weight.t())
    if nd == 2:
        return _la.addmm(bias, input, weight.t())
    if nd == 0:
        raise RuntimeError("both arguments to linear need to be at least 1D, but they are 0D and 2D")
    in_features = input.shape[-1]
    out = _la.addmm(bias, input.reshape(-1, in_features), weight.t())
    return out.view(*input.shape[:-1], out.shape[-1])


def bilinear(input1, input2, weight, bias=None):
    # y_k = x1^T W_k x2 + b_k
    out = (input1.unsqueeze(-2).unsqueeze(-2).matmul(weight).squeeze(-2) * input2.unsqueeze(-2)).sum(-1)
    return out + bias if bias is not None else out


# ---------------------------------------------------------------------------------------------
# convolution
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
        raise RuntimeError(f"expected scalar type {_title(input.dtype)} but found {_title(weight.dtype)}")
    if bias is not None:
        if bias.dtype is not input.dtype:
            raise RuntimeError(f"Input type ({_SCALAR_NAMES.get(input.dtype.name)}) and bias type "
                               f"({_SCALAR_NAMES.get(bias.dtype.name)}) should be the same")
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


# ---------------------------------------------------------------------------------------------
# pooling
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
    from ..ops.shape import stack
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
    from .functional_spatial import adaptive_max_pool3d
    out = adaptive_max_pool3d(input.unsqueeze(-3), (1, oh, ow), return_indices)
    if return_indices:
        return out[0].squeeze(-3), out[1].squeeze(-3)
    return out.squeeze(-3)


# ---------------------------------------------------------------------------------------------
# normalisation
def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    if training:
        size = input.shape
        n = 1
        for i, s in enumerate(size):
            if i != 1:
                n *= s
        if n == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size {size}")
    c = input.shape[1] if input.dim() > 1 else input.shape[0]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
    return _nn.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    if tuple(input.shape[input.dim() - k:]) != normalized_shape or input.dim() < k:
        raise RuntimeError(f"Given normalized_shape={list(normalized_shape)}, expected input with shape "
                           f"[*, {', '.join(str(s) for s in normalized_shape)}], but got input of size"
                           f"{list(input.shape)}")
    return _nn.layer_norm(input, k, weight, bias, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    n, c = input.shape[0], input.shape[1]
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {list(input.shape)} and num_groups={num_groups}")
    x = input.reshape(n, num_groups, -1)
    x = _nn.layer_norm(x, 1, None, None, eps).reshape(input.shape)
    shape = (1, c) + (1,) * (input.dim() - 2)
    if weight is not None:
        x = x * weight.reshape(shape)
    if bias is not None:
        x = x + bias.reshape(shape)
    return x


# ---------------------------------------------------------------------------------------------
# dropout
def _dropout_mask(input, p, shape):
    from ..creation import default_generator
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
    from ..creation import default_generator
    keep = default_generator._rng.bernoulli(tuple(input.shape), 1.0 - p, input._data.dtype)
    keep_t = Tensor._make(keep)
    return (input * keep_t + alpha * (1 - keep_t)) * a + b


# ---------------------------------------------------------------------------------------------
# embedding and one_hot
def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    if input.dtype.name not in ("int64", "int32"):
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got torch.{_title(input.dtype)}Tensor instead (while checking arguments "
                           "for embedding)")
    n = weight.shape[0]
    if padding_idx is not None:
        if padding_idx > 0:
            if padding_idx >= n:
                raise AssertionError("Padding_idx must be within num_embeddings")
        elif padding_idx < 0:
            if padding_idx < -n:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx = n + padding_idx
    idx = input._data
    if idx.size and (idx.max() >= n or idx.min() < 0):
        raise IndexError("index out of range in self")
    if max_norm is not None:
        _embedding_renorm(weight, idx, max_norm, norm_type)
    return _nn.embedding(weight, idx, padding_idx, scale_grad_by_freq)


def _embedding_renorm(weight, idx, max_norm, norm_type):
    xp = weight._xp
    rows = xp.unique(idx.reshape(-1))
    data = weight._data
    norms = xp.linalg.norm(data[rows], ord=norm_type, axis=1) if norm_type != 2 else \
        xp.sqrt((data[rows] ** 2).sum(axis=1))
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
    data[rows] *= scale[:, None].astype(data.dtype)
    weight._version_box[0] += 1


def one_hot(tensor, num_classes=-1):
    if tensor.dtype is not int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    data = tensor._host()
    if data.size and data.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        if data.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(data.max()) + 1
    elif data.size and data.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    out = (data[..., None] == np.arange(num_classes)).astype(np.int64)
    result = Tensor._make(out)
    return result.to(tensor.device) if tensor.device.type != "cpu" else result


# ---------------------------------------------------------------------------------------------
# padding
def pad(input, pad, mode="constant", value=None):
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.dim():
        raise RuntimeError("Padding length should be less than or equal to two times the input dimension but got "
                           f"padding length {len(pad)} and input of dimension {input.dim()}")
    if mode == "constant":
        return _nn.constant_pad(input, pad, 0 if value is None else value)
    if value is not None and value != 0:
        raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument.")
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    return _nn.index_pad(input, pad, mode)


# ---------------------------------------------------------------------------------------------
# losses
def _reduction(size_average, reduce, reduction):
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        return "mean"
    return "sum" if reduce else "none"


def _check_reduction(reduction):
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _target_array(target):
    if target.dtype.name not in ("int64", "uint8", "int32"):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {_title(target.dtype)}")
    return target._data.astype(np.int64, copy=False)


def _weight_array(weight, input):
    if weight is None:
        return None
    return weight._data.astype(input._data.dtype, copy=False)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    nd = input.dim()
    if nd < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {nd})")
    if nd == 1 or nd == 2:
        if target.dim() > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        batch = 1 if nd == 1 else input.shape[0]
        t_batch = 1 if target.dim() == 0 else target.shape[0]
        if nd == 2 and batch != t_batch or nd == 1 and target.dim() != 0:
            if nd == 1:
                raise RuntimeError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
                                   f"({t_batch}).")
            raise ValueError(f"Expected input batch_size ({batch}) to match target batch_size ({t_batch}).")
    else:
        if input.shape[0] != target.shape[0]:
            raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
                             f"({target.shape[0]}).")
        if tuple(target.shape[1:]) != tuple(input.shape[2:]):
            raise RuntimeError(f"Expected target size {list((input.shape[0],) + tuple(input.shape[2:]))}, got "
                               f"{list(target.shape)}")
    t = _target_array(target)
    c = input.shape[0] if nd == 1 else input.shape[1]
    ignored = ignore_index
    outside = (t < 0) | (t >= c)
    if t.size and bool(outside.any()):  # one read back from a GPU, not two
        bad = (t != ignore_index) & outside
        if bad.any():
            raise IndexError(f"Target {int(t[bad].reshape(-1)[0])} is out of bounds.")
    elif not 0 <= ignore_index < c:
        ignored = None  # every target is a class: nothing to ignore
    if weight is not None and weight.numel() != c:
        raise RuntimeError(f"weight tensor should be defined either for all {c} classes or no classes but got "
                           f"weight tensor of shape: {list(weight.shape)}")
    return _nn.nll_loss(input, t, _weight_array(weight, input), ignored, reduction)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                  label_smoothing=0.0):
    reduction = _reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if label_smoothing < 0.0 or label_smoothing > 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    class_dim = 0 if input.dim() == 1 else 1
    n_classes = input.shape[class_dim]
    if tuple(input.shape) == tuple(target.shape):
        if not target.dtype.is_floating_point:
            raise RuntimeError(f"Expected floating point type for target with class probabilities, got "
                               f"{_title(target.dtype)}")
        if ignore_index >= 0 and ignore_index != -100:
            raise RuntimeError("ignore_index is not supported for floating point target")
        logp = log_softmax(input, class_dim)
        if label_smoothing > 0:
            target = target * (1 - label_smoothing) + label_smoothing / n_classes
        prod = logp * target
        if weight is not None:
            shape = [1] * input.dim()
            shape[class_dim] = n_classes
            prod = prod * weight.reshape(shape)
        loss = -prod.sum(class_dim)
        if reduction == "mean":
            return loss.sum() / (input.numel() / n_classes) if input.numel() else loss.sum() / 0.0
        if reduction == "sum":
            return loss.sum()
        return loss
    logp = log_softmax(input, class_dim)
    nll = nll_loss(logp, target, weight, None, ignore_index, None, reduction)
    if label_smoothing <= 0:
        return nll
    t = _target_array(target)
    ignore = t == ignore_index
    if weight is not None:
        shape = [1] * input.dim()
        shape[class_dim] = n_classes
        smooth = -(logp * weight.reshape(shape)).sum(class_dim)
    else:
        smooth = -logp.sum(class_dim)
    if ignore.any():
        smooth = smooth.masked_fill(Tensor._make(ignore), 0.0)
    if reduction == "mean":
        if weight is not None:
            denom = float(weight._data[t[~ignore]].sum())
        else:
            denom = float((~ignore).sum())
        ret = smooth.sum() / denom
    elif reduction == "sum":
        ret = smooth.sum()
    else:
        ret = smooth
    return nll * (1 - label_smoothing) + ret * (label_smoothing / n_classes)


def _check_same_size(input, target, name):
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size ({input.shape}). "
                      "This will likely lead to incorrect results due to broadcasting. Please ensure they have the "
                      "same size.", stacklevel=3)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    reduction = _reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    _check_same_size(input, target, "mse_loss")
    if weight is not None:
        loss = (input - target) ** 2 * weight
        return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss
    if target.dtype is not input.dtype:  # PyTorch promotes: a float32 input with int64 targets stays float32
        from .._compat import result_type
        common = result_type(input, target)
        input, target = input.to(common), target.to(common)
    return _nn.mse_loss(input, target, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    reduction = _reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    _check_same_size(input, target, "l1_loss")
    loss = (input - target).abs()
    if weight is not None:
        loss = loss * weight
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    reduction = _reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    diff = (input - target).abs()
    if beta == 0:
        loss = diff
    else:
        loss = _ew.where(diff < beta, diff * diff * (0.5 / beta), diff - 0.5 * beta)
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    _check_reduction(reduction)
    diff = (input - target).abs()
    loss = _ew.where(diff < delta, diff * diff * 0.5, (diff - 0.5 * delta) * delta)
    if weight is not None:
        loss = loss * weight
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input size ({input.shape}) "
                         "is deprecated. Please ensure they have the same size.")
    w = None
    if weight is not None:
        w = np.broadcast_to(_weight_array(weight, input), tuple(input.shape))
    return _nn.binary_cross_entropy(input, target.to(input.dtype), w, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None, reduction="mean",
                                     pos_weight=None):
    reduction = _reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({target.shape}) must be the same as input size ({input.shape})")
    return _nn.binary_cross_entropy_with_logits(input, target.to(input.dtype), _weight_array(weight, input),
                                                _weight_array(pos_weight, input), reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    reduction = _reduction(size_average, reduce, reduction)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        safe = _ew.where(target > 0, target, 1.0)
        loss = _ew.where(target > 0, target * (safe.log() - input), 0.0 * input)
    if reduction == "batchmean":
        return loss.sum() / input.shape[0]
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    # as PyTorch: each input divided by its (clamped) norm, then the product summed (SumBackward1)
    x1 = x1 / x1.norm(2, dim, keepdim=True).clamp_min(eps)
    x2 = x2 / x2.norm(2, dim, keepdim=True).clamp_min(eps)
    return (x1 * x2).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    return (x1 - x2 + eps).norm(p, -1, keepdim)


# the families kept in files of their own
from .functional_attention import *  # noqa: E402,F401,F403
from .functional_more import *  # noqa: E402,F401,F403
from .functional_spatial import *  # noqa: E402,F401,F403

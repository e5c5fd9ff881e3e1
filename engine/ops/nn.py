"""Neural-network primitives: activations, softmax, losses, normalisation, embedding, padding,
convolution and pooling, and a fused LSTM layer. Each is one graph node with PyTorch's node name.

Forwards work on raw arrays (`xp`). Convolution and pooling are vectorised with strided window
views: a convolution is one im2col copy plus one matrix product, and its backward loops only
over kernel offsets, never over pixels. Activations of convolutions are kept channels-last in
memory (an NCHW-shaped view of NHWC data), which makes the window copies contiguous.

What a forward computes and its backward reuses (im2col columns, which pooling offset won, LSTM
gates) is kept in a `Stash` passed among the op's params; it lives as long as the graph node.
VJPs take the usual math namespace `m`: on a plain backward they use NumPy directly; under
create_graph (`m is TENSOR_MATH`) they are written with differentiable tensor ops, and the bigger
kernels differentiate a composite twin built from other primitives.
"""
import math

import numpy as np

from .. import fused
from ._core import OpDef, apply, TENSOR_MATH, _xp_of
from .indexing import platform_indices

from .elementwise import erf_array, scipy_special as _special


class Stash:
    """A slot a forward fills with intermediate arrays its backward reuses."""

    __slots__ = ("value",)

    def __init__(self):
        self.value = None

    def __repr__(self):
        return "<stash>"


def _tensor_mode(m):
    return m is TENSOR_MATH


def _engine():
    import engine
    return engine


def _wrap(array):
    from ..tensor import Tensor
    return Tensor._make(array)


# ---------------------------------------------------------------------------------------------
# special functions on arrays
def sigmoid_array(xp, x, out=None):
    if xp is np and _special is not None:
        return _special.expit(x, out=out) if out is not None else _special.expit(x)
    if out is None:
        out = xp.empty_like(x)
    xp.multiply(x, 0.5, out=out)
    xp.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


# ---------------------------------------------------------------------------------------------
# softmax and log_softmax
def _softmax_forward(xp, x, axis):
    fused = getattr(xp, "fused_softmax", None)  # one kernel, where a backend has it (WebGPU)
    if fused is not None and (out := fused(x, axis)) is not None:
        return out
    e = x - x.max(axis=axis, keepdims=True)
    xp.exp(e, out=e)
    e /= e.sum(axis=axis, keepdims=True)
    return e


def _softmax_vjp(m, g, node, out):
    axis = node.params[0]
    gy = g * out
    if _tensor_mode(m):
        return gy - out * m.sum(gy, axis=axis, keepdims=True)
    s = gy.sum(axis=axis, keepdims=True)
    gy -= out * s
    return gy


def _log_softmax_forward(xp, x, axis):
    fused = getattr(xp, "fused_log_softmax", None)
    if fused is not None and (out := fused(x, axis)) is not None:
        return out
    s = x - x.max(axis=axis, keepdims=True)
    s -= xp.log(xp.exp(s).sum(axis=axis, keepdims=True))
    return s


def _log_softmax_vjp(m, g, node, out):
    axis = node.params[0]
    if _tensor_mode(m):
        return g - m.exp(out) * m.sum(g, axis=axis, keepdims=True)
    result = m.xp.exp(out)
    result *= g.sum(axis=axis, keepdims=True)
    return g - result


_softmax = OpDef("SoftmaxBackward0", _softmax_forward, _softmax_vjp, save_output=True, kind="softmax")
_log_softmax = OpDef("LogSoftmaxBackward0", _log_softmax_forward, _log_softmax_vjp, save_output=True,
                     kind="log_softmax")


def softmax(x, axis):
    return apply(_softmax, (x,), (axis,))


def log_softmax(x, axis):
    return apply(_log_softmax, (x,), (axis,))


# ---------------------------------------------------------------------------------------------
# activations
_SQRT_HALF = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_BETA = math.sqrt(2.0) * (2.0 / math.sqrt(math.pi)) * 0.5
_GELU_KAPPA = 0.044715


def _gelu_forward(xp, x, approximate):
    if approximate == "tanh":
        inner = x * x
        inner *= _GELU_KAPPA
        inner += 1
        inner *= x
        inner *= _GELU_BETA
        xp.tanh(inner, out=inner)
        inner += 1
        inner *= x
        inner *= 0.5
        return inner
    cdf = erf_array(xp, x * _SQRT_HALF)
    cdf += 1
    cdf *= x
    cdf *= 0.5
    return cdf.astype(x.dtype, copy=False)


def _gelu_vjp(m, g, node, x):
    approximate = node.params[0]
    if _tensor_mode(m):
        if approximate == "tanh":
            t = m.tanh((x + x * x * x * _GELU_KAPPA) * _GELU_BETA)
            right = x * 0.5 * (-t * t + 1) * _GELU_BETA * (x * x * (3 * _GELU_KAPPA) + 1)
            return g * ((t + 1) * 0.5 + right)
        return g * ((m.erf(x * _SQRT_HALF) + 1) * 0.5 + x * m.exp(x * x * -0.5) * _INV_SQRT_2PI)
    xp = m.xp
    if approximate == "tanh":
        x_sq = x * x
        t = xp.tanh((x + x_sq * x * _GELU_KAPPA) * _GELU_BETA)
        left_derivative = (t + 1) * 0.5
        right_derivative = (x * 0.5) * (1 - t * t) * _GELU_BETA * (1 + 3 * _GELU_KAPPA * x_sq)
        return g * (left_derivative + right_derivative)
    cdf = erf_array(xp, x * _SQRT_HALF)
    cdf += 1
    cdf *= 0.5
    pdf = xp.exp(x * x * -0.5)
    pdf *= _INV_SQRT_2PI
    pdf *= x
    cdf += pdf
    cdf *= g
    return cdf.astype(x.dtype, copy=False)


_gelu = OpDef("GeluBackward0", _gelu_forward, _gelu_vjp, save_inputs=(0,), kind="gelu")


def gelu(x, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return apply(_gelu, (x,), (approximate,))


def _leaky_relu_forward(xp, x, slope):
    return xp.where(x > 0, x, x * slope).astype(x.dtype, copy=False)


def _leaky_relu_vjp(m, g, node, x):
    slope = node.params[0]
    return m.where(m.as_mask(x > 0), g, g * slope)


_leaky_relu = OpDef("LeakyReluBackward0", _leaky_relu_forward, _leaky_relu_vjp, save_inputs=(0,),
                    kind="leaky_relu")


def leaky_relu(x, slope):
    return apply(_leaky_relu, (x,), (float(slope),))


def _elu_forward(xp, x, alpha, scale, input_scale):
    neg = xp.expm1(xp.minimum(x, 0) * input_scale) * alpha
    return (xp.where(x > 0, x, neg) * scale).astype(x.dtype, copy=False)


def _elu_vjp(m, g, node, x):
    alpha, scale, input_scale = node.params
    neg = m.exp(x * input_scale) * (alpha * scale * input_scale)
    return m.where(m.as_mask(x > 0), g * scale, g * neg)


_elu = OpDef("EluBackward0", _elu_forward, _elu_vjp, save_inputs=(0,), kind="elu")


def elu(x, alpha=1.0, scale=1.0, input_scale=1.0):
    return apply(_elu, (x,), (float(alpha), float(scale), float(input_scale)))


def _silu_forward(xp, x):
    return x * sigmoid_array(xp, x)


def _silu_vjp(m, g, node, x):
    if _tensor_mode(m):
        s = m.sigmoid(x)
    else:
        s = sigmoid_array(m.xp, x)
    return g * s * (x * (-s + 1) + 1)


_silu = OpDef("SiluBackward0", _silu_forward, _silu_vjp, save_inputs=(0,), kind="silu")


def silu(x):
    return apply(_silu, (x,), ())


def _softplus_forward(xp, x, beta, threshold):
    bx = x * beta
    soft = xp.log1p(xp.exp(xp.minimum(bx, threshold))) / beta
    return xp.where(bx > threshold, x, soft).astype(x.dtype, copy=False)


def _softplus_vjp(m, g, node, x):
    beta, threshold = node.params
    bx = x * beta
    if _tensor_mode(m):
        s = m.sigmoid(bx)
    else:
        s = sigmoid_array(m.xp, bx)
    return m.where(m.as_mask(bx > threshold), g, g * s)


_softplus = OpDef("SoftplusBackward0", _softplus_forward, _softplus_vjp, save_inputs=(0,), kind="softplus")


def softplus(x, beta=1.0, threshold=20.0):
    return apply(_softplus, (x,), (float(beta), float(threshold)))


def _hardtanh_forward(xp, x, lo, hi):
    return xp.clip(x, lo, hi)


def _hardtanh_vjp(m, g, node, x):
    lo, hi = node.params
    return m.where(m.as_mask((x > lo) & (x < hi)), g, g * 0)


_hardtanh = OpDef("HardtanhBackward0", _hardtanh_forward, _hardtanh_vjp, save_inputs=(0,), kind="hardtanh")


def hardtanh(x, lo=-1.0, hi=1.0):
    return apply(_hardtanh, (x,), (float(lo), float(hi)))


# ---------------------------------------------------------------------------------------------
# losses
def _reduce(xp, loss, reduction):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return xp.asarray(loss.sum())
    return xp.asarray(loss.mean())


def _loss_scale(m, g, reduction, n):
    """The incoming gradient of a reduced loss, ready to broadcast over the elements."""
    if reduction == "mean":
        return g / n if n else g * math.nan
    return g


def _mse_forward(xp, x, t, reduction):
    d = x - t
    d *= d
    return _reduce(xp, d, reduction)


def _mse_vjp(m, g, node, x, t):
    reduction = node.params[0]
    diff = x - t
    n = 1
    for s in diff.shape:
        n *= s
    scale = _loss_scale(m, g, reduction, n) * 2
    gx = diff * scale
    return (gx if node.needs[0] else None), (-gx if node.needs[1] else None)


_mse = OpDef("MseLossBackward0", _mse_forward, _mse_vjp, save_inputs=(0, 1), kind="mse_loss")


def mse_loss(x, t, reduction):
    return apply(_mse, (x, t), (reduction,))


_LOG_FLOOR = -100.0


def _bce_forward(xp, x, t, weight, reduction):
    if x.size and (x.min() < 0 or x.max() > 1):
        raise RuntimeError("all elements of input should be between 0 and 1")
    log_x = xp.maximum(xp.log(x), _LOG_FLOOR)
    log_1mx = xp.maximum(xp.log1p(-x), _LOG_FLOOR)
    loss = -(t * log_x + (1 - t) * log_1mx)
    if weight is not None:
        loss = loss * weight
    return _reduce(xp, loss.astype(x.dtype, copy=False), reduction)


def _bce_vjp(m, g, node, x, t):
    weight, reduction = node.params
    scale = _loss_scale(m, g, reduction, _numel(x))
    if weight is not None:
        scale = scale * (_wrap(weight) if _tensor_mode(m) else weight)
    gx = gt = None
    if node.needs[0]:
        gx = (x - t) / m.maximum((-x + 1) * x, 1e-12) * scale
    if node.needs[1]:
        gt = (m.log(-x + 1) - m.log(x)) * scale
    return gx, gt


_bce = OpDef("BinaryCrossEntropyBackward0", _bce_forward, _bce_vjp, save_inputs=(0, 1),
             kind="binary_cross_entropy")


def binary_cross_entropy(x, t, weight, reduction):
    return apply(_bce, (x, t), (weight, reduction))


def _numel(a):
    n = 1
    for s in a.shape:
        n *= s
    return n


def _bce_logits_forward(xp, x, t, weight, pos_weight, reduction):
    # (1 - t) * x + lw * log(1 + exp(-x)), written to never overflow
    softplus_neg = xp.log1p(xp.exp(-xp.abs(x))) + xp.maximum(-x, 0)
    if pos_weight is not None:
        log_weight = (pos_weight - 1) * t + 1
        loss = (1 - t) * x + log_weight * softplus_neg
    else:
        loss = (1 - t) * x + softplus_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(xp, loss.astype(x.dtype, copy=False), reduction)


def _bce_logits_vjp(m, g, node, x, t):
    weight, pos_weight, reduction = node.params
    tensor = _tensor_mode(m)
    scale = _loss_scale(m, g, reduction, _numel(x))
    if weight is not None:
        scale = scale * (_wrap(weight) if tensor else weight)
    s = m.sigmoid(x) if tensor else sigmoid_array(m.xp, x)
    pw = (_wrap(pos_weight) if tensor else pos_weight) if pos_weight is not None else None
    gx = gt = None
    if node.needs[0]:
        if pw is not None:
            gx = (((pw - 1) * t + 1) * s - pw * t) * scale
        else:
            gx = (s - t) * scale
    if node.needs[1]:
        if pw is not None:
            softplus_neg = m.log(m.exp(-m.abs(x)) + 1) + m.maximum(-x, 0)
            gt = ((pw - 1) * softplus_neg - x) * scale
        else:
            gt = -x * scale
    return gx, gt


_bce_logits = OpDef("BinaryCrossEntropyWithLogitsBackward0", _bce_logits_forward, _bce_logits_vjp,
                    save_inputs=(0, 1), kind="binary_cross_entropy_with_logits")


def binary_cross_entropy_with_logits(x, t, weight, pos_weight, reduction):
    return apply(_bce_logits, (x, t), (weight, pos_weight, reduction))


def _nll_parts(xp, x, target, weight, ignore_index):
    """Picked log-probabilities and per-element weights (zero where ignored)."""
    valid = target != (ignore_index if ignore_index is not None else -1)
    safe = xp.where(valid, target, 0)
    picked = xp.take_along_axis(x, safe[:, None], axis=1)[:, 0]
    w = weight[safe] if weight is not None else xp.ones(safe.shape, dtype=x.dtype)
    w = w * valid
    return safe, picked, w.astype(x.dtype, copy=False)


def _nll_simple(x, target, weight, ignore_index):
    """The common case, (N, C) input, no class weights, nothing ignored (ignore_index None): plain
    row indexing."""
    return x.ndim == 2 and weight is None and ignore_index is None


def _nll_forward(xp, x, target, weight, ignore_index, reduction):
    if _nll_simple(x, target, weight, ignore_index):
        picked = x[xp.arange(x.shape[0]), target]
        if reduction == "none":
            return -picked
        total = -picked.sum()
        return xp.asarray(total if reduction == "sum" else total / x.shape[0])
    unbatched = x.ndim == 1
    if unbatched:
        x, target = x[None], target.reshape(1)
    _, picked, w = _nll_parts(xp, x, target, weight, ignore_index)
    loss = -picked * w
    if reduction == "none":
        return loss.reshape(()) if unbatched else loss
    if reduction == "sum":
        return xp.asarray(loss.sum())
    return xp.asarray(loss.sum() / w.sum())


def _nll_vjp(m, g, node):
    target, weight, ignore_index, reduction = node.params
    shape = node.shapes[0]
    if not _tensor_mode(m) and len(shape) == 2 and weight is None and ignore_index is None:
        n = shape[0]
        gx = m.xp.zeros(shape, dtype=g.dtype)
        gx[m.xp.arange(n), target] = -g if reduction != "mean" else -g / n
        return gx
    if len(shape) == 1:  # an unbatched (C,) input: work on (1, C)
        gx = _nll_vjp_batched(m, g.reshape((1,)) if reduction == "none" else g, (1,) + tuple(shape),
                              target.reshape(1), weight, ignore_index, reduction)
        return gx.reshape(shape)
    return _nll_vjp_batched(m, g, shape, target, weight, ignore_index, reduction)


def _nll_vjp_batched(m, g, shape, target, weight, ignore_index, reduction):
    if _tensor_mode(m):
        dtype = g._data.dtype
    else:
        dtype = g.dtype
    xp = _xp_of(target)
    valid = target != (ignore_index if ignore_index is not None else -1)
    safe = xp.where(valid, target, 0)
    w = (weight[safe] if weight is not None else xp.ones(safe.shape, dtype=dtype)) * valid
    w = -w.astype(dtype, copy=False)
    if reduction == "mean":
        w = w / -w.sum()
    if _tensor_mode(m):
        coef = xp.zeros(shape, dtype=dtype)
        xp.put_along_axis(coef, safe[:, None], w[:, None], axis=1)
        if reduction == "none":
            return g.unsqueeze(1) * _wrap(coef)
        return g * _wrap(coef)
    if reduction == "none":
        w = w * g
    else:
        w *= g
    gx = xp.zeros(shape, dtype=dtype)
    xp.put_along_axis(gx, safe[:, None], w[:, None], axis=1)
    return gx


_nll = OpDef("NllLossBackward0", _nll_forward, _nll_vjp, kind="nll_loss")
_nll2d = OpDef("NllLoss2DBackward0", _nll_forward, _nll_vjp, kind="nll_loss")


def nll_loss(x, target, weight, ignore_index, reduction):
    """x: (N, C, *d) log-probabilities, target: (N, *d) class indices (arrays checked by the caller)."""
    op = _nll2d if x._data.ndim >= 3 else _nll
    return apply(op, (x,), (target, weight, ignore_index, reduction))


# ---------------------------------------------------------------------------------------------
# embedding
def _embedding_forward(xp, weight, indices, padding_idx, scale_grad):
    return xp.take(weight, platform_indices(indices), axis=0)


def _embedding_vjp(m, g, node):
    indices, padding_idx, scale_grad = node.params
    shape = node.shapes[0]
    flat = indices.reshape(-1)
    if _tensor_mode(m):
        g2 = g.reshape(flat.shape[0], shape[1])
        xp = _xp_of(flat)
        keep = xp.ones((flat.shape[0], 1), dtype=g._data.dtype)
        if padding_idx is not None:
            keep[flat == padding_idx] = 0
        if scale_grad:
            counts = xp.bincount(flat, minlength=shape[0])
            keep = keep / counts[flat][:, None]
        return m.scatter_into(shape, (flat,), g2 * _wrap(keep))
    xp = m.xp
    g2 = g.reshape(-1, shape[1])
    if padding_idx is not None or scale_grad:
        g2 = g2.copy()
        if padding_idx is not None:
            g2[flat == padding_idx] = 0
        if scale_grad:
            counts = xp.bincount(flat, minlength=shape[0])
            g2 /= counts[flat][:, None]
    out = xp.zeros(shape, dtype=g.dtype)
    xp.add.at(out, flat, g2)
    return out


_embedding = OpDef("EmbeddingBackward0", _embedding_forward, _embedding_vjp, kind="embedding")


def embedding(weight, indices, padding_idx=None, scale_grad_by_freq=False):
    return apply(_embedding, (weight,), (indices, padding_idx, bool(scale_grad_by_freq)))


# ---------------------------------------------------------------------------------------------
# constant padding (negative pads crop); its VJP is the opposite padding
def _pad_forward(xp, x, pads, value):
    nd = x.ndim
    pairs = [(0, 0)] * nd
    for i in range(len(pads) // 2):
        pairs[nd - 1 - i] = (pads[2 * i], pads[2 * i + 1])
    out_shape = tuple(s + a + b for s, (a, b) in zip(x.shape, pairs))
    if any(s < 0 for s in out_shape):
        raise RuntimeError(f"The input size {x.shape[-1]}, plus negative padding {pairs[-1][0]} and "
                           f"{pairs[-1][1]} resulted in a negative output size, which is invalid. Check "
                           "dimension {nd - 1} of your input.")
    out = xp.full(out_shape, value, dtype=x.dtype) if value != 0 else xp.zeros(out_shape, dtype=x.dtype)
    src, dst = [], []
    for s, (a, b) in zip(x.shape, pairs):
        src.append(slice(max(-a, 0), s - max(-b, 0)))
        dst.append(slice(max(a, 0), max(a, 0) + s - max(-a, 0) - max(-b, 0)))
    out[tuple(dst)] = x[tuple(src)]
    return out


def _pad_vjp(m, g, node):
    pads, _ = node.params
    neg = tuple(-p for p in pads)
    if _tensor_mode(m):
        return constant_pad(g, neg, 0)
    return _pad_forward(m.xp, g, neg, 0)


_constant_pad = OpDef("ConstantPadNdBackward0", _pad_forward, _pad_vjp, kind="pad")


def constant_pad(x, pads, value=0):
    return apply(_constant_pad, (x,), (tuple(int(p) for p in pads), value))


def _gather_pad_forward(xp, x, index):
    return x[index]


def _gather_pad_vjp(m, g, node):
    index = node.params[0]
    return m.scatter_into(node.shapes[0], index, g, True)


_PAD_NAMES = {"reflect": "ReflectionPad{}DBackward0", "replicate": "ReplicationPad{}DBackward0",
              "circular": "CircularPad{}DBackward0"}
_gather_pads = {}


def index_pad(x, pads, mode):
    """reflect / replicate / circular padding as one gather along the padded dims."""
    nd = x._data.ndim
    k = len(pads) // 2
    grids = []
    for i in range(k):
        dim = nd - 1 - i
        n = x._data.shape[dim]
        a, b = pads[2 * i], pads[2 * i + 1]
        pos = np.arange(-a, n + b)
        if mode == "reflect":
            if a >= n or b >= n:
                raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding input "
                                   f"dimension, but got: padding ({a}, {b}) at dimension {dim} of input "
                                   f"{list(x._data.shape)}")
            period = 2 * (n - 1) if n > 1 else 1
            pos = np.abs(pos) % period
            pos = np.where(pos >= n, period - pos, pos)
        elif mode == "replicate":
            pos = np.clip(pos, 0, n - 1)
        else:
            if a > n or b > n:
                raise RuntimeError("Padding value causes wrapping around more than once.")
            pos = pos % n
        grids.append((dim, pos))
    index = [slice(None)] * nd
    shape_count = len(grids)
    for j, (dim, pos) in enumerate(sorted(grids)):
        view = [1] * shape_count
        view[j] = pos.size
        index[dim] = x._xp.asarray(pos.reshape(view))  # the gather's indices live with the data
    key = (mode, k)
    op = _gather_pads.get(key)
    if op is None:
        op = _gather_pads[key] = OpDef(_PAD_NAMES[mode].format(k), _gather_pad_forward, _gather_pad_vjp,
                                       kind="pad")
    return apply(op, (x,), (tuple(index),))


# ---------------------------------------------------------------------------------------------
# layer norm and batch norm
def _layer_norm_forward(xp, x, *rest):
    k, eps, stash = rest[-3:]
    affine = rest[:-3]
    axes = tuple(range(x.ndim - k, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    xc = x - mean
    var = (xc * xc).mean(axis=axes, keepdims=True)
    rstd = 1.0 / xp.sqrt(var + eps)
    xhat = xc * rstd
    stash.value = (xhat, rstd)
    out = xhat
    if affine:
        out = xhat * affine[0]
        if len(affine) > 1:
            out += affine[1]
    return out.astype(x.dtype, copy=False)


def _layer_norm_vjp(m, g, node, x, *affine):
    k, eps, stash = node.params
    shape = node.shapes[0]
    axes = tuple(range(len(shape) - k, len(shape)))
    batch_axes = tuple(range(len(shape) - k))
    n = 1
    for a in axes:
        n *= shape[a]
    w = affine[0] if affine else None
    if _tensor_mode(m):
        mean = m.sum(x, axis=axes, keepdims=True) / n
        xc = x - mean
        rstd = (m.sum(xc * xc, axis=axes, keepdims=True) / n + eps).rsqrt()
        xhat = xc * rstd
    else:
        xhat, rstd = stash.value
    gxhat = g * w if w is not None else g
    grads = [None] * len(node.shapes)
    if node.needs[0]:
        mean_g = m.sum(gxhat, axis=axes, keepdims=True) / n
        mean_gx = m.sum(gxhat * xhat, axis=axes, keepdims=True) / n
        grads[0] = (gxhat - mean_g - xhat * mean_gx) * rstd
    if len(grads) > 1 and node.needs[1]:
        grads[1] = m.sum(g * xhat, axis=batch_axes) if batch_axes else g * xhat
    if len(grads) > 2 and node.needs[2]:
        grads[2] = m.sum(g, axis=batch_axes) if batch_axes else g
    return tuple(grads)


def layer_norm(x, k, weight, bias, eps):
    inputs = [x]
    if weight is not None:
        inputs.append(weight)
        if bias is not None:
            inputs.append(bias)
    elif bias is not None:
        # a bias without a weight: normalise, then add it as an ordinary op
        return layer_norm(x, k, None, None, eps) + bias
    op = _layer_norm_ops[len(inputs)]
    return apply(op, tuple(inputs), (k, eps, Stash()))


_layer_norm_ops = {n: OpDef("NativeLayerNormBackward0", _layer_norm_forward, _layer_norm_vjp,
                            save_inputs=tuple(range(min(n, 2))), kind="layer_norm") for n in (1, 2, 3)}


def _bn_shape(ndim):
    return (1, -1) + (1,) * (ndim - 2)


def _batch_norm_forward(xp, x, *rest):
    running_mean, running_var, training, momentum, eps, stash = rest[-6:]
    affine = rest[:-6]
    axes = (0,) + tuple(range(2, x.ndim))
    shape = _bn_shape(x.ndim)
    if training:
        n = x.size // x.shape[1]
        mean = x.mean(axis=axes)
        xc = x - mean.reshape(shape)
        var = (xc * xc).mean(axis=axes)
        if running_mean is not None:
            running_mean *= 1 - momentum
            running_mean += momentum * mean
        if running_var is not None:
            running_var *= 1 - momentum
            running_var += momentum * var * (n / (n - 1) if n > 1 else 1.0)
        rstd = 1.0 / xp.sqrt(var + eps)
    else:
        xc = x - running_mean.reshape(shape)
        rstd = 1.0 / xp.sqrt(running_var + eps)
    xhat = xc * rstd.reshape(shape)
    stash.value = (xhat, rstd)
    out = xhat
    if affine:
        out = xhat * affine[0].reshape(shape)
        if len(affine) > 1:
            out += affine[1].reshape(shape)
    return out.astype(x.dtype, copy=False)


def _batch_norm_vjp(m, g, node, x, *affine):
    running_mean, running_var, training, momentum, eps, stash = node.params
    shape_in = node.shapes[0]
    ndim = len(shape_in)
    axes = (0,) + tuple(range(2, ndim))
    shape = _bn_shape(ndim)
    n = 1
    for a in axes:
        n *= shape_in[a]
    w = affine[0] if affine else None
    tensor = _tensor_mode(m)
    if tensor:
        if training:
            mean = m.sum(x, axis=axes, keepdims=True) / n
            xc = x - mean
            rstd = (m.sum(xc * xc, axis=axes, keepdims=True) / n + eps).rsqrt()
        else:
            rstd = _wrap(1.0 / np.sqrt(running_var + eps)).reshape(shape)
            xc = x - _wrap(running_mean).reshape(shape)
        xhat = xc * rstd
        rstd_b = rstd
        w_b = w.reshape(shape) if w is not None else None
    else:
        xhat, rstd = stash.value
        rstd_b = rstd.reshape(shape)
        w_b = w.reshape(shape) if w is not None else None
    grads = [None] * len(node.shapes)
    need_w = len(grads) > 1 and node.needs[1]
    need_b = len(grads) > 2 and node.needs[2]
    sum_g = m.sum(g, axis=axes) if (need_b or (training and node.needs[0])) else None
    sum_gx = m.sum(g * xhat, axis=axes) if (need_w or (training and node.needs[0])) else None
    if node.needs[0]:
        scale = rstd_b * w_b if w_b is not None else rstd_b
        if training:
            gx = g - (m.reshape(sum_g, shape) + xhat * m.reshape(sum_gx, shape)) / n
            grads[0] = gx * scale
        else:
            grads[0] = g * scale
    if need_w:
        grads[1] = sum_gx
    if need_b:
        grads[2] = sum_g
    return tuple(grads)


_batch_norm_ops = {n: OpDef("NativeBatchNormBackward0", _batch_norm_forward, _batch_norm_vjp,
                            save_inputs=tuple(range(min(n, 2))), kind="batch_norm") for n in (1, 2, 3)}


def batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps):
    inputs = [x]
    if weight is not None:
        inputs.append(weight)
        if bias is not None:
            inputs.append(bias)
    elif bias is not None:
        out = batch_norm(x, running_mean, running_var, None, None, training, momentum, eps)
        return out + bias.reshape(_bn_shape(x._data.ndim))
    rm = running_mean._data if running_mean is not None else None
    rv = running_var._data if running_var is not None else None
    result = apply(_batch_norm_ops[len(inputs)], tuple(inputs), (rm, rv, bool(training), momentum, eps, Stash()))
    if training:
        for buf in (running_mean, running_var):
            if buf is not None:
                buf._version_box[0] += 1
    return result


# ---------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------
# pooling: a loop over kernel offsets on strided views
def pool_out_size(n, k, s, p, d, ceil_mode):
    span = n + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


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


# ---------------------------------------------------------------------------------------------
# a whole LSTM layer as one node (PyTorch's CPU LSTM is one MkldnnRnnLayer node per layer too)
#
# Output: one packed (T + 1, B, H) array, rows 0..T-1 the hidden state at each time step, row T
# the final cell state; the caller slices output, h_n and c_n from it. Internally the gates are
# reordered to (o, i, f, g) so that one sigmoid covers the first 3H columns and i, f, g (the
# gates the cell-state gradient multiplies) are adjacent.
def _gate_order(h):
    return np.concatenate([np.arange(3 * h, 4 * h), np.arange(0, 2 * h), np.arange(2 * h, 3 * h)])


def _gate_slices(a, hidden):
    """The (o, i, f, g) column blocks of a (batch, 4 * hidden) array, as views."""
    return tuple(a[:, k * hidden:(k + 1) * hidden] for k in range(4))


def _lstm_cell_kernel(xp):
    """One step's gates and states in one launch (backends that compile kernels; else None):
    cell(pre_o, pre_i, pre_f, pre_g, xw_o, xw_i, xw_f, xw_g, c_prev, o, i, f, g, c, tanh_c, h), with
    the sigmoid gates' pre-activations halved as in the array code below. (No parameter may be
    called `i`: that is CuPy's loop index inside the kernel.)"""
    return fused.kernel(xp, "lstm_cell", (),
                        ("pre_o", "pre_i", "pre_f", "pre_g", "xw_o", "xw_i", "xw_f", "xw_g", "c_prev"),
                        ("gate_o", "gate_i", "gate_f", "gate_g", "c_next", "tanh_c", "h_next"),
                        ["gate_o = tanh(pre_o + xw_o) * 0.5 + 0.5", "gate_i = tanh(pre_i + xw_i) * 0.5 + 0.5",
                         "gate_f = tanh(pre_f + xw_f) * 0.5 + 0.5", "gate_g = tanh(pre_g + xw_g)",
                         "c_next = gate_f * c_prev + gate_i * gate_g", "tanh_c = tanh(c_next)",
                         "h_next = gate_o * tanh_c"])


def _lstm_cell_backward_kernel(xp):
    """One step of the backward recurrence but its matmul, in one launch (else None):
    cell(dh, grad_h, o, i, f, g, tanh_c, c_prev, dc, d_o, d_i, d_f, d_g); dc is carried in place."""
    return fused.kernel(xp, "lstm_cell_backward", (),
                        ("dh", "grad_h", "gate_o", "gate_i", "gate_f", "gate_g", "tanh_c", "c_prev"),
                        ("dc", "d_o", "d_i", "d_f", "d_g"),
                        ["T dh_total = dh + grad_h", "d_o = dh_total * tanh_c * ((1 - gate_o) * gate_o)",
                         "dc = dc + dh_total * ((1 - tanh_c * tanh_c) * gate_o)",
                         "d_i = dc * gate_g * ((1 - gate_i) * gate_i)",
                         "d_f = dc * c_prev * ((1 - gate_f) * gate_f)",
                         "d_g = dc * gate_i * (1 - gate_g * gate_g)", "dc = dc * gate_f"])


def _lstm_forward(xp, x, w_ih, w_hh, *rest):
    reverse, stash = rest[-2:]
    arrays = rest[:-2]
    if len(arrays) == 4:
        b_ih, b_hh, h0, c0 = arrays
    else:
        b_ih = b_hh = None
        h0, c0 = arrays
    steps, batch, _ = x.shape
    hidden = w_hh.shape[1]
    h3 = 3 * hidden
    order = xp.asarray(_gate_order(hidden))
    wih = w_ih[order]
    whh = w_hh[order]
    # sigmoid(z) = (1 + tanh(z / 2)) / 2: with the sigmoid gates' rows halved (exact in binary
    # floating point), one tanh covers all four gates
    half = xp.ones((4 * hidden, 1), dtype=wih.dtype)
    half[:h3] = 0.5
    whh_t = xp.ascontiguousarray((whh * half).T)
    xw = x.reshape(steps * batch, -1) @ (wih * half).T
    if b_ih is not None:
        xw += (b_ih + b_hh)[order] * half[:, 0]
    xw = xw.reshape(steps, batch, 4 * hidden)
    dtype = xw.dtype
    gates = xp.empty((steps, batch, 4 * hidden), dtype=dtype)
    hs = xp.empty((steps + 1, batch, hidden), dtype=dtype)
    cs = xp.empty((steps + 1, batch, hidden), dtype=dtype)
    tcs = xp.empty((steps, batch, hidden), dtype=dtype)
    hs[0] = h0
    cs[0] = c0
    cell = _lstm_cell_kernel(xp)
    if cell is not None:  # one matmul and one fused launch per step
        pre = xp.empty((batch, 4 * hidden), dtype=dtype)
        for s in range(steps):
            t = steps - 1 - s if reverse else s
            xp.matmul(hs[s], whh_t, out=pre)
            cell(*_gate_slices(pre, hidden), *_gate_slices(xw[t], hidden), cs[s],
                 *_gate_slices(gates[s], hidden), cs[s + 1], tcs[s], hs[s + 1])
    tmp = xp.empty((batch, hidden), dtype=dtype)
    for s in range(steps if cell is None else 0):
        t = steps - 1 - s if reverse else s
        a = gates[s]
        xp.matmul(hs[s], whh_t, out=a)
        a += xw[t]
        xp.tanh(a, out=a)
        sig = a[:, :h3]
        sig *= 0.5
        sig += 0.5
        c = cs[s + 1]
        xp.multiply(a[:, 2 * hidden:h3], cs[s], out=c)            # f * c_prev
        xp.multiply(a[:, hidden:2 * hidden], a[:, h3:], out=tmp)  # i * g
        c += tmp
        tc = tcs[s]
        xp.tanh(c, out=tc)
        xp.multiply(a[:, :hidden], tc, out=hs[s + 1])             # o * tanh(c)
    packed = xp.empty((steps + 1, batch, hidden), dtype=dtype)
    packed[:steps] = hs[:0:-1] if reverse else hs[1:]
    packed[steps] = cs[steps]
    stash.value = (gates, hs, cs, tcs, wih, whh, order)
    return packed


def _lstm_vjp(m, g, node, *saved):
    reverse, stash = node.params
    if _tensor_mode(m):
        return _composite_vjp(_lstm_composite, saved, node, g)
    xp = m.xp
    x = saved[0]
    gates, hs, cs, tcs, wih, whh, order = stash.value
    steps, batch, _ = x.shape
    hidden = whh.shape[1]
    h3 = 3 * hidden
    dtype = gates.dtype
    gout = g[:steps][::-1] if reverse else g[:steps]          # by processing step
    dc = g[steps].copy()
    dh = xp.zeros((batch, hidden), dtype=dtype)
    # everything that does not depend on the recurrence, computed for all steps at once
    o = gates[:, :, :hidden]
    deriv = xp.empty_like(gates)
    sig = gates[:, :, :h3]
    xp.subtract(1, sig, out=deriv[:, :, :h3])
    deriv[:, :, :h3] *= sig
    gg = gates[:, :, h3:]
    xp.multiply(gg, gg, out=deriv[:, :, h3:])
    xp.subtract(1, deriv[:, :, h3:], out=deriv[:, :, h3:])
    ocoef = tcs * tcs
    xp.subtract(1, ocoef, out=ocoef)
    ocoef *= o
    # di = dc * g, df = dc * c_prev, dg = dc * i: one product with (g, c_prev, i) stacked
    q = xp.empty((steps, batch, 3, hidden), dtype=dtype)
    q[:, :, 0] = gg
    q[:, :, 1] = cs[:-1]
    q[:, :, 2] = gates[:, :, hidden:2 * hidden]
    f = gates[:, :, 2 * hidden:h3]
    da = xp.empty((steps, batch, 4 * hidden), dtype=dtype)
    da4 = da.reshape(steps, batch, 4, hidden)
    tmp = xp.empty((batch, hidden), dtype=dtype)
    dc3 = dc[:, None, :]
    cell = _lstm_cell_backward_kernel(xp)
    if cell is not None:  # one fused launch and one matmul per step
        for s in range(steps - 1, -1, -1):
            cell(dh, gout[s], *_gate_slices(gates[s], hidden), tcs[s], cs[s], dc, *_gate_slices(da[s], hidden))
            xp.matmul(da[s], whh, out=dh)
    for s in range(steps - 1, -1, -1) if cell is None else ():
        dh += gout[s]
        d = da[s]
        xp.multiply(dh, tcs[s], out=d[:, :hidden])
        xp.multiply(dh, ocoef[s], out=tmp)
        dc += tmp
        xp.multiply(dc3, q[s], out=da4[s, :, 1:, :])
        d *= deriv[s]
        dc *= f[s]
        xp.matmul(d, whh, out=dh)
    inverse = xp.argsort(order)
    flat = da.reshape(steps * batch, 4 * hidden)
    n_in = len(node.shapes)
    grads = [None] * n_in
    if node.needs[0]:
        dx = flat @ wih
        dx = dx.reshape(steps, batch, -1)
        grads[0] = dx[::-1] if reverse else dx
    if node.needs[1]:
        x_steps = x[::-1] if reverse else x
        grads[1] = (flat.T @ x_steps.reshape(steps * batch, -1))[inverse]
    if node.needs[2]:
        grads[2] = (flat.T @ hs[:-1].reshape(steps * batch, hidden))[inverse]
    if n_in == 7:
        if node.needs[3] or node.needs[4]:
            db = flat.sum(axis=0)[inverse]
            grads[3] = db if node.needs[3] else None
            grads[4] = db.copy() if node.needs[4] else None
    if node.needs[n_in - 2]:
        grads[n_in - 2] = dh
    if node.needs[n_in - 1]:
        grads[n_in - 1] = dc
    return tuple(grads)


_lstm_ops = {n: OpDef("MkldnnRnnLayerBackward0", _lstm_forward, _lstm_vjp, save_inputs=tuple(range(n)),
                      kind="lstm") for n in (5, 7)}


def lstm_layer(x, w_ih, w_hh, b_ih, b_hh, h0, c0, reverse):
    """x: (T, B, I) time-major. Returns the packed (T + 1, B, H) tensor described above."""
    inputs = (x, w_ih, w_hh, b_ih, b_hh, h0, c0) if b_ih is not None else (x, w_ih, w_hh, h0, c0)
    return apply(_lstm_ops[len(inputs)], inputs, (bool(reverse), Stash()))


def _lstm_composite(*inputs, params):
    """The same layer step by step from elementwise ops, for differentiating a backward."""
    E = _engine()
    reverse = params[0]
    if len(inputs) == 7:
        x, w_ih, w_hh, b_ih, b_hh, h, c = inputs
    else:
        (x, w_ih, w_hh, h, c), b_ih, b_hh = inputs, None, None
    steps = x.shape[0]
    outs = [None] * steps
    for s in range(steps):
        t = steps - 1 - s if reverse else s
        gates = x[t].matmul(w_ih.t()) + h.matmul(w_hh.t())
        if b_ih is not None:
            gates = gates + b_ih + b_hh
        i, f, gg, o = gates.chunk(4, 1)
        c = f.sigmoid() * c + i.sigmoid() * gg.tanh()
        h = o.sigmoid() * c.tanh()
        outs[t] = h
    return E.stack(outs + [c], 0)


# ---------------------------------------------------------------------------------------------
def _composite_vjp(composite, saved, node, g):
    """create_graph VJP of a fused kernel: differentiate its composite twin, keeping the graph."""
    E = _engine()
    out = composite(*saved, params=node.params)
    wrt = [t for t, need in zip(saved, node.needs) if need]
    grads = iter(E.autograd.grad(out, wrt, g, create_graph=True, allow_unused=True))
    return tuple(next(grads) if need else None for need in node.needs)

"""Activations and softmax on arrays: sigmoid, gelu, leaky_relu, elu, silu, softplus, hardtanh,
softmax and log_softmax, each one graph node with PyTorch's node name."""
import math

import numpy as np

from .._core import OpDef, apply
from ..elementwise import erf_array, scipy_special as _special
from ._common import _tensor_mode


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
    if not x.size:   # nothing to normalise (and no maximum of an empty dim)
        return x.copy()
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
    if not x.size:   # nothing to normalise (and no maximum of an empty dim)
        return x.copy()
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

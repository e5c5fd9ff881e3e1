"""Layer norm and batch norm, each one graph node (NativeLayerNorm/NativeBatchNorm)."""

import numpy as np

from .._core import OpDef, apply
from ._common import _tensor_mode, _wrap, Stash


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

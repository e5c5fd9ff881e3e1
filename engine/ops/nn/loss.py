"""Losses: mse, binary cross-entropy (plain and with logits) and nll, each one graph node."""
import math


from .._core import OpDef, apply, _xp_of
from ._common import _tensor_mode, _wrap
from .activation import sigmoid_array


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

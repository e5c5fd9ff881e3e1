"""Gradient clipping, with PyTorch's formulas (total norm over all gradients, clip_coef clamped to 1)."""
import math

from ...tensor import Tensor


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The norm of all the tensors' norms, computed where they live (no copy to the host)."""
    norm_type = float(norm_type)
    tensors = list(tensors)
    if not tensors:
        from ...creation import tensor
        return tensor(0.0)
    xp = tensors[0]._xp
    arrays = [t._data.reshape(-1) for t in tensors]
    dtype = arrays[0].dtype
    if norm_type == math.inf:
        total = xp.stack([xp.abs(a).max() if a.size else xp.zeros((), dtype=dtype) for a in arrays]).max()
    else:
        norms = xp.stack([xp.linalg.norm(a, norm_type).astype(dtype) for a in arrays])
        total = xp.linalg.norm(norms, norm_type)
    total = xp.asarray(total).astype(dtype)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so "
                           "it cannot be clipped. To disable this error and scale the gradients by the non-finite "
                           "norm anyway, set `error_if_nonfinite=False`")
    return Tensor._make(total, device=tensors[0].device)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    grads = _grads(parameters)
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite)
    if not grads:
        return total_norm
    # computed where the gradients are, in their dtype, as PyTorch does (no read back from a GPU)
    xp = grads[0]._xp
    clip_coef = xp.minimum(float(max_norm) / (total_norm._data + 1e-6), 1.0)
    for g in grads:
        g._data *= clip_coef.astype(g._data.dtype)
        g._version_box[0] += 1
    return total_norm


clip_grad_norm = clip_grad_norm_


def clip_grad_value_(parameters, clip_value, foreach=None):
    clip_value = float(clip_value)
    for g in _grads(parameters):
        g._xp.clip(g._data, -clip_value, clip_value, out=g._data)
        g._version_box[0] += 1

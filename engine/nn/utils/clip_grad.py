"""Gradient clipping, with PyTorch's formulas (total norm over all gradients, clip_coef clamped to 1)."""
import math

import numpy as np

from ...tensor import Tensor


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    norm_type = float(norm_type)
    arrays = [t._host() for t in tensors]
    if not arrays:
        from ...creation import tensor
        return tensor(0.0)
    dtype = arrays[0].dtype
    if norm_type == math.inf:
        total = max(float(np.abs(a).max()) if a.size else 0.0 for a in arrays)
    else:
        norms = np.array([np.linalg.norm(a.reshape(-1), norm_type) for a in arrays], dtype=dtype)
        total = np.linalg.norm(norms, norm_type)
    total = np.asarray(total, dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so "
                           "it cannot be clipped. To disable this error and scale the gradients by the non-finite "
                           "norm anyway, set `error_if_nonfinite=False`")
    return Tensor._make(total)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    grads = _grads(parameters)
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite)
    if not grads:
        return total_norm
    clip_coef = float(max_norm) / (float(total_norm.item()) + 1e-6)
    clip_coef = min(clip_coef, 1.0)
    for g in grads:
        g._data *= g._data.dtype.type(clip_coef)
        g._version_box[0] += 1
    return total_norm


clip_grad_norm = clip_grad_norm_


def clip_grad_value_(parameters, clip_value, foreach=None):
    clip_value = float(clip_value)
    for g in _grads(parameters):
        np.clip(g._data, -clip_value, clip_value, out=g._data)
        g._version_box[0] += 1

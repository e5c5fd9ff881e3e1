"""Embedding lookup as one graph node; its VJP scatters into the weight rows."""

from .._core import OpDef, apply, _xp_of
from ..indexing import platform_indices
from ._common import _tensor_mode, _wrap


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

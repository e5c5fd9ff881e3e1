"""Padding: constant (negative pads crop) and the index-gathering modes (reflect, replicate,
circular)."""

import numpy as np

from .._core import OpDef, apply
from ._common import _tensor_mode


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

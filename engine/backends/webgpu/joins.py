"""Arrays assembled from pieces: concatenate, stack, tile and roll."""
from __future__ import annotations

import numpy as np

from .gpuarray import WebGPUArray, as_operand, empty
from .elementwise import assign, copy, to_array
from .views import _axis, broadcast_to, expand_dims, reshape
from .indexing import getitem


def concatenate(arrays, axis=0, out=None, dtype=None):
    arrays = [a if a.__class__ is WebGPUArray else to_array(a) for a in arrays]
    if not arrays:
        raise ValueError("need at least one array to concatenate")
    if axis is None:
        arrays = [reshape(a, (-1,)) for a in arrays]
        axis = 0
    nd = arrays[0].ndim
    if nd == 0:
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    axis = _axis(axis, nd)
    base = arrays[0].shape
    for a in arrays[1:]:
        if a.ndim != nd:
            raise ValueError("all the input array dimensions except for the concatenation axis must match exactly, "
                             f"but along dimension 0, the array at index 0 has {nd} dimension(s) and the array "
                             f"has {a.ndim} dimension(s)")
        for d in range(nd):
            if d != axis and a.shape[d] != base[d]:
                raise ValueError("all the input array dimensions except for the concatenation axis must match "
                                 f"exactly, but along dimension {d}, the array at index 0 has size {base[d]} and "
                                 f"another has size {a.shape[d]}")
    dt = np.dtype(dtype) if dtype is not None else np.result_type(*[a.dtype for a in arrays])
    shape = list(base)
    shape[axis] = sum(a.shape[axis] for a in arrays)
    result = out if out is not None else empty(shape, dt)
    start = 0
    for a in arrays:
        n = a.shape[axis]
        if n:
            key = (slice(None),) * axis + (slice(start, start + n),)
            assign(getitem(result, key), a)
        start += n
    return result


def stack(arrays, axis=0, out=None, dtype=None):
    arrays = [a if a.__class__ is WebGPUArray else to_array(a) for a in arrays]
    if not arrays:
        raise ValueError("need at least one array to stack")
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError("all input arrays must have the same shape")
    axis = _axis(axis, arrays[0].ndim + 1)
    return concatenate([expand_dims(a, axis) for a in arrays], axis, out, dtype)


def tile(x, reps):
    reps = (reps,) if isinstance(reps, int) else tuple(reps)
    x = as_operand(x)
    if len(reps) < x.ndim:
        reps = (1,) * (x.ndim - len(reps)) + reps
    if len(reps) > x.ndim:
        x = reshape(x, (1,) * (len(reps) - x.ndim) + x.shape)
    inter = []
    big = []
    for r, n in zip(reps, x.shape):
        inter += [1, n]
        big += [r, n]
    expanded = broadcast_to(reshape(x, inter), big)
    return reshape(copy(expanded), [r * n for r, n in zip(reps, x.shape)])


def roll(x, shift, axis=None):
    x = as_operand(x)
    if axis is None:
        return reshape(roll(reshape(x, (-1,)), shift, 0), x.shape)
    shifts = shift if isinstance(shift, (tuple, list)) else (shift,)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    if len(shifts) == 1 and len(axes) > 1:
        shifts = shifts * len(axes)
    result = x
    for s, a in zip(shifts, axes):
        a = _axis(a, x.ndim)
        n = x.shape[a]
        if n == 0:
            continue
        s = int(s) % n
        if s:
            lead = (slice(None),) * a
            result = concatenate([getitem(result, lead + (slice(n - s, n),)),
                                  getitem(result, lead + (slice(0, n - s),))], a)
    return result if result is not x else copy(x)

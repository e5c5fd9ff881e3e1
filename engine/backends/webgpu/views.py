"""Views: reshape, transpose, squeeze, broadcast, flip, diagonal, as_strided: new geometry over the
same buffer (a copy only where a reshape cannot be a view)."""
from __future__ import annotations

import operator

import numpy as np

from ..._strides import cstrides, prod, view_strides
from .gpuarray import WebGPUArray, as_operand
from .elementwise import _bstrides, _is_scalar, broadcast_shapes, copy, to_array


# ---------------------------------------------------------------------------------------------
# views
def _axis(axis, ndim):
    axis = operator.index(axis)
    if not -ndim <= axis < max(ndim, 1):
        raise np.exceptions.AxisError(f"axis {axis} is out of bounds for array of dimension {ndim}")
    return axis + ndim if axis < 0 else axis


def reshape(x, shape):
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    shape = [int(s) for s in shape]
    n = x.size
    if shape.count(-1) > 1:
        raise ValueError("can only specify one unknown dimension")
    if -1 in shape:
        known = prod(s for s in shape if s != -1)
        if known == 0 or n % known:
            raise ValueError(f"cannot reshape array of size {n} into shape {tuple(shape)}")
        shape[shape.index(-1)] = n // known
    shape = tuple(shape)
    if prod(shape) != n:
        raise ValueError(f"cannot reshape array of size {n} into shape {shape}")
    if shape == x.shape:
        return WebGPUArray(x.buf, x.shape, x.st, x.off, x.dtype)
    st = view_strides(x.shape, x.st, shape)
    if st is None:
        x = copy(x)
        st = cstrides(shape)
    return WebGPUArray(x.buf, shape, tuple(st), x.off, x.dtype)


def can_view(x, shape):
    return view_strides(x.shape, x.st, tuple(shape)) is not None


def transpose(x, axes=None):
    nd = x.ndim
    if axes is None:
        axes = tuple(range(nd - 1, -1, -1))
    else:
        axes = tuple(_axis(a, nd) for a in axes)
        if sorted(axes) != list(range(nd)):
            raise ValueError("axes don't match array")
    return WebGPUArray(x.buf, tuple(x.shape[a] for a in axes), tuple(x.st[a] for a in axes), x.off, x.dtype)


def swapaxes(x, a, b):
    nd = x.ndim
    a, b = _axis(a, nd), _axis(b, nd)
    axes = list(range(nd))
    axes[a], axes[b] = axes[b], axes[a]
    return transpose(x, axes)


def moveaxis(x, source, destination):
    nd = x.ndim
    src = [_axis(s, nd) for s in (source if isinstance(source, (tuple, list)) else (source,))]
    dst = [_axis(s, nd) for s in (destination if isinstance(destination, (tuple, list)) else (destination,))]
    order = [n for n in range(nd) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, order)


def expand_dims(x, axis):
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    nd = x.ndim + len(axes)
    axes = sorted(_axis(a, nd) for a in axes)
    shape, st = list(x.shape), list(x.st)
    for a in axes:
        shape.insert(a, 1)
        st.insert(a, 0)
    return WebGPUArray(x.buf, tuple(shape), tuple(st), x.off, x.dtype)


def squeeze(x, axis=None):
    if axis is None:
        keep = [d for d, n in enumerate(x.shape) if n != 1]
    else:
        axes = {_axis(a, x.ndim) for a in (axis if isinstance(axis, (tuple, list)) else (axis,))}
        for a in axes:
            if x.shape[a] != 1:
                raise ValueError("cannot select an axis to squeeze out which has size not equal to one")
        keep = [d for d in range(x.ndim) if d not in axes]
    return WebGPUArray(x.buf, tuple(x.shape[d] for d in keep), tuple(x.st[d] for d in keep), x.off, x.dtype)


def broadcast_to(x, shape):
    x = as_operand(x) if not _is_scalar(x) else to_array(x)
    shape = tuple(int(s) for s in shape) if not isinstance(shape, int) else (shape,)
    if len(shape) < x.ndim or broadcast_shapes(x.shape, shape) != shape:
        raise ValueError(f"operands could not be broadcast together with remapped shapes [original->remapped]: "
                         f"{x.shape} and requested shape {shape}")
    return WebGPUArray(x.buf, shape, tuple(_bstrides(x, shape)), x.off, x.dtype)


def flip(x, axis=None):
    axes = range(x.ndim) if axis is None else \
        [_axis(a, x.ndim) for a in (axis if isinstance(axis, (tuple, list)) else (axis,))]
    st = list(x.st)
    off = x.off
    for a in axes:
        if x.shape[a] > 1:
            off += (x.shape[a] - 1) * st[a]
        st[a] = -st[a]
    return WebGPUArray(x.buf, x.shape, tuple(st), off, x.dtype)


def diagonal(x, offset=0, axis1=0, axis2=1):
    nd = x.ndim
    a, b = _axis(axis1, nd), _axis(axis2, nd)
    if a == b:
        raise ValueError("axis1 and axis2 cannot be the same")
    na, nb = x.shape[a], x.shape[b]
    off = x.off
    if offset >= 0:
        n = max(0, min(na, nb - offset))
        if n:
            off += offset * x.st[b]
    else:
        n = max(0, min(na + offset, nb))
        if n:
            off -= offset * x.st[a]
    keep = [d for d in range(nd) if d not in (a, b)]
    return WebGPUArray(x.buf, tuple(x.shape[d] for d in keep) + (n,),
                       tuple(x.st[d] for d in keep) + (x.st[a] + x.st[b],), off, x.dtype)


def as_strided(x, shape, strides):
    item = x.dtype.itemsize
    return WebGPUArray(x.buf, tuple(int(s) for s in shape), tuple(int(s) // item for s in strides), x.off, x.dtype)


def ascontiguousarray(x, dtype=None):
    x = to_array(x, dtype)
    return x if x.is_c_contiguous() else copy(x)

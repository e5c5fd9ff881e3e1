"""`WebGPUArray`: a NumPy-like strided array whose data is a GPU buffer, and putting values there.

An array is (buffer, shape, strides, offset, dtype), strides and offset counted in elements, so
transposes, slices, broadcasts, flips and diagonals are views that share the buffer. Kernels
read views through their strides, so views are never copied to feed an op.

This module holds the storage and geometry only. The methods that run kernels or read values
back are set on the class by methods.py; NumPy's protocols (`__array_ufunc__`,
`__array_function__`, `__array_namespace__`) by xp.py, the namespace they lead to."""
from __future__ import annotations

import numpy as np

from ..._strides import cstrides, prod
from . import common
from .common import F32, HOST, INT32_RANGE, STORE, Unsupported, check_dtype


class _Flags:
    """NumPy's array flags, by key or attribute."""

    __slots__ = ("c_contiguous", "f_contiguous")
    writeable = True
    owndata = False
    aligned = True

    def __init__(self, c, f):
        self.c_contiguous = c
        self.f_contiguous = f

    def __getitem__(self, key):
        return getattr(self, {"C": "c_contiguous", "F": "f_contiguous"}.get(key, key.lower()))


class _Ptr:
    __slots__ = ("ptr",)

    def __init__(self, ptr):
        self.ptr = ptr


class WebGPUArray:
    """A strided view of a GPU buffer with NumPy's array interface (the parts the engine uses)."""

    __slots__ = ("buf", "shape", "st", "off", "dtype", "__weakref__")
    __array_priority__ = 10000.0
    __hash__ = None

    def __init__(self, buf, shape, st, off, dtype):
        self.buf = buf
        self.shape = shape
        self.st = st
        self.off = off
        self.dtype = dtype

    # -- attributes ------------------------------------------------------------------------
    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return prod(self.shape)

    @property
    def itemsize(self):
        return self.dtype.itemsize

    @property
    def nbytes(self):
        return self.size * self.dtype.itemsize

    @property
    def strides(self):
        item = self.dtype.itemsize
        return tuple(s * item for s in self.st)

    @property
    def T(self):
        return self.transpose()

    @property
    def mT(self):
        return self.swapaxes(-1, -2)

    @property
    def flags(self):
        return _Flags(self.is_c_contiguous(), self.transpose().is_c_contiguous())

    @property
    def base(self):
        return None

    @property
    def data(self):
        return _Ptr((self.buf.id << 32) + self.off * 4)

    @property
    def device(self):
        return "webgpu:0"

    @property
    def store(self):
        return STORE[self.dtype]

    def is_c_contiguous(self):
        acc = 1
        for n, s in zip(reversed(self.shape), reversed(self.st)):
            if n == 0:
                return True
            if n != 1 and s != acc:
                return False
            acc *= n
        return True

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d array")
        for i in range(self.shape[0]):
            yield self[i]

    def __deepcopy__(self, memo):
        return self.copy()

    def __copy__(self):
        return self.copy()

    def view(self, dtype=None, type=None):
        if dtype is None or np.dtype(dtype) == self.dtype:
            return WebGPUArray(self.buf, self.shape, self.st, self.off, self.dtype)
        raise Unsupported("view as another dtype")

    def conj(self):
        return self

    def __pos__(self):
        return self.copy()


def is_array(x):
    return x.__class__ is WebGPUArray


# ---------------------------------------------------------------------------------------------
# allocation and transfers
def empty(shape, dtype=F32):
    dtype = check_dtype(dtype)
    shape = tuple(int(s) for s in shape)
    n = prod(shape)
    return WebGPUArray(common.RT.alloc(4 * n), shape, cstrides(shape), 0, dtype)


def upload(host, dtype=None):
    """A NumPy array (or anything np.asarray takes) on the GPU."""
    host = np.asarray(host, dtype=dtype)
    dt = check_dtype(host.dtype)
    store = STORE[dt]
    if store == "i32" and dt.itemsize > 4 and host.size:
        lo, hi = int(host.min()), int(host.max())
        if lo < INT32_RANGE[0] or hi > INT32_RANGE[1]:
            raise RuntimeError(f"webgpu holds integers in 32 bits: {dt.name} values from {lo} to {hi} do not fit")
    data = np.ascontiguousarray(host, dtype=HOST[store])
    out = empty(host.shape, dt)
    if data.size:
        common.RT.write(out.buf.id, 0, data)
    return out


def as_operand(x):
    """An array operand: WebGPU arrays as they are; NumPy arrays uploaded."""
    if x.__class__ is WebGPUArray:
        return x
    return upload(x)

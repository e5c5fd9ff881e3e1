"""The WebGPU array modules in one namespace: `WebGPUArray` and the kernels behind it.

The parts, each importing only those above it:
  common.py       the runtime (`RT`), `Unsupported`, dtypes and how they are stored, dispatch sizes
  gpuarray.py     `WebGPUArray` (buffer, shape, strides, offset, dtype), allocation and upload
  elementwise.py  planned elementwise kernels: unary, binary, where, clip, casts, copies, fills
  views.py        reshape, transpose, broadcast, flip, diagonal: views over the same buffer
  indexing.py     basic and advanced indexing, gather / scatter, take / put along an axis
  joins.py        concatenate, stack, tile, roll
  reductions.py   reductions, softmax rows, cumulative scans, tril / triu
  matmul.py       the tiled matmul kernels
  methods.py      the array's kernel-backed methods and operators, and reading values back
xp.py (the array namespace the engine's ops use) and fallback.py (NumPy where no kernel covers a
case) build on these.
"""
from __future__ import annotations

# ruff: noqa: F401  (names re-exported for the backend, xp.py, the tests and the benchmarks)
from ..._strides import cstrides, prod, view_strides
from . import common
from . import kernels as K
from .common import (ARANGE_INT, BOOL, F32, F64, HOST, I32, I64, INT32_RANGE, INTP, MAX_GROUPS, STORE, SUM_INT,
                     WRAP, Unsupported, check_dtype, coalesce, dtype_error, groups_1d, groups_2d)
from .gpuarray import WebGPUArray, as_operand, empty, is_array, upload
from .elementwise import (BINARY, BITWISE, COMPARE, LOGICAL, PREDICATES, UNARY_F32, UNARY_I32, _is_scalar, arange,
                          assign, astype, binary, broadcast_shapes, clip, copy, ewise, fill, to_array, unary, where)
from .views import (as_strided, ascontiguousarray, broadcast_to, can_view, diagonal, expand_dims, flip, moveaxis,
                    reshape, squeeze, swapaxes, transpose)
from .indexing import add_at, basic_view, gather, getitem, put_along_axis, scatter, setitem, take, take_along_axis
from .joins import concatenate, roll, stack, tile
from .reductions import argreduce, mean, reduce, rowwise, scan, tri, var
from .matmul import matmul
from .methods import _with_out, download

def __getattr__(name):
    if name == "RT":  # the runtime, set on common when the backend loads
        return common.RT
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

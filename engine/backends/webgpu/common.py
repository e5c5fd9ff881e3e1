"""What the WebGPU array modules share: the runtime they queue kernels on (`RT`, set when the
backend loads), `Unsupported`, the dtypes and how each is stored in 32-bit words, and the
workgroup and dim-merging arithmetic of kernel dispatches."""
from __future__ import annotations

import numpy as np


RT = None  # the Runtime, set when the backend loads (webgpu_backend.load)


class Unsupported(Exception):
    """No kernel for this case: the caller falls back to NumPy."""


F32 = np.dtype(np.float32)
F64 = np.dtype(np.float64)
I32 = np.dtype(np.int32)
I64 = np.dtype(np.int64)
BOOL = np.dtype(np.bool_)
STORE = {F32: "f32", I32: "i32", I64: "i32", np.dtype(np.int16): "i32", np.dtype(np.int8): "i32",
         np.dtype(np.uint8): "i32", BOOL: "u32"}
WRAP = {np.dtype(np.uint8): "u8", np.dtype(np.int8): "i8", np.dtype(np.int16): "i16"}
HOST = {"f32": np.dtype(np.float32), "i32": np.dtype(np.int32), "u32": np.dtype(np.uint32)}
INT32_RANGE = (-2 ** 31, 2 ** 31 - 1)
# NumPy's platform integers (int32 in 32-bit Pyodide, int64 elsewhere): argmax gives INTP, a sum
# of bools SUM_INT, arange of ints ARANGE_INT
INTP = np.dtype(np.intp)
SUM_INT = np.zeros(1, bool).sum().dtype
ARANGE_INT = np.arange(1).dtype
MAX_GROUPS = 65535


def dtype_error(dt):
    dt = np.dtype(dt)
    if dt == F64:
        return TypeError("webgpu tensors cannot be float64: WebGPU has no 64-bit floats. Use float32 "
                         "(dtype=torch.float32, tensor.float(), or torch.set_default_dtype(torch.float32))")
    if dt == np.dtype(np.float16):
        return TypeError("webgpu tensors cannot be float16 here (WebGPU's shader-f16 is optional): use float32")
    return TypeError(f"webgpu tensors cannot hold {dt.name}: use float32, int32, int64 (values within 32 bits) "
                     "or bool")


def check_dtype(dt):
    dt = np.dtype(dt)
    if dt not in STORE:
        raise dtype_error(dt)
    return dt


def groups_1d(n, per_group, cap=MAX_GROUPS):
    g = max(1, min(-(-n // per_group), cap))
    return (g, 1, 1)


def groups_2d(n, per_group):
    g = max(1, -(-n // per_group))
    if g <= MAX_GROUPS:
        return (g, 1, 1)
    return (MAX_GROUPS, min(-(-g // MAX_GROUPS), MAX_GROUPS), 1)


def coalesce(shape, strides_list):
    """Merge adjacent dims that every operand walks contiguously, drop dims of size 1."""
    out_shape = []
    out_st = [[] for _ in strides_list]
    for d, n in enumerate(shape):
        if n == 1:
            continue
        if out_shape and all(st[-1] == s[d] * n for st, s in zip(out_st, strides_list)):
            out_shape[-1] *= n
            for st, s in zip(out_st, strides_list):
                st[-1] = s[d]
        else:
            out_shape.append(n)
            for st, s in zip(out_st, strides_list):
                st.append(s[d])
    return out_shape, out_st


def _int_word(v):
    return int(v) & 0xFFFFFFFF

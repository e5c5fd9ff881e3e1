"""Matrix products: a tiled (batched) matmul kernel, and a vectorised one for aligned shapes."""
from __future__ import annotations

from ..._strides import cstrides, prod
from . import common
from . import kernels as K
from .common import F32, MAX_GROUPS, Unsupported, coalesce, groups_2d
from .gpuarray import WebGPUArray, as_operand, empty
from .elementwise import _bstrides, assign, binary, broadcast_shapes
from .views import expand_dims
from .reductions import _reduce_kernel


# ---------------------------------------------------------------------------------------------
# matmul
def matmul(a, b, out=None):
    a = as_operand(a)
    b = as_operand(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: Input operand does not have enough dimensions")
    if a.dtype != F32 or b.dtype != F32:
        raise Unsupported(f"matmul of {a.dtype} and {b.dtype}")
    a2 = expand_dims(a, 0) if a.ndim == 1 else a
    b2 = expand_dims(b, 1) if b.ndim == 1 else b
    M, Ka = a2.shape[-2:]
    Kb, N = b2.shape[-2:]
    if Ka != Kb:
        raise ValueError(f"matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc signature "
                         f"(n?,k),(k,m?)->(n?,m?) (size {Kb} is different from {Ka})")
    batch = broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    shape = batch + (M, N)
    nb = prod(batch)
    result = empty(shape, F32)
    final_shape = shape[:-2] + ((M,) if a.ndim > 1 else ()) + ((N,) if b.ndim > 1 else ())
    if M * N * nb:
        if Ka == 0:
            assign(result, 0.0)
        elif M * N * nb <= 64 and Ka >= 8192:
            # long thin products: a multiply and a reduction spread K over the GPU
            prod_ = binary("multiply", expand_dims(a2, -1), expand_dims(b2, -3))
            out2 = WebGPUArray(result.buf, shape, result.st, 0, F32)
            _reduce_kernel("sum", prod_, (prod_.ndim - 2,), out2, "f32", 1.0)
        else:
            _matmul_dispatch(a2, b2, batch, M, N, Ka, result)
    if final_shape != shape:
        result = WebGPUArray(result.buf, final_shape, cstrides(final_shape), 0, F32)
    if out is not None:
        assign(out, result)
        return out
    return result


def _matmul_dispatch(a2, b2, batch, M, N, Kd, result):
    ab = _bstrides(WebGPUArray(None, a2.shape[:-2], a2.st[:-2], 0, F32), batch)
    bb = _bstrides(WebGPUArray(None, b2.shape[:-2], b2.st[:-2], 0, F32), batch)
    bshape, (ast, bst) = coalesce(list(batch), [ab, bb])
    if len(bshape) > 4:
        raise Unsupported("more than 4 batch dims")
    nb = prod(batch)
    words = [0] * 28
    words[0] = M
    words[1] = N
    words[2] = Kd
    words[3] = nb
    words[4] = a2.off
    words[5] = b2.off
    words[6] = a2.st[-2] & 0xFFFFFFFF
    words[7] = a2.st[-1] & 0xFFFFFFFF
    words[8] = b2.st[-2] & 0xFFFFFFFF
    words[9] = b2.st[-1] & 0xFFFFFFFF
    words[10] = result.off
    words[11] = len(bshape)
    for d, (n, sa, sb) in enumerate(zip(bshape, ast, bst)):
        words[16 + d] = n
        words[20 + d] = sa & 0xFFFFFFFF
        words[24 + d] = sb & 0xFFFFFFFF
    ids = [a2.buf.id, b2.buf.id, result.buf.id]
    big = M >= 16 and N >= 16 and M * N * Kd >= 1 << 15
    a_ok = a2.st[-1] == 1 and Kd % 4 == 0 and a2.st[-2] % 4 == 0 and a2.off % 4 == 0 and all(s % 4 == 0 for s in ast)
    b_rows = b2.st[-1] == 1 and b2.st[-2] % 4 == 0        # B read along its rows (x @ W)
    b_cols = b2.st[-2] == 1 and b2.st[-1] % 4 == 0        # B read along its columns (x @ W.t())
    b_ok = (b_rows or b_cols) and b2.off % 4 == 0 and all(s % 4 == 0 for s in bst)
    if big and common.RT.cpu_like and a_ok and b_ok:
        # on a CPU-emulated adapter: 4 x 4 blocks with 4-vector loads, no barriers
        key = ("mm_vec4", b_cols and not b_rows)
        pid = common.RT.pipelines.get(key) or common.RT.pipeline(key, "rrw", lambda: K.matmul_vec4(key[1]))
        groups = (-(-N // 32), -(-M // 32), min(nb, MAX_GROUPS))
        if groups[0] > MAX_GROUPS or groups[1] > MAX_GROUPS:
            raise Unsupported("matrix too large")
    elif big and (common.RT.cpu_like and M * N <= 320 * 320):
        # on a CPU-emulated adapter barriers are costly: 4 x 4 blocks straight from memory
        pid = common.RT.pipelines.get("mm_blocked") or common.RT.pipeline("mm_blocked", "rrw", K.matmul_blocked)
        groups = (-(-N // 32), -(-M // 32), min(nb, MAX_GROUPS))
        if groups[0] > MAX_GROUPS or groups[1] > MAX_GROUPS:
            raise Unsupported("matrix too large")
    elif M >= 32 and N >= 32 and M * N * Kd >= 1 << 16:
        pid = common.RT.pipelines.get("mm_tiled") or common.RT.pipeline("mm_tiled", "rrw", K.matmul_tiled)
        groups = (-(-N // K.MM_TILE), -(-M // K.MM_TILE), min(nb, MAX_GROUPS))
        if groups[0] > MAX_GROUPS or groups[1] > MAX_GROUPS:
            raise Unsupported("matrix too large")
    else:
        pid = common.RT.pipelines.get("mm_simple") or common.RT.pipeline("mm_simple", "rrw", K.matmul_simple)
        groups = groups_2d(M * N * nb, 64)
    common.RT.dispatch(pid, ids, words, groups)

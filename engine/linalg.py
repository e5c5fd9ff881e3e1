"""`torch.linalg`: PyTorch's linear-algebra namespace (the functions live in engine/ops)."""
from .ops.linalg_more import (norm, vector_norm, matrix_norm, inv, det, slogdet, solve, qr, eigh,  # noqa: F401
                              eigvalsh, svd, svdvals, pinv, matrix_rank, multi_dot, matrix_power, vecdot, lstsq,
                              matrix_exp, linalg_cross as cross, linalg_cholesky as cholesky)
from .ops import linalg_more as _more
from .ops.linalg import matmul  # noqa: F401


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    return _more.diagonal(A, offset, dim1, dim2)

"""Norms: vector_norm, matrix_norm, linalg.norm, and renorm."""
import math
from ._core import OpDef, apply
from ._registry import binds
from .decompose import svdvals
from . import shape as sh, reduce as red
from .reduce import normalize_dim
from ._core import is_raw_array


# ---------------------------------------------------------------------------------------------
# norms
@binds(method=False, linalg="vector_norm")
def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    if dtype is not None:
        x = x.to(dtype)
    return red.norm(x, ord, dim, keepdim)


@binds(method=False, linalg="matrix_norm")
def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    if dtype is not None:
        A = A.to(dtype)
    if A.dim() < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    d0, d1 = (normalize_dim(d, A.dim()) for d in dim)
    if ord == "fro":
        return red.norm(A, 2, (d0, d1), keepdim)
    if ord in (1, -1, math.inf, -math.inf):  # the largest (smallest) column or row sum
        d_sum, d_max = (d0, d1) if ord in (1, -1) else (d1, d0)
        if not keepdim and d_max > d_sum:
            d_max -= 1
        sums = A.abs().sum(d_sum, keepdim=keepdim)
        return sums.amax(d_max, keepdim=keepdim) if ord > 0 else sums.amin(d_max, keepdim=keepdim)
    if ord not in ("nuc", 2, -2):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    S = svdvals(sh.movedim(A, (d0, d1), (-2, -1)))
    out = S.sum(-1) if ord == "nuc" else S.amax(-1) if ord == 2 else S.amin(-1)
    if keepdim:
        for d in sorted((d0, d1)):
            out = out.unsqueeze(d)
    return out


@binds(method=False, linalg="norm")
def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    if isinstance(dim, int):
        dim = (dim,)
    if ord is None:
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if dim is None:
        if A.dim() not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                               f"Got {A.dim()}D.")
        dim = tuple(range(A.dim()))
    if len(dim) == 2:
        return matrix_norm(A, ord, dim, keepdim, dtype=dtype)
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# renorm: each slice along dim scaled down to norm maxnorm where its p-norm is larger
def _pnorm(m, x, p, axes):
    a = m.abs(x)
    if p == math.inf:
        return a.max(axis=axes, keepdims=True) if is_raw_array(a) else a.amax(axes, True)
    return m.sum(a ** p, axis=axes, keepdims=True) ** (1.0 / p)


def _renorm_forward(xp, x, p, axes, maxnorm):
    norm = _pnorm(xp, x, p, axes)
    return x * xp.where(norm > maxnorm, maxnorm / (norm + 1e-7), 1.0).astype(x.dtype)


def _renorm_vjp(m, g, node, x):
    # PyTorch's renorm_backward: the scale's own gradient through the norm where it applied
    p, axes, maxnorm = node.params
    norm = _pnorm(m, x, p, axes)
    total = m.sum(x * g, axis=axes, keepdims=True)
    if p == math.inf:
        hit = m.as_mask(m.abs(x) == norm) * 1.0
        norm_grad = m.sign(x) * hit * total / m.sum(hit, axis=axes, keepdims=True)
    else:
        norm_grad = m.sign(x) * m.abs(x) ** (p - 1) * total / norm ** (p - 1)
    inverse = 1.0 / (norm + 1e-7)
    factor = inverse * maxnorm
    return m.where(m.as_mask(norm > maxnorm), factor * g - factor * inverse * norm_grad, g)


_renorm = OpDef("RenormBackward0", _renorm_forward, _renorm_vjp, save_inputs=(0,), kind="renorm")


@binds("renorm", inplace=True)
def renorm(input, p, dim, maxnorm):
    if input._data.ndim <= 1:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input._data.ndim} dimensions")
    if not input.dtype.is_floating_point:
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                           f"{input.dtype.title}")
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm:g}")
    axis = normalize_dim(dim, input._data.ndim)
    axes = tuple(i for i in range(input._data.ndim) if i != axis)
    return apply(_renorm, (input,), (float(p), axes, float(maxnorm)))

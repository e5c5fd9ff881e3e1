"""Matrix structure: cross, trace, diag, diagonal, diag_embed, diagflat, triangular parts."""
import numpy as np
from ._core import OpDef, apply
from ._registry import binds
from ._core import broadcast_error
from ._linalg import _call, _eye
from .reduce import normalize_dim


# ---------------------------------------------------------------------------------------------
# cross, trace, diagonals
def _cross_forward(xp, a, b, axis):
    return xp.cross(a, b, axis=axis)


def _cross_vjp(m, g, node, a, b):
    axis = node.params[0]
    ga = _call(m, _cross, (b, g), (axis,)) if node._next[0] is not None else None
    gb = _call(m, _cross, (g, a), (axis,)) if node._next[1] is not None else None
    return ga, gb


_cross = OpDef("LinalgCrossBackward0", _cross_forward, _cross_vjp, save_inputs=(0, 1), kind="cross",
               save_for=((1,), (0,)))


def _broadcast_shape(*shapes):
    error = broadcast_error(shapes)
    if error is not None:
        raise error
    nd = max(len(s) for s in shapes)
    padded = [(1,) * (nd - len(s)) + tuple(s) for s in shapes]
    return tuple(max(d) if min(d) != 0 else 0 for d in zip(*padded))


@binds(method=False, linalg="cross")
def linalg_cross(input, other, *, dim=-1):
    a, b = input, other
    if a.dim() != b.dim():
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    shape = _broadcast_shape(a.shape, b.shape)
    axis = normalize_dim(dim, len(shape))
    if a.shape[axis] != 3 or b.shape[axis] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {a.shape[axis]} and "
                           f"{b.shape[axis]}")
    return apply(_cross, (a, b), (axis - len(shape),))


@binds("cross")
def cross(input, other, dim=None):
    a, b = input, other
    if dim is None:  # PyTorch's deprecated default: the first dimension of size 3
        shape = _broadcast_shape(a.shape, b.shape)
        dim = next((i for i, n in enumerate(shape) if n == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    return linalg_cross(a, b, dim=dim)


def _trace_forward(xp, x):
    out = xp.trace(x)
    return out if x.dtype.kind == "f" else out.astype(np.int64)


def _trace_vjp(m, g, node):
    rows, cols = node.shapes[0]
    return g * _eye(m, g, rows, cols)


_trace = OpDef("TraceBackward0", _trace_forward, _trace_vjp, kind="trace")


@binds("trace")
def trace(x):
    if x.dim() != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {x.dim()}")
    return apply(_trace, (x,))


def _diagonal_forward(xp, x, offset, a, b):
    return xp.diagonal(x, offset, a, b)


def _diagonal_vjp(m, g, node):
    offset, a, b = node.params
    shape = node.shapes[0]
    return _call(m, _diag_embed, (g,), (offset, a, b, shape[a], shape[b]))


_diagonal = OpDef("DiagonalBackward0", _diagonal_forward, _diagonal_vjp, kind="diagonal")


def diagonal(x, offset=0, dim1=0, dim2=1):
    """The diagonal as its own op (differentiable twice, unlike a plain index)."""
    nd = x.dim()
    a, b = normalize_dim(dim1, nd), normalize_dim(dim2, nd)
    if a == b:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return apply(_diagonal, (x,), (offset, a, b))


def _diag_embed_forward(xp, x, offset, a, b, rows, cols):
    """x's last dim on the offset diagonal of a (rows, cols) matrix at dims (a, b) of the result."""
    n = x.shape[-1]
    out = xp.zeros(x.shape[:-1] + (rows, cols), dtype=x.dtype)
    idx = xp.arange(n)
    out[..., idx + max(-offset, 0), idx + max(offset, 0)] = x
    return xp.moveaxis(out, (-2, -1), (a, b))


def _diag_embed_vjp(m, g, node):
    offset, a, b = node.params[:3]
    return _call(m, _diagonal, (g,), (offset, a, b))


_diag_embed = OpDef("DiagEmbedBackward0", _diag_embed_forward, _diag_embed_vjp, kind="diag_embed")


@binds("diag_embed")
def diag_embed(x, offset=0, dim1=-2, dim2=-1):
    nd = x.dim() + 1
    a, b = normalize_dim(dim1, nd), normalize_dim(dim2, nd)
    if a == b:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    size = x.shape[-1] + abs(offset)
    return apply(_diag_embed, (x,), (offset, a, b, size, size))


@binds("diagflat")
def diagflat(x, offset=0):
    return diag_embed(x.reshape(-1), offset)


@binds("diag")
def diag(x, diagonal=0):
    if x.dim() == 1:
        return diag_embed(x, diagonal)
    if x.dim() == 2:
        return globals()["diagonal"](x, diagonal, 0, 1)
    raise RuntimeError("diag(): Supports 1D or 2D tensors. Got " + f"{x.dim()}D")


@binds(method=False, linalg="vecdot")
def vecdot(x, y, *, dim=-1):
    return (x * y).sum(dim)

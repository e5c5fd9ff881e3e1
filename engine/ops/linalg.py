"""Matrix products: matmul (1-D, 2-D and batched, with broadcasting), mm, bmm, mv, dot, outer,
addmm and linear."""
from .._dtype import scalar_type_name
from ._core import OpDef, apply, TENSOR_MATH
from ._registry import binds
from ..tensor import Tensor
from ._core import broadcast_error


def _matmul_forward(xp, a, b):
    return xp.matmul(a, b)


def _matmul_vjp(m, g, node, a, b):
    # a is kept only when b's gradient is taken, b only when a's is (see save_for below)
    need_a, need_b = node._next[0] is not None, node._next[1] is not None
    shape_a, shape_b = node.shapes
    a_vec, b_vec = len(shape_a) == 1, len(shape_b) == 1
    if a_vec and b_vec:  # dot: the gradient is a scalar
        return (g * b if need_a else None), (g * a if need_b else None)
    # treat vectors as matrices with a unit dim, then drop it again
    if a_vec:
        a = m.reshape(a, (1,) + tuple(shape_a)) if need_b else None
        g = m.expand_dims(g, -2)
    if b_vec:
        b = m.reshape(b, tuple(shape_b) + (1,)) if need_a else None
        g = m.expand_dims(g, -1)
    ga = gb = None
    if need_a:
        ga = _product(m, g, m.mT(b))
        if a_vec:
            ga = m.reshape(ga, tuple(ga.shape[:-2]) + (ga.shape[-1],))
    if need_b:
        gb = _mat2_grad(m, a, b, g, node) if a.ndim == 2 and g.ndim == 2 else _product(m, m.mT(a), g)
        if b_vec:
            gb = m.reshape(gb, tuple(gb.shape[:-1]))
    return ga, gb


def _product_op(name, kind):
    # a is read by b's gradient, b by a's
    return OpDef(name, _matmul_forward, _matmul_vjp, save_inputs=(0, 1), kind=kind, save_for=((1,), (0,)))


_mm = _product_op("MmBackward0", "mm")
_bmm = _product_op("BmmBackward0", "bmm")
_mv = _product_op("MvBackward0", "mv")
_dot = _product_op("DotBackward0", "dot")
_vm = _product_op("SqueezeBackward4", "matmul")
_matmul = _product_op("UnsafeViewBackward0", "matmul")


def _shape_text(shape):
    return "x".join(str(s) for s in shape)


def _check_dtypes(a, b, name):
    if a.dtype is not b.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {scalar_type_name(a.dtype)} != "
                           f"{scalar_type_name(b.dtype)}")



# the node PyTorch's matmul leaves for each pair of input ranks (batched products end in a view)
_MATMUL_OPS = {(1, 1): _dot, (2, 2): _mm, (2, 1): _mv, (1, 2): _vm}


@binds("matmul", linalg="matmul")
def matmul(input, other, *, out=None, op=None):
    a, b = input, other  # PyTorch's parameter names
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"matmul(): argument 'other' (position 2) must be Tensor, not "
                        f"{type(b if isinstance(a, Tensor) else a).__name__}")
    sa, sb = a._data.shape, b._data.shape
    if not sa or not sb:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {len(sa)}D and "
                           f"{len(sb)}D")
    _check_dtypes(a, b, "matmul")
    ka = sa[-1]
    kb = sb[0] if len(sb) == 1 else sb[-2]
    if ka != kb:
        if len(sa) == 1 and len(sb) == 1:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{sa[0]}] and src [{sb[0]}] to have "
                               "the same number of elements, but got {} and {} elements respectively"
                               .format(sa[0], sb[0]))
        if len(sb) == 1:
            raise RuntimeError(f"size mismatch, got input ({sa[-2] if len(sa) > 1 else 1}), mat "
                               f"({_shape_text(sa[-2:])}), vec ({sb[0]})")
        left = sa if len(sa) > 1 else (1,) + sa
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_shape_text(left[:-1]) if len(left) == 2 else _shape_text((int(_prod(left[:-1])),))}x{left[-1]} and "
                           f"{_shape_text(sb[-2:])})")
    if len(sa) > 2 or len(sb) > 2:
        error = broadcast_error([sa[:-2], sb[:-2]])
        if error is not None:
            raise error
    if op is None:
        op = _MATMUL_OPS.get((len(sa), len(sb)), _matmul)
    result = apply(op, (a, b))
    if out is not None:
        from .elementwise import write_out
        return write_out(out, result)
    return result


def _prod(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def check_out_dtype(name, out_dtype):
    """`out_dtype=` (a wider result for half-precision products) runs only on CUDA in PyTorch."""
    if out_dtype is not None:
        raise NotImplementedError(f"Could not run 'aten::{name}.dtype' with arguments from the 'CPU' backend.")


@binds("mm")
def mm(input, mat2, out_dtype=None, *, out=None):
    check_out_dtype("mm", out_dtype)
    a, b = input, mat2  # PyTorch's parameter names
    if a._data.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if b._data.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    if a._data.shape[1] != b._data.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_shape_text(a._data.shape)} and "
                           f"{_shape_text(b._data.shape)})")
    return matmul(a, b, out=out, op=_mm)


@binds("bmm")
def bmm(input, mat2, out_dtype=None, *, out=None):
    check_out_dtype("bmm", out_dtype)
    a, b = input, mat2  # PyTorch's parameter names
    if a._data.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if b._data.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if a._data.shape[0] != b._data.shape[0] or a._data.shape[2] != b._data.shape[1]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{a._data.shape[0]}, {a._data.shape[2]}] but got: [{b._data.shape[0]}, "
                           f"{b._data.shape[1]}].")
    return matmul(a, b, out=out, op=_bmm)


@binds("mv")
def mv(input, vec):
    a, v = input, vec  # PyTorch's parameter names
    if a._data.ndim != 2 or v._data.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {a._data.ndim}, {v._data.ndim}")
    return matmul(a, v)


@binds("dot")
def dot(input, tensor, *, out=None):
    a, b = input, tensor  # PyTorch's parameter names
    if a._data.ndim != 1 or b._data.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a._data.ndim}D and {b._data.ndim}D tensors")
    return matmul(a, b, out=out)


@binds("inner")
def inner(input, other, *, out=None):
    """The sum over the last dims of a and b (a scalar operand just scales)."""
    a, b = input, other
    if a._data.ndim == 0 or b._data.ndim == 0:
        result = a * b
    else:
        if a.shape[-1] != b.shape[-1]:
            raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                               f"{list(a.shape)} and {list(b.shape)}")
        k = a.shape[-1]
        result = matmul(a.reshape(-1, k), b.reshape(-1, k).t()).reshape(tuple(a.shape[:-1]) + tuple(b.shape[:-1]))
    if out is not None:
        from .elementwise import write_out
        return write_out(out, result)
    return result


@binds("outer", "ger")
def outer(input, vec2):
    a, b = input, vec2  # PyTorch's parameter names
    return a.reshape(-1, 1) * b.reshape(1, -1)


ger = outer


def _addmm_forward(xp, bias, a, b, beta, alpha):
    out = xp.matmul(a, b)
    if alpha != 1:
        out *= alpha
    if beta == 1:
        out += bias
    elif beta != 0:
        out += beta * bias
    return out


def _addmm_vjp(m, g, node, a, b):
    beta, alpha = node.params
    gbias = (g * beta if beta != 1 else g) if (node._next[0] is not None) else None
    ga = m.matmul(g, m.mT(b)) if (node._next[1] is not None) else None
    gb = _mat2_grad(m, a, b, g, node) if (node._next[2] is not None) else None
    if alpha != 1:
        ga = ga * alpha if ga is not None else None
        gb = gb * alpha if gb is not None else None
    return gbias, ga, gb


def _product(m, x, y):
    """x @ y; an outer product (contracted size 1) as a broadcast multiply, which BLAS does slowly."""
    if x.shape[-1] == 1:
        return x * y
    return m.matmul(x, y)


def _mat2_grad(m, a, b, g, node):
    """a^T g, laid out like b: when b is a transposed matrix (a weight used as W.t()), computing
    (g^T a)^T makes the gradient contiguous once transposed back, so it reaches .grad uncopied."""
    flags = getattr(b, "flags", None)  # arrays only: under create_graph these are tensors
    if flags is not None:
        transposed = b.ndim == 2 and flags.f_contiguous and not flags.c_contiguous
    else:  # b was not saved (its own gradient is not needed): look at the node it came from
        source = node._next[1] if len(node._next) == 2 else node._next[2]
        transposed = m is not TENSOR_MATH and source is not None and source.name() == "TBackward0"
    if transposed:
        return _product(m, m.mT(g), a).T
    return _product(m, m.mT(a), g)


_addmm = OpDef("AddmmBackward0", _addmm_forward, _addmm_vjp, save_inputs=(1, 2), kind="addmm", save_for=((2,), (1,)))


@binds("addmm")
def addmm(input, mat1, mat2, out_dtype=None, *, beta=1, alpha=1):
    check_out_dtype("addmm", out_dtype)
    bias, a, b = input, mat1, mat2  # PyTorch's parameter names
    if a._data.ndim != 2 or b._data.ndim != 2:
        raise RuntimeError("mat1 and mat2 must be matrices")
    if a._data.shape[1] != b._data.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_shape_text(a._data.shape)} and "
                           f"{_shape_text(b._data.shape)})")
    _check_dtypes(a, b, "addmm")
    return apply(_addmm, (bias, a, b), (beta, alpha))

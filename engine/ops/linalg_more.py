"""Linear algebra beyond matmul: einsum, tensordot, trace, diag, det, inverse, cross, kron, cdist,
and the decompositions behind torch.linalg (engine/linalg.py names them).

Where PyTorch has one autograd node the op is one OpDef with PyTorch's node name; where PyTorch
decomposes a function (tensordot, kron, cov, ...) so does the engine, and the gradient comes free.
Decompositions with several outputs (slogdet, eigh, svd, qr) are one op per output, each with the
part of PyTorch's VJP that its output's gradient feeds (the VJPs are linear in the output
gradients, so the parts add up to the whole); each part recomputes the factors it needs.
VJPs call ops of this module through `_call`, so a create_graph backward stays differentiable.
"""
import math
import string
from collections import namedtuple

import numpy as np

from ._core import OpDef, apply, TENSOR_MATH
from ._registry import binds, register
from . import shape as sh, reduce as red, linalg as la, elementwise as ew
from .elementwise import _type_title
from .reduce import normalize_dim


def _Tensor():
    from ..tensor import Tensor
    return Tensor


def _call(m, op, inputs, params=()):
    """Run one of this module's ops inside a VJP: through apply under create_graph (so the gradient
    is differentiable again), straight on the arrays otherwise."""
    if m is TENSOR_MATH:
        return apply(op, tuple(inputs), tuple(params))
    return op.forward(m.xp, *inputs, *params)


def _const(m, like, array_fn):
    """A constant (eye, ones) for a VJP, as an array or as a tensor on `like`'s device."""
    if m is TENSOR_MATH:
        xp = like._xp
        return _Tensor()._make(array_fn(xp, like._data.dtype), device=like.device)
    return array_fn(m.xp, like.dtype)


def _eye(m, like, n, k=None):
    return _const(m, like, lambda xp, dt: xp.eye(n, n if k is None else k, dtype=dt))


def _linalg(m):
    """xp.linalg for arrays, engine.linalg for tensors (same names and argument order)."""
    if m is TENSOR_MATH:
        from .. import linalg
        return linalg
    return m.xp.linalg


def _unsq(m, x, axis):
    return m.expand_dims(x, axis)


def _linalg_error(fn):
    """NumPy's LinAlgError is a ValueError; PyTorch's is a RuntimeError."""
    def forward(xp, *args):
        try:
            return fn(xp, *args)
        except np.linalg.LinAlgError as e:
            raise RuntimeError(str(e)) from None
    return forward


# ---------------------------------------------------------------------------------------------
# einsum: one op; the gradient of each operand is an einsum of the upstream gradient with the
# other operands, with identity matrices for labels repeated within the operand (a diagonal)
# and ones for labels summed away by that operand alone
def _einsum_forward(xp, *args):
    *arrays, eq = args
    return xp.einsum(eq, *arrays, optimize=len(arrays) > 1)


def _split_eq(eq):
    lhs, out = eq.split("->")
    return lhs.split(","), out


def _einsum_vjp(m, g, node, *saved):
    eq = node.params[0]
    subs, out = _split_eq(eq)
    sizes = {}
    for sub, shape in zip(subs, node.shapes):
        sizes.update(zip(sub, shape))
    spare = [c for c in string.ascii_letters if c not in sizes]
    grads = []
    for k, sub in enumerate(subs):
        if node._next[k] is None:
            grads.append(None)
            continue
        terms = [(out, g)] + [(s, saved[j]) for j, s in enumerate(subs) if j != k]
        target, seen, free = "", set(), iter(spare)
        for c in sub:
            if c in seen:  # a repeated label: the gradient lives on the diagonal
                d = next(free)
                terms.append((c + d, _eye(m, g, sizes[c])))
                target += d
            else:
                seen.add(c)
                target += c
        present = set("".join(s for s, _ in terms))
        for c in sorted(seen - present):  # summed by this operand alone: broadcast back
            terms.append((c, _const(m, g, lambda xp, dt, n=sizes[c]: xp.ones(n, dtype=dt))))
        grad_eq = ",".join(s for s, _ in terms) + "->" + target
        grads.append(_call(m, _einsum_op(len(terms)), [t for _, t in terms], (grad_eq,)))
    return tuple(grads)


_EINSUM_OPS = {}


def _einsum_op(n):
    op = _EINSUM_OPS.get(n)
    if op is None:
        op = OpDef("EinsumBackward0", _einsum_forward, _einsum_vjp, save_inputs=range(n), kind="einsum",
                   save_for=tuple(tuple(j for j in range(n) if j != i) for i in range(n)))  # read by the others
        _EINSUM_OPS[n] = op
    return op


def _sublist_equation(args):
    """einsum(op1, [0, 1], op2, [1, 2], [0, 2]): the sublist form, as an equation."""
    def letters(sub):
        return "".join("..." if s is Ellipsis else string.ascii_letters[s] for s in sub)
    operands, subs = list(args[0::2]), [letters(s) for s in args[1::2]]
    out = None
    if len(args) % 2:
        operands, out = operands[:-1], letters(args[-1])
    return ",".join(subs) + ("" if out is None else "->" + out), operands


def _einsum_plan(equation, operands):
    """The equation with ellipses spelt out and the output explicit, and the operands expanded
    where a size-1 dimension broadcasts against a label's size."""
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    subs = lhs.split(",")
    if len(subs) > len(operands):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(subs) < len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    for c in eq:
        if c not in string.ascii_letters and c not in ".,->":
            raise RuntimeError(f"einsum(): invalid subscript given at index {eq.index(c)} in the equation "
                               f"string, subscripts must be in [a-zA-Z]")
    spare = [c for c in reversed(string.ascii_letters) if c not in eq]
    n_ell = 0
    for sub, t in zip(subs, operands):
        named = len(sub.replace("...", ""))
        if named > t._data.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({named}) is more than the "
                               f"number of dimensions ({t._data.ndim}) for operand {subs.index(sub)}")
        if "..." in sub:
            n_ell = max(n_ell, t._data.ndim - named)
        elif named != t._data.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({named}) does not match the "
                               f"number of dimensions ({t._data.ndim}) for operand {subs.index(sub)} and no "
                               "ellipsis was given")
    ell = "".join(spare[:n_ell][::-1])
    full = [s.replace("...", ell[len(ell) - (t._data.ndim - len(s) + 3):])
            for s, t in zip(subs, operands)]
    if arrow:
        for c in out.replace("...", ""):
            if out.replace("...", "").count(c) > 1:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the output")
            if not any(c in s for s in full):
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation for any "
                                   "input operand")
        out = out.replace("...", ell)  # ellipsis dims not in the output are summed, as in PyTorch
    else:
        counts = "".join(full)
        out = ell + "".join(sorted(c for c in set(counts) if c not in ell and counts.count(c) == 1))
    sizes = {}
    for k, (sub, t) in enumerate(zip(full, operands)):
        for c, n in zip(sub, t._data.shape):
            if sub.count(c) > 1 and n != t._data.shape[sub.index(c)]:
                raise RuntimeError(f"einsum(): subscript {c} is repeated for operand {k} but the sizes don't "
                                   f"match, {n} != {t._data.shape[sub.index(c)]}")
            if sizes.get(c, 1) != 1 and n not in (1, sizes[c]):
                raise RuntimeError(f"einsum(): operands do not broadcast with remapped shapes "
                                   f"(original->remapped): subscript {c} has sizes {sizes[c]} and {n}")
            if sizes.get(c, 1) == 1:
                sizes[c] = n
    fitted = []
    for sub, t in zip(full, operands):
        want = tuple(sizes[c] for c in sub)
        fitted.append(t if tuple(t._data.shape) == want else sh.expand(t, want))
    return ",".join(full) + "->" + out, fitted


@binds('einsum', method=False)
def einsum(*args):
    if not isinstance(args[0], str):
        equation, operands = _sublist_equation(args)
    else:
        equation, operands = args[0], args[1:]
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = tuple(operands[0])
    operands = list(operands)
    for t in operands[1:]:
        if t.dtype is not operands[0].dtype:
            raise RuntimeError(f"expected scalar type {_type_title(operands[0].dtype)} but found "
                               f"{_type_title(t.dtype)}")
    eq, operands = _einsum_plan(equation, operands)
    return apply(_einsum_op(len(operands)), tuple(operands), (eq,))


# ---------------------------------------------------------------------------------------------
# products with an added term (baddbmm, addbmm, addmv, addr): beta * input + alpha * einsum(x, y)
def _addprod_forward(xp, bias, x, y, eq, beta, alpha):
    out = xp.einsum(eq, x, y, optimize=True)
    if alpha != 1:
        out = out * alpha
    if beta == 0:  # PyTorch ignores the input then (nan and inf included)
        return out + xp.zeros_like(bias)
    return out + (bias if beta == 1 else bias * beta)


def _addprod_vjp(m, g, node, x, y):
    eq, beta, alpha = node.params
    gx, gy = _einsum_vjp(m, g * alpha if alpha != 1 else g, _Node(node._next[1:], node.shapes[1:], (eq,)), x, y)
    gbias = None
    if node._next[0] is not None:
        gbias = g * beta if beta != 1 else g
    return gbias, gx, gy


class _Node:
    """What _einsum_vjp reads of a node, for the product inside an add-product op."""
    def __init__(self, next_, shapes, params):
        self._next, self.shapes, self.params = next_, shapes, params


def _addprod(name, eq, check):
    op = OpDef(name, _addprod_forward, _addprod_vjp, save_inputs=(1, 2), kind=name[:-9].lower(),
               save_for=((2,), (1,)))

    def fn(input, a, b, *, beta=1, alpha=1):
        check(a, b)
        for t in (a, b):
            if t.dtype is not input.dtype:
                raise RuntimeError(f"expected scalar type {_type_title(input.dtype)} but found "
                                   f"{_type_title(t.dtype)}")
        return apply(op, (input, a, b), (eq, beta, alpha))
    return fn


def _check_batches(a, b):
    if a.dim() != 3 or b.dim() != 3:
        raise RuntimeError("batch1 must be a 3D tensor" if a.dim() != 3 else "batch2 must be a 3D tensor")
    if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{a.shape[0]}, "
                           f"{a.shape[2]}] but got: [{b.shape[0]}, {b.shape[1]}].")


def _check_mv(a, v):
    if a.dim() != 2 or v.dim() != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {a.dim()}, {v.dim()}")
    if a.shape[1] != v.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({a.shape[0]}), mat ({a.shape[0]}x{a.shape[1]}), vec "
                           f"({v.shape[0]})")


def _check_vectors(a, b):
    if a.dim() != 1 or b.dim() != 1:
        raise RuntimeError(f"addr: Expected 1-D argument vec1, but got {a.dim()}-D" if a.dim() != 1 else
                           f"addr: Expected 1-D argument vec2, but got {b.dim()}-D")


baddbmm = register(_addprod("BaddbmmBackward0", "bij,bjk->bik", _check_batches), torch='baddbmm', inplace=True)
addbmm = register(_addprod("AddbmmBackward0", "bij,bjk->ik", _check_batches), torch='addbmm', inplace=True)
addmv = register(_addprod("AddmvBackward0", "ij,j->i", _check_mv), torch='addmv', inplace=True)
addr = register(_addprod("AddrBackward0", "i,j->ij", _check_vectors), torch='addr', inplace=True)


_vdot = OpDef("VdotBackward0", la._matmul_forward, la._matmul_vjp, save_inputs=(0, 1), kind="vdot", save_for=((1,), (0,)))


@binds('vdot')
def vdot(a, b, *, out=None):
    if a.dim() != 1 or b.dim() != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.dim()}D and {b.dim()}D tensors")
    return la.matmul(a, b, out=out, op=_vdot)


# ---------------------------------------------------------------------------------------------
# composites, as PyTorch decomposes them
@binds('tensordot', method=False)
def tensordot(a, b, dims=2, out=None):
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da, db = list(range(a.dim() - dims, a.dim())), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
    da = [normalize_dim(d, a.dim()) for d in da]
    db = [normalize_dim(d, b.dim()) for d in db]
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            # a size-1 dim contracts with the other side summed over that dim, as in PyTorch
            if a.shape[i] == 1:
                b = b.sum(j, keepdim=True)
            elif b.shape[j] == 1:
                a = a.sum(i, keepdim=True)
            else:
                raise RuntimeError(f"contracted dimensions need to match, but first has size {a.shape[i]} in dim "
                                   f"{i} and second has size {b.shape[j]} in dim {j}")
    free_a = [d for d in range(a.dim()) if d not in da]
    free_b = [d for d in range(b.dim()) if d not in db]
    k = math.prod(a.shape[d] for d in da)
    left = a.permute(free_a + da).reshape(-1, k)
    right = b.permute(db + free_b).reshape(k, -1)
    return (left @ right).reshape([a.shape[d] for d in free_a] + [b.shape[d] for d in free_b])


@binds('kron')
def kron(a, b):
    nd = max(a.dim(), b.dim())
    a = a.reshape((1,) * (nd - a.dim()) + tuple(a.shape))
    b = b.reshape((1,) * (nd - b.dim()) + tuple(b.shape))
    # interleave: a's dims at even positions, b's at odd, then merge each pair
    ea = a.reshape([s for n in a.shape for s in (n, 1)])
    eb = b.reshape([s for n in b.shape for s in (1, n)])
    return (ea * eb).reshape([x * y for x, y in zip(a.shape, b.shape)])


@binds('chain_matmul', method=False)
def chain_matmul(*matrices):
    if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)):
        matrices = matrices[0]
    for t in matrices:
        if t.dim() != 2:
            raise RuntimeError(f"Tensor dimension is {t.dim()}, expected 2 instead.")
    return multi_dot(matrices) if len(matrices) > 1 else matrices[0].clone()


@binds(method=False, linalg='multi_dot')
def multi_dot(tensors):
    n = len(tensors)
    if n < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {n}")
    first, last = tensors[0], tensors[-1]
    for i, t in enumerate(tensors):
        want = (1, 2) if i in (0, n - 1) else (2,)
        if t.dim() not in want:
            where = "first" if i == 0 else "last" if i == n - 1 else None
            if where:
                raise RuntimeError(f"multi_dot(): the {where} tensor must be 1D or 2D but got {t.dim()}D")
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {t.dim()}D")
    mats = list(tensors)
    if first.dim() == 1:
        mats[0] = first.unsqueeze(0)
    if last.dim() == 1:
        mats[-1] = last.unsqueeze(1)
    result = mats[0]
    for t in mats[1:]:
        result = la.matmul(result, t)
    if first.dim() == 1 and last.dim() == 1:
        return result.reshape(())
    if first.dim() == 1:
        return result.squeeze(0)
    return result.squeeze(1) if last.dim() == 1 else result


@binds('matrix_power', linalg='matrix_power')
def matrix_power(A, n):
    _check_square(A, "linalg.matrix_power", float_only=False)
    if n == 0:  # the identity, copied over A (so the gradient is zero, as in PyTorch)
        from ..creation import eye
        return A.clone().copy_(eye(A.shape[-1], dtype=A.dtype, device=A.device).expand(A.shape))
    if n < 0:
        A, n = inv(A), -n
    result, base = None, A
    while n:  # binary powering, as PyTorch
        if n & 1:
            result = base if result is None else la.matmul(result, base)
        n >>= 1
        if n:
            base = la.matmul(base, base)
    return result.clone() if result is A else result


@binds('cdist', method=False)
def cdist(x1, x2, p=2.0, compute_mode=None):
    if x1.dim() < 2 or x2.dim() < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.dim()}D" if x1.dim() < 2 else
                           f"cdist only supports at least 2D tensors, X2 got: {x2.dim()}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    return red.norm(x1.unsqueeze(-2) - x2.unsqueeze(-3), p=p, dim=-1)


@binds('dist')
def dist(a, b, p=2):
    return red.norm(a - b, p=p)


@binds('cov')
def cov(input, *, correction=1, fweights=None, aweights=None):
    if input.dim() > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.dim()} dimensions")
    x = input.reshape(1, -1) if input.dim() < 2 else input
    if not x.dtype.is_floating_point:
        x = x.float()
    w = None
    if fweights is not None:
        w = fweights
    if aweights is not None:
        w = aweights if w is None else w * aweights
    if w is None:
        n = x.shape[1]
        avg = x.mean(1)
        norm = n - correction
    else:
        w = w.to(x.dtype)
        w_sum = w.sum()
        avg = (x * w).sum(1) / w_sum
        norm = w_sum - (correction * (w * aweights).sum() / w_sum if aweights is not None else correction)
    xm = x - avg.unsqueeze(1)
    c = la.matmul(xm * w if w is not None else xm, xm.t())
    c = c / ew.clamp(norm, min=0) if isinstance(norm, _Tensor()) else c / max(norm, 0)
    return c.squeeze()


@binds('corrcoef')
def corrcoef(input):
    c = cov(input)
    if c.dim() == 0:
        return c / c
    d = diagonal(c, 0, -2, -1).sqrt()
    return ew.clamp(c / d.unsqueeze(1) / d.unsqueeze(0), -1, 1)


# ---------------------------------------------------------------------------------------------
# cross, trace, diagonals
def _cross_forward(xp, a, b, axis):
    return xp.cross(a, b, axis=axis)


def _cross_vjp(m, g, node, a, b):
    axis = node.params[0]
    ga = _call(m, _cross, (b, g), (axis,)) if node._next[0] is not None else None
    gb = _call(m, _cross, (g, a), (axis,)) if node._next[1] is not None else None
    return ga, gb


_cross = OpDef("LinalgCrossBackward0", _cross_forward, _cross_vjp, save_inputs=(0, 1), kind="cross", save_for=((1,), (0,)))


def _broadcast_shape(*shapes):
    from ._core import broadcast_error
    error = broadcast_error(shapes)
    if error is not None:
        raise error
    nd = max(len(s) for s in shapes)
    padded = [(1,) * (nd - len(s)) + tuple(s) for s in shapes]
    return tuple(max(d) if min(d) != 0 else 0 for d in zip(*padded))


@binds(method=False, linalg='cross')
def linalg_cross(a, b, *, dim=-1):
    if a.dim() != b.dim():
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    shape = _broadcast_shape(a.shape, b.shape)
    axis = normalize_dim(dim, len(shape))
    if a.shape[axis] != 3 or b.shape[axis] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {a.shape[axis]} and "
                           f"{b.shape[axis]}")
    return apply(_cross, (a, b), (axis - len(shape),))


@binds('cross')
def cross(a, b, dim=None):
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


@binds('trace')
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


@binds('diag_embed')
def diag_embed(x, offset=0, dim1=-2, dim2=-1):
    nd = x.dim() + 1
    a, b = normalize_dim(dim1, nd), normalize_dim(dim2, nd)
    if a == b:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    size = x.shape[-1] + abs(offset)
    return apply(_diag_embed, (x,), (offset, a, b, size, size))


@binds('diagflat')
def diagflat(x, offset=0):
    return diag_embed(x.reshape(-1), offset)


@binds('diag')
def diag(x, diagonal=0):
    if x.dim() == 1:
        return diag_embed(x, diagonal)
    if x.dim() == 2:
        return globals()["diagonal"](x, diagonal, 0, 1)
    raise RuntimeError("diag(): Supports 1D or 2D tensors. Got " + f"{x.dim()}D")


@binds(method=False, linalg='vecdot')
def vecdot(x, y, *, dim=-1):
    return (x * y).sum(dim)


# ---------------------------------------------------------------------------------------------
# determinants and inverses
def _check_square(A, name, float_only=True, arg="A"):
    if float_only and not A.dtype.is_floating_point:
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got "
                           f"{_type_title(A.dtype)}")
    if A.dim() < 2:
        raise RuntimeError(f"{name}: The input tensor {arg} must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{name}: {arg} must be batches of square matrices, but they are {A.shape[-2]} by "
                           f"{A.shape[-1]} matrices")


def _check_matrix(A, name):
    if not A.dtype.is_floating_point:
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got "
                           f"{_type_title(A.dtype)}")
    if A.dim() < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")


def _inv_t(m, A):
    return m.mT(_linalg(m).inv(A))


def _det_vjp(m, g, node, A, det):
    return _unsq(m, _unsq(m, g * det, -1), -1) * _inv_t(m, A)


_det = OpDef("LinalgDetBackward0", lambda xp, A: xp.linalg.det(A), _det_vjp, save_inputs=(0,), save_output=True,
             kind="det")


@binds('det', linalg='det')
def det(A):
    _check_square(A, "linalg.det")
    return apply(_det, (A,))


def _logabsdet_vjp(m, g, node, A):
    return _unsq(m, _unsq(m, g, -1), -1) * _inv_t(m, A)


def _sign_vjp(m, g, node):
    return m.zeros(node.shapes[0], g)


_slogdet_sign = OpDef("LinalgSlogdetBackward0", lambda xp, A: xp.linalg.slogdet(A)[0], _sign_vjp, kind="slogdet")
_slogdet_abs = OpDef("LinalgSlogdetBackward0", lambda xp, A: xp.linalg.slogdet(A)[1], _logabsdet_vjp,
                     save_inputs=(0,), kind="slogdet")
SlogdetResult = namedtuple("slogdet", ["sign", "logabsdet"])


@binds('slogdet', linalg='slogdet')
def slogdet(A):
    _check_square(A, "linalg.slogdet")
    return SlogdetResult(apply(_slogdet_sign, (A,)), apply(_slogdet_abs, (A,)))


@binds('logdet')
def logdet(A):
    _check_square(A, "logdet")
    sign, logabs = slogdet(A)
    return ew.where(sign < 0, math.nan, logabs)


def _inv_vjp(m, g, node, Ainv):
    Ainv_t = m.mT(Ainv)
    return -m.matmul(m.matmul(Ainv_t, g), Ainv_t)


_inv = OpDef("LinalgInvExBackward0", _linalg_error(lambda xp, A: xp.linalg.inv(A)), _inv_vjp, save_output=True,
             kind="inv")


@binds('inverse', linalg='inv')
def inv(A):
    _check_square(A, "linalg.inv")
    return apply(_inv, (A,))


def _solve_forward(xp, A, B, vector, left):
    if not left:  # X A = B  <=>  A^T X^T = B^T
        return xp.swapaxes(_solve_forward(xp, xp.swapaxes(A, -1, -2), xp.swapaxes(B, -1, -2), False, True), -1, -2)
    if vector:
        B = B[..., None]
    batch = np.broadcast_shapes(A.shape[:-2], B.shape[:-2])
    A = xp.broadcast_to(A, batch + A.shape[-2:])
    B = xp.broadcast_to(B, batch + B.shape[-2:])
    try:
        X = xp.linalg.solve(A, B)
    except np.linalg.LinAlgError as e:
        raise RuntimeError(f"linalg.solve: {e}") from None
    return X[..., 0] if vector else X


def _solve_vjp(m, g, node, A, X):
    vector, left = node.params
    if not left:  # the transposed problem
        A, X, g = m.mT(A), m.mT(X), m.mT(g)
    gB = _call(m, _solve, (m.mT(A), g), (vector, True))
    gA = None
    if node._next[0] is not None:
        gA = -(_unsq(m, gB, -1) * _unsq(m, X, -2) if vector else m.matmul(gB, m.mT(X)))
        if not left:
            gA = m.mT(gA)
    if not left:
        gB = m.mT(gB)
    return gA, (gB if node._next[1] is not None else None)


_solve = OpDef("LinalgSolveExBackward0", _solve_forward, _solve_vjp, save_inputs=(0,), save_output=True,
               kind="solve")


@binds(method=False, linalg='solve')
def solve(A, B, *, left=True, out=None):
    _check_square(A, "linalg.solve")
    if A.dtype is not B.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found A of type "
                           f"{_type_title(A.dtype)} and B of type {_type_title(B.dtype)} instead")
    if not left and B.dim() == 1:
        raise RuntimeError("linalg.solve: Vector broadcasting of the left hand side is not supported for left=False. "
                           "In this case linalg.solve is equivalent to B / A.squeeze(-1)")
    vector = B.dim() == 1 or (left and B.dim() == A.dim() - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    n = B.shape[-1] if vector else (B.shape[-2] if left else B.shape[-1])
    if n != A.shape[-1]:
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({A.shape[-2]}x{A.shape[-1]} and "
                           f"{'x'.join(str(s) for s in B.shape[-2:])})")
    return apply(_solve, (A, B), (vector, left))


# ---------------------------------------------------------------------------------------------
# decompositions
def _cholesky_forward(xp, A, upper):
    try:
        L = xp.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        raise RuntimeError("linalg.cholesky: The factorization could not be completed because the input is not "
                           "positive-definite.") from None
    return xp.swapaxes(L, -1, -2) if upper else L


def _cholesky_vjp(m, g, node, L):
    if node.params[0]:  # upper: the output is L^T
        L, g = m.mT(L), m.mT(g)
    # PyTorch's formula: gA = L^-T sym(tril(L^T gL)) L^-1, sym(X) = (X + X^T - diag X) / 2
    gA = m.tril(m.matmul(m.mT(L), g))
    gA = 0.5 * (gA + m.mT(m.tril(gA, -1)))
    solve_ = _linalg(m).solve
    gA = solve_(m.mT(L), gA)
    return m.mT(solve_(m.mT(L), m.mT(gA)))


_cholesky = OpDef("LinalgCholeskyExBackward0", _cholesky_forward, _cholesky_vjp, save_output=True, kind="cholesky")
_cholesky_old = OpDef("CholeskyBackward0", _cholesky_forward, _cholesky_vjp, save_output=True, kind="cholesky")


@binds(method=False, linalg='cholesky')
def linalg_cholesky(A, *, upper=False, out=None):
    _check_square(A, "linalg.cholesky")
    return apply(_cholesky, (A,), (upper,))


@binds('cholesky')
def cholesky(A, upper=False, *, out=None):
    _check_square(A, "cholesky")
    return apply(_cholesky_old, (A,), (upper,))


EighResult = namedtuple("eigh", ["eigenvalues", "eigenvectors"])


def _eigh_vjp(m, g, node, A):
    """PyTorch's eigh VJP, gA = V (diag(gL) + skew(V^T gV) / E) V^T with E_ij = L_j - L_i; each
    output's op takes its own term."""
    UPLO, which = node.params
    L, V = _linalg(m).eigh(A, UPLO)
    if which == 0:
        inner = _unsq(m, g, -2) * _eye(m, g, g.shape[-1])
    else:
        VtgV = m.matmul(m.mT(V), g)
        n = L.shape[-1]
        eye = _eye(m, L, n)
        E = _unsq(m, L, -2) - _unsq(m, L, -1) + eye
        inner = 0.5 * (VtgV - m.mT(VtgV)) / E * (1 - eye)
    return m.matmul(V, m.matmul(inner, m.mT(V)))


def _eigh_forward(xp, A, UPLO, which):
    return xp.linalg.eigh(A, UPLO)[which]


_eigh = OpDef("LinalgEighBackward0", _linalg_error(_eigh_forward), _eigh_vjp, save_inputs=(0,), kind="eigh")


@binds(method=False, linalg='eigh')
def eigh(A, UPLO="L"):
    _check_square(A, "linalg.eigh")
    return EighResult(apply(_eigh, (A,), (UPLO, 0)), apply(_eigh, (A,), (UPLO, 1)))


@binds(method=False, linalg='eigvalsh')
def eigvalsh(A, UPLO="L"):
    _check_square(A, "linalg.eigvalsh")
    return apply(_eigh, (A,), (UPLO, 0))


SvdResult = namedtuple("svd", ["U", "S", "Vh"])


def _svd_forward(xp, A, full_matrices, which):
    if which == 1:
        return xp.linalg.svd(A, compute_uv=False)
    return xp.linalg.svd(A, full_matrices=full_matrices)[0 if which == 0 else 2]


def _svd_vjp(m, g, node, A):
    """PyTorch's svd VJP (for k = min(m, n) singular triples), the term of the output taken."""
    full, which = node.params
    rows, cols = node.shapes[0][-2:]
    U, S, Vh = _linalg(m).svd(A, full_matrices=False)
    k = S.shape[-1]
    if which == 1:
        return m.matmul(U * _unsq(m, g, -2), Vh)
    S2 = S * S
    E = _unsq(m, S2, -2) - _unsq(m, S2, -1) + _eye(m, S, k)
    if which == 0:
        gU = g[..., :k] if full else g
        skew = m.matmul(m.mT(U), gU)
        gA = (skew - m.mT(skew)) * _unsq(m, S, -2) / E
        if rows > cols:  # the part of gU outside U's span
            gUS = gU / _unsq(m, S, -2)
            return m.matmul(m.matmul(U, gA) + gUS - m.matmul(U, m.matmul(m.mT(U), gUS)), Vh)
        return m.matmul(U, m.matmul(gA, Vh))
    gVh = g[..., :k, :] if full else g
    skew = m.matmul(Vh, m.mT(gVh))
    gA = _unsq(m, S, -1) * (skew - m.mT(skew)) / E
    if rows < cols:
        SgVh = gVh / _unsq(m, S, -1)
        return m.matmul(U, m.matmul(gA, Vh) + SgVh - m.matmul(m.matmul(SgVh, m.mT(Vh)), Vh))
    return m.matmul(U, m.matmul(gA, Vh))


_svd = OpDef("LinalgSvdBackward0", _linalg_error(_svd_forward), _svd_vjp, save_inputs=(0,), kind="svd")


@binds(method=False, linalg='svd')
def svd(A, full_matrices=True):
    _check_matrix(A, "linalg.svd")
    return SvdResult(*(apply(_svd, (A,), (full_matrices, i)) for i in range(3)))


@binds(method=False, linalg='svdvals')
def svdvals(A):
    _check_matrix(A, "linalg.svdvals")
    return apply(_svd, (A,), (False, 1))


QrResult = namedtuple("qr", ["Q", "R"])


def _qr_forward(xp, A, mode, which):
    if mode == "r":
        return xp.zeros((0,), dtype=A.dtype) if which == 0 else xp.linalg.qr(A, mode="r")
    return xp.linalg.qr(A, mode=mode)[which]


def _qr_vjp(m, g, node, A):
    """For m >= n: gA = (gQ + Q copyltu(M)) R^-T with M = R gR^T - gQ^T Q, split by output."""
    mode, which = node.params
    rows, cols = node.shapes[0][-2:]
    if mode == "r":
        raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                           "Please use linalg.qr(A, mode='reduced') if you are going to differentiate through "
                           "linalg.qr.")
    if rows < cols:
        raise NotImplementedError("linalg.qr backward for matrices with fewer rows than columns is not supported")
    if mode == "complete" and rows > cols:
        raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
    Q, R = _linalg(m).qr(A)
    M = -m.matmul(m.mT(g), Q) if which == 0 else m.matmul(R, m.mT(g))
    gA = m.matmul(Q, m.tril(M) + m.mT(m.tril(M, -1)))
    if which == 0:
        gA = gA + g
    return m.mT(_linalg(m).solve(R, m.mT(gA)))


_qr = OpDef("LinalgQrBackward0", _qr_forward, _qr_vjp, save_inputs=(0,), kind="qr")


@binds(method=False, linalg='qr')
def qr(A, mode="reduced"):
    _check_matrix(A, "linalg.qr")
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
                           "'r', or 'complete'")
    return QrResult(apply(_qr, (A,), (mode, 0)), apply(_qr, (A,), (mode, 1)))


def _pinv_vjp(m, g, node, A, P):
    """PyTorch's pinv_backward."""
    rows, cols = node.shapes[0][-2:]
    Pt = m.mT(P)
    if rows <= cols:
        K = m.matmul(m.mT(g), P)
        KPt = m.matmul(K, Pt)
        return (-m.mT(m.matmul(P, K)) + KPt - m.matmul(m.matmul(A, P), KPt)
                + m.matmul(m.matmul(Pt, P), m.mT(g) - m.matmul(K, A)))
    K = m.matmul(P, m.mT(g))
    PtK = m.matmul(Pt, K)
    return (-m.mT(m.matmul(K, P)) + m.matmul(m.matmul(m.mT(g) - m.matmul(A, K), P), Pt) + PtK
            - m.matmul(m.matmul(PtK, P), A))


def _pinv_forward(xp, A, rtol):
    return xp.linalg.pinv(A, rtol)


_pinv = OpDef("LinalgPinvBackward0", _linalg_error(_pinv_forward), _pinv_vjp, save_inputs=(0,), save_output=True,
              kind="pinv")


@binds(method=False, linalg='pinv')
def pinv(A, *, atol=None, rtol=None, hermitian=False):
    _check_matrix(A, "linalg.pinv")
    if atol is not None:
        raise NotImplementedError("linalg.pinv: atol is not supported; use rtol")
    if rtol is None:
        rtol = np.finfo(A._data.dtype).eps * max(A.shape[-2:])
    if hermitian:  # PyTorch reads only the lower triangle of a hermitian input (it goes through eigh)
        lower = A.tril()
        A = lower + lower.tril(-1).mT
    return apply(_pinv, (A,), (float(rtol),))


@binds('pinverse')
def pinverse(A, rcond=1e-15):
    return pinv(A, rtol=rcond)


@binds(method=False, linalg='matrix_rank')
def matrix_rank(A, *, atol=None, rtol=None, hermitian=False):
    _check_matrix(A, "linalg.matrix_rank")
    xp = A._xp
    S = xp.linalg.svd(A._data, compute_uv=False)
    smax = S.max(axis=-1, keepdims=True) if S.shape[-1] else xp.zeros(S.shape[:-1] + (1,), dtype=S.dtype)
    if rtol is None:
        rtol = 0.0 if atol is not None and atol > 0 else np.finfo(A._data.dtype).eps * max(A.shape[-2:])
    tol = xp.maximum(smax * rtol, atol or 0.0)
    return _Tensor()._make(xp.asarray((S > tol).sum(axis=-1), dtype=np.int64), device=A.device)


def _expm(xp, A):
    """exp(A) by scaling and squaring with a degree-18 Taylor series (float64 accuracy)."""
    norm = float(xp.max(xp.sum(xp.abs(A), axis=-2))) if A.size else 0.0
    s = max(0, int(math.ceil(math.log2(norm))) + 1) if norm > 0.5 else 0
    X = A / (2.0 ** s)
    eye = xp.eye(A.shape[-1], dtype=A.dtype)
    out = eye + X
    term = X
    for k in range(2, 19):
        term = xp.matmul(term, X) / k
        out = out + term
    for _ in range(s):
        out = xp.matmul(out, out)
    return out


def _matrix_exp_vjp(m, g, node, A):
    # the Fréchet derivative in direction g: the top-right block of exp([[A^T, g], [0, A^T]])
    n = A.shape[-1]
    At = m.mT(A)
    cat = sh.cat if m is TENSOR_MATH else m.xp.concatenate
    big = cat([cat([At, g], -1), cat([At * 0, At], -1)], -2)
    return _call(m, _matrix_exp, (big,))[..., :n, n:]


_matrix_exp = OpDef("LinalgMatrixExpBackward0", _expm, _matrix_exp_vjp, save_inputs=(0,), kind="matrix_exp")


@binds('matrix_exp', linalg='matrix_exp')
def matrix_exp(A):
    _check_square(A, "linalg.matrix_exp")
    return apply(_matrix_exp, (A,))


@binds(method=False, linalg='lstsq')
def lstsq(A, B, rcond=None, *, driver=None):
    """The least-squares solution through the pseudo-inverse. The other outputs are what PyTorch's
    CPU drivers compute: the rank (all but gels), the singular values (gelsd, gelss) and, for a
    tall A, the residuals (gels, gelsd, gelss); the rest are empty."""
    _check_matrix(A, "linalg.lstsq")
    driver = driver or "gelsy"
    vector = B.dim() == A.dim() - 1
    X = la.matmul(pinv(A), B.unsqueeze(-1) if vector else B)
    X = X.squeeze(-1) if vector else X

    def empty(dtype):
        return _Tensor()._make(A._xp.zeros((0,), dtype=dtype), device=A.device)
    m, n = A.shape[-2:]
    residuals = empty(A._data.dtype)
    if m > n and driver != "gelsy":
        fit = la.matmul(A, X.unsqueeze(-1) if vector else X) - (B.unsqueeze(-1) if vector else B)
        residuals = (fit * fit).sum(-2)
    rank = empty(np.int64) if driver == "gels" else matrix_rank(A)
    singular_values = svdvals(A) if driver in ("gelsd", "gelss") else empty(A._data.dtype)
    return LstsqResult(X, residuals, rank, singular_values)


LstsqResult = namedtuple("lstsq", ["solution", "residuals", "rank", "singular_values"])


# ---------------------------------------------------------------------------------------------
# norms
@binds(method=False, linalg='vector_norm')
def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    if dtype is not None:
        x = x.to(dtype)
    return red.norm(x, ord, dim, keepdim)


@binds(method=False, linalg='matrix_norm')
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


@binds(method=False, linalg='norm')
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

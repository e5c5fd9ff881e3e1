"""Contractions: einsum (one op), tensordot, kron, chain_matmul, vdot, cdist/dist, cov/corrcoef,
and the products with an added term (baddbmm, addbmm, addmv, addr)."""
import math
import string
from ._core import OpDef, apply
from ._registry import binds, register
from ..creation import eye
from ._linalg import _Tensor, _call, _const, _eye
from .decompose import _check_square, inv
from .matrix import diagonal
from . import shape as sh, reduce as red, linalg as la, elementwise as ew
from .reduce import normalize_dim


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


@binds("einsum", method=False)
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
            raise RuntimeError(f"expected scalar type {operands[0].dtype.title} but found "
                               f"{t.dtype.title}")
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
                raise RuntimeError(f"expected scalar type {input.dtype.title} but found "
                                   f"{t.dtype.title}")
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


_baddbmm = _addprod("BaddbmmBackward0", "bij,bjk->bik", _check_batches)
_addbmm = _addprod("AddbmmBackward0", "bij,bjk->ik", _check_batches)
_addmv = _addprod("AddmvBackward0", "ij,j->i", _check_mv)
_addr = _addprod("AddrBackward0", "i,j->ij", _check_vectors)


@binds("baddbmm", inplace=True)
def baddbmm(input, batch1, batch2, out_dtype=None, *, beta=1, alpha=1):
    la.check_out_dtype("baddbmm", out_dtype)
    return _baddbmm(input, batch1, batch2, beta=beta, alpha=alpha)


@binds("addbmm", inplace=True)
def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    return _addbmm(input, batch1, batch2, beta=beta, alpha=alpha)


@binds("addmv", inplace=True)
def addmv(input, mat, vec, *, beta=1, alpha=1):
    return _addmv(input, mat, vec, beta=beta, alpha=alpha)


@binds("addr", inplace=True)
def addr(input, vec1, vec2, *, beta=1, alpha=1):
    return _addr(input, vec1, vec2, beta=beta, alpha=alpha)


_vdot = OpDef("VdotBackward0", la._matmul_forward, la._matmul_vjp, save_inputs=(0, 1), kind="vdot",
              save_for=((1,), (0,)))


@binds("vdot")
def vdot(input, other, *, out=None):
    a, b = input, other
    if a.dim() != 1 or b.dim() != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.dim()}D and {b.dim()}D tensors")
    return la.matmul(a, b, out=out, op=_vdot)


# ---------------------------------------------------------------------------------------------
# composites, as PyTorch decomposes them
@binds("tensordot", method=False)
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


@binds("kron")
def kron(input, other):
    a, b = input, other
    nd = max(a.dim(), b.dim())
    a = a.reshape((1,) * (nd - a.dim()) + tuple(a.shape))
    b = b.reshape((1,) * (nd - b.dim()) + tuple(b.shape))
    # interleave: a's dims at even positions, b's at odd, then merge each pair
    ea = a.reshape([s for n in a.shape for s in (n, 1)])
    eb = b.reshape([s for n in b.shape for s in (1, n)])
    return (ea * eb).reshape([x * y for x, y in zip(a.shape, b.shape)])


@binds("chain_matmul", method=False)
def chain_matmul(*matrices):
    if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)):
        matrices = matrices[0]
    for t in matrices:
        if t.dim() != 2:
            raise RuntimeError(f"Tensor dimension is {t.dim()}, expected 2 instead.")
    return multi_dot(matrices) if len(matrices) > 1 else matrices[0].clone()


@binds(method=False, linalg="multi_dot")
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


@binds("matrix_power", linalg="matrix_power")
def matrix_power(A, n):
    _check_square(A, "linalg.matrix_power", float_only=False)
    if n == 0:  # the identity, copied over A (so the gradient is zero, as in PyTorch)
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


@binds("cdist", method=False)
def cdist(x1, x2, p=2.0, compute_mode=None):
    if x1.dim() < 2 or x2.dim() < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.dim()}D" if x1.dim() < 2 else
                           f"cdist only supports at least 2D tensors, X2 got: {x2.dim()}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    return red.norm(x1.unsqueeze(-2) - x2.unsqueeze(-3), p=p, dim=-1)


@binds("dist")
def dist(input, other, p=2):
    return red.norm(input - other, p=p)


@binds("cov")
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


@binds("corrcoef")
def corrcoef(input):
    c = cov(input)
    if c.dim() == 0:
        return c / c
    d = diagonal(c, 0, -2, -1).sqrt()
    return ew.clamp(c / d.unsqueeze(1) / d.unsqueeze(0), -1, 1)

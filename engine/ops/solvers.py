"""torch.linalg's solvers and factorizations beyond the core ones (engine/ops/decompose.py): the
`_ex` forms (inv_ex, solve_ex, cholesky_ex), solve_triangular, tensorinv, tensorsolve, the LU family
(lu_factor, lu_factor_ex, lu, lu_solve, and torch.lu / torch.lu_solve / torch.lu_unpack), and cond,
vander, householder_product. Most are compositions of differentiable ops; lu_factor is one op whose
gradient is PyTorch's formula (written in those ops, so create_graph works)."""
import numpy as np

from .. import backends
from .._dims import normalize_dim
from ._core import OpDef, ArrayMath, apply
from ._registry import binds
from ..tensor import Tensor


def _torch():
    from gradview import engine  # the torch namespace, complete once every op module has loaded
    return engine


def _info(A, batch_dims=2):
    """PyTorch's int32 info tensor of zeros over A's batch dimensions."""
    return _torch().zeros(tuple(A.shape[:-batch_dims]), dtype=_torch().int32, device=A.device)


# ---------------------------------------------------------------------------------------------
# the _ex forms: the result and an info tensor (0: success; errors raise, as with check_errors=True)
@binds(method=False, linalg="inv_ex")
def inv_ex(A, *, check_errors=False, out=None):
    return _torch().linalg.inv(A), _info(A)


@binds(method=False, linalg="solve_ex")
def solve_ex(A, B, *, left=True, check_errors=False, out=None):
    return _torch().linalg.solve(A, B, left=left), _info(A)


@binds(method=False, linalg="cholesky_ex")
def cholesky_ex(A, *, upper=False, check_errors=False, out=None):
    return _torch().linalg.cholesky(A, upper=upper), _info(A)


# ---------------------------------------------------------------------------------------------
def _triangle(A, upper, unitriangular):
    T = A.triu(1 if unitriangular else 0) if upper else A.tril(-1 if unitriangular else 0)
    if unitriangular:
        n = A.shape[-1]
        T = T + _torch().eye(n, dtype=A.dtype, device=A.device)
    return T


@binds(method=False, linalg="solve_triangular")
def solve_triangular(A, B, *, upper, left=True, unitriangular=False, out=None):
    """X with A X = B (left) or X A = B, reading only A's upper or lower triangle."""
    if A.dim() < 2 or B.dim() < 2:
        raise RuntimeError("linalg.solve_triangular: The input tensor B must have at least 2 dimensions.")
    X = _torch().linalg.solve(_triangle(A, upper, unitriangular), B, left=left)
    if out is not None:
        out.copy_(X)
        return out
    return X


@binds(method=False, linalg="tensorinv")
def tensorinv(input, ind=2, *, out=None):
    # PyTorch's keywords are input/other (get_testing_overrides lists a/b, which PyTorch rejects)
    A = input
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    shape = tuple(A.shape)
    rows, cols = int(np.prod(shape[:ind])), int(np.prod(shape[ind:]))
    if rows != cols:
        raise RuntimeError("Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           "prod(self.shape[:ind])")
    return _torch().linalg.inv(A.reshape(rows, cols)).reshape(shape[ind:] + shape[:ind])


@binds(method=False, linalg="tensorsolve")
def tensorsolve(input, other, dims=None, *, out=None):
    A, B = input, other
    if dims is not None:
        dims = [normalize_dim(d, A.dim()) for d in dims]
        A = _torch().movedim(A, dims, list(range(A.dim() - len(dims), A.dim())))
    rest = tuple(A.shape[B.dim():])
    n = int(np.prod(rest))
    if int(np.prod(tuple(B.shape))) != n:
        raise RuntimeError("Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
                           "prod(self.shape[:other.ndim])")
    return _torch().linalg.solve(A.reshape(n, n), B.reshape(n)).reshape(rest)


@binds(method=False, linalg="vander")
def vander(x, *, N=None):
    """Columns x**0, x**1, ..., x**(N-1) (as repeated products, so 0**0 is 1)."""
    torch = _torch()
    if x.dim() == 0:
        x = x.reshape(1)  # a 0-d x is read as one value, as PyTorch does
    n = x.shape[-1] if N is None else int(N)
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    columns = [torch.ones(tuple(x.shape), dtype=x.dtype, device=x.device), x]
    while len(columns) < n:  # repeated products: the gradient stays finite where x is 0
        columns.append(columns[-1] * x)
    return torch.stack(columns, -1)


@binds(method=False, linalg="householder_product")
def householder_product(A, tau, *, out=None):
    """The first n columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^T, v_i the i-th column of A below
    the diagonal with a 1 on it."""
    torch = _torch()
    m, n = A.shape[-2:]
    k = tau.shape[-1]
    if m < n:
        raise RuntimeError("torch.linalg.householder_product: input.shape[-2] must be greater than or equal to "
                           "input.shape[-1]")
    if k > n:
        raise RuntimeError("torch.linalg.householder_product: input.shape[-1] must be greater than or equal to "
                           "tau.shape[-1]")
    V = A.tril(-1) + torch.eye(m, n, dtype=A.dtype, device=A.device)
    X = torch.eye(m, n, dtype=A.dtype, device=A.device).expand(*A.shape[:-2], m, n)
    for i in range(k - 1, -1, -1):
        v = V[..., :, i:i + 1]
        X = X - tau[..., i, None, None] * (v @ (v.mT @ X))
    return X


@binds(method=False, linalg="cond")
def cond(A, p=None, *, out=None):
    torch = _torch()
    if p is None or p in (2, -2):
        s = torch.linalg.svdvals(A)
        big, small = s[..., 0], s[..., -1]
        return big / small if p in (None, 2) else small / big
    return torch.linalg.matrix_norm(A, ord=p) * torch.linalg.matrix_norm(torch.linalg.inv(A), ord=p)


# ---------------------------------------------------------------------------------------------
# LU with partial pivoting, LAPACK's getrf: packed L (unit diagonal, below) and U, 1-based row swaps
def _lu_host(A):
    LU = np.array(A, dtype=A.dtype, copy=True)
    m, n = LU.shape[-2:]
    k = min(m, n)
    batch = LU.shape[:-2]
    piv = np.zeros(batch + (k,), dtype=np.int32)
    for j in range(k):
        p = np.argmax(np.abs(LU[..., j:, j]), axis=-1) + j if m > j else np.full(batch, j)
        piv[..., j] = p + 1
        where = np.broadcast_to(np.asarray(p)[..., None, None], batch + (1, n))
        row_j = LU[..., j:j + 1, :].copy()
        row_p = np.take_along_axis(LU, where, axis=-2)
        LU[..., j:j + 1, :] = row_p
        np.put_along_axis(LU, where, row_j, axis=-2)
        d = LU[..., j:j + 1, j:j + 1]
        safe = np.where(d == 0, 1, d)
        LU[..., j + 1:, j:j + 1] = np.where(d == 0, LU[..., j + 1:, j:j + 1], LU[..., j + 1:, j:j + 1] / safe)
        LU[..., j + 1:, j + 1:] -= LU[..., j + 1:, j:j + 1] * LU[..., j:j + 1, j + 1:]
    return LU, piv


def _lu_forward(xp, A, box):
    if xp is np:
        LU, piv = _lu_host(A)
    else:
        backend = backends.of_namespace(xp)
        LU, piv = _lu_host(backend.to_numpy(A))
        LU = xp.asarray(LU)
    box.append(piv)
    return LU


def _permutation(pivots, m, like):
    """P (..., m, m) with A = P L U, from LAPACK's 1-based sequential row swaps."""
    piv = np.asarray(pivots.cpu().numpy() if isinstance(pivots, Tensor) else pivots) - 1
    batch = piv.shape[:-1]
    perm = np.broadcast_to(np.arange(m), batch + (m,)).copy()
    for j in range(piv.shape[-1]):
        p = piv[..., j:j + 1]
        pj = perm[..., j:j + 1].copy()
        perm[..., j:j + 1] = np.take_along_axis(perm, p, axis=-1)
        np.put_along_axis(perm, p, pj, axis=-1)
    P = np.zeros(batch + (m, m), dtype=like._data.dtype if isinstance(like, Tensor) else like.dtype)
    np.put_along_axis(P, perm[..., None, :], 1, axis=-2)  # P[perm[i], i] = 1
    return P


def _unpack(LU):
    torch = _torch()
    m, n = LU.shape[-2:]
    k = min(m, n)
    L = LU[..., :, :k].tril(-1) + torch.eye(m, k, dtype=LU.dtype, device=LU.device)
    U = LU[..., :k, :].triu()
    return L, U


def _lu_backward(LU, pivots, G):
    """PyTorch's linalg_lu_backward for the packed factor's gradient G, in tensor ops."""
    torch = _torch()
    m, n = LU.shape[-2:]
    k = min(m, n)
    L, U = _unpack(LU)
    L_grad, U_grad = G[..., :, :k].tril(-1), G[..., :k, :].triu()
    P = torch.tensor(_permutation(pivots, m, LU), device=LU.device)
    if m == n:
        A_grad = (L.mH @ L_grad).tril(-1) + (U_grad @ U.mH).triu()
        A_grad = solve_triangular(U.mH, A_grad, upper=False, left=False)
        A_grad = solve_triangular(L.mH, A_grad, upper=True, unitriangular=True)
    elif m < n:
        U1, U2_grad = U[..., :, :k], U_grad[..., :, k:]
        A_grad = L.mH @ L_grad - U_grad.triu() @ U.mH
        A_grad = solve_triangular(U1.mH, A_grad.tril(-1), upper=False, left=False)
        A_grad = torch.cat([A_grad + U_grad[..., :, :k].triu(), U2_grad], -1)
        A_grad = solve_triangular(L.mH, A_grad, upper=True, unitriangular=True)
    else:
        L1, L2_grad = L[..., :k, :], L_grad[..., k:, :]
        A_grad = U_grad @ U.mH - L.mH @ L_grad.tril(-1)
        A_grad = solve_triangular(L1.mH, A_grad.triu(), upper=True, unitriangular=True)
        A_grad = torch.cat([A_grad + L_grad[..., :k, :].tril(-1), L2_grad], -2)
        A_grad = solve_triangular(U.mH, A_grad, upper=False, left=False)
    return P @ A_grad


def _lu_vjp(m, g, node, LU):
    (box,) = node.params
    if not isinstance(m, ArrayMath):
        return _lu_backward(LU, box[0], g)
    # a plain backward: the same formula, on constant host tensors
    torch = _torch()
    on_host = m.xp is np
    backend = None if on_host else backends.of_namespace(m.xp)
    LU_h, g_h = (LU, g) if on_host else (backend.to_numpy(LU), backend.to_numpy(g))
    with torch.no_grad():
        out = _lu_backward(torch.tensor(LU_h), box[0], torch.tensor(g_h))._data
    return out if on_host else m.xp.asarray(out)


_lu_op = OpDef("LinalgLuFactorExBackward0", _lu_forward, _lu_vjp, save_output=True, kind="lu_factor")


@binds(method=False, linalg="lu_factor_ex")
def lu_factor_ex(A, *, pivot=True, check_errors=False, out=None):
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    if A.dim() < 2:
        raise RuntimeError("linalg.lu_factor: The input tensor A must have at least 2 dimensions.")
    box = []
    LU = apply(_lu_op, (A,), (box,))
    pivots = _torch().tensor(box[0], dtype=_torch().int32, device=A.device)
    return LU, pivots, _info(A)


@binds(method=False, linalg="lu_factor")
def lu_factor(A, *, pivot=True, out=None):
    LU, pivots, _ = lu_factor_ex(A, pivot=pivot)
    return LU, pivots


@binds("lu_unpack", method=False)
def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True, *, out=None):
    torch = _torch()
    m = LU_data.shape[-2]
    L, U = _unpack(LU_data) if unpack_data else (torch.empty(0), torch.empty(0))
    P = torch.tensor(_permutation(LU_pivots, m, LU_data), device=LU_data.device) if unpack_pivots \
        else torch.empty(0)
    return P, L, U


@binds(method=False, linalg="lu")
def lu(A, *, pivot=True, out=None):
    LU, pivots = lu_factor(A, pivot=pivot)
    return lu_unpack(LU, pivots)


@binds(method=False, linalg="lu_solve")
def lu_solve(LU, pivots, B, *, left=True, adjoint=False, out=None):
    torch = _torch()
    n = LU.shape[-1]
    P = torch.tensor(_permutation(pivots, n, LU), device=LU.device)
    if left and not adjoint:      # P L U X = B
        X = solve_triangular(LU, solve_triangular(LU, P.mT @ B, upper=False, unitriangular=True), upper=True)
    elif left:                    # U^H L^H P^T X = B
        X = P @ solve_triangular(LU.mH, solve_triangular(LU.mH, B, upper=False), upper=True, unitriangular=True)
    elif not adjoint:             # X P L U = B
        X = solve_triangular(LU, solve_triangular(LU, B, upper=True, left=False), upper=False, left=False,
                             unitriangular=True) @ P.mT
    else:                         # X U^H L^H P^T = B
        X = solve_triangular(LU.mH, solve_triangular(LU.mH, B @ P, upper=True, left=False, unitriangular=True),
                             upper=False, left=False)
    if out is not None:
        out.copy_(X)
        return out
    return X


def _torch_lu(A, pivot=True, get_infos=False, *, out=None):
    """torch.lu (and Tensor.lu): the packed factor and pivots, and the infos when asked."""
    LU, pivots, info = lu_factor_ex(A, pivot=pivot)
    return (LU, pivots, info) if get_infos else (LU, pivots)


binds("lu")(_torch_lu)


@binds("lu_solve")
def _torch_lu_solve(input, LU_data, LU_pivots, *, out=None):
    return lu_solve(LU_data, LU_pivots, input, out=out)


# ---------------------------------------------------------------------------------------------
# LDL^T (Bunch-Kaufman, LAPACK's sytrf on the lower triangle, as PyTorch): SciPy's LAPACK; no gradient
def _lapack(name):
    try:
        from scipy.linalg import lapack
    except ImportError:
        raise RuntimeError(f"torch.linalg.{name} needs SciPy in this build") from None
    return lapack


def _ldl_host(A):
    lapack = _lapack("ldl_factor")
    sytrf = lapack.dsytrf if A.dtype == np.float64 else lapack.ssytrf
    batch, n = A.shape[:-2], A.shape[-1]
    LD = np.zeros(A.shape, dtype=A.dtype)
    piv = np.zeros(batch + (n,), dtype=np.int32)
    info = np.zeros(batch, dtype=np.int32)
    for idx in np.ndindex(*batch):
        ld, ipiv, inf = sytrf(A[idx], lower=1)
        LD[idx], piv[idx], info[idx] = np.tril(ld), ipiv, inf
    return LD, piv, info


@binds(method=False, linalg="ldl_factor_ex")
def ldl_factor_ex(A, *, hermitian=False, check_errors=False, out=None):
    torch = _torch()
    if A.dim() < 2 or A.shape[-1] != A.shape[-2]:
        raise RuntimeError("torch.linalg.ldl_factor_ex: A must be batches of square matrices")
    if not A.dtype.is_floating_point:
        raise RuntimeError("torch.linalg.ldl_factor_ex: Low precision dtypes not supported. Got "
                           f"{str(A.dtype).split('.')[-1].capitalize()}")
    LD, piv, info = _ldl_host(A.detach().cpu().numpy())
    return (torch.tensor(LD, device=A.device), torch.tensor(piv, device=A.device),
            torch.tensor(info, device=A.device))


@binds(method=False, linalg="ldl_factor")
def ldl_factor(A, *, hermitian=False, out=None):
    LD, pivots, info = ldl_factor_ex(A, hermitian=hermitian)
    return LD, pivots


@binds(method=False, linalg="ldl_solve")
def ldl_solve(LD, pivots, B, *, hermitian=False, out=None):
    torch = _torch()
    ld, piv, b = (t.detach().cpu().numpy() for t in (LD, pivots, B))
    lapack = _lapack("ldl_solve")
    sytrs = lapack.dsytrs if ld.dtype == np.float64 else lapack.ssytrs
    batch = np.broadcast_shapes(ld.shape[:-2], b.shape[:-2])
    ld = np.broadcast_to(ld, batch + ld.shape[-2:])
    piv = np.broadcast_to(piv, batch + piv.shape[-1:])
    b = np.broadcast_to(b, batch + b.shape[-2:])
    X = np.zeros(b.shape, dtype=np.result_type(ld, b))
    for idx in np.ndindex(*batch):
        X[idx] = sytrs(ld[idx], piv[idx], b[idx], lower=1)[0]
    return torch.tensor(X, device=B.device)


# ---------------------------------------------------------------------------------------------
# the torch-level Cholesky and triangular solvers (compositions: their gradients are PyTorch's)
def _factor(L, upper):
    """The lower Cholesky factor as used: its triangle's values, with the gradient of the whole matrix
    (PyTorch's formulas differentiate L L^T in every entry of L)."""
    L = L.mT if upper else L
    return L - (L - L.tril()).detach()


@binds("cholesky_inverse")
def cholesky_inverse(input, upper=False, *, out=None):
    """(L L^T)^-1 from the Cholesky factor L (U^T U with upper=True)."""
    L = _factor(input, upper)
    return _torch().linalg.inv(L @ L.mT)


@binds("cholesky_solve")
def cholesky_solve(input, input2, upper=False, *, out=None):
    """X with (L L^T) X = input, L = input2 (its transpose with upper=True)."""
    L = _factor(input2, upper)
    return _torch().linalg.solve(L @ L.mT, input)


@binds("triangular_solve")
def triangular_solve(input, A, upper=True, transpose=False, unitriangular=False):
    """(X, A's copy) with A X = input (A^T X = input when transpose), reading one triangle of A."""
    T = A.mT if transpose else A
    X = solve_triangular(T, input, upper=upper != transpose, unitriangular=unitriangular)
    return X, A.clone()


# ---------------------------------------------------------------------------------------------
# QR in LAPACK's Householder form: geqrf (no gradient, as in PyTorch) and ormqr (a composition)
@binds("geqrf")
def geqrf(input, *, out=None):
    """(a, tau): R on and above the diagonal, the Householder vectors below it, and their scales."""
    torch = _torch()
    lapack = _lapack("geqrf")
    A = input.detach().cpu().numpy()
    fn = lapack.dgeqrf if A.dtype == np.float64 else lapack.sgeqrf
    batch, (m, n) = A.shape[:-2], A.shape[-2:]
    qr = np.zeros(A.shape, dtype=A.dtype)
    tau = np.zeros(batch + (min(m, n),), dtype=A.dtype)
    for idx in np.ndindex(*batch):
        if m and n:
            qr[idx], tau[idx] = fn(A[idx])[:2]
    return torch.tensor(qr, device=input.device), torch.tensor(tau, device=input.device)


@binds("ormqr")
def ormqr(input, input2, input3, left=True, transpose=False, *, out=None):
    """Q @ C (C @ Q with left=False; Q^T with transpose), Q = H_1 ... H_k from geqrf's (input, input2)."""
    torch = _torch()
    m, n = input.shape[-2:]
    A = input[..., :, :m] if n >= m else torch.cat(
        [input, torch.zeros(*input.shape[:-1], m - n, dtype=input.dtype, device=input.device)], -1)
    Q = householder_product(A, input2)
    Q = Q.mT if transpose else Q
    return Q @ input3 if left else input3 @ Q

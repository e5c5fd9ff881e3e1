"""Determinants, inverses, solves and decompositions (inv, det, slogdet, solve, cholesky, qr, eigh,
svd, pinv, lstsq, matrix_exp, matrix_power), and qr/svd in the older torch.* conventions."""
import math
from collections import namedtuple
import numpy as np
from ._core import OpDef, apply, TENSOR_MATH
from ._registry import binds
from ._linalg import _Tensor, _call, _eye, _linalg, _linalg_error, _unsq
from . import shape as sh, reduce as red, linalg as la, elementwise as ew


# ---------------------------------------------------------------------------------------------
# determinants and inverses
def _check_square(A, name, float_only=True, arg="A"):
    if float_only and not A.dtype.is_floating_point:
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got "
                           f"{A.dtype.title}")
    if A.dim() < 2:
        raise RuntimeError(f"{name}: The input tensor {arg} must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{name}: {arg} must be batches of square matrices, but they are {A.shape[-2]} by "
                           f"{A.shape[-1]} matrices")


def _check_matrix(A, name):
    if not A.dtype.is_floating_point:
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got "
                           f"{A.dtype.title}")
    if A.dim() < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")


def _inv_t(m, A):
    return m.mT(_linalg(m).inv(A))


def _det_vjp(m, g, node, A, det):
    return _unsq(m, _unsq(m, g * det, -1), -1) * _inv_t(m, A)


_det = OpDef("LinalgDetBackward0", lambda xp, A: xp.linalg.det(A), _det_vjp, save_inputs=(0,), save_output=True,
             kind="det")


@binds("det", linalg="det")
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


@binds("slogdet", linalg="slogdet")
def slogdet(A):
    _check_square(A, "linalg.slogdet")
    return SlogdetResult(apply(_slogdet_sign, (A,)), apply(_slogdet_abs, (A,)))


@binds("logdet")
def logdet(A):
    _check_square(A, "logdet")
    sign, logabs = slogdet(A)
    return ew.where(sign < 0, math.nan, logabs)


def _inv_vjp(m, g, node, Ainv):
    Ainv_t = m.mT(Ainv)
    return -m.matmul(m.matmul(Ainv_t, g), Ainv_t)


_inv = OpDef("LinalgInvExBackward0", _linalg_error(lambda xp, A: xp.linalg.inv(A)), _inv_vjp, save_output=True,
             kind="inv")


@binds("inverse", linalg="inv")
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


@binds(method=False, linalg="solve")
def solve(A, B, *, left=True, out=None):
    _check_square(A, "linalg.solve")
    if A.dtype is not B.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found A of type "
                           f"{A.dtype.title} and B of type {B.dtype.title} instead")
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


@binds(method=False, linalg="cholesky")
def linalg_cholesky(A, *, upper=False, out=None):
    _check_square(A, "linalg.cholesky")
    return apply(_cholesky, (A,), (upper,))


@binds("cholesky")
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


@binds(method=False, linalg="eigh")
def eigh(A, UPLO="L"):
    _check_square(A, "linalg.eigh")
    return EighResult(apply(_eigh, (A,), (UPLO, 0)), apply(_eigh, (A,), (UPLO, 1)))


@binds(method=False, linalg="eigvalsh")
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


def _check_driver(driver):
    if driver is not None:  # a choice among cuSOLVER's methods
        raise RuntimeError("torch.linalg.svd: keyword argument `driver=` is only supported on CUDA inputs with "
                           "cuSOLVER backend.")


@binds(method=False, linalg="svd")
def svd(A, full_matrices=True, *, driver=None):
    _check_driver(driver)
    _check_matrix(A, "linalg.svd")
    return SvdResult(*(apply(_svd, (A,), (full_matrices, i)) for i in range(3)))


@binds(method=False, linalg="svdvals")
def svdvals(A, *, driver=None):
    _check_driver(driver)
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


@binds(method=False, linalg="qr")
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


def _pinv_forward(xp, A, rtol, hermitian=False):
    if hermitian:  # PyTorch reads only the lower triangle of a hermitian input (it goes through eigh)
        lower = xp.tril(A)
        A = lower + xp.swapaxes(xp.tril(A, -1), -1, -2)
    return xp.linalg.pinv(A, rtol)


_pinv = OpDef("LinalgPinvBackward0", _linalg_error(_pinv_forward), _pinv_vjp, save_inputs=(0,), save_output=True,
              kind="pinv")


@binds(method=False, linalg="pinv")
def pinv(A, rcond=None, hermitian=False, *, atol=None, rtol=None):
    _check_matrix(A, "linalg.pinv")
    if rcond is not None:  # the older overload's name for rtol
        rtol = rcond
    if atol is not None:
        raise NotImplementedError("linalg.pinv: atol is not supported; use rtol")
    if rtol is None:
        rtol = np.finfo(A._data.dtype).eps * max(A.shape[-2:])
    # hermitian: the forward reads the lower triangle, the backward is pinv's own formula at the
    # matrix as given (as in PyTorch, whose gradient is not projected onto the triangle)
    return apply(_pinv, (A,), (float(rtol), bool(hermitian)))


@binds("pinverse")
def pinverse(A, rcond=1e-15):
    return pinv(A, rtol=rcond)


@binds(method=False, linalg="matrix_rank")
def matrix_rank(A, tol=None, hermitian=False, *, atol=None, rtol=None):
    _check_matrix(A, "linalg.matrix_rank")
    if tol is not None:  # the older overload: an absolute tolerance
        atol, rtol = tol, 0.0
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


@binds("matrix_exp", linalg="matrix_exp")
def matrix_exp(A):
    _check_square(A, "linalg.matrix_exp")
    return apply(_matrix_exp, (A,))


@binds(method=False, linalg="lstsq")
def lstsq(A, b, rcond=None, *, driver=None):
    """The least-squares solution through the pseudo-inverse. The other outputs are what PyTorch's
    CPU drivers compute: the rank (all but gels), the singular values (gelsd, gelss) and, for a
    tall A, the residuals (gels, gelsd, gelss); the rest are empty."""
    _check_matrix(A, "linalg.lstsq")
    B = b  # PyTorch's parameter name
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
# linear algebra in the older conventions, through torch.linalg
@binds("qr")
def torch_qr(input, some=True):
    """torch.qr: linalg.qr with the older `some` argument."""
    return red.return_type("qr", ("Q", "R"))(*qr(input, "reduced" if some else "complete"))


@binds("svd")
def torch_svd(input, some=True, compute_uv=True):
    """torch.svd: U, S, V (not Vh); without compute_uv, U and V are zero-filled as in PyTorch."""
    linalg_svd = svd
    result = red.return_type("svd", ("U", "S", "V"))
    if not compute_uv:
        m, n = input.shape[-2:]
        zeros = lambda k: input.new_zeros(*input.shape[:-2], k, k).detach()  # noqa: E731
        return result(zeros(m), svdvals(input), zeros(n))
    u, s, vh = linalg_svd(input, full_matrices=not some)
    return result(u, s, sh.transpose(vh, -2, -1))

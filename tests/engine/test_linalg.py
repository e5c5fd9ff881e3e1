"""einsum, tensordot, kron, diagonals, determinants, decompositions and torch.linalg, against
PyTorch (values, dtypes, node names, input gradients) and by numerical gradient checks."""
import math

import numpy as np
import pytest

from gradview import engine
from gradview.engine.testing import gradcheck, gradgradcheck
from tests.engine.helpers import run_both, assert_same_error, reference_torch


def arrays(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


def spd(n, batch=(), seed=0):
    """Symmetric positive definite, well conditioned."""
    a = np.random.default_rng(seed).standard_normal(batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def well(n, batch=(), seed=0):
    """A general, well-conditioned square matrix."""
    return np.random.default_rng(seed).standard_normal(batch + (n, n)) + 3 * np.eye(n)


EINSUM = [
    ("ij,jk->ik", [(3, 4), (4, 2)]),
    ("ij,jk", [(3, 4), (4, 2)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("i,j->ij", [(3,), (4,)]),
    ("i,i->", [(5,), (5,)]),
    ("ii->", [(4, 4)]),
    ("ii", [(4, 4)]),
    ("ii->i", [(4, 4)]),
    ("ij->ji", [(3, 4)]),
    ("ij->", [(3, 4)]),
    ("ij->j", [(3, 4)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),
    ("...ij->...ji", [(2, 3, 4)]),
    ("i...->...", [(3, 2, 4)]),
    ("...ii->...i", [(2, 3, 3)]),
    ("b...,b...->b", [(2, 3, 4), (2, 3, 4)]),
    ("...ij->ij", [(2, 3, 4)]),
    ("iij->ji", [(3, 3, 2)]),
    ("iii->i", [(3, 3, 3)]),
    ("ij,ij->ij", [(3, 1), (3, 4)]),
    ("ij,jk->ik", [(2, 1), (3, 4)]),
    ("ij,kl->ijkl", [(2, 3), (2, 2)]),
    ("i j , j k -> i k", [(3, 4), (4, 2)]),
    ("Ab,bA->", [(2, 3), (3, 2)]),
    ("ijk,jk->i", [(2, 3, 4), (3, 4)]),
    ("ij,j->i", [(3, 4), (4,)]),
    ("->", [()]),
    (",i->i", [(), (3,)]),
    ("ii,ij->j", [(3, 3), (3, 2)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM, ids=[e for e, _ in EINSUM])
def test_einsum_vs_torch(eq, shapes, device):
    run_both(lambda t, *xs: t.einsum(eq, *xs), *arrays(*shapes), names=False, device=device)


@pytest.mark.parametrize("eq,shapes", [EINSUM[i] for i in (0, 2, 7, 11, 12, 18, 20, 29)],
                         ids=[EINSUM[i][0] for i in (0, 2, 7, 11, 12, 18, 20, 29)])
def test_einsum_gradgradcheck(eq, shapes, device):
    xs = [engine.tensor(a, device=device, requires_grad=True) for a in arrays(*shapes)]
    assert gradcheck(lambda *t: engine.einsum(eq, *t), xs)
    assert gradgradcheck(lambda *t: engine.einsum(eq, *t), xs)


def test_einsum_forms_and_dtypes():
    a, b = arrays((3, 4), (4, 2))
    run_both(lambda t, x, y: t.einsum("ij,jk->ik", [x, y]), a, b, names=False)
    run_both(lambda t, x, y: t.einsum(x, [0, 1], y, [1, 2], [0, 2]), a, b, names=False)
    run_both(lambda t, x, y: t.einsum(x, [Ellipsis, 1], y, [1, 2]), a, b, names=False)
    run_both(lambda t: t.einsum("i->", t.tensor([1, 2, 3])), grad=False)
    run_both(lambda t: t.einsum("ij,jk->ik", t.ones(2, 3), t.ones(3, 4)), grad=False)


@pytest.mark.parametrize("eq,shapes", [
    ("ij,jk", [(2, 3)]), ("ij", [(2, 3), (2, 3)]), ("ij->i", [(2, 3, 4)]), ("ii->i", [(2, 3)]),
    ("ij->jj", [(2, 2)]), ("ij->k", [(2, 2)]), ("ij,jk->ik", [(2, 3), (4, 5)]), ("ijk->i", [(2, 3)]),
])
def test_einsum_errors(eq, shapes):
    assert_same_error(lambda t, *xs: t.einsum(eq, *xs), *arrays(*shapes), match_message=False)
    assert_same_error(lambda t, x, y: t.einsum("i,i->", x, y.float()), *arrays((3,), (3,)))


# ---------------------------------------------------------------------------------------------
PRODUCTS = [
    ("tensordot", lambda t, a, b: t.tensordot(a, b, dims=2), [(2, 3, 4), (3, 4, 5)], False),
    ("tensordot_lists", lambda t, a, b: t.tensordot(a, b, dims=([0, 2], [2, 0])), [(2, 3, 4), (4, 5, 2)], False),
    ("tensordot_0", lambda t, a, b: t.tensordot(a, b, dims=0), [(2,), (3,)], False),
    ("kron", lambda t, a, b: t.kron(a, b), [(2, 3), (3, 2)], False),
    ("kron_ranks", lambda t, a, b: a.kron(b), [(3,), (2, 2)], False),
    ("cross", lambda t, a, b: t.cross(a, b, dim=1), [(4, 3), (4, 3)], True),
    ("cross_default", lambda t, a, b: t.cross(a, b), [(3, 2), (3, 2)], True),
    ("linalg_cross_bcast", lambda t, a, b: t.linalg.cross(a, b), [(2, 3), (1, 3)], True),
    ("vdot", lambda t, a, b: a.vdot(b), [(4,), (4,)], True),
    ("outer_addr", lambda t, a, b: t.addr(t.ones(3, 4, dtype=t.float64), a, b, beta=0.5, alpha=2), [(3,), (4,)],
     True),
    ("chain_matmul", lambda t, a, b: t.chain_matmul(a, b, a.T), [(2, 3), (3, 3)], False),
    ("multi_dot", lambda t, a, b: t.linalg.multi_dot([a, b, b, a.T]), [(2, 3), (3, 3)], False),
    ("multi_dot_vec", lambda t, a, b: t.linalg.multi_dot([a, b, a]), [(3,), (3, 3)], False),
    ("vecdot", lambda t, a, b: t.linalg.vecdot(a, b), [(2, 3), (3,)], True),
    ("cdist", lambda t, a, b: t.cdist(a, b), [(4, 3), (5, 3)], False),
    ("cdist_p1_batch", lambda t, a, b: t.cdist(a, b, p=1), [(2, 4, 3), (2, 5, 3)], False),
    ("cdist_inf", lambda t, a, b: t.cdist(a, b, p=math.inf), [(4, 3), (5, 3)], False),
    ("cdist_p3", lambda t, a, b: t.cdist(a, b, p=3), [(4, 3), (5, 3)], False),
    ("dist", lambda t, a, b: t.dist(a, b), [(3, 4), (3, 4)], False),
    ("dist_p1", lambda t, a, b: a.dist(b, 1), [(3, 4), (4,)], False),
]


@pytest.mark.parametrize("name,fn,shapes,names", PRODUCTS, ids=[p[0] for p in PRODUCTS])
def test_products(name, fn, shapes, names, device):
    run_both(fn, *arrays(*shapes), names=names, device=device)


ADD = [
    ("baddbmm", lambda t, c, a, b: t.baddbmm(c, a, b), [(2, 3, 5), (2, 3, 4), (2, 4, 5)]),
    ("baddbmm_scaled_bcast", lambda t, c, a, b: c.baddbmm(a, b, beta=0.5, alpha=2), [(3, 1), (2, 3, 4), (2, 4, 5)]),
    ("addbmm", lambda t, c, a, b: t.addbmm(c, a, b, alpha=3), [(3, 5), (2, 3, 4), (2, 4, 5)]),
    ("addmv", lambda t, c, a, b: t.addmv(c, a, b, beta=2), [(3,), (3, 4), (4,)]),
    ("addmv_bcast", lambda t, c, a, b: c.addmv(a, b), [(1,), (3, 4), (4,)]),
    ("addr", lambda t, c, a, b: c.addr(a, b), [(3, 4), (3,), (4,)]),
    ("baddbmm_beta0", lambda t, c, a, b: t.baddbmm(c, a, b, beta=0), [(2, 3, 5), (2, 3, 4), (2, 4, 5)]),
]


@pytest.mark.parametrize("name,fn,shapes", ADD, ids=[p[0] for p in ADD])
def test_add_products(name, fn, shapes, device):
    run_both(fn, *arrays(*shapes), device=device)


def test_add_products_inplace_and_gradgrad():
    c, a, b = arrays((2, 3, 5), (2, 3, 4), (2, 4, 5))
    run_both(lambda t, c, a, b: (c * 1).baddbmm_(a, b, alpha=0.5), c, a, b, names=False)
    ts = [engine.tensor(x, requires_grad=True) for x in (c, a, b)]
    assert gradgradcheck(lambda c, a, b: engine.baddbmm(c, a, b, beta=0.3, alpha=2), ts)


# ---------------------------------------------------------------------------------------------
DIAG = [
    ("trace", lambda t, x: t.trace(x), [(3, 4)], True),
    ("trace_square", lambda t, x: x.trace(), [(4, 4)], True),
    ("diag_1d", lambda t, x: t.diag(x), [(3,)], True),
    ("diag_1d_offset", lambda t, x: x.diag(-2), [(3,)], True),
    ("diag_2d", lambda t, x: t.diag(x), [(3, 4)], False),
    ("diag_2d_offset", lambda t, x: t.diag(x, 1), [(3, 4)], False),
    ("diag_2d_neg", lambda t, x: t.diag(x, -2), [(4, 3)], False),
    ("diag_embed", lambda t, x: t.diag_embed(x), [(2, 3)], True),
    ("diag_embed_dims", lambda t, x: x.diag_embed(1, 0, 2), [(2, 3)], True),
    ("diag_embed_swapped", lambda t, x: t.diag_embed(x, -1, dim1=-1, dim2=0), [(2, 3)], True),
    ("diagflat", lambda t, x: t.diagflat(x), [(2, 2)], True),
    ("diagflat_offset", lambda t, x: x.diagflat(1), [(3,)], True),
    ("linalg_diagonal", lambda t, x: t.linalg.diagonal(x), [(2, 3, 4)], True),
    ("linalg_diagonal_offset", lambda t, x: t.linalg.diagonal(x, offset=1, dim1=0, dim2=2), [(3, 2, 4)], True),
]


@pytest.mark.parametrize("name,fn,shapes,names", DIAG, ids=[p[0] for p in DIAG])
def test_diagonals(name, fn, shapes, names, device):
    run_both(fn, *arrays(*shapes), names=names, device=device)


def test_diagonals_twice_differentiable():
    x = engine.tensor(arrays((3, 4))[0], requires_grad=True)
    v = engine.tensor(arrays((3,))[0], requires_grad=True)
    for fn, arg in [(lambda x: engine.diag(x, 1) ** 2, x), (lambda x: engine.trace(x * x), x),
                    (lambda v: engine.diag_embed(v * v, -1), v), (lambda v: engine.cross(v, v.exp(), dim=0), v)]:
        assert gradcheck(fn, (arg,))
        assert gradgradcheck(fn, (arg,))


def test_diag_trace_ints_and_errors():
    run_both(lambda t: t.trace(t.arange(9).reshape(3, 3)), grad=False)
    run_both(lambda t: t.diag(t.tensor([1, 2])), grad=False)
    for fn, shape in [(lambda t, x: t.trace(x), (2, 2, 2)), (lambda t, x: t.diag(x), (2, 2, 2)),
                      (lambda t, x: t.cross(x, x, dim=0), (2, 3)),
                      (lambda t, x: t.linalg.cross(x, x), (3, 4)),
                      (lambda t, x: t.tensordot(x, x, dims=([0], [1])), (2, 3)),
                      (lambda t, x: t.vdot(x, x), (2, 2)), (lambda t, x: t.cdist(x, x.T), (2, 3)),
                      (lambda t, x: t.baddbmm(x, x, x), (2, 3, 4)), (lambda t, x: t.addmv(x[0], x, x), (2, 3)),
                      (lambda t, x: t.linalg.multi_dot([x]), (2, 2))]:
        assert_same_error(fn, *arrays(shape), match_message=False)


# ---------------------------------------------------------------------------------------------
SQUARE = [
    ("det", lambda t, x: t.det(x), True),
    ("linalg_det", lambda t, x: t.linalg.det(x), True),
    ("slogdet", lambda t, x: t.slogdet(x), True),
    ("linalg_slogdet", lambda t, x: t.linalg.slogdet(x), True),
    ("inverse", lambda t, x: x.inverse(), True),
    ("linalg_inv", lambda t, x: t.linalg.inv(x), True),
    ("matrix_power_3", lambda t, x: x.matrix_power(3), True),
    ("matrix_power_neg", lambda t, x: t.linalg.matrix_power(x, -2), True),
    ("matrix_power_1", lambda t, x: t.matrix_power(x, 1), True),
    ("matrix_power_0", lambda t, x: t.matrix_power(x, 0), False),
    ("matrix_exp", lambda t, x: t.matrix_exp(x * 0.5), True),
    ("pinverse", lambda t, x: t.pinverse(x), True),
]


@pytest.mark.parametrize("name,fn,names", SQUARE, ids=[p[0] for p in SQUARE])
@pytest.mark.parametrize("batch", [(), (2,)], ids=["2d", "batched"])
def test_square(name, fn, names, batch, device):
    if name == "matrix_power_0" and batch:
        names = False
    run_both(fn, well(3, batch), names=names, device=device)


SPD = [
    ("logdet", lambda t, x: t.logdet(x), False),
    ("cholesky", lambda t, x: t.cholesky(x), True),
    ("cholesky_upper", lambda t, x: x.cholesky(upper=True), True),
    ("linalg_cholesky", lambda t, x: t.linalg.cholesky(x), True),
    ("linalg_cholesky_upper", lambda t, x: t.linalg.cholesky(x, upper=True), True),
    ("eigvalsh", lambda t, x: t.linalg.eigvalsh(x), True),
    ("eigh_sym", lambda t, x: _eigh_signed(t, x + x.mT), False),
    ("eigh_U", lambda t, x: t.linalg.eigh(x, UPLO="U")[0], True),
]


@pytest.mark.parametrize("name,fn,names", SPD, ids=[p[0] for p in SPD])
@pytest.mark.parametrize("batch", [(), (2,)], ids=["2d", "batched"])
def test_spd(name, fn, names, batch, device):
    run_both(fn, spd(3, batch), names=names, device=device)




RECT = [
    ("svdvals", lambda t, x: t.linalg.svdvals(x), True),
    ("svd_reduced", lambda t, x: _svd_signed(t, x), False),
    ("qr", lambda t, x: t.linalg.qr(x), True),
    ("qr_r_only", lambda t, x: t.linalg.qr(x)[1], True),
    ("pinv", lambda t, x: t.linalg.pinv(x), True),
    ("matrix_norm_fro", lambda t, x: t.linalg.matrix_norm(x), True),
    ("matrix_norm_nuc", lambda t, x: t.linalg.matrix_norm(x, "nuc"), True),
    ("matrix_norm_2", lambda t, x: t.linalg.matrix_norm(x, 2), True),
    ("matrix_norm_2_keepdim", lambda t, x: t.linalg.matrix_norm(x, 2, keepdim=True), False),
    ("matrix_norm_-2", lambda t, x: t.linalg.matrix_norm(x, -2), True),
    ("matrix_norm_1", lambda t, x: t.linalg.matrix_norm(x, 1), True),
    ("matrix_norm_inf", lambda t, x: t.linalg.matrix_norm(x, math.inf, keepdim=True), True),
    ("matrix_norm_dims", lambda t, x: t.linalg.matrix_norm(x, -1, dim=(-1, -2), keepdim=True), True),
    ("norm", lambda t, x: t.linalg.norm(x), True),
    ("norm_dim", lambda t, x: t.linalg.norm(x, dim=-1), True),
    ("norm_ord_dims", lambda t, x: t.linalg.norm(x, 1, dim=(-2, -1)), True),
    ("vector_norm", lambda t, x: t.linalg.vector_norm(x, 3, dim=(-1, -2)), True),
    ("vector_norm_inf", lambda t, x: t.linalg.vector_norm(x, math.inf, keepdim=True), True),
]


def _eigh_signed(t, x):
    L, V = t.linalg.eigh(x)
    return L, V * t.sign(V[..., :1, :])


def _svd_signed(t, x):
    """Singular vectors are defined up to sign: make the first row of U positive on both sides."""
    U, S, Vh = t.linalg.svd(x, full_matrices=False)
    s = t.sign(U[..., :1, :])
    return U * s, S, Vh * s.mT


@pytest.mark.parametrize("name,fn,names", RECT, ids=[p[0] for p in RECT])
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5), (3, 3)], ids=["tall", "wide", "square"])
def test_rectangular(name, fn, names, shape, device):
    if name.startswith("qr") and shape[-2] < shape[-1]:
        pytest.skip("qr backward is for matrices with rows >= columns")
    run_both(fn, arrays(shape)[0], names=names, device=device)


def test_norm_2d_ord():
    x = arrays((3, 4))[0]
    run_both(lambda t, x: t.linalg.norm(x, 2), x)
    run_both(lambda t, x: t.linalg.norm(x, "fro"), x)
    run_both(lambda t, x: t.linalg.norm(x[0], 1), x)


def test_svd_full_matrices_and_values():
    x = arrays((4, 3))[0]
    run_both(lambda t, x: t.linalg.svd(x)[1], x)  # singular values of the full factorization
    ours = engine.linalg.svd(engine.tensor(x))
    assert tuple(ours.U.shape) == (4, 4) and tuple(ours.Vh.shape) == (3, 3)
    np.testing.assert_allclose((ours.U[:, :3] * ours.S) @ ours.Vh, x, atol=1e-10)
    Q, R = engine.linalg.qr(engine.tensor(x), mode="complete")
    assert tuple(Q.shape) == (4, 4)
    np.testing.assert_allclose((Q @ R).numpy(), x, atol=1e-10)
    Q, R = engine.linalg.qr(engine.tensor(x, requires_grad=True), mode="r")
    assert tuple(Q.shape) == (0,)
    with pytest.raises(RuntimeError, match="mode='r'"):
        R.sum().backward()


def test_solve(device):
    A, B, v = well(3, (2,)), arrays((2, 3, 4))[0], arrays((3,))[0]
    run_both(lambda t, a, b: t.linalg.solve(a, b), A, B, device=device)
    run_both(lambda t, a, b: t.linalg.solve(a, b), A, v, device=device)
    run_both(lambda t, a, b: t.linalg.solve(a, b), A[0], B, device=device)
    run_both(lambda t, a, b: t.linalg.solve(a, b), A, arrays((2, 3))[0], device=device)
    run_both(lambda t, a, b: t.linalg.solve(a, b, left=False), A, arrays((2, 4, 3))[0], device=device)


def test_lstsq_and_rank():
    A, B = arrays((5, 3), (5, 2))
    run_both(lambda t, a, b: t.linalg.lstsq(a, b).solution, A, B, names=False)
    run_both(lambda t, a: t.linalg.matrix_rank(a), A, grad=False)
    low = A @ arrays((3, 4))[0] @ np.diag([1.0, 1.0, 0.0, 0.0]) @ arrays((4, 4))[0]
    run_both(lambda t, a: t.linalg.matrix_rank(a), low, grad=False)
    run_both(lambda t, a: t.linalg.matrix_rank(a, hermitian=False, rtol=0.5), A, grad=False)


def test_cov_corrcoef(device):
    x = arrays((3, 6))[0]
    run_both(lambda t, x: t.cov(x), x, names=False, device=device)
    run_both(lambda t, x: x.cov(correction=0), x, names=False, device=device)
    run_both(lambda t, x: t.cov(x[0]), x, names=False, device=device)
    run_both(lambda t, x: t.cov(x, aweights=t.arange(1.0, 7.0, dtype=t.float64)), x, names=False, device=device)
    run_both(lambda t, x: t.corrcoef(x), x, names=False, device=device)


GRADGRAD = [
    ("det", lambda x: engine.linalg.det(x), well),
    ("slogdet", lambda x: engine.linalg.slogdet(x).logabsdet, well),
    ("inv", lambda x: engine.linalg.inv(x), well),
    ("solve", lambda x: engine.linalg.solve(x, x[..., 0] * 2 + 1), well),
    ("cholesky", lambda x: engine.linalg.cholesky(x @ x.mT), spd),
    ("eigh", lambda x: _eigh_signed(engine, x + x.mT), spd),
    ("svd", lambda x: _svd_signed(engine, x), well),
    ("qr", lambda x: engine.linalg.qr(x), well),
    ("pinv", lambda x: engine.linalg.pinv(x), well),
    ("matrix_exp", lambda x: engine.linalg.matrix_exp(x * 0.3), well),
]


@pytest.mark.parametrize("name,fn,make", GRADGRAD, ids=[g[0] for g in GRADGRAD])
def test_decomposition_gradchecks(name, fn, make, device):
    x = engine.tensor(make(3), device=device, requires_grad=True)
    assert gradcheck(fn, (x,), atol=1e-5)
    assert gradgradcheck(fn, (x,), atol=1e-4)


def test_square_errors():
    for fn in [lambda t, x: t.linalg.det(x), lambda t, x: t.linalg.inv(x), lambda t, x: t.inverse(x),
               lambda t, x: t.linalg.slogdet(x), lambda t, x: t.linalg.cholesky(x), lambda t, x: t.trace(x[0]),
               lambda t, x: t.linalg.eigh(x), lambda t, x: t.matrix_power(x, 2)]:
        assert_same_error(fn, arrays((3, 4))[0], match_message=False)
    assert_same_error(lambda t, x: t.linalg.det(x[0]), arrays((3, 4))[0], match_message=False)
    assert_same_error(lambda t, a, b: t.linalg.solve(a, b), well(3), arrays((4,))[0], match_message=False)
    assert_same_error(lambda t: t.linalg.det(t.ones(2, 2, dtype=t.int64)), match_message=False)
    with pytest.raises(RuntimeError):
        engine.linalg.cholesky(-engine.eye(3, dtype=engine.float64))
    with pytest.raises(RuntimeError):
        engine.linalg.inv(engine.zeros(3, 3, dtype=engine.float64))


def test_methods_exist_in_torch():
    torch = reference_torch()
    from gradview.engine.ops._registry import bound_in
    bound = [bound_in(f"gradview.engine.ops.{family}") for family in ("contract", "matrix", "decompose", "norms")]
    for name in [name for b in bound for name in b["method"] + b["inplace"]]:
        assert hasattr(torch.Tensor, name), name
        assert hasattr(engine.Tensor, name), name
    for name in [name for b in bound for name in b["torch"]]:
        assert hasattr(torch, name), name
    for name in ["norm", "vector_norm", "matrix_norm", "inv", "det", "slogdet", "solve", "cholesky", "qr", "eigh",
                 "eigvalsh", "svd", "svdvals", "pinv", "matrix_rank", "cross", "multi_dot", "matrix_power",
                 "vecdot", "lstsq", "diagonal", "matrix_exp"]:
        assert hasattr(engine.linalg, name), name

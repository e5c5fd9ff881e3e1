"""The LU family, solve_triangular, the _ex forms, householder_product, vander, cond, tensorinv and
tensorsolve against PyTorch: values and gradients (square, tall and wide LU), on every device."""
import numpy as np
import pytest

from gradview import engine

torch = pytest.importorskip("torch")


def _pair(shape, seed, device="cpu"):
    t = torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    return t.requires_grad_(True), engine.tensor(t.detach().numpy(), device=device, requires_grad=True)


def _close(ours, theirs, tol=1e-9):
    np.testing.assert_allclose(ours.detach().cpu().numpy(), theirs.detach().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("shape", [(4, 4), (2, 5, 3), (3, 5)])
def test_lu_factor_and_lu_match_pytorch_with_gradients(shape, device):
    a_t, a_o = _pair(shape, 0, device)
    LU_t, piv_t = torch.linalg.lu_factor(a_t)
    LU_o, piv_o = engine.linalg.lu_factor(a_o)
    _close(LU_o, LU_t)
    assert piv_o.dtype == engine.int32
    np.testing.assert_array_equal(piv_o.cpu().numpy(), piv_t.numpy())
    P_t, L_t, U_t = torch.linalg.lu(a_t)
    P_o, L_o, U_o = engine.linalg.lu(a_o)
    for o, t in ((P_o, P_t), (L_o, L_t), (U_o, U_t)):
        _close(o, t)
    c = [torch.rand(t.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(i)) for i, t in
         enumerate((L_t, U_t, LU_t))]
    loss_t = (L_t * c[0]).sum() + (U_t * c[1]).sum() + (LU_t * c[2]).sum()
    loss_o = sum(((o * engine.tensor(k.numpy(), device=device)).sum() for o, k in zip((L_o, U_o, LU_o), c)),
                 engine.tensor(0.0, dtype=engine.float64, device=device))
    (g_t,) = torch.autograd.grad(loss_t, a_t)
    (g_o,) = engine.autograd.grad(loss_o, a_o)
    _close(g_o, g_t, 1e-8)


def test_lu_gradient_is_differentiable_again():
    a_t, a_o = _pair((3, 3), 1)
    (g_t,) = torch.autograd.grad((torch.linalg.lu_factor(a_t)[0] ** 2).sum(), a_t, create_graph=True)
    (g_o,) = engine.autograd.grad((engine.linalg.lu_factor(a_o)[0] ** 2).sum(), a_o, create_graph=True)
    _close(g_o, g_t, 1e-8)
    _close(engine.autograd.grad(g_o.sum(), a_o)[0], torch.autograd.grad(g_t.sum(), a_t)[0], 1e-7)


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("adjoint", [True, False])
def test_lu_solve_matches_pytorch_with_gradients(left, adjoint):
    a_t, a_o = _pair((4, 4), 2)
    b_t, b_o = _pair((4, 2) if left else (2, 4), 3)
    x_t = torch.linalg.lu_solve(*torch.linalg.lu_factor(a_t), b_t, left=left, adjoint=adjoint)
    x_o = engine.linalg.lu_solve(*engine.linalg.lu_factor(a_o), b_o, left=left, adjoint=adjoint)
    _close(x_o, x_t)
    g_t = torch.autograd.grad((x_t ** 2).sum(), (a_t, b_t))
    g_o = engine.autograd.grad((x_o ** 2).sum(), (a_o, b_o))
    for o, t in zip(g_o, g_t):
        _close(o, t, 1e-8)


def test_torch_level_lu_names():
    a_t, a_o = _pair((3, 3), 4)
    b_t, b_o = _pair((3, 1), 5)
    LU_t, piv_t = torch.lu(a_t)
    LU_o, piv_o, info = engine.lu(a_o, get_infos=True)
    assert info.dtype == engine.int32 and int(info.sum()) == 0
    _close(engine.lu_solve(b_o, LU_o, piv_o), torch.lu_solve(b_t, LU_t, piv_t))
    for o, t in zip(engine.lu_unpack(LU_o, piv_o), torch.lu_unpack(LU_t, piv_t)):
        _close(o, t)


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unitriangular", [True, False])
def test_solve_triangular_reads_one_triangle(upper, left, unitriangular):
    a_t, a_o = _pair((3, 3), 6)
    b_t, b_o = _pair((3, 2) if left else (2, 3), 7)
    with torch.no_grad():
        a_t += 3 * torch.eye(3, dtype=torch.float64)
    a_o = engine.tensor(a_t.detach().numpy(), requires_grad=True)
    x_t = torch.linalg.solve_triangular(a_t, b_t, upper=upper, left=left, unitriangular=unitriangular)
    x_o = engine.linalg.solve_triangular(a_o, b_o, upper=upper, left=left, unitriangular=unitriangular)
    _close(x_o, x_t)
    for o, t in zip(engine.autograd.grad(x_o.sum(), (a_o, b_o)), torch.autograd.grad(x_t.sum(), (a_t, b_t))):
        _close(o, t)


def test_ex_forms_householder_vander_cond_and_tensor_solvers():
    a_t, a_o = _pair((2, 3, 3), 8)
    spd_t = a_t @ a_t.mT + 3 * torch.eye(3, dtype=torch.float64)
    spd_o = a_o @ a_o.mT + 3 * engine.eye(3, dtype=engine.float64)
    for name in ("inv_ex", "cholesky_ex"):
        (r_o, info_o), (r_t, info_t) = getattr(engine.linalg, name)(spd_o), getattr(torch.linalg, name)(spd_t)
        _close(r_o, r_t)
        assert info_o.dtype == engine.int32 and tuple(info_o.shape) == tuple(info_t.shape)
    _close(engine.linalg.solve_ex(spd_o, a_o)[0], torch.linalg.solve_ex(spd_t, a_t)[0])
    for p in (None, 2, -2, "fro", "nuc", 1, float("inf")):
        _close(engine.linalg.cond(a_o, p), torch.linalg.cond(a_t, p))
    h_t, h_o = _pair((5, 3), 9)
    tau_t, tau_o = _pair((2,), 10)
    q_t, q_o = torch.linalg.householder_product(h_t, tau_t), engine.linalg.householder_product(h_o, tau_o)
    _close(q_o, q_t)
    for o, t in zip(engine.autograd.grad(q_o.sum(), (h_o, tau_o)), torch.autograd.grad(q_t.sum(), (h_t, tau_t))):
        _close(o, t)
    x_t, x_o = _pair((4,), 11)
    with torch.no_grad():
        x_t[1] = 0
    x_o = engine.tensor(x_t.detach().numpy(), requires_grad=True)
    v_t, v_o = torch.linalg.vander(x_t, N=5), engine.linalg.vander(x_o, N=5)
    _close(v_o, v_t)
    _close(engine.autograd.grad(v_o.sum(), x_o)[0], torch.autograd.grad(v_t.sum(), x_t)[0])
    t_t, t_o = _pair((2, 3, 6), 12)
    _close(engine.linalg.tensorinv(t_o, ind=2), torch.linalg.tensorinv(t_t, ind=2))
    rhs_t, rhs_o = _pair((2, 3), 13)
    _close(engine.linalg.tensorsolve(t_o, rhs_o), torch.linalg.tensorsolve(t_t, rhs_t))


def test_ldl_factor_and_solve_match_pytorch():
    pytest.importorskip("scipy")
    a = torch.randn(2, 4, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(14))
    sym = a + a.mT  # symmetric and indefinite: Bunch-Kaufman pivots with 2x2 blocks
    b = torch.randn(2, 4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(15))
    LD_t, piv_t = torch.linalg.ldl_factor(sym)
    LD_o, piv_o, info = engine.linalg.ldl_factor_ex(engine.tensor(sym.numpy()))
    _close(LD_o, LD_t)
    np.testing.assert_array_equal(piv_o.numpy(), piv_t.numpy())
    assert piv_o.dtype == engine.int32 and int(info.sum()) == 0
    _close(engine.linalg.ldl_solve(LD_o, piv_o, engine.tensor(b.numpy())), torch.linalg.ldl_solve(LD_t, piv_t, b))


def test_cholesky_inverse_cholesky_solve_triangular_solve_and_nuclear_norm():
    a_t, _ = _pair((3, 3), 16)
    spd = (a_t @ a_t.mT + 3 * torch.eye(3, dtype=torch.float64)).detach()
    for upper in (False, True):
        L_t = torch.linalg.cholesky(spd, upper=upper).requires_grad_(True)
        L_o = engine.tensor(L_t.detach().numpy(), requires_grad=True)
        b_t, b_o = _pair((3, 2), 17)
        for theirs, ours in ((torch.cholesky_inverse(L_t, upper), engine.cholesky_inverse(L_o, upper)),
                             (torch.cholesky_solve(b_t, L_t, upper), b_o.cholesky_solve(L_o, upper))):
            _close(ours, theirs)
            for o, t in zip(engine.autograd.grad(ours.sum(), (L_o,)), torch.autograd.grad(theirs.sum(), (L_t,))):
                _close(o, t, 1e-8)
    for transpose in (False, True):
        b_t, b_o = _pair((3, 2), 18)
        x_t, c_t = torch.triangular_solve(b_t, spd, upper=True, transpose=transpose, unitriangular=True)
        x_o, c_o = engine.triangular_solve(b_o, engine.tensor(spd.numpy()), upper=True, transpose=transpose,
                                           unitriangular=True)
        _close(x_o, x_t)
        _close(c_o, c_t)
    _close(engine.norm(engine.tensor(spd.numpy()), "nuc"), torch.norm(spd, "nuc"))


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("transpose", [True, False])
def test_geqrf_and_ormqr_match_pytorch(left, transpose):
    pytest.importorskip("scipy")
    a_t, a_o = _pair((5, 3), 19)
    qr_t, tau_t = torch.geqrf(a_t.detach())
    qr_o, tau_o = engine.geqrf(a_o.detach())
    _close(qr_o, qr_t)
    _close(tau_o, tau_t)
    qr_t.requires_grad_(True)
    qr_o = engine.tensor(qr_t.detach().numpy(), requires_grad=True)
    c_t, c_o = _pair((5, 2) if left else (2, 5), 20)
    theirs = torch.ormqr(qr_t, tau_t, c_t, left=left, transpose=transpose)
    ours = engine.ormqr(qr_o, tau_o, c_o, left=left, transpose=transpose)
    _close(ours, theirs)
    for o, t in zip(engine.autograd.grad((ours ** 2).sum(), (qr_o, c_o)),
                    torch.autograd.grad((theirs ** 2).sum(), (qr_t, c_t))):
        _close(o, t, 1e-8)

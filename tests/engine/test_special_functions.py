"""The rarer torch.special functions (Bessel family, orthogonal polynomials, the normal-distribution
functions, xlog1py, zeta) against PyTorch: values on every device, gradients and second derivatives
where PyTorch has them (including the limits at 0 of i1 and i1e)."""
import numpy as np
import pytest

from gradview import engine

torch = pytest.importorskip("torch")

X = [-2.5, -1.0, 0.0, 0.3, 1.0, 4.0]
POSITIVE = [0.1, 0.5, 1.0, 2.5, 7.0]
UNARY = {"bessel_j0": X, "bessel_j1": X, "bessel_y0": POSITIVE, "bessel_y1": POSITIVE, "modified_bessel_i0": X,
         "modified_bessel_i1": X, "modified_bessel_k0": POSITIVE, "modified_bessel_k1": POSITIVE,
         "scaled_modified_bessel_k0": POSITIVE, "scaled_modified_bessel_k1": POSITIVE,
         "spherical_bessel_j0": X, "airy_ai": X, "i0e": X, "i1": X, "i1e": X, "erfcx": X, "log_ndtr": X,
         "ndtri": [0.01, 0.2, 0.5, 0.9, 0.999]}
DIFFERENTIABLE = ["i0e", "i1", "i1e", "erfcx", "log_ndtr", "ndtri"]


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values_match_pytorch(name, device):
    values = UNARY[name]
    theirs = getattr(torch.special, name)(torch.tensor(values, dtype=torch.float64))
    ours = getattr(engine.special, name)(engine.tensor(values, dtype=engine.float64, device=device))
    assert ours.dtype == engine.float64 and ours.device.type == device
    # PyTorch's Bessel and Airy kernels are rational approximations good to about 1e-6 (SciPy's are
    # good to double precision)
    np.testing.assert_allclose(ours.cpu().numpy(), theirs.numpy(), rtol=1e-5, atol=1e-9)
    assert getattr(engine.special, name)(engine.tensor([1, 2])).dtype == engine.float32


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_gradients_and_second_derivatives_match_pytorch(name):
    x = torch.tensor(UNARY[name], dtype=torch.float64, requires_grad=True)
    e = engine.tensor(UNARY[name], dtype=engine.float64, requires_grad=True)
    (g_t,) = torch.autograd.grad(getattr(torch.special, name)(x).sum(), x, create_graph=True)
    (g_o,) = engine.autograd.grad(getattr(engine.special, name)(e).sum(), e, create_graph=True)
    np.testing.assert_allclose(g_o.detach().numpy(), g_t.detach().numpy(), rtol=1e-9, atol=1e-12)
    (gg_t,) = torch.autograd.grad(g_t.sum(), x)
    (gg_o,) = engine.autograd.grad(g_o.sum(), e)
    np.testing.assert_allclose(gg_o.numpy(), gg_t.numpy(), rtol=1e-8, atol=1e-10)


POLYNOMIALS = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
               "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u",
               "shifted_chebyshev_polynomial_v", "shifted_chebyshev_polynomial_w", "hermite_polynomial_h",
               "hermite_polynomial_he", "laguerre_polynomial_l", "legendre_polynomial_p"]


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomials_match_pytorch(name, device):
    x = [-1.0, -0.4, 0.0, 0.25, 1.0, 1.7]
    n = [[-1.0], [0.0], [1.0], [2.0], [3.7], [9.0]]  # truncated degrees; a negative degree gives 0
    theirs = getattr(torch.special, name)(torch.tensor(x, dtype=torch.float64), torch.tensor(n, dtype=torch.float64))
    ours = getattr(engine.special, name)(engine.tensor(x, dtype=engine.float64, device=device),
                                         engine.tensor(n, dtype=engine.float64, device=device))
    assert tuple(ours.shape) == (6, 6)
    np.testing.assert_allclose(ours.cpu().numpy(), theirs.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(getattr(engine.special, name)(engine.tensor(x, dtype=engine.float64), 4).numpy(),
                               getattr(torch.special, name)(torch.tensor(x, dtype=torch.float64), 4).numpy(),
                               rtol=1e-10, atol=1e-10)


def test_xlog1py_and_zeta_match_pytorch(device):
    a = torch.tensor([0.0, 1.5, -2.0, 3.0], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([0.5, -0.5, 2.0, 0.0], dtype=torch.float64, requires_grad=True)
    ea = engine.tensor(a.detach().numpy(), requires_grad=True)
    eb = engine.tensor(b.detach().numpy(), requires_grad=True)
    theirs, ours = torch.special.xlog1py(a, b), engine.special.xlog1py(ea, eb)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy())
    theirs.sum().backward()
    ours.sum().backward()
    np.testing.assert_allclose(ea.grad.numpy(), a.grad.numpy())
    np.testing.assert_allclose(eb.grad.numpy(), b.grad.numpy())
    assert engine.special.xlog1py(2.0, engine.tensor([1.0])).item() == pytest.approx(2 * np.log(2))
    s, q = [2.0, 3.5, 1.0, 0.5], [1.0, 0.5, 2.0, 3.0]
    np.testing.assert_allclose(
        engine.special.zeta(engine.tensor(s, device=device), engine.tensor(q, device=device)).cpu().numpy(),
        torch.special.zeta(torch.tensor(s), torch.tensor(q)).numpy(), rtol=1e-6)


@pytest.mark.parametrize("name,special", [("igamma", "gammainc"), ("igammac", "gammaincc")])
def test_incomplete_gamma_matches_pytorch(name, special, device):
    pytest.importorskip("scipy")
    a = torch.tensor([0.5, 2.0, 3.0, 7.5], dtype=torch.float64)
    x = torch.tensor([1.0, 0.5, 4.0, 6.0], dtype=torch.float64, requires_grad=True)
    ea = engine.tensor(a.numpy(), device=device)
    ex = engine.tensor(x.detach().numpy(), device=device, requires_grad=True)
    theirs, ours = getattr(torch, name)(a, x), getattr(engine.special, special)(ea, ex)
    np.testing.assert_allclose(ours.detach().cpu().numpy(), theirs.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(getattr(ea, name)(ex).detach().cpu().numpy(), theirs.detach().numpy(), rtol=1e-10)
    (g_t,) = torch.autograd.grad(theirs.sum(), x)
    (g_o,) = engine.autograd.grad(ours.sum(), ex)
    np.testing.assert_allclose(g_o.cpu().numpy(), g_t.numpy(), rtol=1e-10)
    with pytest.raises(NotImplementedError, match="not implemented"):
        getattr(engine, name)(ex.detach().requires_grad_(True), ex).sum().backward()

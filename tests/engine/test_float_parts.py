"""frexp and cumulative_trapezoid against PyTorch: values, dtypes and gradients, on every device."""
import numpy as np
import pytest

from gradview import engine

torch = pytest.importorskip("torch")


def test_frexp_matches_pytorch(device):
    values = [0.0, 3.0, -5.5, 1e-3, 7e20]
    x = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    e = engine.tensor(values, dtype=engine.float64, device=device, requires_grad=True)
    (m_t, x_t), (m_o, x_o) = torch.frexp(x), e.frexp()
    assert x_o.dtype == engine.int32 and m_o.dtype == engine.float64 and m_o.grad_fn.name() == "FrexpBackward0"
    np.testing.assert_array_equal(m_o.detach().cpu().numpy(), m_t.detach().numpy())
    np.testing.assert_array_equal(x_o.cpu().numpy(), x_t.numpy())
    (m_t * 3).sum().backward()
    (m_o * 3).sum().backward()
    np.testing.assert_allclose(e.grad.cpu().numpy(), x.grad.numpy())
    with pytest.raises(RuntimeError, match="floating-point"):
        engine.frexp(engine.tensor([1, 2]))


@pytest.mark.parametrize("kwargs", [{}, {"dx": 0.5}, {"dim": 0}, {"x": "tensor"}, {"x": "vector"}])
def test_cumulative_trapezoid_matches_pytorch(kwargs, device):
    y = torch.randn(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(3), requires_grad=True)
    e = engine.tensor(y.detach().numpy(), device=device, requires_grad=True)
    kw_t, kw_o = dict(kwargs), dict(kwargs)
    if kwargs.get("x") == "tensor":
        xs = torch.rand(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(4)).cumsum(-1)
        kw_t["x"], kw_o["x"] = xs, engine.tensor(xs.numpy(), device=device)
    elif kwargs.get("x") == "vector":
        xs = torch.tensor([0.0, 0.5, 2.0, 2.25], dtype=torch.float64)
        kw_t["x"], kw_o["x"] = xs, engine.tensor(xs.numpy(), device=device)
    theirs, ours = torch.cumulative_trapezoid(y, **kw_t), engine.cumulative_trapezoid(e, **kw_o)
    np.testing.assert_allclose(ours.detach().cpu().numpy(), theirs.detach().numpy(), atol=1e-12)
    theirs.sum().backward()
    ours.sum().backward()
    np.testing.assert_allclose(e.grad.cpu().numpy(), y.grad.numpy(), atol=1e-12)

"""Every differentiable op passes a finite-difference gradient check (float64), over 0-d, vector,
matrix and broadcast shapes; second derivatives pass gradgradcheck, on every device (see tests/conftest.py)."""
import pytest

from gradview import engine
from gradview.engine.testing import GradcheckError, gradcheck, gradgradcheck
from tests.engine.helpers import op_cases


@pytest.mark.parametrize("op,shapes", op_cases())
def test_gradcheck(op, shapes, device):
    inputs = [engine.tensor(a, requires_grad=True, device=device) for a in op.arrays(shapes)]
    with engine.device(device):
        assert gradcheck(lambda *xs: op.fn(engine, *xs), inputs)


@pytest.mark.parametrize("op,shapes", op_cases())
def test_gradgradcheck(op, shapes, device):
    """Second derivatives through backward(create_graph=True), for every op as well."""
    inputs = [engine.tensor(a, requires_grad=True, device=device) for a in op.arrays(shapes)]
    with engine.device(device):
        assert gradgradcheck(lambda *xs: op.fn(engine, *xs), inputs)


def test_gradcheck_reports_wrong_gradient():
    class Wrong(engine.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 3

    x = engine.randn(3, dtype=engine.float64, requires_grad=True)
    with pytest.raises(GradcheckError, match="output 0 with respect to input 0") as info:
        gradcheck(Wrong.apply, (x,))
    assert isinstance(info.value, RuntimeError)
    assert "max difference 1" in str(info.value)
    assert gradcheck(Wrong.apply, (x,), raise_exception=False) is False


def test_gradcheck_converts_to_float64_and_leaves_inputs_alone():
    x = engine.randn(4, requires_grad=True)  # float32
    before = x.detach().clone()
    assert engine.autograd.gradcheck(lambda a: (a * a).sum(), x)
    assert engine.equal(x, before) and x.grad is None


def test_gradcheck_needs_an_input_requiring_grad():
    with pytest.raises(ValueError):
        gradcheck(lambda a: a * 2, (engine.ones(2, dtype=engine.float64),))

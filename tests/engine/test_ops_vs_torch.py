"""Every differentiable op against PyTorch: same values, dtypes, node names and gradients for the
same float64 inputs, on every device (see tests/conftest.py)."""
import pytest

from tests.engine.helpers import op_cases, run_both


@pytest.mark.parametrize("op,shapes", op_cases())
def test_op_matches_torch(op, shapes, device):
    run_both(op.fn, *op.arrays(shapes), atol=op.atol, device=device)

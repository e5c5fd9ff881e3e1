"""The creation functions' `out=` and `size=` forms against PyTorch: `out=` fills (and resizes) the
given tensor in its dtype and returns it; seeded random draws give PyTorch's numbers."""
import pytest

from gradview import engine
from tests.engine.helpers import assert_same_value, reference_torch

OUT_FORMS = [
    ("zeros", "(2, 3)", "float32"), ("ones", "(4,)", "int64"), ("empty", "(0,)", "float64"),
    ("full", "((2,), 3.0)", "float32"), ("arange", "(5,)", "int64"), ("arange", "(0.0, 1.0, 0.25)", "float64"),
    ("linspace", "(0, 1, 5)", "float32"), ("logspace", "(0, 2, 3)", "float64"), ("eye", "(3,)", "float32"),
    ("rand", "(2,)", "float32"), ("rand", "(2, 2)", "float64"), ("randn", "(3,)", "float32"),
    ("randint", "(0, 10, (4,))", "int64"), ("randperm", "(5,)", "int64"),
    ("normal", "(0.0, 1.0, (3,))", "float32"),
]


@pytest.mark.parametrize("fn,args,dtype", OUT_FORMS, ids=lambda v: str(v))
def test_out_fills_and_returns_the_given_tensor(fn, args, dtype, device):
    torch = reference_torch()
    results = []
    for lib, dev in ((engine, device), (torch, "cpu")):
        lib.manual_seed(0)
        out = lib.zeros(3, dtype=getattr(lib, dtype), device=dev)
        returned = eval(f"lib.{fn}{args[:-1].rstrip(',')}, out=out)", {"lib": lib, "out": out})
        assert returned is out
        results.append(out)
    assert results[0].device.type == ("cuda" if device == "cuda" else "cpu")
    assert_same_value(results[0].cpu(), results[1], rtol=1e-6, what=f"{fn}{args} into {dtype}")


@pytest.mark.parametrize("expression", ["lib.randn(size=(2, 3))", "lib.rand(size=[4])", "lib.zeros(size=(1, 2))",
                                        "lib.ones(size=(2,), dtype=lib.int64)", "lib.empty(size=(0,)).shape"])
def test_size_keyword(expression):
    torch = reference_torch()
    values = []
    for lib in (engine, torch):
        lib.manual_seed(3)
        values.append(eval(expression, {"lib": lib}))
    assert_same_value(values[0], values[1], what=expression)


def test_out_with_autograd_raises_as_pytorch():
    with pytest.raises(RuntimeError, match="out=... arguments don't support automatic differentiation"):
        engine.zeros(2, out=engine.zeros(2, requires_grad=True))

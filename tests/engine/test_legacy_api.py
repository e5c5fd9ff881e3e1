"""PyTorch's legacy tensor API, which older teaching code uses everywhere: the typed constructors
(`torch.LongTensor`, ...), the `torch.Tensor(...)` constructor, `x.type(...)`,
`set_default_tensor_type`, `torch.typename`; each form against PyTorch."""
import numpy as np
import pytest

from gradview import engine
from tests.engine.helpers import assert_same_value, reference_torch

TYPES = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor", "CharTensor",
         "ByteTensor", "BoolTensor"]


def _both(expression):
    """The expression's value in both libraries (or both exceptions' types)."""
    torch = reference_torch()
    results = []
    for lib in (engine, torch):
        try:
            results.append(eval(expression, {"torch": lib, "np": np}))
        except (TypeError, RuntimeError, ValueError) as exc:
            results.append(type(exc))
    return results


@pytest.mark.parametrize("name", TYPES)
@pytest.mark.parametrize("args", ["[1, 0, 2]", "[[1.5, 2.0], [0.0, 3.0]]", "np.array([1, 2, 3])", "", "[]"])
def test_typed_constructor_from_data(name, args):
    ours, theirs = _both(f"torch.{name}({args})")
    assert_same_value(ours, theirs, what=f"{name}({args})")


@pytest.mark.parametrize("name", TYPES)
def test_typed_constructor_from_sizes(name):
    torch = reference_torch()
    for args in ["2, 3", "torch.Size([2, 3])", "0", "4"]:
        ours, theirs = _both(f"torch.{name}({args})")
        assert tuple(ours.shape) == tuple(theirs.shape) and str(ours.dtype) == str(theirs.dtype)
    assert isinstance(getattr(engine, name)([1]), getattr(engine, name))
    assert not isinstance(engine.tensor([1.0]).double(), getattr(engine, name)) or name == "DoubleTensor"
    assert repr(getattr(engine, name)) == repr(getattr(torch, name))
    assert repr(getattr(engine.cuda, name)) == repr(getattr(torch.cuda, name))
    assert getattr(engine, name).dtype.name == str(getattr(torch, name).dtype).split(".")[1]


@pytest.mark.parametrize("expression", [
    "torch.Tensor()", "torch.Tensor(2, 3).shape", "torch.Tensor(torch.Size([2, 3])).shape", "torch.Tensor([[1, 2]])",
    "torch.Tensor((2, 3))", "torch.Tensor(np.array([1, 2]))", "torch.Tensor(torch.tensor([1, 2]))",
    "torch.Tensor(3.5)", "torch.LongTensor(torch.tensor([1.0]))", "torch.Tensor([1, 2], device='cpu')",
    "torch.ones(2).type()", "torch.ones(2, dtype=torch.int64).type()", "torch.ones(2).type(torch.LongTensor)",
    "torch.ones(2).type('torch.IntTensor')", "torch.ones(2).type(torch.int16)", "torch.ones(2).type('IntTensor')",
    "torch.ones(2).type(torch.DoubleTensor).type()", "torch.typename(torch.zeros(1, dtype=torch.uint8))",
    "torch.ones(2).type('torch.NoSuchTensor')", "torch.Tensor(-1)",
])
def test_legacy_forms(expression):
    ours, theirs = _both(expression)
    if isinstance(theirs, type):
        assert ours is theirs, f"{expression}: {ours!r}, PyTorch raises {theirs.__name__}"
    else:
        assert_same_value(ours, theirs, what=expression)


def test_legacy_constructor_of_a_tensor_is_an_alias():
    t = engine.tensor([1.0, 2.0])
    a = engine.Tensor(t)
    a[0] = 5.0
    assert t[0].item() == 5.0 and a._version == t._version


def test_legacy_constructors_follow_the_default_dtype():
    torch = reference_torch()
    try:
        for lib in (engine, torch):
            lib.set_default_dtype(lib.float64)
        assert str(engine.Tensor([1]).dtype) == str(torch.Tensor([1]).dtype) == "torch.float64"
        assert str(engine.Tensor(2).dtype) == "torch.float64"
        for lib in (engine, torch):
            lib.set_default_tensor_type(lib.FloatTensor)
        assert str(engine.Tensor([1]).dtype) == str(engine.ones(1).dtype) == str(torch.ones(1).dtype) == "torch.float32"
        for lib in (engine, torch):
            lib.set_default_tensor_type("torch.DoubleTensor")
        assert str(engine.rand(1).dtype) == str(torch.rand(1).dtype) == "torch.float64"
    finally:
        for lib in (engine, torch):
            lib.set_default_dtype(lib.float32)


def test_tensor_class_prints_as_torch_tensor():
    torch = reference_torch()
    assert repr(engine.Tensor) == repr(torch.Tensor)
    assert repr(type(engine.ones(1))) == repr(type(torch.ones(1)))


def test_type_moves_between_devices(device):
    x = engine.ones(2, device=device)
    assert x.type() == ("torch.cuda.FloatTensor" if device == "cuda" else "torch.FloatTensor")
    assert x.type(engine.cuda.LongTensor).type() == "torch.cuda.LongTensor" if device == "cuda" else True
    assert x.type(engine.DoubleTensor).device.type == "cpu"

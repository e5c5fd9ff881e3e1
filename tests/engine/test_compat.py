"""Torch-level utilities scripts call around the maths, against PyTorch: finfo/iinfo, promotion
queries, thread and determinism switches, torch.<nn function> and torch.<op>_ spellings."""
import numpy as np
import pytest

from gradview import engine

torch = pytest.importorskip("torch", reason="PyTorch is the reference implementation")

FLOATS = ["float16", "float32", "float64"]
INTS = ["uint8", "int8", "int16", "int32", "int64"]


@pytest.mark.parametrize("name", FLOATS)
def test_finfo(name):
    ours, theirs = engine.finfo(getattr(engine, name)), torch.finfo(getattr(torch, name))
    assert repr(ours) == repr(theirs)
    for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert engine.finfo().eps == torch.finfo().eps


@pytest.mark.parametrize("name", INTS)
def test_iinfo(name):
    ours, theirs = engine.iinfo(getattr(engine, name)), torch.iinfo(getattr(torch, name))
    assert repr(ours) == repr(theirs) and (ours.min, ours.max, ours.bits) == (theirs.min, theirs.max, theirs.bits)


def test_info_of_the_wrong_kind_raises_as_pytorch():
    for lib in (engine, torch):
        with pytest.raises(TypeError):
            lib.finfo(lib.int32)
        with pytest.raises(TypeError):
            lib.iinfo(lib.float32)


@pytest.mark.parametrize("a", FLOATS + INTS + ["bool"])
@pytest.mark.parametrize("b", FLOATS + INTS + ["bool"])
def test_promote_types_and_can_cast(a, b):
    assert str(engine.promote_types(getattr(engine, a), getattr(engine, b))) == \
        str(torch.promote_types(getattr(torch, a), getattr(torch, b)))
    assert engine.can_cast(getattr(engine, a), getattr(engine, b)) == torch.can_cast(getattr(torch, a), getattr(torch, b))


def test_result_type():
    for make in (lambda t: (t.ones(2, dtype=t.int32), 2.5), lambda t: (t.ones(2, dtype=t.int32), t.tensor(1.0)),
                 lambda t: (t.tensor(1, dtype=t.int64), t.ones(2, dtype=t.uint8)), lambda t: (3, t.ones(1).half())):
        assert str(engine.result_type(*make(engine))) == str(torch.result_type(*make(torch)))


def test_switches_scripts_set():
    engine.set_num_threads(2)
    assert engine.get_num_threads() == 2
    engine.use_deterministic_algorithms(True)
    assert engine.are_deterministic_algorithms_enabled()
    engine.use_deterministic_algorithms(False)
    engine.set_float32_matmul_precision("high")
    assert engine.get_float32_matmul_precision() == "high"
    engine.set_float32_matmul_precision("highest")
    assert not engine.is_complex(engine.ones(1))
    assert engine.is_nonzero(engine.tensor([3])) is True
    with pytest.raises(RuntimeError, match="ambiguous"):
        engine.is_nonzero(engine.ones(2))


def test_torch_level_spellings():
    x = np.random.default_rng(0).standard_normal((2, 3, 8))
    w = np.random.default_rng(1).standard_normal((4, 3, 3))
    ours = engine.conv1d(engine.tensor(x), engine.tensor(w), padding=1)
    theirs = torch.conv1d(torch.tensor(x), torch.tensor(w), padding=1)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10)
    t = engine.tensor([-1.0, 2.0])
    assert engine.relu_(t) is t and t.tolist() == [0.0, 2.0]
    assert engine.clamp_(t, max=1.0).tolist() == [0.0, 1.0]
    engine.manual_seed(0)
    torch.manual_seed(0)
    assert engine.dropout(engine.ones(10), 0.5, True).tolist() == torch.dropout(torch.ones(10), 0.5, True).tolist()

"""torch.save / torch.load: round trips of what training scripts checkpoint, map_location, and
weights_only refusing code."""
import io
import pickle

import numpy as np
import pytest

import gradview.engine as torch


class Unsafe:
    def __reduce__(self):
        return (print, ("this would run on load",))


def test_round_trip_of_a_training_checkpoint(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(3):
        opt.zero_grad()
        model(torch.randn(8, 3)).pow(2).mean().backward()
        opt.step()
    path = tmp_path / "ckpt.pt"
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": 3, "dtype": torch.float64,
                "ints": torch.arange(4, dtype=torch.int32), "scalar": torch.tensor(2.5)}, path)
    ckpt = torch.load(path)
    assert ckpt["epoch"] == 3 and ckpt["dtype"] is torch.float64
    assert ckpt["ints"].dtype == torch.int32 and ckpt["ints"].tolist() == [0, 1, 2, 3]
    assert ckpt["scalar"].shape == () and ckpt["scalar"].item() == 2.5
    fresh = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2))
    fresh.load_state_dict(ckpt["model"])
    for (name, a), (_, b) in zip(model.state_dict().items(), fresh.state_dict().items()):
        assert torch.equal(a, b), name
    opt2 = torch.optim.Adam(fresh.parameters(), lr=0.01)
    opt2.load_state_dict(ckpt["opt"])
    assert torch.equal(opt2.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])


def test_tensors_keep_dtype_requires_grad_and_parameters():
    buf = io.BytesIO()
    p = torch.nn.Parameter(torch.randn(2, 3))
    torch.save([p, torch.ones(2, requires_grad=True), torch.zeros(2, dtype=torch.float16)], buf)
    buf.seek(0)
    q, r, h = torch.load(buf)
    assert isinstance(q, torch.nn.Parameter) and q.requires_grad and torch.equal(q, p)
    assert r.requires_grad and r.is_leaf and h.dtype == torch.float16


def test_weights_only_refuses_code_and_false_allows_modules():
    buf = io.BytesIO()
    torch.save({"evil": Unsafe()}, buf)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        torch.load(io.BytesIO(buf.getvalue()))
    buf = io.BytesIO()
    torch.save(torch.nn.Linear(2, 1), buf)
    with pytest.raises(pickle.UnpicklingError, match="weights_only=False"):
        torch.load(io.BytesIO(buf.getvalue()))
    model = torch.load(io.BytesIO(buf.getvalue()), weights_only=False)
    assert isinstance(model, torch.nn.Linear) and model(torch.ones(1, 2)).shape == (1, 1)


def test_map_location(cuda_device):
    buf = io.BytesIO()
    w = torch.randn(3, device=cuda_device, requires_grad=True)
    torch.save({"w": w, "cpu": torch.ones(1)}, buf)
    data = buf.getvalue()
    same = torch.load(io.BytesIO(data))
    assert same["w"].device.type == "cuda" and same["w"].requires_grad and same["w"].is_leaf
    assert same["cpu"].device.type == "cpu"
    for where in ("cpu", torch.device("cpu"), {"cuda:0": "cpu"}, lambda storage, loc: storage):
        moved = torch.load(io.BytesIO(data), map_location=where)
        assert moved["w"].device.type == "cpu" and torch.equal(moved["w"], w.cpu())
    assert torch.load(io.BytesIO(data), map_location="cuda")["cpu"].device.type == "cuda"


def test_cuda_checkpoint_without_a_gpu_says_what_to_do(cuda_device):
    from gradview.engine import backends
    buf = io.BytesIO()
    torch.save(torch.ones(2, device=cuda_device), buf)
    saved = backends._loaded.get("cuda")
    backends._loaded["cuda"] = None
    try:
        with pytest.raises(RuntimeError, match="map_location=torch.device\\('cpu'\\)"):
            torch.load(io.BytesIO(buf.getvalue()))
        assert torch.load(io.BytesIO(buf.getvalue()), map_location="cpu").tolist() == [1.0, 1.0]
    finally:
        backends._loaded["cuda"] = saved


@pytest.fixture
def cuda_device():
    from gradview.engine import backends
    from tests.conftest import emulated_cuda
    if backends.is_available("cuda"):
        yield "cuda"
        return
    with emulated_cuda():
        yield "cuda"


def test_plain_values_load_and_numpy_arrays_need_weights_only_false():
    buf = io.BytesIO()
    torch.save({"t": (1, "x", None, 2.5, {1, 2}), "a": np.arange(3.0)}, buf)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        torch.load(io.BytesIO(buf.getvalue()))  # as in PyTorch 2.6+: arrays are not allowlisted
    out = torch.load(io.BytesIO(buf.getvalue()), weights_only=False)
    assert out["a"].tolist() == [0.0, 1.0, 2.0] and out["t"] == (1, "x", None, 2.5, {1, 2})


def test_not_a_checkpoint():
    with pytest.raises(RuntimeError, match="Invalid magic number"):
        torch.load(io.BytesIO(pickle.dumps({"a": 1})))


# ---------------------------------------------------------------------------------------------
# the same files as PyTorch
def _reference():
    return pytest.importorskip("torch", reason="PyTorch is the reference implementation")


def test_pytorch_loads_what_the_engine_saves(tmp_path):
    reference = _reference()
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    path = tmp_path / "gradview.engine.pt"
    torch.save({"model": model.state_dict(), "p": torch.nn.Parameter(torch.randn(2, 2)), "half": torch.ones(2).half(),
                "view": torch.arange(6.0).reshape(2, 3).t(), "flags": torch.tensor([True, False]),
                "scalar": torch.tensor(3, dtype=torch.int32), "dtype": torch.float64, "device": torch.device("cpu"),
                "leaf": torch.ones(2, requires_grad=True)}, path)
    theirs = reference.load(path)  # weights_only=True: nothing but allowlisted globals in the file
    twin = reference.nn.Sequential(reference.nn.Linear(3, 4), reference.nn.BatchNorm1d(4))
    twin.load_state_dict(theirs["model"])
    for (name, a), (_, b) in zip(model.state_dict().items(), twin.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    assert isinstance(theirs["p"], reference.nn.Parameter) and theirs["p"].requires_grad
    assert theirs["half"].dtype == reference.float16 and theirs["flags"].tolist() == [True, False]
    assert theirs["view"].tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
    assert theirs["scalar"].shape == () and theirs["scalar"].dtype == reference.int32
    assert theirs["dtype"] is reference.float64 and theirs["device"] == reference.device("cpu")
    assert theirs["leaf"].requires_grad and theirs["leaf"].is_leaf
    assert reference.load(path, mmap=True)["view"].tolist() == theirs["view"].tolist()  # storages are aligned


def test_engine_loads_what_pytorch_saves(tmp_path):
    reference = _reference()
    reference.manual_seed(0)
    twin = reference.nn.Sequential(reference.nn.Linear(3, 4), reference.nn.ReLU(), reference.nn.Linear(4, 1))
    opt = reference.optim.Adam(twin.parameters(), lr=0.01)
    twin(reference.randn(5, 3)).sum().backward()
    opt.step()
    path = tmp_path / "pytorch.pt"
    reference.save({"model": twin.state_dict(), "opt": opt.state_dict(), "t": reference.arange(6.0).reshape(2, 3).t(),
                    "dtype": reference.int64, "p": reference.nn.Parameter(reference.ones(2))}, path)
    ckpt = torch.load(path)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    model.load_state_dict(ckpt["model"])
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_allclose(model(torch.tensor(x)).detach().numpy(), twin(reference.tensor(x)).detach().numpy(),
                               rtol=1e-6)
    ours = torch.optim.Adam(model.parameters(), lr=0.01)
    ours.load_state_dict(ckpt["opt"])
    assert ours.state_dict()["state"][0]["step"].item() == 1.0
    assert ckpt["t"].tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]] and ckpt["dtype"] is torch.int64
    assert isinstance(ckpt["p"], torch.nn.Parameter)

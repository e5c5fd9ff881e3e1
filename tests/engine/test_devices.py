"""Devices: the cpu device everywhere, and the device plumbing (moves, errors, printing, autograd
across devices) exercised on a stand-in "cuda" backend made of NumPy arrays, so it runs without a
GPU. The real CuPy backend runs the same engine code paths on a machine with one."""
import numpy as np
import pytest

import engine as torch
from engine import backends
from engine.backends.numpy_backend import NumpyRandom


class StandInGpuArray(np.ndarray):
    """NumPy data marked as living on the stand-in device (ufuncs keep the subclass)."""


class StandInCuda:
    name = "cuda"
    xp = np
    ndarray = StandInGpuArray

    def __init__(self):
        self.random = NumpyRandom()

    def is_available(self):
        return True

    def device_count(self):
        return 1

    def device_name(self, index=0):
        return "stand-in GPU"

    def device_of(self, array):
        return "cuda:0"

    def from_numpy(self, array, index=None):
        return np.array(array, copy=True).view(StandInGpuArray)

    def to_numpy(self, array):
        return np.array(array).view(np.ndarray)

    def synchronize(self, index=None):
        pass


@pytest.fixture
def cuda():
    saved = dict(backends._loaded)
    backends._loaded["cuda"] = StandInCuda()
    try:
        yield torch.device("cuda")
    finally:
        backends._loaded.clear()
        backends._loaded.update(saved)


@pytest.fixture
def no_cuda():
    saved = dict(backends._loaded)
    backends._loaded["cuda"] = None
    try:
        yield
    finally:
        backends._loaded.clear()
        backends._loaded.update(saved)


# ---------------------------------------------------------------------------------------------
def test_cpu_device_basics():
    x = torch.ones(2)
    assert x.device == torch.device("cpu")
    assert str(x.device) == "cpu"
    assert repr(torch.device("cuda", 1)) == "device(type='cuda', index=1)"
    assert torch.device("cuda:1").index == 1
    assert x.to("cpu") is x
    assert not x.is_cuda


def test_unknown_device_raises():
    with pytest.raises(RuntimeError, match="Expected one of cpu"):
        torch.device("tpu")
    with pytest.raises(RuntimeError):
        torch.zeros(2, device="tpu:0")


def test_cuda_unavailable_is_clear(no_cuda):
    assert torch.cuda.is_available() is False
    assert torch.cuda.device_count() == 0
    with pytest.raises(RuntimeError, match="CUDA"):
        torch.zeros(2, device="cuda")
    with pytest.raises(RuntimeError, match="CUDA"):
        torch.ones(2).cuda()


def test_creation_and_printing_on_device(cuda):
    assert torch.cuda.is_available()
    x = torch.tensor([1.0, 2.0], device=cuda)
    assert x.device == torch.device("cuda:0") and x.is_cuda
    assert repr(x) == "tensor([1., 2.], device='cuda:0')"
    y = torch.ones(2, 2, device="cuda", requires_grad=True)
    assert repr(y) == "tensor([[1., 1.],\n        [1., 1.]], device='cuda:0', requires_grad=True)"


def test_numpy_bridge_needs_cpu(cuda):
    x = torch.arange(3, device="cuda")
    with pytest.raises(TypeError, match="cpu"):
        x.numpy()
    assert x.cpu().numpy().tolist() == [0, 1, 2]
    assert x.tolist() == [0, 1, 2] and x[1].item() == 1


def test_ops_stay_on_device_and_mixing_raises(cuda):
    a = torch.randn(3, device="cuda")
    b = torch.randn(3, device="cuda")
    assert (a * b + 1).device == torch.device("cuda:0")
    assert (a @ b).device.type == "cuda"
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        a + torch.randn(3)
    # a zero-dim cpu tensor joins like a scalar, as in PyTorch
    assert (a + torch.tensor(2.0)).device.type == "cuda"


def test_walkthrough_device_block(cuda, capsys):
    torch.manual_seed(0)
    x = torch.randn(1)
    if torch.cuda.is_available():
        device = torch.device("cuda")
        y = torch.ones_like(x, device=device)
        x = x.to(device)
        z = x + y
        print(z.to("cpu", torch.double))
    out = capsys.readouterr().out
    expected = float(x.cpu().item()) + 1
    assert out.startswith("tensor([") and out.strip().endswith("dtype=torch.float64)")
    assert abs(float(out.split("[")[1].split("]")[0]) - expected) < 1e-4


def test_autograd_on_device_and_across_devices(cuda):
    w = torch.randn(3, 2, device="cuda", requires_grad=True)
    x = torch.randn(4, 3, device="cuda")
    loss = (x @ w).tanh().sum()
    loss.backward()
    assert w.grad.device.type == "cuda"
    expected = x.cpu()._data.T @ (1 - np.tanh(x.cpu()._data @ w.detach().cpu()._data) ** 2)
    np.testing.assert_allclose(w.grad.cpu().numpy(), expected, rtol=1e-5)

    # a cpu leaf moved to the device gets its gradient back on the cpu
    v = torch.randn(3, requires_grad=True)
    (v.to("cuda") * 2).sum().backward()
    assert v.grad.device.type == "cpu"
    assert v.grad.tolist() == [2.0, 2.0, 2.0]
    assert v.to("cuda").grad_fn.name() == "ToCopyBackward0"


def test_manual_seed_repeats_on_device(cuda):
    torch.manual_seed(3)
    a = torch.randn(4, device="cuda").cpu()
    torch.manual_seed(3)
    b = torch.randn(4, device="cuda").cpu()
    assert torch.equal(a, b)

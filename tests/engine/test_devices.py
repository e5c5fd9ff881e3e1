"""Devices: the cpu device everywhere, and the device plumbing (moves, errors, printing, autograd
across devices, the default device, torch.cuda) on the cuda device. Without a GPU, cuda is the CuPy
backend over the look-alike in tests/emulated_cupy.py (see tests/conftest.py), which keeps CuPy's
rules; the op, layer and optimizer suites run on every device through the `device` fixture."""
import numpy as np
import pytest

import gradview.engine as torch
from gradview.engine import backends
from tests import emulated_cupy
from tests.conftest import emulated_cuda


@pytest.fixture
def cuda():
    """The real cuda device where there is one, else the emulated one."""
    if backends.is_available("cuda"):
        yield torch.device("cuda")
        return
    with emulated_cuda():
        yield torch.device("cuda")


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
    s = torch.tensor(2.0, requires_grad=True)
    (a * s).sum().backward()
    assert s.grad.device.type == "cpu" and s.grad.item() == pytest.approx(a.sum().item())


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


def test_default_device_context_and_setting(cuda):
    assert torch.get_default_device() == torch.device("cpu")
    with torch.device("cuda"):
        assert torch.get_default_device() == torch.device("cuda:0")
        assert torch.randn(2).device.type == "cuda" and torch.tensor([1, 2]).is_cuda
        assert torch.zeros(2, device="cpu").device.type == "cpu"
        assert torch.from_numpy(np.ones(2)).device.type == "cpu"  # from_numpy always shares host memory
        with torch.device("cpu"):
            assert torch.ones(1).device.type == "cpu"
        x = torch.arange(3)
        assert x.device.type == "cuda" and torch.zeros_like(x.cpu()).device.type == "cpu"
    assert torch.ones(1).device.type == "cpu"
    torch.set_default_device("cuda")
    try:
        lin = torch.nn.Linear(3, 2)
        assert lin.weight.device.type == "cuda"
        assert lin(torch.randn(4, 3)).device.type == "cuda"
    finally:
        torch.set_default_device(None)
    assert torch.ones(1).device.type == "cpu"


def test_cuda_namespace(cuda):
    assert torch.cuda.is_available() and torch.cuda.device_count() >= 1
    assert isinstance(torch.cuda.get_device_name(0), str) and torch.cuda.get_device_name()
    assert torch.cuda.current_device() == 0
    torch.cuda.synchronize()
    torch.cuda.manual_seed(5)
    with pytest.raises(RuntimeError, match="Invalid device"):
        torch.zeros(1, device=f"cuda:{torch.cuda.device_count()}")
    assert torch.ones(1).cuda().device == torch.device("cuda:0")
    assert torch.ones(1).cuda(0).device == torch.device("cuda", 0)


def test_data_loader_batches_and_optimizer_on_device(cuda):
    from gradview.engine.utils.data import DataLoader, TensorDataset
    torch.manual_seed(0)
    x, y = torch.randn(32, 3), torch.randn(32, 1)
    model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1)).to(cuda)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(5):
        for xb, yb in DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True):
            xb, yb = xb.to(cuda), yb.to(cuda)
            loss = torch.nn.functional.mse_loss(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    assert losses[-1] < losses[0]
    for p in model.parameters():
        assert p.device.type == "cuda" and p.grad.device.type == "cuda"
        state = opt.state[p]
        assert state["exp_avg"].device.type == "cuda" and state["step"].device.type == "cpu"


def test_module_to_and_state_dict_round_trip(cuda):
    model = torch.nn.Linear(3, 2).to(cuda)
    state = model.state_dict()
    assert all(v.device.type == "cuda" for v in state.values())
    cpu_model = torch.nn.Linear(3, 2)
    cpu_model.load_state_dict(state)
    assert cpu_model.weight.device.type == "cpu"
    assert torch.equal(cpu_model.weight, model.weight.cpu())


def test_the_emulation_keeps_cupys_rules():
    """What makes a pass on the emulated device mean something: CuPy's refusals are kept."""
    cp = emulated_cupy.make_module()
    a = cp.asarray(np.arange(6.0).reshape(2, 3))
    assert not isinstance(a, np.ndarray) and isinstance(a, cp.ndarray)
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(a)
    with pytest.raises(TypeError, match="Unsupported type"):
        a + np.ones(3)
    with pytest.raises(TypeError, match="Unsupported type"):
        np.ones(3) * a
    with pytest.raises(TypeError, match="Unsupported type"):
        cp.concatenate([a, np.ones((1, 3))])
    with pytest.raises(TypeError, match="Unsupported type"):
        a[0] = np.zeros(3)
    with pytest.raises(AttributeError):
        cp.errstate  # NumPy has it, CuPy does not
    with pytest.raises(TypeError):
        cp.lib.stride_tricks.as_strided(a, shape=(2, 2), strides=(8, 8), writeable=False)
    s = (a * 2).sum()
    assert isinstance(s, cp.ndarray) and s.shape == () and float(s) == 30.0  # 0-d results stay on the device
    assert cp.asnumpy(cp.maximum(a, 2.0)).tolist() == [[2.0, 2.0, 2.0], [3.0, 4.0, 5.0]]
    b = cp.zeros(3)
    cp.add.at(b, cp.asarray(np.array([0, 0, 2])), 1.0)
    assert b.tolist() == [2.0, 0.0, 1.0]


def test_common_gpu_script_calls(cuda):
    """What GPU training scripts call besides .to(device): they run unchanged."""
    torch.backends.cudnn.benchmark = True
    assert torch.backends.cudnn.is_available() and not torch.backends.mps.is_available()
    props = torch.cuda.get_device_properties(0)
    assert props.name == torch.cuda.get_device_name(0) and props.total_memory >= 0
    assert isinstance(torch.cuda.get_device_capability(), tuple)
    torch.cuda.reset_peak_memory_stats()
    x = torch.randn(256, 256, device=cuda)
    assert torch.cuda.max_memory_allocated() >= torch.cuda.memory_allocated() >= 0
    assert torch.cuda.memory_reserved() >= 0
    torch.cuda.empty_cache()
    assert x.get_device() == 0 and torch.ones(1).get_device() == -1
    pinned = torch.ones(3).pin_memory()
    assert pinned.device.type == "cpu" and torch.equal(pinned, torch.ones(3))
    torch.cuda.set_device(0)
    with torch.cuda.device(0):
        assert torch.zeros(1, device="cuda").device == torch.device("cuda:0")
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        torch.cuda.set_device(torch.cuda.device_count())

    # mixed precision: autocast and the scaler run the usual loop (in full precision here)
    model = torch.nn.Linear(4, 1).to(cuda)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cuda")
    data = torch.randn(16, 4, device=cuda)
    target = data.sum(1, keepdim=True)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        with torch.autocast(device_type="cuda", dtype=torch.float16):
            loss = torch.nn.functional.mse_loss(model(data), target)
        assert loss.dtype == torch.float32
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        scaler.step(opt)
        scaler.update()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 2
    with torch.cuda.amp.autocast():
        assert (data @ data.T).dtype == torch.float32


def test_gpu_script_calls_without_a_gpu(no_cuda):
    """The same calls where there is no GPU answer as PyTorch's CPU build does."""
    import torch as reference
    if reference.cuda.is_available():
        pytest.skip("the reference PyTorch has a GPU")
    assert torch.cuda.memory_allocated() == reference.cuda.memory_allocated() == 0
    assert torch.cuda.memory_reserved() == 0 and torch.cuda.max_memory_allocated() == 0
    torch.cuda.empty_cache()
    assert torch.backends.cudnn.is_available() == reference.backends.cudnn.is_available()
    assert torch.backends.mps.is_available() == reference.backends.mps.is_available()
    assert torch.cuda.is_bf16_supported() is False
    with pytest.raises(RuntimeError, match="Cannot access accelerator device"):
        torch.ones(2).pin_memory()
    with pytest.raises(AssertionError, match="not compiled with CUDA"):
        torch.cuda.get_device_properties(0)


def test_device_gradients_are_kept_without_copies_yet_never_shared(cuda):
    """An unshared gradient array becomes .grad as it is (no extra kernel), on the device as on the
    cpu; one handed to two leaves is copied for one of them."""
    from gradview.engine.autograd import _may_keep
    owned = torch.ones(3, device=cuda)._data
    assert _may_keep(owned) and not _may_keep(owned[1:])
    x = torch.randn(3, device=cuda, requires_grad=True)
    y = torch.randn(3, device=cuda, requires_grad=True)
    (x + y).sum().backward()
    x.grad.add_(1)
    assert y.grad.tolist() == [1.0, 1.0, 1.0] and x.grad.tolist() == [2.0, 2.0, 2.0]
    w = torch.randn(2, 3, device=cuda, requires_grad=True)
    (w.t() * torch.arange(2.0, device=cuda)).sum().backward()
    (w.t() * 1).sum().backward()  # accumulates into the kept array
    assert w.grad.tolist() == [[1.0] * 3, [2.0] * 3]


def test_accelerator_picks_the_gpu(cuda):
    assert torch.accelerator.is_available() and torch.accelerator.current_accelerator() == torch.device("cuda")
    device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
    assert torch.ones(2, device=device).is_cuda
    assert torch.accelerator.device_count() >= 1 and torch.accelerator.current_device_index() == 0
    torch.accelerator.synchronize()


def test_accelerator_without_a_gpu_is_what_pytorch_cpu_says(no_cuda):
    import torch as reference
    if reference.accelerator.is_available():
        pytest.skip("the reference PyTorch has an accelerator")
    assert torch.accelerator.is_available() is False and torch.accelerator.current_accelerator() is None
    assert torch.accelerator.device_count() == reference.accelerator.device_count() == 0


# ---------------------------------------------------------------------------------------------
# the backends registry: device types, array owners, seeding and special functions come from the
# backends' own declarations
def test_registry_declares_the_device_types():
    assert backends.DEVICE_TYPES == ("cpu", "cuda", "webgpu")
    assert backends._MODULES == {"cpu": "numpy_backend", "cuda": "cupy_backend", "webgpu": "webgpu_backend"}
    for name, module in backends._DECLARED.items():
        assert issubclass(module.BACKEND, backends.base.Backend) and module.BACKEND.name == name
    assert backends.available()[0] == "cpu"
    cpu = backends.get("cpu")
    assert cpu.host and cpu.random is None and backends.of_namespace(np) is cpu
    assert backends.owner_of(np.ones(2)) is None


def test_registry_finds_the_owner_and_seeds_the_device(cuda):
    backend = backends.get("cuda")
    x = torch.ones(3, device=cuda)
    assert backends.owner_of(x._data) is backend and backends.of_namespace(backend.xp) is backend
    assert not backend.host
    torch.manual_seed(11)
    first = backend.random.generator.random(4)
    backends.manual_seed(11)
    assert np.array_equal(backend.xp.asnumpy(backend.random.generator.random(4)), backend.xp.asnumpy(first))
    with pytest.raises(RuntimeError, match="no loaded backend"):
        backends.of_namespace(object())


def test_special_functions_through_the_backend(cuda):
    special = pytest.importorskip("scipy.special")
    backend = backends.get("cuda")
    values = np.array([0.5, 1.5, 3.0], dtype=np.float32)
    x = backend.from_numpy(values)
    got = backend.special("gammaln", x, host=special.gammaln)
    assert backends.owner_of(got) is backend
    np.testing.assert_allclose(backend.to_numpy(got), special.gammaln(values), rtol=1e-6)
    got = backend.special("polygamma", x, host=lambda v: special.polygamma(2, v), n=2)
    np.testing.assert_allclose(backend.to_numpy(got), special.polygamma(2, values), rtol=1e-6)

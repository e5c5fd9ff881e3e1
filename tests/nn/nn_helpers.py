"""Helpers for the nn tests: run one function on the engine and on PyTorch with the same float64
inputs and compare outputs and input gradients; copy a PyTorch module's weights into an engine
module through NumPy."""
import numpy as np
import pytest

from gradview import engine


def reference_torch():
    """Real PyTorch, or skip the calling test when it is not installed."""
    return pytest.importorskip("torch", reason="PyTorch is the reference implementation")


class Const:
    """A test input that does not require grad (the targets of losses)."""

    def __init__(self, array):
        self.array = array


def build_twin(lib, make, inputs, device="cpu"):
    """make(lib) in float64 on `device`, and its inputs as tensors there: float arrays require grad,
    Const ones do not, tuples (an RNN's (h, c)) stay tuples."""
    with lib.device(device):
        module = make(lib).double()

    def tensors(v):
        if isinstance(v, tuple):
            return tuple(tensors(x) for x in v)
        array = v.array if isinstance(v, Const) else v
        t = lib.tensor(array.copy(), device=device)
        return t.requires_grad_(True) if array.dtype.kind == "f" and not isinstance(v, Const) else t
    return module, [tensors(v) for v in inputs]


def flatten(out):
    if isinstance(out, (tuple, list)):
        items = []
        for o in out:
            items.extend(flatten(o))
        return items
    return [out]


def _array(t):
    return np.asarray(t.detach().cpu().numpy() if hasattr(t, "cpu") else t.detach().numpy())


def _make(lib, value, grad, device="cpu"):
    if isinstance(value, np.ndarray):
        t = lib.tensor(value.copy(), device=device)
        if grad and value.dtype.kind == "f":
            t.requires_grad_(True)
        return t
    return value


def compare_with_torch(engine_fn, torch_fn, inputs, *, grad=True, rtol=1e-7, atol=1e-10, seed=0, names=True,
                       device="cpu"):
    """Run `engine_fn` and `torch_fn` on the same inputs (NumPy arrays become tensors, float ones
    requiring grad when `grad`), compare every floating output, then backpropagate the same random
    cotangent through both and compare the gradients of the inputs. With `names`, the first
    output's graph node name must match too. The engine runs on `device` (also its default device
    inside engine_fn) and its outputs and gradients must stay there. Returns the engine outputs."""
    torch = reference_torch()
    ours_in = [_make(engine, v, grad, device) for v in inputs]
    theirs_in = [_make(torch, v, grad) for v in inputs]
    with engine.device(device):
        ours = flatten(engine_fn(*ours_in))
    theirs = flatten(torch_fn(*theirs_in))
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a.device.type == device, f"output {i}: on {a.device}, expected {device}"
        assert tuple(a.shape) == tuple(b.shape), f"output {i}: shape {tuple(a.shape)} != {tuple(b.shape)}"
        assert str(a.dtype).replace("gradview.engine", "torch") == str(b.dtype), f"output {i}: dtype {a.dtype} != {b.dtype}"
        np.testing.assert_allclose(_array(a), _array(b), rtol=rtol, atol=atol, err_msg=f"output {i}")
    if names and ours and theirs[0].grad_fn is not None:
        assert ours[0].grad_fn is not None and ours[0].grad_fn.name() == theirs[0].grad_fn.name()
    if not grad:
        return ours
    rng = np.random.default_rng(seed)
    pairs = [(a, b) for a, b in zip(ours, theirs) if b.requires_grad]
    if not pairs:
        return ours
    cotangents = [rng.standard_normal(tuple(b.shape)) for _, b in pairs]
    our_total = sum((a * engine.tensor(c, dtype=a.dtype, device=a.device)).sum() for (a, _), c in zip(pairs, cotangents))
    their_total = sum((b * torch.tensor(c, dtype=b.dtype)).sum() for (_, b), c in zip(pairs, cotangents))
    our_total.backward()
    their_total.backward()
    for i, (a, b) in enumerate(zip(ours_in, theirs_in)):
        if hasattr(b, "requires_grad") and b.requires_grad:
            if b.grad is None:
                assert a.grad is None or not np.any(_array(a.grad)), f"input {i}: unexpected gradient"
                continue
            assert a.grad is not None, f"input {i}: no gradient"
            assert a.grad.device == a.device, f"input {i}: gradient on {a.grad.device}, input on {a.device}"
            np.testing.assert_allclose(_array(a.grad), _array(b.grad), rtol=rtol, atol=atol,
                                       err_msg=f"gradient of input {i}")
    return ours


def copy_weights(theirs, ours):
    """Load a PyTorch module's state_dict into the engine twin through NumPy."""
    ours.load_state_dict({k: v.detach().cpu().numpy().copy() for k, v in theirs.state_dict().items()})


def compare_modules(ours, theirs, e_in, t_in, device="cpu", seed=0):
    """An engine module against its PyTorch twin (weights copied from it): parameter names,
    state_dict keys and repr, then outputs, input and parameter gradients (one random cotangent
    through both) and buffers, in float64; the engine side must stay on `device`."""
    torch = reference_torch()
    rng = np.random.default_rng(seed)
    assert all(t.device.type == device for t in list(ours.parameters()) + list(ours.buffers()))
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    copy_weights(theirs, ours)
    out_t, out_e = flatten(theirs(*t_in)), flatten(ours(*e_in))
    assert len(out_t) == len(out_e)
    for a, b in zip(out_e, out_t):
        assert tuple(a.shape) == tuple(b.shape) and a.device.type == device
        assert str(a.dtype).replace("gradview.engine", "torch") == str(b.dtype)
        np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().numpy(), rtol=1e-7, atol=1e-10)
    cotangents = [rng.standard_normal(tuple(b.shape)) for b in out_t]
    sum((b * torch.tensor(c)).sum() for b, c in zip(out_t, cotangents) if b.requires_grad).backward()
    sum((a * engine.tensor(c, device=device)).sum() for a, c in zip(out_e, cotangents) if a.requires_grad).backward()
    for a, b in zip(flatten(e_in), flatten(t_in)):
        if b.grad is not None:
            assert a.grad.device.type == device
            np.testing.assert_allclose(a.grad.cpu().numpy(), b.grad.numpy(), rtol=1e-7, atol=1e-10)
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        if q.grad is None:
            assert p.grad is None, n
        else:
            assert p.grad.device.type == device, n
            np.testing.assert_allclose(p.grad.cpu().numpy(), q.grad.numpy(), rtol=1e-7, atol=1e-10, err_msg=n)
    for (n, a), (_, b) in zip(ours.named_buffers(), theirs.named_buffers()):
        np.testing.assert_allclose(a.cpu().numpy(), b.numpy(), rtol=1e-10, atol=1e-12, err_msg=n)


def channels_last(array):
    """The same NCHW values laid out NHWC in memory (what convolutions hand to the next layer)."""
    return np.ascontiguousarray(array.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)

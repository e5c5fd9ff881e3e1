"""nn.Module's API as PyTorch's: registration, traversal, modes, zero_grad, state_dict round trips
(strict errors), device/dtype conversion, apply, hooks, containers, Parameter, repr, and the
module stack that graph capture reads."""
import copy
import pickle

import numpy as np
import pytest

from gradview import engine
from gradview.engine import _state, nn

from nn_helpers import reference_torch


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.act = nn.ReLU()
        self.block = nn.Sequential(nn.Linear(8, 8), nn.BatchNorm1d(8))
        self.head = nn.Linear(8, 2)
        self.scale = nn.Parameter(engine.ones(1))
        self.register_buffer("steps", engine.zeros(1))
        self.register_buffer("scratch", engine.zeros(2), persistent=False)

    def forward(self, x):
        return self.head(self.block(self.act(self.fc1(x)))) * self.scale


def torch_net(torch):
    tnn = torch.nn

    class TorchNet(tnn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = tnn.Linear(4, 8)
            self.act = tnn.ReLU()
            self.block = tnn.Sequential(tnn.Linear(8, 8), tnn.BatchNorm1d(8))
            self.head = tnn.Linear(8, 2)
            self.scale = tnn.Parameter(torch.ones(1))
            self.register_buffer("steps", torch.zeros(1))
            self.register_buffer("scratch", torch.zeros(2), persistent=False)

        def forward(self, x):
            return self.head(self.block(self.act(self.fc1(x)))) * self.scale

    return TorchNet()


def test_registration_and_traversal_match_pytorch():
    torch = reference_torch()
    ours, theirs = Net(), torch_net(torch)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert len(list(ours.parameters())) == len(list(theirs.parameters()))
    assert len(list(ours.parameters(recurse=False))) == 1
    assert [type(m).__name__ for m in ours.modules()][1:] == [type(m).__name__ for m in theirs.modules()][1:]
    assert [type(m).__name__ for m in ours.children()] == [type(m).__name__ for m in theirs.children()]
    assert ours.get_submodule("block.1") is ours.block[1]
    assert ours.get_parameter("block.0.weight") is ours.block[0].weight
    assert ours.get_buffer("block.1.running_mean") is ours.block[1].running_mean
    assert "fc1" in dir(ours) and "scale" in dir(ours)


def test_shared_modules_and_parameters_are_listed_once():
    shared = nn.Linear(3, 3)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(model.parameters())) == 2
    assert [n for n, _ in model.named_modules()] == ["", "0", "1"]
    assert len(list(model.named_parameters(remove_duplicate=False))) == 4


def test_repr_matches_pytorch():
    torch = reference_torch()
    assert repr(Net()) == repr(torch_net(torch)).replace("TorchNet", "Net")
    assert repr(nn.ModuleList([nn.ReLU(), nn.Linear(2, 2)])) == repr(torch.nn.ModuleList([torch.nn.ReLU(),
                                                                                          torch.nn.Linear(2, 2)]))
    assert repr(nn.ModuleDict({"a": nn.Tanh()})) == repr(torch.nn.ModuleDict({"a": torch.nn.Tanh()}))
    assert repr(nn.Sequential()) == "Sequential()"


def test_parameter():
    torch = reference_torch()
    p = nn.Parameter(engine.tensor([1.0, 2.0]))
    assert repr(p) == repr(torch.nn.Parameter(torch.tensor([1.0, 2.0])))
    assert str(p) == repr(p)
    assert p.requires_grad and p.is_leaf and isinstance(p, engine.Tensor)
    q = nn.Parameter(engine.tensor([1.0]), requires_grad=False)
    assert repr(q) == "Parameter containing:\ntensor([1.])"
    assert not q.requires_grad
    assert (p * 2).__class__ is engine.Tensor  # results of ops are plain tensors
    assert repr(nn.Parameter()) == repr(torch.nn.Parameter())
    with pytest.raises(RuntimeError, match="Only Tensors of floating point"):
        nn.Parameter(engine.tensor([1, 2]))
    d = copy.deepcopy(p)
    assert isinstance(d, nn.Parameter) and d.requires_grad and d is not p
    assert d.tolist() == p.tolist()
    r = pickle.loads(pickle.dumps(p))
    assert isinstance(r, nn.Parameter) and r.tolist() == [1.0, 2.0]


def test_train_eval_requires_grad_and_zero_grad():
    model = Net()
    assert model.training and model.block[1].training
    assert model.eval() is model
    assert not model.training and not model.block[1].training
    model.train()
    assert model.block[1].training
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        model.train("yes")
    model(engine.randn(5, 4)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())


def test_state_dict_round_trip_and_load_from_pytorch():
    torch = reference_torch()
    theirs = torch_net(torch)
    theirs(torch.randn(6, 4))  # move the batch norm statistics
    ours = Net()
    result = ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    for (k, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    # state_dict values share memory with the module but carry no graph
    sd = ours.state_dict()
    assert not sd["fc1.weight"].requires_grad
    assert sd["fc1.weight"].data_ptr() == ours.fc1.weight.data_ptr()
    assert ours.state_dict(keep_vars=True)["fc1.weight"] is ours.fc1.weight
    # the engine's own state dicts load into a fresh model
    other = Net()
    other.load_state_dict(ours.state_dict())
    np.testing.assert_array_equal(other.head.bias.detach().numpy(), ours.head.bias.detach().numpy())
    assert other.block[1].num_batches_tracked.item() == 1


def test_load_state_dict_errors_match_pytorch():
    torch = reference_torch()
    errors = []
    for lib in (engine, torch):
        model = lib.nn.Sequential(lib.nn.Linear(2, 2))
        for sd in ({"0.weight": lib.zeros(2, 2), "x": lib.zeros(1)},
                   {"0.weight": lib.zeros(3, 2), "0.bias": lib.zeros(2)}):
            with pytest.raises(RuntimeError) as info:
                model.load_state_dict(sd)
            errors.append(str(info.value))
    assert errors[:2] == errors[2:]
    assert 'Missing key(s) in state_dict: "0.bias"' in errors[0]
    assert 'Unexpected key(s) in state_dict: "x"' in errors[0]
    assert "size mismatch for 0.weight: copying a param with shape torch.Size([3, 2]) from checkpoint" in errors[1]
    model = nn.Sequential(nn.Linear(2, 2))
    result = model.load_state_dict({"0.weight": engine.ones(2, 2), "y": engine.ones(1)}, strict=False)
    assert result.missing_keys == ["0.bias"] and result.unexpected_keys == ["y"]  # reported, not raised
    assert model[0].weight.tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_to_double_float_and_apply():
    model = Net()
    params_before = list(model.parameters())
    assert model.double() is model
    assert all(p.dtype is engine.float64 for p in model.parameters())
    assert model.block[1].num_batches_tracked.dtype is engine.int64  # integer buffers keep their dtype
    assert model.steps.dtype is engine.float64
    assert list(model.parameters()) == params_before  # the same Parameter objects (optimizers keep working)
    assert all(isinstance(p, nn.Parameter) for p in model.parameters())
    model.to(engine.float32)
    assert model.fc1.weight.dtype is engine.float32
    model.to("cpu", dtype=engine.float64)
    assert model.fc1.weight.dtype is engine.float64 and model.fc1.weight.device.type == "cpu"
    model.float()
    assert model(engine.randn(3, 4)).dtype is engine.float32
    with pytest.raises(TypeError, match="nn.Module.to only accepts floating point"):
        model.to(engine.int64)
    seen = []
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "Linear", "BatchNorm1d", "Sequential", "Linear", "Net"]

    def init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.bias)
    model.apply(init_weights)
    assert not model.head.bias.detach().numpy().any()


def test_registration_errors_match_pytorch():
    torch = reference_torch()
    for lib in (engine, torch):
        m = lib.nn.Module()
        with pytest.raises(KeyError, match="attribute 'training' already exists"):
            m.register_buffer("training", lib.zeros(1))
        with pytest.raises(KeyError, match=r'buffer name can.{1,2}t contain "\."'):
            m.register_buffer("a.b", lib.zeros(1))
        with pytest.raises(TypeError, match="cannot assign 'int' object to buffer 'b'"):
            m.register_buffer("b", 3)
        with pytest.raises(TypeError, match="cannot assign 'torch.FloatTensor' object to parameter 'w'"):
            m.register_parameter("w", lib.zeros(1))
        m.w = lib.nn.Parameter(lib.zeros(1))
        with pytest.raises(TypeError, match="cannot assign 'torch.FloatTensor' as parameter 'w'"):
            m.w = lib.zeros(1)
        m.w = None
        assert m.w is None and "w" in dict(m._parameters)
        with pytest.raises(AttributeError, match="'Module' object has no attribute 'nope'"):
            m.nope
        with pytest.raises(NotImplementedError, match='Module \\[Module\\] is missing the required "forward" function'):
            m(1)
    with pytest.raises(AttributeError, match="cannot assign module before Module.__init__"):
        class Bad(nn.Module):
            def __init__(self):
                self.sub = nn.ReLU()
        Bad()


def test_buffers_and_attributes():
    m = nn.Module()
    m.register_buffer("b", engine.ones(2))
    m.b = engine.zeros(3)  # re-assigning a registered buffer keeps it a buffer
    assert [n for n, _ in m.named_buffers()] == ["b"] and m.b.shape == (3,)
    m.c = nn.Buffer(engine.ones(1))
    assert "c" in dict(m.named_buffers())
    m.sub = nn.Linear(1, 1)
    del m.sub
    assert list(m.children()) == []
    m.plain = 5
    assert m.plain == 5 and "plain" not in m.state_dict()


def test_forward_hooks_and_pre_hooks():
    calls = []
    layer = nn.Linear(2, 2)
    h1 = layer.register_forward_pre_hook(lambda mod, args: calls.append(("pre", mod)) or (args[0] * 0,))
    h2 = layer.register_forward_hook(lambda mod, args, out: calls.append(("post", out.shape)) or out + 1)
    out = layer(engine.ones(3, 2))
    np.testing.assert_allclose(out.detach().numpy(), np.broadcast_to(layer.bias.detach().numpy() + 1, (3, 2)))
    assert calls == [("pre", layer), ("post", (3, 2))]
    h1.remove()
    h2.remove()
    calls.clear()
    layer(engine.ones(3, 2))
    assert calls == []
    layer.register_forward_pre_hook(lambda mod, args, kwargs: ((args[0] * 2,), kwargs), with_kwargs=True)
    layer.register_forward_hook(lambda mod, args, kwargs, out: out * 0, with_kwargs=True)
    assert not layer(engine.ones(1, 2)).detach().numpy().any()
    handle = nn.modules.module.register_module_forward_hook(lambda mod, args, out: calls.append(type(mod).__name__))
    try:
        nn.Sequential(nn.ReLU())(engine.ones(1))
    finally:
        handle.remove()
    assert calls == ["ReLU", "Sequential"]


def test_module_stack_while_recording():
    seen = []

    def recorder(op, inputs, result, params):
        seen.append((op.name, [type(m).__name__ for m in _state.module_stack]))

    recorder.inplace = recorder.created = recorder.stands_for = lambda *a: None  # the rest of the protocol
    model = nn.Sequential(nn.Linear(3, 4), nn.Sequential(nn.ReLU()))
    x = engine.randn(2, 3)
    assert _state.module_stack == []
    _state.recorder = recorder
    try:
        model(x).sum()
    finally:
        _state.recorder = None
    assert _state.module_stack == []
    assert ("AddmmBackward0", ["Sequential", "Linear"]) in seen
    assert ("ReluBackward0", ["Sequential", "Sequential", "ReLU"]) in seen
    assert seen[-1] == ("SumBackward0", [])
    # an exception inside forward still pops the stack
    _state.recorder = recorder
    try:
        with pytest.raises(RuntimeError):
            model(engine.randn(2, 5))
    finally:
        _state.recorder = None
    assert _state.module_stack == []
    # nothing is pushed when not recording
    model(x)
    assert _state.module_stack == []


def test_containers():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[1], nn.ReLU) and isinstance(seq[-1], nn.Linear)
    assert isinstance(seq[:2], nn.Sequential) and len(seq[:2]) == 2
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and [type(m).__name__ for m in seq][-1] == "Sigmoid"
    del seq[1]
    assert [n for n, _ in seq.named_children()] == ["0", "1", "2"]
    import collections
    named = nn.Sequential(collections.OrderedDict([("lin", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert [n for n, _ in named.named_children()] == ["lin", "act"] and isinstance(named.lin, nn.Linear)
    ml = nn.ModuleList([nn.Linear(1, 1) for _ in range(3)])
    ml.append(nn.ReLU())
    ml.extend([nn.Tanh()])
    ml.insert(0, nn.Sigmoid())
    assert [type(m).__name__ for m in ml] == ["Sigmoid", "Linear", "Linear", "Linear", "ReLU", "Tanh"]
    assert len(list(ml.parameters())) == 6
    md = nn.ModuleDict({"a": nn.Linear(1, 1)})
    md["b"] = nn.ReLU()
    md.update([("c", nn.Tanh())])
    assert list(md.keys()) == ["a", "b", "c"] and "b" in md and len(md) == 3
    assert md.pop("b").__class__ is nn.ReLU and list(md) == ["a", "c"]
    pl = nn.ParameterList([nn.Parameter(engine.ones(2)), engine.zeros(1)])
    assert len(pl) == 2 and all(isinstance(p, nn.Parameter) for p in pl)
    pd = nn.ParameterDict({"w": nn.Parameter(engine.ones(1))})
    holder = nn.Module()
    holder.params = pd
    assert [n for n, _ in holder.named_parameters()] == ["params.w"]

"""Optimizers and learning-rate schedulers against PyTorch: the same gradients give the same
parameters step after step (float64), with every option; param groups, zero_grad, state_dict
round trips and errors."""
import numpy as np
import pytest

from gradview import engine

from nn_helpers import reference_torch

rng = np.random.default_rng(3)

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1, maximize=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True, maximize=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.05, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.3, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5)),
]


def _params(lib, arrays, device="cpu"):
    return [lib.nn.Parameter(lib.tensor(a.copy(), device=device)) for a in arrays]


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)])
def test_steps_match_pytorch(name, kwargs, device):
    torch = reference_torch()
    arrays = [rng.standard_normal((4, 3)), rng.standard_normal(3), rng.standard_normal(())]
    ours, theirs = _params(engine, arrays, device), _params(torch, arrays)
    opt_e = getattr(engine.optim, name)(ours, **kwargs)
    opt_t = getattr(torch.optim, name)(theirs, **kwargs)
    for step in range(12):
        grads = [rng.standard_normal(a.shape) for a in arrays]
        for p, q, g in zip(ours, theirs, grads):
            p.grad = engine.tensor(g, device=device)
            q.grad = torch.tensor(g)
        if step == 5:  # a parameter without a gradient is skipped
            ours[1].grad = None
            theirs[1].grad = None
        opt_e.step()
        opt_t.step()
        for p, q in zip(ours, theirs):
            assert p.device.type == device
            np.testing.assert_allclose(p.detach().cpu().numpy(), q.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert repr(opt_e) == repr(opt_t)
    sd_e, sd_t = opt_e.state_dict(), opt_t.state_dict()
    assert sd_e["param_groups"] == sd_t["param_groups"]
    assert sd_e["state"].keys() == sd_t["state"].keys()
    for k in sd_t["state"]:
        assert sd_e["state"][k].keys() == sd_t["state"][k].keys()
        for key, value in sd_t["state"][k].items():
            assert sd_e["state"][k][key].dtype.name == str(value.dtype).split(".")[-1], key
            # like PyTorch's: the step count stays on the cpu, the moments live with the parameter
            assert sd_e["state"][k][key].device.type == ("cpu" if key == "step" else device), key
            np.testing.assert_allclose(sd_e["state"][k][key].cpu().numpy(), value.numpy(), rtol=1e-12, atol=1e-14)


def test_float32_updates_stay_float32():
    p = engine.nn.Parameter(engine.randn(5))
    for opt in (engine.optim.SGD([p], lr=0.1, momentum=0.9), engine.optim.Adam([p]), engine.optim.RMSprop([p])):
        p.grad = engine.randn(5)
        opt.step()
        assert p.dtype is engine.float32 and p._data.dtype == np.float32
        assert all(v.dtype is engine.float32 for k, v in opt.state[p].items() if k != "step")


def test_param_groups_and_add_param_group():
    torch = reference_torch()
    arrays = [rng.standard_normal(3), rng.standard_normal(2)]
    ours, theirs = _params(engine, arrays), _params(torch, arrays)
    opt_e = engine.optim.SGD([{"params": [ours[0]]}, {"params": [ours[1]], "lr": 0.5}], lr=0.1, momentum=0.9)
    opt_t = torch.optim.SGD([{"params": [theirs[0]]}, {"params": [theirs[1]], "lr": 0.5}], lr=0.1, momentum=0.9)
    for _ in range(3):
        for p, q in zip(ours, theirs):
            g = rng.standard_normal(tuple(q.shape))
            p.grad, q.grad = engine.tensor(g), torch.tensor(g)
        opt_e.step()
        opt_t.step()
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-12)
    assert [g["lr"] for g in opt_e.param_groups] == [0.1, 0.5]
    extra = engine.nn.Parameter(engine.ones(1))
    opt_e.add_param_group({"params": extra, "momentum": 0.0})
    assert opt_e.param_groups[-1]["lr"] == 0.1 and opt_e.param_groups[-1]["momentum"] == 0.0
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        opt_e.add_param_group({"params": [extra]})


def test_zero_grad():
    p = engine.nn.Parameter(engine.ones(2))
    opt = engine.optim.Adam([p])
    (p * 2).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert p.grad is not None and p.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert p.grad is None


def test_state_dict_round_trip_and_loading_pytorch_state():
    torch = reference_torch()
    arrays = [rng.standard_normal((2, 2)), rng.standard_normal(2)]
    ours, theirs = _params(engine, arrays), _params(torch, arrays)
    opt_e, opt_t = engine.optim.Adam(ours, lr=0.01), torch.optim.Adam(theirs, lr=0.01)
    for _ in range(3):
        for p, q in zip(ours, theirs):
            g = rng.standard_normal(tuple(q.shape))
            p.grad, q.grad = engine.tensor(g), torch.tensor(g)
        opt_t.step()
    # the engine optimizer picks up PyTorch's state (through NumPy) and continues identically
    state = opt_t.state_dict()
    converted = {"state": {k: {n: v.numpy() for n, v in s.items()} for k, s in state["state"].items()},
                 "param_groups": state["param_groups"]}
    for p, q in zip(ours, theirs):
        p.data = engine.tensor(q.detach().numpy().copy())
    opt_e.load_state_dict(converted)
    assert opt_e.state[ours[0]]["step"].item() == 3
    for _ in range(2):
        for p, q in zip(ours, theirs):
            g = rng.standard_normal(tuple(q.shape))
            p.grad, q.grad = engine.tensor(g), torch.tensor(g)
        opt_e.step()
        opt_t.step()
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-12)
    # the engine's own state dict restores a fresh optimizer (a copy: later steps do not leak back)
    fresh = engine.optim.Adam(ours, lr=0.5)
    fresh.load_state_dict(opt_e.state_dict())
    assert fresh.param_groups[0]["lr"] == 0.01
    np.testing.assert_array_equal(fresh.state[ours[1]]["exp_avg"].numpy(), opt_e.state[ours[1]]["exp_avg"].numpy())
    assert fresh.state[ours[1]]["exp_avg"] is not opt_e.state[ours[1]]["exp_avg"]
    with pytest.raises(ValueError, match="loaded state dict contains a parameter group that doesn't match the size"):
        engine.optim.Adam(ours[:1]).load_state_dict(opt_e.state_dict())


def test_closure():
    p = engine.nn.Parameter(engine.tensor([2.0]))
    opt = engine.optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p ** 2).sum()
        loss.backward()
        return loss
    loss = opt.step(closure)
    assert loss.item() == 4.0 and p.item() == pytest.approx(1.6)


def test_errors_match_pytorch():
    torch = reference_torch()
    for lib in (engine, torch):
        with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
            lib.optim.SGD([], lr=0.1)
        with pytest.raises(TypeError, match="params argument given to the optimizer should be an iterable of Tensors "
                                            "or dicts, but got torch.FloatTensor"):
            lib.optim.Adam(lib.nn.Parameter(lib.ones(1)))
        with pytest.raises(ValueError, match="Invalid learning rate: -1"):
            lib.optim.Adam([lib.nn.Parameter(lib.ones(1))], lr=-1)
        with pytest.raises(ValueError, match="Invalid beta parameter at index 1: 1.0"):
            lib.optim.Adam([lib.nn.Parameter(lib.ones(1))], betas=(0.9, 1.0))
        with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero dampening"):
            lib.optim.SGD([lib.nn.Parameter(lib.ones(1))], lr=0.1, nesterov=True)
        with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
            lib.optim.SGD([lib.ones(1, requires_grad=True) * 2], lr=0.1)
        with pytest.raises(TypeError, match="optimizer parameters need to be organized in ordered collections"):
            lib.optim.SGD([{"params": {lib.nn.Parameter(lib.ones(1))}}], lr=0.1)


# ---------------------------------------------------------------------------------------------
SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5], gamma=0.1)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=5)),
    ("CosineAnnealingLR", dict(T_max=4, eta_min=0.01)),
    ("LambdaLR", dict(lr_lambda=lambda epoch: 1 / (epoch + 1))),
    ("LinearLR", dict(start_factor=0.25, total_iters=4)),
    ("ConstantLR", dict(factor=0.5, total_iters=3)),
]


@pytest.mark.parametrize("name,kwargs", SCHEDULERS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULERS)])
def test_schedulers_match_pytorch(name, kwargs):
    torch = reference_torch()
    lrs = []
    for lib in (engine, torch):
        p = lib.nn.Parameter(lib.ones(1))
        opt = lib.optim.SGD([{"params": [p]}, {"params": [lib.nn.Parameter(lib.ones(1))], "lr": 0.3}], lr=0.1)
        sched = getattr(lib.optim.lr_scheduler, name)(opt, **kwargs)
        seen = [sched.get_last_lr()]
        for _ in range(14):
            opt.step()
            sched.step()
            seen.append(sched.get_last_lr())
            assert [g["lr"] for g in opt.param_groups] == seen[-1]
        lrs.append(seen)
    np.testing.assert_allclose(np.array(lrs[0]), np.array(lrs[1]), rtol=1e-12)


def test_scheduler_state_dict_and_plateau():
    opt = engine.optim.SGD([engine.nn.Parameter(engine.ones(1))], lr=1.0)
    sched = engine.optim.lr_scheduler.StepLR(opt, step_size=2)
    for _ in range(3):
        opt.step()
        sched.step()
    state = sched.state_dict()
    assert state["last_epoch"] == 3 and "optimizer" not in state
    plateau = engine.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5)
    for metric in (1.0, 1.0, 1.0, 1.0):
        plateau.step(metric)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
def test_clip_grad_norm_and_value_match_pytorch(norm_type, device):
    torch = reference_torch()
    arrays = [rng.standard_normal((4, 3)), rng.standard_normal(3), rng.standard_normal(())]
    grads = [rng.standard_normal(a.shape) * 3 for a in arrays]
    ours, theirs = _params(engine, arrays, device), _params(torch, arrays)
    for p, q, g in zip(ours, theirs, grads):
        p.grad, q.grad = engine.tensor(g, device=device), torch.tensor(g)
    total_e = engine.nn.utils.clip_grad_norm_(ours, 1.5, norm_type=norm_type)
    total_t = torch.nn.utils.clip_grad_norm_(theirs, 1.5, norm_type=norm_type)
    assert total_e.device.type == device and total_e.dtype == engine.float64
    assert total_e.item() == pytest.approx(total_t.item(), rel=1e-12)
    for p, q in zip(ours, theirs):
        assert p.grad.device.type == device
        np.testing.assert_allclose(p.grad.cpu().numpy(), q.grad.numpy(), rtol=1e-12)
    engine.nn.utils.clip_grad_value_(ours, 0.1)
    torch.nn.utils.clip_grad_value_(theirs, 0.1)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.cpu().numpy(), q.grad.numpy(), rtol=1e-12)
    with pytest.raises(RuntimeError, match="non-finite"):
        ours[0].grad[0, 0] = float("nan")
        engine.nn.utils.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)


def test_cuda_updates_are_one_fused_kernel_per_parameter(device, monkeypatch):
    """On the cuda device Adam and SGD with momentum update each parameter with one kernel launch
    (engine/optim/_fused.py); the step tests above check its numbers against PyTorch."""
    if device != "cuda":
        pytest.skip("kernels are compiled on the cuda device only")
    from gradview.engine.optim import _fused
    launches = []
    compile_kernel = _fused.kernel

    def counting(*args):
        k = compile_kernel(*args)
        return lambda *a: (launches.append(args[1]), k(*a))[1]
    monkeypatch.setattr(_fused, "kernel", counting)
    arrays = [rng.standard_normal((4, 3)), rng.standard_normal(3)]
    for name, kwargs, expected in [("Adam", dict(lr=0.01, amsgrad=True), ["adam"] * 4),
                                   ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True), ["sgd"] * 2)]:
        launches.clear()
        params = _params(engine, arrays, device)
        opt = getattr(engine.optim, name)(params, **kwargs)
        for _ in range(2):
            for p in params:
                p.grad = engine.ones_like(p)
            opt.step()
        assert launches == expected  # SGD's first step creates the momentum buffer unfused

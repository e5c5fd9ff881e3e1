"""Adadelta, Adamax, NAdam, RAdam, Rprop, ASGD, SparseAdam and LBFGS, and the schedulers, against
PyTorch: the same gradients give the same parameters step after step (float64) on every device; reprs,
param groups and state dicts equal PyTorch's, and PyTorch's state dicts load and continue identically."""

import numpy as np
import pytest

from gradview import engine

from nn_helpers import reference_torch

rng = np.random.default_rng(7)

CONFIGS = [
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1, maximize=True)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.01, betas=(0.3, 0.9), eps=1e-6, weight_decay=0.1, maximize=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.05, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.01, betas=(0.6, 0.9), weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, weight_decay=0.05, decoupled_weight_decay=True, maximize=True)),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2), maximize=True)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=4, weight_decay=0.1, maximize=True)),
    ("SparseAdam", dict()),
    ("SparseAdam", dict(lr=0.01, betas=(0.8, 0.9), eps=1e-6, maximize=True)),
]


def _params(lib, arrays, device="cpu"):
    return [lib.nn.Parameter(lib.tensor(a.copy(), device=device)) for a in arrays]


def _grad(torch, name, g):
    """PyTorch's SparseAdam takes sparse gradients only: the engine's dense gradient stands for g.to_sparse()."""
    return torch.tensor(g).to_sparse() if name == "SparseAdam" else torch.tensor(g)


def _feed(torch, name, ours, theirs, device, zero_some=False):
    for p, q in zip(ours, theirs):
        g = rng.standard_normal(tuple(q.shape))
        if zero_some:
            g[rng.random(g.shape) < 0.3] = 0
        p.grad, q.grad = engine.tensor(g, device=device), _grad(torch, name, g)


def _assert_state_equal(sd_e, sd_t, device=None):
    """Equal state dicts; with `device`, also where each tensor lives: PyTorch keeps step counts (and
    NAdam's mu_product) on the cpu and the rest with the parameter, ASGD all of it with the parameter."""
    assert sd_e["param_groups"] == sd_t["param_groups"]
    assert sd_e["state"].keys() == sd_t["state"].keys()
    for k in sd_t["state"]:
        assert list(sd_e["state"][k]) == list(sd_t["state"][k])
        for key, value in sd_t["state"][k].items():
            ours = sd_e["state"][k][key]
            if not hasattr(value, "dtype"):
                assert ours == value, key
                continue
            assert ours.dtype.name == str(value.dtype).split(".")[-1], key
            if device is not None:
                on_cpu = key in ("step", "mu_product") and "lambd" not in sd_t["param_groups"][0]
                assert ours.device.type == ("cpu" if on_cpu else device), key
            np.testing.assert_allclose(ours.cpu().numpy(), value.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)])
def test_steps_match_pytorch(name, kwargs, device):
    torch = reference_torch()
    shapes = [(4, 3), (3,)] + ([] if name == "SparseAdam" else [()])
    arrays = [rng.standard_normal(s) for s in shapes]
    ours, theirs = _params(engine, arrays, device), _params(torch, arrays)
    opt_e = getattr(engine.optim, name)(ours, **kwargs)
    opt_t = getattr(torch.optim, name)(theirs, **kwargs)
    for step in range(14):
        _feed(torch, name, ours, theirs, device, zero_some=step % 3 == 1)
        if step == 5:  # a parameter without a gradient is skipped
            ours[1].grad = theirs[1].grad = None
        opt_e.step()
        opt_t.step()
        for p, q in zip(ours, theirs):
            assert p.device.type == device
            np.testing.assert_allclose(p.detach().cpu().numpy(), q.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert repr(opt_e) == repr(opt_t)
    sd_t = opt_t.state_dict()
    _assert_state_equal(opt_e.state_dict(), sd_t, device)
    # a fresh optimizer loads PyTorch's state dict as PyTorch's does (moments cast to the parameter's
    # dtype and device) and continues identically
    fresh_e = getattr(engine.optim, name)(ours, lr=0.123)
    fresh_t = getattr(torch.optim, name)(theirs, lr=0.123)
    fresh_e.load_state_dict(sd_t)
    fresh_t.load_state_dict(sd_t)
    _assert_state_equal(fresh_e.state_dict(), fresh_t.state_dict())
    for _ in range(3):
        _feed(torch, name, ours, theirs, device)
        fresh_e.step()
        fresh_t.step()
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.detach().cpu().numpy(), q.detach().numpy(), rtol=1e-12, atol=1e-14)
    # its own state dict is a copy that round-trips
    again = getattr(engine.optim, name)(ours)
    again.load_state_dict(fresh_e.state_dict())
    _assert_state_equal(again.state_dict(), fresh_t.state_dict())
    assert all(a is not b for a, b in zip(again.state[ours[0]].values(), fresh_e.state[ours[0]].values())
               if isinstance(a, engine.Tensor))


def test_float32_updates_stay_float32():
    for name, _ in CONFIGS[::2]:
        p = engine.nn.Parameter(engine.randn(5))
        opt = getattr(engine.optim, name)([p])
        for _ in range(2):
            p.grad = engine.randn(5)
            opt.step()
        assert p.dtype is engine.float32 and p._data.dtype == np.float32, name
        assert all(v.dtype is engine.float32 for v in opt.state[p].values() if isinstance(v, engine.Tensor)), name


def _rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def _quadratic(x):
    a = [[3.0, 0.5, 0.0], [0.5, 2.0, 0.3], [0.0, 0.3, 1.0]]
    return sum(0.5 * a[i][j] * x[i] * x[j] for i in range(3) for j in range(3)) - x[0] + 2 * x[2]


@pytest.mark.parametrize("fn,start,kwargs", [
    (_quadratic, [1.0, -2.0, 0.5], dict()),
    (_quadratic, [1.0, -2.0, 0.5], dict(lr=0.5, history_size=2, max_iter=5)),
    (_rosenbrock, [-1.5, 2.0], dict(line_search_fn="strong_wolfe")),
    (_rosenbrock, [-1.5, 2.0], dict(lr=0.1, history_size=3, max_iter=7, line_search_fn="strong_wolfe")),
    (_rosenbrock, [0.5, -0.5], dict(lr=0.01, max_iter=4)),
], ids=["quadratic", "quadratic-short-history", "rosenbrock-wolfe", "rosenbrock-wolfe-short", "rosenbrock-plain"])
def test_lbfgs_matches_pytorch(fn, start, kwargs, device):
    torch = reference_torch()
    results = []
    for lib, dev in ((engine, device), (torch, "cpu")):
        x = lib.nn.Parameter(lib.tensor(start, dtype=lib.float64, device=dev))
        extra = lib.nn.Parameter(lib.tensor([0.3, -0.2], dtype=lib.float64, device=dev))  # a second parameter
        opt = lib.optim.LBFGS([x, extra], **kwargs)
        evals = []

        def closure():
            opt.zero_grad()
            loss = fn(x) + (extra ** 2).sum()
            loss.backward()
            evals.append(loss.item())
            return loss
        losses = [opt.step(closure).item() for _ in range(6)]
        results.append((np.concatenate([x.detach().cpu().numpy(), extra.detach().cpu().numpy()]), losses, evals,
                        opt.state_dict(), repr(opt)))
    (xe, le, ee, sde, re), (xt, lt, et, sdt, rt) = results
    assert len(ee) == len(et) and re == rt
    # near the minimum, last-bit differences of dot products grow by the ill-conditioning (more on a
    # GPU, whose reductions add in another order: 2.5e-9 seen on an H200)
    rtol = 1e-10 if device == "cpu" else 1e-8
    np.testing.assert_allclose(ee, et, rtol=rtol, atol=1e-11)
    np.testing.assert_allclose(le, lt, rtol=rtol, atol=1e-11)
    np.testing.assert_allclose(xe, xt, rtol=1e-8, atol=1e-10)
    assert sde["param_groups"] == sdt["param_groups"]
    state_e, state_t = sde["state"][0], sdt["state"][0]
    assert list(state_e) == list(state_t)
    for key in ("func_evals", "n_iter"):
        assert state_e[key] == state_t[key]
    for key in ("d", "prev_flat_grad"):  # 2.4e-8 apart on an H200
        np.testing.assert_allclose(state_e[key].cpu().numpy(), state_t[key].numpy(), rtol=rtol * 100, atol=1e-12)
    assert len(state_e["old_dirs"]) == len(state_t["old_dirs"])


def test_lbfgs_rejects_groups_and_unknown_line_search():
    torch = reference_torch()
    for lib in (engine, torch):
        a, b = lib.nn.Parameter(lib.ones(1)), lib.nn.Parameter(lib.ones(1))
        with pytest.raises(ValueError, match="LBFGS doesn't support per-parameter options"):
            lib.optim.LBFGS([{"params": [a]}, {"params": [b]}])
        opt = lib.optim.LBFGS([a], line_search_fn="armijo")

        def closure():
            opt.zero_grad()
            loss = (a * a).sum()
            loss.backward()
            return loss
        with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
            opt.step(closure)


@pytest.mark.parametrize("name,kwargs,message", [
    ("Adadelta", dict(lr=-1), "Invalid learning rate: -1"),
    ("Adadelta", dict(rho=1.5), "Invalid rho value: 1.5"),
    ("Adadelta", dict(eps=-1), "Invalid epsilon value: -1"),
    ("Adadelta", dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    ("Adamax", dict(betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
    ("NAdam", dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    ("NAdam", dict(momentum_decay=-1), "Invalid momentum_decay value: -1"),
    ("RAdam", dict(weight_decay=-0.5), "Invalid weight_decay value: -0.5"),
    ("Rprop", dict(etas=(1.1, 1.2)), "Invalid eta values: 1.1, 1.2"),
    ("ASGD", dict(lr=-0.1), "Invalid learning rate: -0.1"),
    ("SparseAdam", dict(lr=0.0), "Invalid learning rate: 0.0"),
    ("SparseAdam", dict(eps=0.0), "Invalid epsilon value: 0.0"),
    ("LBFGS", dict(lr=-1.0), "Invalid learning rate: -1.0"),
])
def test_argument_errors_match_pytorch(name, kwargs, message):
    torch = reference_torch()
    for lib in (engine, torch):
        with pytest.raises(ValueError, match=message):
            getattr(lib.optim, name)([lib.nn.Parameter(lib.ones(1))], **kwargs)


# ---------------------------------------------------------------------------------------------
def _sub(name, **kwargs):
    return lambda lib, opt: getattr(lib.optim.lr_scheduler, name)(opt, **kwargs)


class _Scale:
    """A callable object: schedulers save its attributes (plain functions are not saved)."""
    def __init__(self):
        self.rate = 0.9

    def __call__(self, x):
        return self.rate ** x


SCHEDULERS = [
    ("SGD", "LambdaLR", lambda lib, opt: dict(lr_lambda=[lambda e: 0.95 ** e, _Scale()])),
    ("SGD", "MultiplicativeLR", lambda lib, opt: dict(lr_lambda=lambda e: 0.97)),
    ("SGD", "StepLR", lambda lib, opt: dict(step_size=4, gamma=0.7)),
    ("SGD", "MultiStepLR", lambda lib, opt: dict(milestones=[3, 8, 8, 20], gamma=0.5)),
    ("SGD", "ConstantLR", lambda lib, opt: dict(factor=0.4, total_iters=6)),
    ("SGD", "LinearLR", lambda lib, opt: dict(start_factor=0.2, end_factor=0.9, total_iters=10)),
    ("SGD", "ExponentialLR", lambda lib, opt: dict(gamma=0.93)),
    ("SGD", "PolynomialLR", lambda lib, opt: dict(total_iters=20, power=2.0)),
    ("SGD", "PolynomialLR", lambda lib, opt: dict()),
    ("SGD", "CosineAnnealingLR", lambda lib, opt: dict(T_max=7, eta_min=0.001)),
    ("SGD", "CosineAnnealingWarmRestarts", lambda lib, opt: dict(T_0=5)),
    ("SGD", "CosineAnnealingWarmRestarts", lambda lib, opt: dict(T_0=3, T_mult=2, eta_min=0.01)),
    ("SGD", "CyclicLR", lambda lib, opt: dict(base_lr=0.01, max_lr=[0.1, 0.5], step_size_up=4, step_size_down=6)),
    ("SGD", "CyclicLR", lambda lib, opt: dict(base_lr=0.01, max_lr=0.1, step_size_up=3, mode="triangular2",
                                              base_momentum=0.7, max_momentum=0.95)),
    ("Adam", "CyclicLR", lambda lib, opt: dict(base_lr=0.001, max_lr=0.01, step_size_up=5, mode="exp_range",
                                               gamma=0.95)),
    ("SGD", "CyclicLR", lambda lib, opt: dict(base_lr=0.01, max_lr=0.1, step_size_up=4, scale_fn=_Scale(),
                                              scale_mode="iterations", cycle_momentum=False)),
    ("SGD", "OneCycleLR", lambda lib, opt: dict(max_lr=[0.5, 1.0], total_steps=40)),
    ("Adam", "OneCycleLR", lambda lib, opt: dict(max_lr=0.01, epochs=4, steps_per_epoch=10, pct_start=0.25,
                                                 anneal_strategy="linear", three_phase=True)),
    ("SGD", "OneCycleLR", lambda lib, opt: dict(max_lr=0.1, total_steps=35, cycle_momentum=False, div_factor=10.0,
                                                final_div_factor=100.0)),
    ("SGD", "SequentialLR", lambda lib, opt: dict(
        schedulers=[_sub("LinearLR", start_factor=0.1, total_iters=5)(lib, opt),
                    _sub("ExponentialLR", gamma=0.9)(lib, opt), _sub("CosineAnnealingLR", T_max=10)(lib, opt)],
        milestones=[5, 15])),
    ("SGD", "SequentialLR", lambda lib, opt: dict(
        schedulers=[_sub("ConstantLR", factor=0.5, total_iters=3)(lib, opt),
                    _sub("MultiStepLR", milestones=[4, 9], gamma=0.3)(lib, opt)], milestones=[6])),
    ("SGD", "ChainedScheduler", lambda lib, opt: dict(
        schedulers=[_sub("ConstantLR", factor=0.5, total_iters=4)(lib, opt),
                    _sub("ExponentialLR", gamma=0.95)(lib, opt), _sub("StepLR", step_size=7)(lib, opt)])),
]


def _optimizer(lib, name):
    params = [{"params": [lib.nn.Parameter(lib.ones(1))]}, {"params": [lib.nn.Parameter(lib.ones(1))], "lr": 0.3}]
    return lib.optim.SGD(params, lr=0.1, momentum=0.9) if name == "SGD" else lib.optim.Adam(params, lr=0.1)


def _make(lib, opt_name, name, kwargs):
    opt = _optimizer(lib, opt_name)
    if name == "ChainedScheduler":
        return opt, lib.optim.lr_scheduler.ChainedScheduler(**kwargs(lib, opt))
    return opt, getattr(lib.optim.lr_scheduler, name)(opt, **kwargs(lib, opt))


def _trace(opt, sched, steps):
    """The lrs and momenta (SGD's momentum or Adam's beta1) before and after each step."""
    seen = []
    for i in range(steps + 1):
        if i:
            opt.step()
            sched.step()
        assert sched.get_last_lr() == [g["lr"] for g in opt.param_groups]
        seen.append([g["lr"] for g in opt.param_groups]
                    + [g["momentum"] if "momentum" in g else g["betas"][0] for g in opt.param_groups])
    return np.array(seen)


@pytest.mark.parametrize("opt_name,name,kwargs", SCHEDULERS,
                         ids=[f"{n}-{i}" for i, (_, n, _) in enumerate(SCHEDULERS)])
def test_schedulers_match_pytorch(opt_name, name, kwargs):
    torch = reference_torch()
    (opt_e, sched_e), (opt_t, sched_t) = _make(engine, opt_name, name, kwargs), _make(torch, opt_name, name, kwargs)
    steps = sched_t.total_steps - 1 if name == "OneCycleLR" else 34
    np.testing.assert_allclose(_trace(opt_e, sched_e, steps), _trace(opt_t, sched_t, steps), rtol=1e-12)
    assert repr(opt_e) == repr(opt_t)  # the keys schedulers add to the param groups, too
    state_t = sched_t.state_dict()
    assert sched_e.state_dict().keys() == state_t.keys()
    np.testing.assert_allclose(sched_e.get_last_lr(), sched_t.get_last_lr(), rtol=1e-12)
    # a scheduler rebuilt mid-run from PyTorch's state dict continues as PyTorch's does
    (opt_e2, sched_e2), (opt_t2, sched_t2) = _make(engine, opt_name, name, kwargs), _make(torch, opt_name, name, kwargs)
    opt_e2.load_state_dict(opt_t.state_dict())
    opt_t2.load_state_dict(opt_t.state_dict())
    sched_e2.load_state_dict(state_t)
    sched_t2.load_state_dict(state_t)
    rest = 1 if name == "OneCycleLR" else 6
    np.testing.assert_allclose(_trace(opt_e2, sched_e2, rest)[1:], _trace(opt_t2, sched_t2, rest)[1:], rtol=1e-12)


def test_plateau_matches_pytorch():
    torch = reference_torch()
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.7, 0.8, 0.8, 0.8, 0.8, 0.8, 0.6, 0.61] * 3
    results = []
    for lib in (engine, torch):
        opt = _optimizer(lib, "SGD")
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.5, patience=2, cooldown=1,
                                                         threshold=0.01, threshold_mode="abs", min_lr=[0.01, 0.05])
        lrs = []
        for m in metrics:
            opt.step()
            sched.step(-m)
            lrs.append(sched.get_last_lr())
        results.append((lrs, sched.state_dict()))
    (lrs_e, sd_e), (lrs_t, sd_t) = results
    assert lrs_e == lrs_t and sd_e == sd_t
    again = engine.optim.lr_scheduler.ReduceLROnPlateau(_optimizer(engine, "SGD"))
    again.load_state_dict(sd_t)
    assert again.state_dict() == sd_t


def test_scheduler_errors_match_pytorch():
    torch = reference_torch()
    for lib in (engine, torch):
        sched = lib.optim.lr_scheduler
        opt = _optimizer(lib, "SGD")
        with pytest.raises(ValueError, match="Expected positive integer T_0, but got 0"):
            sched.CosineAnnealingWarmRestarts(opt, T_0=0)
        with pytest.raises(ValueError, match="You must define either total_steps OR"):
            sched.OneCycleLR(opt, max_lr=0.1)
        with pytest.raises(ValueError, match="Expected float between 0 and 1 pct_start, but got 2"):
            sched.OneCycleLR(opt, max_lr=0.1, total_steps=10, pct_start=2)
        with pytest.raises(ValueError, match="max_lr must have the same length as optimizer.param_groups"):
            sched.CyclicLR(opt, base_lr=0.1, max_lr=[0.1, 0.2, 0.3])
        with pytest.raises(ValueError, match="mode is invalid and scale_fn is None"):
            sched.CyclicLR(opt, base_lr=0.1, max_lr=0.2, mode="sawtooth")
        with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
            sched.CyclicLR(lib.optim.Rprop([lib.nn.Parameter(lib.ones(1))]), base_lr=0.1, max_lr=0.2)
        with pytest.raises(ValueError, match="Sequential Schedulers expects number of schedulers provided"):
            sched.SequentialLR(opt, [sched.ExponentialLR(opt, 0.9)], milestones=[3])
        with pytest.raises(ValueError, match="does not support `ReduceLROnPlateau`"):
            sched.ChainedScheduler([sched.ReduceLROnPlateau(opt)])
        with pytest.raises(ValueError, match="Ending multiplicative factor expected to be between 0 and 1"):
            sched.LinearLR(opt, end_factor=2.0)
        with pytest.raises(ValueError, match="threshold mode bogus is unknown!"):
            sched.ReduceLROnPlateau(opt, threshold_mode="bogus")
        one = sched.OneCycleLR(opt, max_lr=0.1, total_steps=2)
        opt.step()
        one.step()
        one.step()
        with pytest.raises(ValueError, match="Tried to step 3 times. The specified number of total steps is 2"):
            one.step()
        with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
            sched.PolynomialLR(opt).get_lr()

"""Training equivalence: each example model, given its PyTorch twin's initial weights (through
state_dict and NumPy) and the same batches, follows PyTorch's loss curve for 50 optimizer steps
(1e-6 relative in float64, 1e-4 in float32), on every device. The examples themselves run and learn."""
import importlib.util
import os

import numpy as np
import pytest

from gradview import engine
from gradview.engine.run import torch_alias

from nn_helpers import copy_weights, reference_torch

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "app", "examples", "training")
STEPS = 50


def load_example(name):
    """The example module, its `import torch` resolved to the engine (as in the app)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", os.path.join(EXAMPLES, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    with torch_alias():
        spec.loader.exec_module(module)
    return module


def _batches(n, batch_size, steps, seed):
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < steps:
        perm = rng.permutation(n)
        out.extend(perm[i:i + batch_size] for i in range(0, n - batch_size + 1, batch_size))
    return out[:steps]


def _run(lib, model, batches, make_optimizer, loss_of, dtype, after_step=None, device="cpu"):
    with lib.device(device):  # the batches that loss_of makes land on the device, as in a GPU script
        return _train(lib, model.to(getattr(lib, dtype)).to(device), batches, make_optimizer, loss_of, after_step)


def _train(lib, model, batches, make_optimizer, loss_of, after_step):
    optimizer, scheduler = make_optimizer(lib, model)
    losses = []
    for i, batch in enumerate(batches):
        optimizer.zero_grad()
        loss = loss_of(lib, model, batch)
        loss.backward()
        if after_step is not None:
            after_step(lib, model)
        optimizer.step()
        if scheduler is not None and i % 10 == 9:
            scheduler.step()
        losses.append(loss.item())
    return np.array(losses), model


def _compare(make_model, batches, make_optimizer, loss_of, dtype, after_step=None, device="cpu"):
    torch = reference_torch()
    torch.manual_seed(0)
    theirs = make_model(torch.nn)
    ours = make_model(engine.nn)
    copy_weights(theirs, ours)
    lt, theirs = _run(torch, theirs, batches, make_optimizer, loss_of, dtype, after_step)
    le, ours = _run(engine, ours, batches, make_optimizer, loss_of, dtype, after_step, device)
    rtol = 1e-6 if dtype == "float64" else 1e-4
    np.testing.assert_allclose(le, lt, rtol=rtol, atol=rtol * 1e-2)
    assert lt[-5:].mean() < lt[:5].mean()  # the model actually learned something in 50 steps
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert p.device.type == device and (p.grad is None or p.grad.device.type == device), name
        np.testing.assert_allclose(p.detach().cpu().numpy(), q.detach().numpy(), rtol=10 * rtol, atol=10 * rtol,
                                   err_msg=name)


DTYPES = ["float64", "float32"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_mlp_spirals_follows_pytorch(dtype, device):
    ex = load_example("mlp_spirals")
    x, y = ex.make_spirals()
    batches = _batches(len(x), 64, STEPS, seed=1)

    def loss_of(lib, model, idx):
        xb = lib.tensor(x[idx]).to(getattr(lib, dtype))
        return lib.nn.functional.cross_entropy(model(xb), lib.tensor(y[idx]))

    _compare(ex.make_model, batches, lambda lib, m: (lib.optim.Adam(m.parameters(), lr=0.01), None), loss_of, dtype,
             device=device)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cnn_digits_follows_pytorch(dtype, device):
    ex = load_example("cnn_digits")
    x, y = ex.make_digits(800)
    batches = _batches(len(x), 32, STEPS, seed=2)

    def loss_of(lib, model, idx):
        xb = lib.tensor(x[idx]).to(getattr(lib, dtype))
        return lib.nn.CrossEntropyLoss()(model(xb), lib.tensor(y[idx]))

    def make_optimizer(lib, model):
        opt = lib.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        return opt, lib.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)

    _compare(ex.make_model, batches, make_optimizer, loss_of, dtype, device=device)


@pytest.mark.parametrize("dtype", DTYPES)
def test_char_rnn_follows_pytorch(dtype, device):
    ex = load_example("char_rnn")
    batches = ex.make_batches(STEPS, batch_size=8, min_len=4, max_len=16, seed=3)
    assert len({b[0].shape[1] for b in batches}) > 10  # the sequence length changes from step to step

    def loss_of(lib, model, batch):
        x, y = batch
        logits, _ = model(lib.tensor(x))
        return lib.nn.functional.cross_entropy(logits.reshape(-1, len(ex.VOCAB)), lib.tensor(y).reshape(-1))

    def clip(lib, model):
        lib.nn.utils.clip_grad_norm_(model.parameters(), 1.0)

    _compare(ex.make_model, batches, lambda lib, m: (lib.optim.Adam(m.parameters(), lr=0.005), None), loss_of, dtype,
             after_step=clip, device=device)


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_regression_follows_pytorch(dtype, device):
    ex = load_example("linear_regression")
    x, y = ex.make_data()
    batches = _batches(len(x), 50, STEPS, seed=4)

    def loss_of(lib, model, idx):
        xb, yb = (lib.tensor(a[idx]).to(getattr(lib, dtype)) for a in (x, y))
        return lib.nn.MSELoss()(model(xb), yb)

    _compare(ex.make_model, batches, lambda lib, m: (lib.optim.SGD(m.parameters(), lr=0.1), None), loss_of, dtype,
             device=device)


def test_examples_learn():
    """The example scripts' own training loops reach what their docstrings state (shortened runs)."""
    _, history, acc = load_example("mlp_spirals").train(epochs=15, verbose=False)
    assert acc > 0.97 and history[-1] < 0.1
    model, history = load_example("linear_regression").train(epochs=5, verbose=False)
    w = model.weight.detach().numpy()[0]
    assert abs(w[0] - 3) < 0.05 and abs(w[1] + 2) < 0.05 and history[-1] < 0.012
    char = load_example("char_rnn")
    model, history = char.train(steps=15, verbose=False)
    assert np.mean(history[-5:]) < np.mean(history[:3]) - 0.5
    assert len(char.sample(model, length=10)) == len("the ") + 10

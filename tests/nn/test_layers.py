"""Every layer against its PyTorch twin: the same weights (copied through state_dict and NumPy) give
the same outputs, input gradients, parameter gradients and buffers in float64; reprs, parameter
names and default initialisations match PyTorch's."""
import math

import numpy as np
import pytest

from gradview import engine
from gradview.engine.testing import gradcheck

from nn_helpers import build_twin, compare_modules, flatten, reference_torch, channels_last

rng = np.random.default_rng(7)


def data(*shape):
    return rng.standard_normal(shape)


# name: (constructor taking the nn namespace, list of input builders, options)
LAYERS = {
    "Linear": (lambda nn: nn.Linear(5, 3), [data(4, 5)]),
    "Linear_3d_nobias": (lambda nn: nn.Linear(5, 3, bias=False), [data(2, 4, 5)]),
    "Bilinear": (lambda nn: nn.Bilinear(3, 4, 2), [data(5, 3), data(5, 4)]),
    "Identity": (lambda nn: nn.Identity(), [data(3, 2)]),
    "Flatten": (lambda nn: nn.Flatten(), [data(2, 3, 4, 5)]),
    "Unflatten": (lambda nn: nn.Unflatten(1, (2, 3)), [data(4, 6)]),
    "Conv2d": (lambda nn: nn.Conv2d(3, 4, 3, stride=2, padding=1), [data(2, 3, 7, 6)]),
    "Conv2d_channels_last_dilated": (lambda nn: nn.Conv2d(3, 4, (3, 2), dilation=(2, 1), bias=False),
                                     [channels_last(data(2, 3, 7, 6))]),
    "Conv2d_same_groups": (lambda nn: nn.Conv2d(3, 6, 3, padding="same", groups=3), [data(2, 3, 5, 5)]),
    "Conv2d_valid_unbatched": (lambda nn: nn.Conv2d(3, 2, 2, padding="valid"), [data(3, 5, 4)]),
    "Conv2d_reflect": (lambda nn: nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"), [data(2, 3, 5, 5)]),
    "Conv2d_circular": (lambda nn: nn.Conv2d(3, 4, 3, padding=(1, 2), padding_mode="circular"),
                        [data(2, 3, 5, 5)]),
    "Conv1d": (lambda nn: nn.Conv1d(3, 4, 3, padding=1, stride=2), [data(2, 3, 9)]),
    "MaxPool2d": (lambda nn: nn.MaxPool2d(2), [data(2, 3, 6, 6)]),
    "MaxPool2d_ceil_pad": (lambda nn: nn.MaxPool2d(3, 2, 1, ceil_mode=True), [data(2, 3, 7, 6)]),
    "MaxPool1d": (lambda nn: nn.MaxPool1d(3, 2), [data(2, 3, 9)]),
    "AvgPool2d": (lambda nn: nn.AvgPool2d(2), [data(2, 3, 6, 6)]),
    "AvgPool2d_exclude_pad": (lambda nn: nn.AvgPool2d(3, 2, 1, count_include_pad=False), [data(2, 3, 7, 6)]),
    "AvgPool1d": (lambda nn: nn.AvgPool1d(2), [data(2, 3, 8)]),
    "AdaptiveAvgPool2d": (lambda nn: nn.AdaptiveAvgPool2d((1, 1)), [data(2, 3, 5, 5)]),
    "AdaptiveAvgPool2d_uneven": (lambda nn: nn.AdaptiveAvgPool2d((2, 3)), [data(2, 3, 5, 7)]),
    "Embedding": (lambda nn: nn.Embedding(10, 4, padding_idx=0), [np.array([[1, 0, 9], [3, 3, 2]])]),
    "Embedding_plain": (lambda nn: nn.Embedding(10, 4), [np.array([[1, 0, 9], [3, 3, 2]])]),
    "Dropout_eval": (lambda nn: nn.Dropout(0.5).eval(), [data(4, 5)]),
    "BatchNorm1d": (lambda nn: nn.BatchNorm1d(5), [data(4, 5)]),
    "BatchNorm1d_3d_cumulative": (lambda nn: nn.BatchNorm1d(3, momentum=None), [data(4, 3, 6)]),
    "BatchNorm2d": (lambda nn: nn.BatchNorm2d(3), [channels_last(data(2, 3, 4, 5))]),
    "BatchNorm2d_eval": (lambda nn: nn.BatchNorm2d(3).eval(), [data(2, 3, 4, 5)]),
    "BatchNorm2d_no_affine_no_stats": (lambda nn: nn.BatchNorm2d(3, affine=False, track_running_stats=False),
                                       [data(2, 3, 4, 5)]),
    "LayerNorm": (lambda nn: nn.LayerNorm(5), [data(3, 4, 5)]),
    "LayerNorm_2d_no_affine": (lambda nn: nn.LayerNorm((4, 5), elementwise_affine=False), [data(3, 4, 5)]),
    "LayerNorm_no_bias": (lambda nn: nn.LayerNorm(5, bias=False), [data(3, 5)]),
    "GroupNorm": (lambda nn: nn.GroupNorm(3, 6), [data(2, 6, 3, 3)]),
    "RNNCell": (lambda nn: nn.RNNCell(4, 6), [data(3, 4), data(3, 6)]),
    "RNNCell_relu_unbatched": (lambda nn: nn.RNNCell(4, 6, nonlinearity="relu"), [data(4)]),
    "LSTMCell": (lambda nn: nn.LSTMCell(4, 6), [data(3, 4)]),
    "GRUCell": (lambda nn: nn.GRUCell(4, 6, bias=False), [data(3, 4), data(3, 6)]),
    "RNN": (lambda nn: nn.RNN(4, 6, num_layers=2, bidirectional=True), [data(5, 3, 4), data(4, 3, 6)]),
    "RNN_relu_batch_first": (lambda nn: nn.RNN(4, 6, nonlinearity="relu", batch_first=True), [data(3, 5, 4)]),
    "LSTM": (lambda nn: nn.LSTM(4, 6), [data(5, 3, 4)]),
    "LSTM_deep_bidirectional_batch_first": (lambda nn: nn.LSTM(4, 6, num_layers=2, batch_first=True,
                                                               bidirectional=True), [data(3, 5, 4)]),
    "LSTM_state_nobias": (lambda nn: nn.LSTM(4, 6, bias=False), [data(5, 3, 4), (data(1, 3, 6), data(1, 3, 6))]),
    "LSTM_unbatched": (lambda nn: nn.LSTM(4, 6, num_layers=2), [data(5, 4)]),
    "GRU": (lambda nn: nn.GRU(4, 6, num_layers=2), [data(5, 3, 4), data(2, 3, 6)]),
    "GRU_bidirectional_batch_first": (lambda nn: nn.GRU(4, 6, batch_first=True, bidirectional=True),
                                      [data(3, 5, 4)]),
    "ReLU": (lambda nn: nn.ReLU(), [data(3, 4)]),
    "ReLU6": (lambda nn: nn.ReLU6(), [data(3, 4) * 4]),
    "LeakyReLU": (lambda nn: nn.LeakyReLU(0.1), [data(3, 4)]),
    "GELU": (lambda nn: nn.GELU(), [data(3, 4)]),
    "GELU_tanh": (lambda nn: nn.GELU("tanh"), [data(3, 4)]),
    "ELU": (lambda nn: nn.ELU(0.5), [data(3, 4)]),
    "SELU": (lambda nn: nn.SELU(), [data(3, 4)]),
    "SiLU": (lambda nn: nn.SiLU(), [data(3, 4)]),
    "Mish": (lambda nn: nn.Mish(), [data(3, 4)]),
    "Softplus": (lambda nn: nn.Softplus(beta=2), [data(3, 4)]),
    "Hardtanh": (lambda nn: nn.Hardtanh(-0.5, 0.5), [data(3, 4)]),
    "Tanh": (lambda nn: nn.Tanh(), [data(3, 4)]),
    "Sigmoid": (lambda nn: nn.Sigmoid(), [data(3, 4)]),
    "LogSigmoid": (lambda nn: nn.LogSigmoid(), [data(3, 4)]),
    "Softmax": (lambda nn: nn.Softmax(dim=1), [data(3, 4)]),
    "Softmin": (lambda nn: nn.Softmin(dim=0), [data(3, 4)]),
    "LogSoftmax": (lambda nn: nn.LogSoftmax(dim=-1), [data(3, 4)]),
    "Sequential": (lambda nn: nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)), [data(3, 4)]),
    "CrossEntropyLoss": (lambda nn: nn.CrossEntropyLoss(label_smoothing=0.1), [data(4, 5), np.array([0, 4, 2, 2])]),
    "CrossEntropyLoss_weight": (lambda nn: nn.CrossEntropyLoss(weight=_lib(nn).tensor([1., 2., .5, 1., 3.],
                                                                                      dtype=_lib(nn).float64),
                                                               reduction="sum"),
                                [data(4, 5), np.array([0, 4, 2, 2])]),
    "NLLLoss": (lambda nn: nn.NLLLoss(ignore_index=2), [data(4, 5), np.array([0, 4, 2, 2])]),
    "MSELoss": (lambda nn: nn.MSELoss(), [data(4, 5), data(4, 5)]),
    "L1Loss": (lambda nn: nn.L1Loss(reduction="sum"), [data(4, 5), data(4, 5)]),
    "SmoothL1Loss": (lambda nn: nn.SmoothL1Loss(beta=0.5), [data(4, 5), data(4, 5)]),
    "HuberLoss": (lambda nn: nn.HuberLoss(delta=0.5), [data(4, 5), data(4, 5)]),
    "BCELoss": (lambda nn: nn.BCELoss(), [rng.uniform(0.05, 0.95, (4, 5)), rng.uniform(0, 1, (4, 5))]),
    "BCEWithLogitsLoss": (lambda nn: nn.BCEWithLogitsLoss(pos_weight=_lib(nn).tensor([1., 2., .5, 1., 3.],
                                                                                     dtype=_lib(nn).float64)),
                          [data(4, 5), rng.uniform(0, 1, (4, 5))]),
    "KLDivLoss": (lambda nn: nn.KLDivLoss(reduction="batchmean"), [data(4, 5), rng.uniform(0.01, 1, (4, 5))]),
}


def _lib(nn):
    import sys
    return sys.modules[nn.__name__.rsplit(".", 1)[0]]


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_matches_pytorch(name, device):
    torch = reference_torch()
    make, inputs = LAYERS[name]
    theirs, t_in = build_twin(torch, lambda lib: make(lib.nn), inputs)
    ours, e_in = build_twin(engine, lambda lib: make(lib.nn), inputs, device)
    compare_modules(ours, theirs, e_in, t_in, device)


# small versions of the recurrent layers keep the finite differences quick
GRADCHECK_LAYERS = dict(LAYERS, **{
    "LSTM_deep_bidirectional_batch_first": (lambda nn: nn.LSTM(2, 3, num_layers=2, batch_first=True,
                                                               bidirectional=True), [data(2, 3, 2)]),
    "LSTM_state_nobias": (lambda nn: nn.LSTM(2, 3, bias=False), [data(3, 2, 2), (data(1, 2, 3), data(1, 2, 3))]),
    "GRU": (lambda nn: nn.GRU(2, 3, num_layers=2), [data(3, 2, 2), data(2, 2, 3)]),
    "RNN": (lambda nn: nn.RNN(2, 3, num_layers=2, bidirectional=True), [data(3, 2, 2), data(4, 2, 3)]),
})


@pytest.mark.parametrize("name", ["LSTM_deep_bidirectional_batch_first", "LSTM_state_nobias", "GRU", "RNN", "Conv2d",
                                  "Conv1d", "BatchNorm2d", "LayerNorm", "Embedding_plain", "Bilinear",
                                  "LSTMCell"])
def test_layer_gradcheck(name, device):
    """Finite differences with respect to the inputs and every parameter."""
    make, inputs = GRADCHECK_LAYERS[name]
    engine.manual_seed(0)
    module = make(engine.nn).double().to(device)
    names = [n for n, _ in module.named_parameters()]
    flat_inputs = flatten(list(inputs))
    n_inputs = len(flat_inputs)

    def fn(*args):
        xs = list(args[:n_inputs])
        if name == "LSTM_state_nobias":
            xs = [xs[0], (xs[1], xs[2])]
        return tuple(flatten(_functional_call(module, dict(zip(names, args[n_inputs:])), xs)))

    args = [engine.tensor(v, device=device).requires_grad_(v.dtype.kind == "f") for v in flat_inputs]
    args += [p.detach().clone().requires_grad_() for p in module.parameters()]
    assert gradcheck(fn, tuple(args), eps=1e-6, atol=1e-6, rtol=1e-4)


def _functional_call(module, params, inputs):
    """Run module with its parameters replaced by the given tensors (so gradients reach them)."""
    saved = {}
    for full, value in params.items():
        owner = module.get_submodule(full.rpartition(".")[0])
        leaf = full.rpartition(".")[2]
        saved[full] = owner._parameters[leaf]
        owner._parameters[leaf] = value
    try:
        return module(*inputs)
    finally:
        for full, value in saved.items():
            module.get_submodule(full.rpartition(".")[0])._parameters[full.rpartition(".")[2]] = value


def test_batchnorm_running_statistics_over_steps_and_eval():
    torch = reference_torch()
    theirs = torch.nn.BatchNorm2d(3, momentum=0.2).double()
    ours = engine.nn.BatchNorm2d(3, momentum=0.2).double()
    for _ in range(4):
        x = rng.standard_normal((5, 3, 4, 4)) * 3 + 1
        theirs(torch.tensor(x))
        ours(engine.tensor(x))
    for key in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(ours.state_dict()[key].numpy(), theirs.state_dict()[key].numpy(), rtol=1e-12)
    assert ours.num_batches_tracked.dtype is engine.int64 and int(ours.num_batches_tracked) == 4
    theirs.eval()
    ours.eval()
    x = rng.standard_normal((2, 3, 4, 4))
    np.testing.assert_allclose(ours(engine.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-12)
    np.testing.assert_allclose(ours.running_mean.numpy(), theirs.running_mean.numpy())  # eval leaves them


def test_dropout_module_train_and_eval():
    engine.manual_seed(1)
    layer = engine.nn.Dropout(0.25)
    x = engine.ones(100, 100)
    y = layer(x)
    assert abs((y.numpy() == 0).mean() - 0.25) < 0.02
    layer.eval()
    assert layer(x) is x
    assert repr(layer) == "Dropout(p=0.25, inplace=False)"


# ---------------------------------------------------------------------------------------------
# default initialisation: the same distributions as PyTorch's
def _bound_check(t, bound):
    v = t.detach().numpy()
    assert np.abs(v).max() <= bound + 1e-7
    assert np.abs(v).max() > 0.8 * bound  # actually spread over the range
    if v.size >= 500:  # a uniform's spread (small tensors vary too much to say; test_random_streams
        assert abs(v.std() - bound / math.sqrt(3)) < 0.15 * bound  # checks their exact values)


def test_default_initialisation():
    engine.manual_seed(0)
    lin = engine.nn.Linear(200, 100)
    _bound_check(lin.weight, 1 / math.sqrt(200))  # kaiming_uniform_(a=sqrt(5)) gives 1/sqrt(fan_in)
    _bound_check(lin.bias, 1 / math.sqrt(200))
    conv = engine.nn.Conv2d(8, 16, 3)
    _bound_check(conv.weight, 1 / math.sqrt(8 * 9))
    _bound_check(conv.bias, 1 / math.sqrt(8 * 9))
    lstm = engine.nn.LSTM(10, 50)
    for p in lstm.parameters():
        _bound_check(p, 1 / math.sqrt(50))
    emb = engine.nn.Embedding(300, 50, padding_idx=3)
    w = emb.weight.detach().numpy()
    assert abs(w.std() - 1) < 0.05 and not w[3].any()
    bn = engine.nn.BatchNorm1d(4)
    assert bn.weight.tolist() == [1.0] * 4 and bn.bias.tolist() == [0.0] * 4
    assert bn.running_var.tolist() == [1.0] * 4 and bn.running_mean.tolist() == [0.0] * 4
    ln = engine.nn.LayerNorm(3)
    assert ln.weight.tolist() == [1.0] * 3 and ln.bias.tolist() == [0.0] * 3
    assert lin.weight.dtype is engine.float32 and isinstance(lin.weight, engine.nn.Parameter)
    assert lin.weight.requires_grad and lin.weight.is_leaf


def test_nn_init_functions():
    torch = reference_torch()
    init = engine.nn.init
    for nonlinearity, param in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                                ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)]:
        assert init.calculate_gain(nonlinearity, param) == pytest.approx(torch.nn.init.calculate_gain(nonlinearity,
                                                                                                        param))
    with pytest.raises(ValueError, match="Unsupported nonlinearity foo"):
        init.calculate_gain("foo")
    engine.manual_seed(0)
    w = engine.empty(300, 400)
    init.kaiming_uniform_(w, mode="fan_in", nonlinearity="relu")
    _bound_check(w, math.sqrt(2) * math.sqrt(3 / 400))
    init.kaiming_normal_(w, mode="fan_out")
    assert abs(w.numpy().std() - math.sqrt(2 / (1 + 0.0)) / math.sqrt(300)) < 0.002
    init.xavier_uniform_(w, gain=2.0)
    _bound_check(w, 2.0 * math.sqrt(6 / 700))
    init.xavier_normal_(w)
    assert abs(w.numpy().std() - math.sqrt(2 / 700)) < 0.002
    init.normal_(w, 1.0, 0.5)
    assert abs(w.numpy().mean() - 1.0) < 0.01 and abs(w.numpy().std() - 0.5) < 0.01
    init.uniform_(w, -2, 3)
    assert w.numpy().min() >= -2 and w.numpy().max() <= 3
    init.constant_(w, 0.25)
    assert np.all(w.numpy() == 0.25)
    init.zeros_(w)
    assert not w.numpy().any()
    init.ones_(w)
    assert np.all(w.numpy() == 1)
    init.trunc_normal_(w, std=1.0, a=-1.0, b=1.5)
    assert w.numpy().min() >= -1.0 and w.numpy().max() <= 1.5
    q = engine.empty(6, 4)
    init.orthogonal_(q)
    np.testing.assert_allclose(q.numpy().T @ q.numpy(), np.eye(4), atol=1e-5)
    init.eye_(q)
    np.testing.assert_array_equal(q.numpy(), np.eye(6, 4))
    p = engine.nn.Parameter(engine.empty(3, 3))
    init.xavier_uniform_(p)
    assert p.requires_grad and p.grad_fn is None  # initialisers do not record graph nodes
    with pytest.raises(ValueError, match="Fan in and fan out can not be computed for tensor with fewer than 2 "
                                         "dimensions"):
        init.xavier_uniform_(engine.empty(3))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_layers_keep_dtype(dtype):
    dt = getattr(engine, dtype)
    model = engine.nn.Sequential(engine.nn.Conv2d(1, 2, 3, padding=1), engine.nn.BatchNorm2d(2), engine.nn.ReLU(),
                                 engine.nn.MaxPool2d(2), engine.nn.Flatten(), engine.nn.Linear(8, 3)).to(dt)
    out = model(engine.randn(2, 1, 4, 4, dtype=dt))
    assert out.dtype is dt
    out.sum().backward()
    assert all(p.grad.dtype is dt for p in model.parameters())


def test_lstm_second_derivatives():
    """create_graph through the fused LSTM layer differentiates its step-by-step twin."""
    from gradview.engine.testing import gradgradcheck
    engine.manual_seed(0)
    lstm = engine.nn.LSTM(2, 2, bidirectional=True).double()
    names = [n for n, _ in lstm.named_parameters()]

    def fn(x, *params):
        return tuple(flatten(_functional_call(lstm, dict(zip(names, params)), [x])))

    x = engine.randn(2, 1, 2, dtype=engine.float64, requires_grad=True)
    params = [p.detach().clone().requires_grad_() for p in lstm.parameters()]
    assert gradgradcheck(fn, (x, *params[:4]), atol=1e-5, rtol=1e-3)

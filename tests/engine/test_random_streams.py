"""Seeded random numbers are PyTorch's: the same seed gives the same draws, initial weights, dropout
masks and shuffles as PyTorch's CPU generator (float32 normals from 16 values up to the last bit)."""
import numpy as np
import pytest

from gradview import engine

torch = pytest.importorskip("torch", reason="PyTorch is the reference implementation")


def _both(fn, seed=0):
    engine.manual_seed(seed)
    torch.manual_seed(seed)
    ours, theirs = fn(engine), fn(torch)
    return _array(ours), _array(theirs)


def _array(value):
    if isinstance(value, (list, tuple)):
        return np.concatenate([_array(v).reshape(-1) for v in value])
    return value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)


DRAWS = {
    "rand": lambda t: t.rand(3, 5),
    "rand_f64": lambda t: t.rand(7, dtype=t.float64),
    "randn_small_calls": lambda t: [t.randn(3), t.randn(1), t.randn(2, dtype=t.float64)],
    "randn_f64_blocks": lambda t: t.randn(37, dtype=t.float64),
    "randint": lambda t: t.randint(-4, 9, (4, 6)),
    "randint_wide": lambda t: t.randint(0, 2 ** 40, (5,)),
    "randperm": lambda t: t.randperm(257),
    "uniform_": lambda t: t.empty(2, 9).uniform_(-0.3, 0.7),
    "normal_small": lambda t: t.empty(5, dtype=t.float64).normal_(2.0, 0.5),
    "bernoulli_scalar": lambda t: t.empty(40).bernoulli_(0.3),
    "bernoulli_tensor": lambda t: t.bernoulli(t.linspace(0, 1, 40)),
    "dropout": lambda t: t.nn.functional.dropout(t.ones(6, 7), 0.4),
    "dropout2d": lambda t: t.nn.functional.dropout2d(t.ones(2, 5, 3, 3), 0.5),
    # PyTorch fills the mask in the input's memory order: a transposed input gets a transposed mask
    "dropout_of_a_view": lambda t: t.nn.functional.dropout(t.arange(24.0).reshape(2, 3, 4).permute(2, 0, 1), 0.5),
    "random_": lambda t: t.empty(6, dtype=t.int64).random_(3, 11),
    "linear": lambda t: list(t.nn.Linear(13, 5).parameters()),
    "conv": lambda t: list(t.nn.Conv2d(3, 4, 3).parameters()) + list(t.nn.Conv1d(2, 3, 2).parameters()),
    "lstm_gru": lambda t: list(t.nn.LSTM(3, 4, 2).parameters()) + list(t.nn.GRU(2, 3).parameters()),
    "bilinear": lambda t: list(t.nn.Bilinear(2, 3, 4).parameters()),
    "trunc_normal_wide": lambda t: t.nn.init.trunc_normal_(t.empty(5, dtype=t.float64)),
    "trunc_normal_narrow": lambda t: t.nn.init.trunc_normal_(t.empty(9, dtype=t.float64), a=0.2, b=0.4),
    "kaiming_xavier": lambda t: [t.nn.init.kaiming_uniform_(t.empty(4, 6)), t.nn.init.xavier_uniform_(t.empty(3, 3))],
    "own_generator": lambda t: t.rand(4, generator=t.Generator().manual_seed(5)),
}


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_seeded_draws_are_pytorchs(name):
    ours, theirs = _both(DRAWS[name])
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)


def test_float32_normals_match_to_rounding():
    ours, theirs = _both(lambda t: [t.randn(40), t.empty(33).normal_(1.0, 3.0), t.nn.Embedding(10, 4).weight])
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-5)  # float32 rounding of std * z + mean


def test_shuffled_batches_are_pytorchs_epoch_after_epoch():
    def batches(t):
        from_lib = __import__(f"{t.__name__}.utils.data", fromlist=["DataLoader", "TensorDataset"])
        loader = from_lib.DataLoader(from_lib.TensorDataset(t.arange(23)), batch_size=5, shuffle=True)
        return [b[0] for epoch in range(3) for b in loader] + [t.randn(3)]
    ours, theirs = _both(batches, seed=9)
    np.testing.assert_array_equal(ours, theirs)


def test_seeded_training_step_is_pytorchs():
    """Weights, dropout and data drawn from one seed: the loss after a few SGD steps is PyTorch's."""
    def run(t):
        model = t.nn.Sequential(t.nn.Linear(4, 8), t.nn.ReLU(), t.nn.Dropout(0.25), t.nn.Linear(8, 1))
        opt = t.optim.SGD(model.parameters(), lr=0.1)
        losses = []
        for _ in range(5):
            x = t.randn(16, 4)
            loss = ((model(x) - x.sum(1, keepdim=True)) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return t.tensor(losses)
    ours, theirs = _both(run, seed=3)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)


def test_seeded_transformer_with_dropout_is_pytorchs():
    def run(t):
        layer = t.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.3, batch_first=True)
        encoder = t.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        return encoder(t.randn(2, 3, 8))
    ours, theirs = _both(run, seed=4)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def test_state_round_trip_and_initial_seed():
    engine.manual_seed(12)
    assert engine.initial_seed() == 12
    engine.randn(3)
    state = engine.get_rng_state()
    a = engine.randn(5)
    engine.set_rng_state(state)
    assert engine.equal(engine.randn(5), a)

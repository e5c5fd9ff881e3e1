"""Bad input raises PyTorch's kind of error with PyTorch's message (which names the shapes)."""
import numpy as np
import pytest

from gradview import engine

from nn_helpers import reference_torch


def _both(build):
    """The exception each library raises for the same program: (engine's, PyTorch's)."""
    torch = reference_torch()
    raised = []
    for lib in (engine, torch):
        lib.manual_seed(0)
        with pytest.raises(Exception) as info:
            build(lib)
        raised.append(info.value)
    return raised


CASES = {
    "linear_wrong_features": lambda lib: lib.nn.Linear(4, 3)(lib.randn(2, 5)),
    "linear_wrong_features_3d": lambda lib: lib.nn.Linear(4, 3)(lib.randn(2, 6, 5)),
    "linear_wrong_features_1d": lambda lib: lib.nn.Linear(4, 3)(lib.randn(5)),
    "linear_no_bias_wrong_features": lambda lib: lib.nn.Linear(4, 3, bias=False)(lib.randn(2, 5)),
    "linear_dtype": lambda lib: lib.nn.Linear(4, 3)(lib.randn(2, 4, dtype=lib.float64)),
    "conv_2d_input": lambda lib: lib.nn.Conv2d(3, 4, 3)(lib.randn(6, 6)),
    "conv_5d_input": lambda lib: lib.nn.Conv2d(3, 4, 3)(lib.randn(1, 2, 3, 6, 6)),
    "conv_unbatched_wrong_channels": lambda lib: lib.nn.Conv2d(3, 4, 3)(lib.randn(5, 6, 6)),
    "conv_wrong_channels": lambda lib: lib.nn.Conv2d(3, 4, 3)(lib.randn(2, 5, 6, 6)),
    "conv_kernel_too_big": lambda lib: lib.nn.Conv2d(3, 4, 3)(lib.randn(2, 3, 2, 2)),
    "conv_same_strided": lambda lib: lib.nn.Conv2d(3, 4, 3, stride=2, padding="same"),
    "conv_groups": lambda lib: lib.nn.Conv2d(3, 4, 3, groups=2),
    "conv_dtype": lambda lib: lib.nn.functional.conv2d(lib.randn(1, 3, 5, 5, dtype=lib.float64), lib.randn(2, 3, 3, 3)),
    "conv_bias_shape": lambda lib: lib.nn.functional.conv2d(lib.randn(1, 3, 5, 5), lib.randn(2, 3, 3, 3), lib.randn(3)),
    "cross_entropy_float_target_wrong_shape": lambda lib: lib.nn.functional.cross_entropy(lib.randn(4, 3),
                                                                                         lib.rand(4, 2)),
    "cross_entropy_float_target_1d": lambda lib: lib.nn.functional.cross_entropy(lib.randn(4, 3), lib.rand(4)),
    "cross_entropy_target_out_of_range": lambda lib: lib.nn.functional.cross_entropy(lib.randn(4, 3),
                                                                                    lib.tensor([0, 1, 2, 3])),
    "cross_entropy_batch_mismatch": lambda lib: lib.nn.functional.cross_entropy(lib.randn(4, 3),
                                                                               lib.tensor([0, 1, 2])),
    "nll_negative_target": lambda lib: lib.nn.functional.nll_loss(lib.randn(4, 3), lib.tensor([0, 1, 2, -1])),
    "mse_shapes": lambda lib: lib.nn.functional.mse_loss(lib.randn(4, 3), lib.randn(4, 2)),
    "bce_target_size": lambda lib: lib.nn.functional.binary_cross_entropy(lib.rand(4, 1), lib.rand(4)),
    "bce_input_range": lambda lib: lib.nn.functional.binary_cross_entropy(lib.rand(4) * 2 + 1, lib.rand(4)),
    "bce_logits_target_size": lambda lib: lib.nn.functional.binary_cross_entropy_with_logits(lib.rand(4, 1),
                                                                                            lib.rand(4)),
    "maxpool_2d_input": lambda lib: lib.nn.MaxPool2d(2)(lib.randn(2, 2)),
    "maxpool_output_too_small": lambda lib: lib.nn.MaxPool2d(4)(lib.randn(1, 2, 2, 2)),
    "maxpool_padding": lambda lib: lib.nn.MaxPool2d(2, padding=2)(lib.randn(1, 2, 8, 8)),
    "embedding_index": lambda lib: lib.nn.Embedding(10, 3)(lib.tensor([10])),
    "embedding_float_index": lambda lib: lib.nn.Embedding(10, 3)(lib.tensor([1.0])),
    "batchnorm_one_value": lambda lib: lib.nn.BatchNorm1d(3)(lib.randn(1, 3)),
    "batchnorm_features": lambda lib: lib.nn.BatchNorm1d(3)(lib.randn(2, 4)),
    "batchnorm2d_dims": lambda lib: lib.nn.BatchNorm2d(3)(lib.randn(2, 3, 4)),
    "layernorm_shape": lambda lib: lib.nn.LayerNorm(3)(lib.randn(2, 4)),
    "lstm_input_size": lambda lib: lib.nn.LSTM(3, 5)(lib.randn(4, 2, 4)),
    "lstm_4d": lambda lib: lib.nn.LSTM(3, 5)(lib.randn(2, 3, 4, 3)),
    "lstm_hidden_size": lambda lib: lib.nn.LSTM(3, 5)(lib.randn(4, 2, 3), (lib.randn(1, 3, 5), lib.randn(1, 3, 5))),
    "gru_hidden_dims": lambda lib: lib.nn.GRU(3, 5)(lib.randn(4, 2, 3), lib.randn(2, 5)),
    "rnn_dtype": lambda lib: lib.nn.RNN(3, 5)(lib.randn(4, 2, 3, dtype=lib.float64)),
    "one_hot_range": lambda lib: lib.nn.functional.one_hot(lib.tensor([1, 5]), 3),
    "optimizer_no_parameters": lambda lib: lib.optim.SGD([], lr=0.1),
    "optimizer_no_parameters_adam": lambda lib: lib.optim.Adam(iter([])),
    "load_state_dict_keys": lambda lib: lib.nn.Linear(2, 2).load_state_dict({"weight": lib.zeros(2, 2)}),
    "dropout_p": lambda lib: lib.nn.Dropout(1.5),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_error_as_pytorch(name):
    ours, theirs = _both(CASES[name])
    assert type(ours) is type(theirs), f"PyTorch raised {theirs!r}, the engine {ours!r}"
    assert str(ours) == str(theirs)


def test_messages_name_the_shapes():
    ours, _ = _both(CASES["linear_wrong_features"])
    assert str(ours) == "mat1 and mat2 shapes cannot be multiplied (2x5 and 4x3)"
    ours, _ = _both(CASES["conv_wrong_channels"])
    assert "expected input[2, 5, 6, 6] to have 3 channels, but got 5 channels instead" in str(ours)
    ours, _ = _both(CASES["optimizer_no_parameters"])
    assert isinstance(ours, ValueError) and str(ours) == "optimizer got an empty parameter list"


def test_conv2d_accepts_unbatched_input_as_pytorch_does():
    torch = reference_torch()
    x = np.random.default_rng(0).standard_normal((3, 6, 6)).astype(np.float32)
    tconv = torch.nn.Conv2d(3, 4, 3)
    conv = engine.nn.Conv2d(3, 4, 3)
    conv.load_state_dict({k: v.detach().numpy() for k, v in tconv.state_dict().items()})
    out = conv(engine.tensor(x))
    assert out.shape == (4, 4, 4) and out.grad_fn.name() == "SqueezeBackward1"
    np.testing.assert_allclose(out.detach().numpy(), tconv(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)

"""torch.nn.utils.rnn and recurrent layers over PackedSequence input, against PyTorch: packed
batches of unequal lengths (sorted or not, batch_first or not) through RNN/LSTM/GRU give the same
unpacked outputs, final states, and gradients of the padded input, initial state and weights, in
float64; the padding helpers round-trip; bad inputs raise PyTorch's exceptions."""
import numpy as np
import pytest

from gradview import engine
from gradview.engine.nn.utils import rnn as ours_rnn

from nn_helpers import compare_with_torch, copy_weights, reference_torch

rng = np.random.default_rng(11)

# (num_layers, bidirectional, batch_first, lengths, enforce_sorted, initial state)
CASES = {
    "sorted": (1, False, False, [5, 3, 3, 1], True, False),
    "unsorted_batch_first": (1, False, True, [2, 5, 1, 4], False, False),
    "deep_bidirectional": (2, True, False, [4, 4, 2, 1], True, False),
    "deep_bidirectional_unsorted_state": (2, True, True, [3, 5, 1, 5, 2], False, True),
    "bidirectional_state_tensor_lengths": (1, True, False, [1, 3, 2], False, True),
    "deep_state": (2, False, False, [6, 2, 2], True, True),
}
MODES = ["RNN", "RNN_relu", "LSTM", "GRU"]


def _module(nn, mode, num_layers, bidirectional, batch_first):
    kwargs = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first)
    if mode == "RNN_relu":
        return nn.RNN(3, 4, nonlinearity="relu", **kwargs)
    return getattr(nn, mode)(3, 4, **kwargs)


def _run(lib, rnn_utils, module, x, h0, lengths, batch_first, enforce_sorted, lstm, device):
    """Pack the padded input, run the module, unpack: (padded output, lengths, h_n[, c_n]) and the
    leaf tensors whose gradients are compared."""
    xt = lib.tensor(x, device=device, requires_grad=True)
    leaves = [xt]
    hx = None
    if h0 is not None:
        hx = [lib.tensor(h, device=device, requires_grad=True) for h in h0]
        leaves += hx
        hx = tuple(hx) if lstm else hx[0]
    if not isinstance(lengths, list):
        lengths = lib.tensor(lengths)
    packed = rnn_utils.pack_padded_sequence(xt, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    out, state = module(packed, hx)
    assert isinstance(out, rnn_utils.PackedSequence)
    padded, out_lengths = rnn_utils.pad_packed_sequence(out, batch_first=batch_first)
    states = list(state) if lstm else [state]
    return [padded] + states, out_lengths, leaves, out


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("mode", MODES)
def test_packed_rnn_matches_pytorch(mode, case, device):
    torch = reference_torch()
    num_layers, bidirectional, batch_first, lengths, enforce_sorted, with_state = CASES[case]
    lstm = mode == "LSTM"
    steps, batch = max(lengths), len(lengths)
    x = rng.standard_normal((batch, steps, 3) if batch_first else (steps, batch, 3))
    h0 = None
    if with_state:
        h0 = [rng.standard_normal((num_layers * (2 if bidirectional else 1), batch, 4))
              for _ in range(2 if lstm else 1)]
    if case.endswith("tensor_lengths"):
        lengths = np.array(lengths)
    theirs = _module(torch.nn, mode, num_layers, bidirectional, batch_first).double()
    with engine.device(device):
        ours = _module(engine.nn, mode, num_layers, bidirectional, batch_first).double()
    copy_weights(theirs, ours)
    args = (x, h0, lengths, batch_first, enforce_sorted, lstm)
    out_t, len_t, leaves_t, packed_t = _run(torch, torch.nn.utils.rnn, theirs, *args, "cpu")
    out_e, len_e, leaves_e, packed_e = _run(engine, ours_rnn, ours, *args, device)

    np.testing.assert_array_equal(packed_e.batch_sizes.numpy(), packed_t.batch_sizes.numpy())
    assert packed_e.batch_sizes.device.type == "cpu" and packed_e.batch_sizes.dtype is engine.int64
    for a, b in [(packed_e.sorted_indices, packed_t.sorted_indices),
                 (packed_e.unsorted_indices, packed_t.unsorted_indices)]:
        assert (a is None) == (b is None)
        if a is not None:
            assert a.device.type == device
            np.testing.assert_array_equal(a.cpu().numpy(), b.numpy())
    np.testing.assert_array_equal(len_e.numpy(), len_t.numpy())
    for i, (a, b) in enumerate(zip(out_e, out_t)):
        assert tuple(a.shape) == tuple(b.shape) and a.device.type == device
        np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().numpy(), rtol=1e-7, atol=1e-10,
                                   err_msg=f"output {i}")
    cotangents = [rng.standard_normal(tuple(b.shape)) for b in out_t]
    sum((b * torch.tensor(c)).sum() for b, c in zip(out_t, cotangents)).backward()
    sum((a * engine.tensor(c, device=device)).sum() for a, c in zip(out_e, cotangents)).backward()
    for i, (a, b) in enumerate(zip(leaves_e, leaves_t)):
        assert a.grad.device.type == device
        np.testing.assert_allclose(a.grad.cpu().numpy(), b.grad.numpy(), rtol=1e-7, atol=1e-10,
                                   err_msg=f"gradient of input {i}")
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert p.grad.device.type == device, n
        np.testing.assert_allclose(p.grad.cpu().numpy(), q.grad.numpy(), rtol=1e-7, atol=1e-10, err_msg=n)


def test_packed_lstm_final_state_is_each_sequences_last_step():
    """h_n of a packed batch is the dense run's output at each sequence's own last step (forward)
    and, reversed, the dense run of that sequence alone."""
    lstm = engine.nn.LSTM(3, 4, bidirectional=True).double()
    lengths = [4, 2, 1]
    x = engine.tensor(rng.standard_normal((4, 3, 3)))
    out, (h_n, c_n) = lstm(ours_rnn.pack_padded_sequence(x, lengths))
    padded, _ = ours_rnn.pad_packed_sequence(out)
    for b, n in enumerate(lengths):
        alone, (h_alone, _) = lstm(x[:n, b:b + 1])
        np.testing.assert_allclose(padded[:n, b].detach().numpy(), alone[:, 0].detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(h_n[:, b].detach().numpy(), h_alone[:, 0].detach().numpy(), rtol=1e-12)
        assert not padded[n:, b].detach().numpy().any()


# ---------------------------------------------------------------------------------------------
# the padding helpers
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence_matches_pytorch(batch_first, padding_side, device):
    torch = reference_torch()
    seqs = [rng.standard_normal((n, 2, 3)) for n in (3, 5, 1)]

    def fn(rnn_utils):
        return lambda *s: rnn_utils.pad_sequence(list(s), batch_first=batch_first, padding_value=-2.5,
                                                 padding_side=padding_side)
    compare_with_torch(fn(ours_rnn), fn(torch.nn.utils.rnn), seqs, names=False, device=device)


@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_sequence_and_unpack_round_trip(enforce_sorted, device):
    torch = reference_torch()
    lengths = (5, 3, 3, 1) if enforce_sorted else (2, 5, 1, 3)
    seqs = [rng.standard_normal((n, 3)) for n in lengths]

    def fn(rnn_utils):
        def run(*s):
            packed = rnn_utils.pack_sequence(list(s), enforce_sorted=enforce_sorted)
            back = rnn_utils.unpack_sequence(packed)
            return [packed.data * 2] + back
        return run
    ours = compare_with_torch(fn(ours_rnn), fn(torch.nn.utils.rnn), seqs, names=False, device=device)
    for seq, back in zip(seqs, ours[1:]):
        np.testing.assert_array_equal(back.detach().cpu().numpy(), seq)


@pytest.mark.parametrize("batch_first", [False, True])
def test_pad_packed_options_and_unpad(batch_first, device):
    torch = reference_torch()
    lengths = [2, 4, 1]
    x = rng.standard_normal((3, 4, 2) if batch_first else (4, 3, 2))

    def fn(rnn_utils, lib):
        def run(t):
            packed = rnn_utils.pack_padded_sequence(t, lengths, batch_first=batch_first, enforce_sorted=False)
            padded, out_lengths = rnn_utils.pad_packed_sequence(packed, batch_first=batch_first, padding_value=7.0,
                                                                total_length=6)
            assert out_lengths.tolist() == lengths and out_lengths.device.type == "cpu"
            # a copy: PyTorch's unpad_sequence transposes its argument in place when not batch_first
            return [padded] + rnn_utils.unpad_sequence(padded.clone(), out_lengths, batch_first=batch_first)
        return run
    ours = compare_with_torch(fn(ours_rnn, engine), fn(torch.nn.utils.rnn, torch), [x], names=False, device=device)
    assert ours[0].shape[0 if batch_first else 1] == 3 and ours[0].shape[1 if batch_first else 0] == 6
    for b, n in enumerate(lengths):
        np.testing.assert_array_equal(ours[1 + b].detach().cpu().numpy(), x[b, :n] if batch_first else x[:n, b])


def test_packed_sequence_conversions(device):
    torch = reference_torch()
    seqs = [np.arange(6.).reshape(3, 2), np.arange(4.).reshape(2, 2)]
    ours = ours_rnn.pack_sequence([engine.tensor(s) for s in seqs[::-1]], enforce_sorted=False)
    theirs = torch.nn.utils.rnn.pack_sequence([torch.tensor(s) for s in seqs[::-1]], enforce_sorted=False)
    assert repr(ours) == repr(theirs)
    assert ours.float().data.dtype is engine.float32 and ours.float().double().data.dtype is engine.float64
    assert ours.to(engine.float64) is ours and ours.cpu() is ours and not ours.is_cuda
    data, batch_sizes, sorted_indices, unsorted_indices = ours
    assert batch_sizes.tolist() == [2, 2, 1] and sorted_indices.tolist() == [1, 0]
    again = ours_rnn.PackedSequence((data, batch_sizes), sorted_indices=sorted_indices)
    assert again.unsorted_indices.tolist() == [1, 0]
    assert ours_rnn.invert_permutation(engine.tensor([2, 0, 1])).tolist() == [1, 2, 0]
    if device == "cuda":
        moved = ours.cuda()
        assert moved.is_cuda and moved.sorted_indices.is_cuda and moved.unsorted_indices.is_cuda
        assert moved.batch_sizes.device.type == "cpu"
        back = moved.to("cpu")
        assert not back.is_cuda and back.sorted_indices.device.type == "cpu"
        with pytest.raises(ValueError, match="batch_sizes should always be on CPU"):
            ours_rnn.PackedSequence(data, batch_sizes.cuda())


# ---------------------------------------------------------------------------------------------
# errors, with PyTorch's types (and messages where they come from the same checks)
def _same_error(ours, theirs, message=True):
    with pytest.raises(Exception) as expected:
        theirs()
    with pytest.raises(Exception) as got:
        ours()
    assert type(got.value) is type(expected.value), (got.value, expected.value)
    if message:
        assert str(got.value) == str(expected.value)


PACK_ERRORS = {
    "unsorted": dict(lengths=[2, 3, 1]),
    "zero_length": dict(lengths=[3, 2, 0]),
    "negative_length_unsorted": dict(lengths=[2, -1, 3], enforce_sorted=False),
    "wrong_count": dict(lengths=[3, 2]),
    "lengths_2d": dict(lengths=np.array([[3, 2, 1]])),
    "empty": dict(lengths=[1, 1, 1], shape=(0, 3, 2)),
}


@pytest.mark.parametrize("name", sorted(PACK_ERRORS))
def test_pack_padded_sequence_errors(name, device):
    torch = reference_torch()
    spec = dict(PACK_ERRORS[name])
    x = np.zeros(spec.pop("shape", (4, 3, 2)))
    lengths = spec.pop("lengths")

    def call(lib, rnn_utils, dev):
        n = lib.tensor(lengths) if isinstance(lengths, np.ndarray) else lengths
        return lambda: rnn_utils.pack_padded_sequence(lib.tensor(x, device=dev), n, **spec)
    _same_error(call(engine, ours_rnn, device), call(torch, torch.nn.utils.rnn, "cpu"))


def test_lengths_on_the_device_are_refused(device):
    if device != "cuda":
        pytest.skip("needs a second device")
    x = engine.zeros(4, 3, 2, device=device)
    for enforce_sorted in (True, False):
        with pytest.raises(RuntimeError, match="'lengths' argument should be a 1D CPU int64 tensor, but got 1D cuda"):
            ours_rnn.pack_padded_sequence(x, engine.tensor([3, 2, 1], device=device), enforce_sorted=enforce_sorted)


def test_padding_helper_errors():
    torch = reference_torch()
    for name, ours, theirs in [
        ("total_length", lambda r, lib: r.pad_packed_sequence(r.pack_sequence([lib.ones(3)]), total_length=2), None),
        ("empty list", lambda r, lib: r.pad_sequence([]), None),
        ("not iterable", lambda r, lib: r.pad_sequence(3), None),
        ("padding side", lambda r, lib: r.pad_sequence([lib.ones(2)], padding_side="middle"), None),
        ("unsorted pack_sequence", lambda r, lib: r.pack_sequence([lib.ones(2), lib.ones(3)]), None),
        ("unpad count", lambda r, lib: r.unpad_sequence(lib.ones(3, 2), lib.tensor([2, 1]), batch_first=True),
         None),
    ]:
        _same_error(lambda: ours(ours_rnn, engine), lambda: ours(torch.nn.utils.rnn, torch),
                    message=name not in ("unpad count",))
    _same_error(lambda: ours_rnn.pad_sequence([engine.ones(2, 3), engine.ones(3, 2)]),
                lambda: torch.nn.utils.rnn.pad_sequence([torch.ones(2, 3), torch.ones(3, 2)]), message=False)


@pytest.mark.parametrize("mode", ["RNN", "GRU"])
def test_packed_input_errors(mode):
    torch = reference_torch()
    lengths = [3, 2, 1]
    x = np.zeros((3, 3, 2))

    def run(lib, make_data, hx=None):
        def call():
            packed = lib.nn.utils.rnn.pack_padded_sequence(lib.tensor(x), lengths)
            data = make_data(lib, packed.data)
            getattr(lib.nn, mode)(2, 3).double()(lib.nn.utils.rnn.PackedSequence(data, packed.batch_sizes),
                                                 None if hx is None else lib.zeros(*hx, dtype=lib.float64))
        return call
    for make_data, hx in [(lambda lib, d: d.unsqueeze(-1), None), (lambda lib, d: d[:, :1].contiguous(), None),
                          (lambda lib, d: d, (3, 3)), (lambda lib, d: d, (1, 2, 3))]:
        _same_error(run(engine, make_data, hx), run(torch, make_data, hx))

"""Attention, transformer, transposed-convolution and resampling layers against PyTorch: the same
float64 weights give the same outputs, input gradients and parameter gradients; reprs and
state_dict keys match so weights load across."""
import warnings

import numpy as np
import pytest

from gradview import engine
from gradview.engine.testing import gradcheck

from nn_helpers import compare_with_torch, copy_weights, reference_torch

rng = np.random.default_rng(11)


def data(*shape):
    return rng.standard_normal(shape)


def _causal(n):
    return np.triu(np.full((n, n), -np.inf), 1)


_PADDING = np.array([[False, False, False, True, True], [False, False, False, False, False]])
_BOOL_MASK = rng.random((4, 5)) > 0.6
_BOOL_MASK[:, 0] = False  # every query keeps one key (a fully masked row is NaN in MultiheadAttention)


# ---------------------------------------------------------------------------------------------
# functionals
def _lib(t):
    return engine if type(t).__module__.startswith("gradview.engine") else reference_torch()


def _as(lib, mask, device=None):
    return None if mask is None else lib.tensor(mask, device=device or "cpu")


SDPA = {
    "plain": ([data(2, 3, 4, 5), data(2, 3, 6, 5), data(2, 3, 6, 7)], {}),
    "3d": ([data(3, 4, 5), data(3, 6, 5), data(3, 6, 2)], {}),
    "causal": ([data(2, 2, 4, 3), data(2, 2, 6, 3), data(2, 2, 6, 3)], {"is_causal": True}),
    "bool_mask": ([data(2, 3, 4, 5), data(2, 3, 5, 5), data(2, 3, 5, 3)], {"attn_mask": _BOOL_MASK}),
    "fully_masked_row": ([data(1, 4, 5), data(1, 5, 5), data(1, 5, 3)],
                         {"attn_mask": np.vstack([_BOOL_MASK[:3], np.zeros((1, 5), bool)])}),
    "float_mask_scale": ([data(2, 3, 4, 5), data(2, 3, 5, 5), data(2, 3, 5, 3)],
                         {"attn_mask": data(2, 1, 4, 5), "scale": 0.3}),
    "gqa": ([data(2, 4, 3, 5), data(2, 2, 6, 5), data(2, 2, 6, 5)], {"enable_gqa": True}),
}


@pytest.mark.parametrize("name", sorted(SDPA))
def test_scaled_dot_product_attention(name, device):
    inputs, options = SDPA[name]
    mask = options.get("attn_mask")
    n = len(inputs)
    float_mask = mask is not None and mask.dtype.kind == "f"

    def call(*args):
        lib = _lib(args[0])
        kw = dict(options)
        if mask is not None:
            kw["attn_mask"] = args[n] if float_mask else _as(lib, mask, args[0].device)
        return lib.nn.functional.scaled_dot_product_attention(*args[:n], **kw)
    compare_with_torch(call, call, inputs + ([mask] if float_mask else []), names=False, device=device)


CONV_T = {
    "2d_stride_pad_outpad": (2, [data(2, 4, 5, 6), data(4, 3, 3, 2), data(3)],
                             dict(stride=2, padding=1, output_padding=1)),
    "2d_groups_dilation": (2, [data(2, 4, 4, 5), data(4, 3, 2, 3), data(6)],
                           dict(stride=(1, 2), padding=(2, 1), groups=2, dilation=2, output_padding=(1, 0))),
    "2d_outpad_beyond_padding": (2, [data(1, 2, 3, 3), data(2, 2, 3, 3)], dict(stride=3, output_padding=2)),
    "2d_unbatched_nobias": (2, [data(2, 4, 3), data(2, 3, 2, 2)], {}),
    "1d": (1, [data(2, 4, 7), data(4, 2, 3), data(2)], dict(stride=2, padding=1, output_padding=1)),
    "1d_groups": (1, [data(2, 4, 5), data(4, 1, 2)], dict(groups=4, dilation=3)),
}


@pytest.mark.parametrize("name", sorted(CONV_T))
def test_conv_transpose(name, device):
    spatial, inputs, options = CONV_T[name]

    def call(*args):
        return getattr(_lib(args[0]).nn.functional, f"conv_transpose{spatial}d")(*args, **options)
    compare_with_torch(call, call, inputs, names=False, device=device)


INTERPOLATE = {
    "nearest_scale2": (data(2, 3, 4, 5), dict(scale_factor=2)),
    "nearest_size": (data(2, 3, 5, 7), dict(size=(7, 4))),
    "nearest_fractional": (data(1, 2, 5, 7), dict(scale_factor=1.7)),
    "nearest_1d": (data(2, 3, 5), dict(size=8)),
    "nearest_exact": (data(1, 2, 5, 7), dict(scale_factor=(2.5, 0.6), mode="nearest-exact")),
    "nearest_recompute": (data(1, 2, 5, 7), dict(scale_factor=1.7, recompute_scale_factor=True)),
    "bilinear": (data(2, 3, 5, 7), dict(size=(9, 13), mode="bilinear")),
    "bilinear_align_corners": (data(2, 3, 5, 7), dict(size=(9, 4), mode="bilinear", align_corners=True)),
    "bilinear_downscale": (data(1, 2, 6, 7), dict(scale_factor=0.6, mode="bilinear")),
    "linear": (data(2, 3, 5), dict(scale_factor=2.3, mode="linear")),
    "linear_align_corners_to_1": (data(2, 3, 5), dict(size=1, mode="linear", align_corners=True)),
}


@pytest.mark.parametrize("name", sorted(INTERPOLATE))
def test_interpolate(name, device):
    x, options = INTERPOLATE[name]

    def call(t):
        return _lib(t).nn.functional.interpolate(t, **options)
    compare_with_torch(call, call, [x], names=False, device=device)


@pytest.mark.parametrize("fn, x, r", [("pixel_shuffle", data(2, 8, 3, 4), 2), ("pixel_shuffle", data(18, 2, 3), 3),
                                      ("pixel_unshuffle", data(2, 3, 2, 4, 6), 2)])
def test_pixel_shuffle(fn, x, r, device):
    def call(t):
        return getattr(_lib(t).nn.functional, fn)(t, r)
    compare_with_torch(call, call, [x], names=False, device=device)


# ---------------------------------------------------------------------------------------------
# modules: (constructor, float inputs, masks (NumPy, not differentiated), call)
def _self_attention(m, xs, masks):
    return m(xs[0], xs[0], xs[0], **masks)


def _cross_attention(m, xs, masks):
    return m(*xs, **masks)


def _one(m, xs, masks):
    return m(*xs, **masks)


MODULES = {
    "mha_self": (lambda nn: nn.MultiheadAttention(8, 2), [data(5, 2, 8)], {}, _self_attention),
    "mha_self_no_weights": (lambda nn: nn.MultiheadAttention(8, 2), [data(5, 2, 8)], {"need_weights": False},
                            _self_attention),
    "mha_per_head_weights_batch_first": (lambda nn: nn.MultiheadAttention(8, 4, batch_first=True),
                                         [data(2, 4, 8), data(2, 5, 8), data(2, 5, 8)],
                                         {"average_attn_weights": False, "attn_mask": _BOOL_MASK}, _cross_attention),
    "mha_key_padding": (lambda nn: nn.MultiheadAttention(8, 2), [data(4, 2, 8), data(5, 2, 8), data(5, 2, 8)],
                        {"key_padding_mask": _PADDING}, _cross_attention),
    "mha_key_padding_no_weights_batch_first": (
        lambda nn: nn.MultiheadAttention(8, 2, batch_first=True), [data(2, 5, 8)],
        {"key_padding_mask": _PADDING, "need_weights": False, "attn_mask": data(5, 5)}, _self_attention),
    "mha_causal": (lambda nn: nn.MultiheadAttention(8, 2), [data(5, 2, 8)],
                   {"attn_mask": _causal(5), "is_causal": True, "need_weights": False}, _self_attention),
    "mha_float_3d_mask": (lambda nn: nn.MultiheadAttention(6, 3), [data(4, 2, 6), data(5, 2, 6), data(5, 2, 6)],
                          {"attn_mask": data(6, 4, 5)}, _cross_attention),
    "mha_kdim_vdim_bias_kv_zero_attn": (
        lambda nn: nn.MultiheadAttention(8, 2, add_bias_kv=True, add_zero_attn=True, kdim=3, vdim=5),
        [data(4, 2, 8), data(6, 2, 3), data(6, 2, 5)], {"key_padding_mask": np.zeros((2, 6), bool)},
        _cross_attention),
    "mha_no_bias_unbatched": (lambda nn: nn.MultiheadAttention(8, 2, bias=False), [data(4, 8), data(5, 8),
                                                                                    data(5, 8)],
                              {"key_padding_mask": _PADDING[0]}, _cross_attention),
    "encoder_layer": (lambda nn: nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0), [data(5, 2, 8)],
                      {"src_key_padding_mask": _PADDING}, _one),
    "encoder_layer_gelu_norm_first_batch_first": (
        lambda nn: nn.TransformerEncoderLayer(8, 2, 16, 0.0, "gelu", batch_first=True, norm_first=True),
        [data(2, 5, 8)], {"src_mask": _causal(5), "is_causal": True}, _one),
    "encoder_layer_callable_no_bias": (
        lambda nn: nn.TransformerEncoderLayer(8, 2, 16, 0.0, nn.Tanh(), layer_norm_eps=1e-3, bias=False),
        [data(5, 2, 8)], {}, _one),
    "encoder": (lambda nn: nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, 0.0), 1, nn.LayerNorm(8),
                                                 enable_nested_tensor=False),
                [data(5, 2, 8)], {"mask": _causal(5), "src_key_padding_mask": _PADDING}, _one),
    "decoder_layer": (lambda nn: nn.TransformerDecoderLayer(8, 2, 16, 0.0), [data(4, 2, 8), data(5, 2, 8)],
                      {"tgt_mask": _causal(4), "memory_key_padding_mask": _PADDING}, _one),
    "decoder_layer_norm_first_batch_first": (
        lambda nn: nn.TransformerDecoderLayer(8, 2, 16, 0.0, batch_first=True, norm_first=True),
        [data(2, 4, 8), data(2, 5, 8)], {"memory_mask": _BOOL_MASK}, _one),
    "decoder": (lambda nn: nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, 0.0), 1),
                [data(4, 2, 8), data(5, 2, 8)], {"tgt_mask": _causal(4)}, _one),
    "transformer": (lambda nn: nn.Transformer(8, 2, 1, 1, 16, 0.0), [data(5, 2, 8), data(4, 2, 8)],
                    {"tgt_mask": _causal(4), "src_key_padding_mask": _PADDING}, _one),
    "transformer_batch_first": (lambda nn: nn.Transformer(8, 2, 1, 1, 16, 0.0, batch_first=True),
                                [data(2, 5, 8), data(2, 4, 8)], {"tgt_is_causal": True, "tgt_mask": _causal(4)},
                                _one),
    "conv_transpose2d": (lambda nn: nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
                         [data(2, 4, 5, 5)], {}, _one),
    "conv_transpose2d_output_size": (lambda nn: nn.ConvTranspose2d(3, 2, (3, 2), stride=2, bias=False),
                                     [data(2, 3, 4, 4)], {"output_size": [10, 9]}, _one),
    "conv_transpose1d": (lambda nn: nn.ConvTranspose1d(3, 4, 3, stride=2, dilation=2), [data(2, 3, 6)], {}, _one),
    "upsample_nearest": (lambda nn: nn.Upsample(scale_factor=2), [data(2, 3, 4, 5)], {}, _one),
    "upsample_bilinear": (lambda nn: nn.Upsample(size=(7, 9), mode="bilinear"), [data(2, 3, 4, 5)], {}, _one),
    "upsampling_nearest2d": (lambda nn: nn.UpsamplingNearest2d(size=(6, 7)), [data(2, 3, 4, 5)], {}, _one),
    "upsampling_bilinear2d": (lambda nn: nn.UpsamplingBilinear2d(scale_factor=1.5), [data(2, 3, 4, 5)], {}, _one),
    "pixel_shuffle": (lambda nn: nn.PixelShuffle(2), [data(2, 8, 3, 3)], {}, _one),
    "pixel_unshuffle": (lambda nn: nn.PixelUnshuffle(3), [data(2, 2, 6, 3)], {}, _one),
}


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [] if out is None else [out]


def _masks(lib, masks, device):
    return {k: lib.tensor(v, device=device) if isinstance(v, np.ndarray) else v for k, v in masks.items()}


def _build(lib, name, device="cpu"):
    make, inputs, masks, call = MODULES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's notes on its nested-tensor fast path
        with lib.device(device):
            module = make(lib.nn).double()
    xs = [lib.tensor(v.copy(), device=device).requires_grad_(True) for v in inputs]
    return module, xs, lambda: call(module, xs, _masks(lib, masks, device))


@pytest.mark.filterwarnings("ignore:Support for mismatched")  # float masks with bool padding, on purpose
@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_matches_pytorch(name, device):
    torch = reference_torch()
    theirs, t_in, t_run = _build(torch, name)
    ours, e_in, e_run = _build(engine, name, device)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    copy_weights(theirs, ours)
    out_t, out_e = _flat(t_run()), _flat(e_run())
    assert len(out_t) == len(out_e)
    for a, b in zip(out_e, out_t):
        assert tuple(a.shape) == tuple(b.shape) and a.device.type == device
        np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().numpy(), rtol=1e-7, atol=1e-10)
    cotangents = [rng.standard_normal(tuple(b.shape)) for b in out_t]
    sum((b * torch.tensor(c)).sum() for b, c in zip(out_t, cotangents)).backward()
    sum((a * engine.tensor(c, device=device)).sum() for a, c in zip(out_e, cotangents)).backward()
    for a, b in zip(e_in, t_in):
        np.testing.assert_allclose(a.grad.cpu().numpy(), b.grad.numpy(), rtol=1e-7, atol=1e-10)
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        if q.grad is None:
            assert p.grad is None or not np.any(p.grad.cpu().numpy()), n
        else:
            assert p.grad.device.type == device, n
            np.testing.assert_allclose(p.grad.cpu().numpy(), q.grad.numpy(), rtol=1e-7, atol=1e-10, err_msg=n)


def test_weights_load_from_pytorch_state_dict_and_back():
    """A PyTorch Transformer's state_dict loads into the engine's, and the engine's into PyTorch's."""
    torch = reference_torch()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.nn.Transformer(8, 2, 2, 1, 16, 0.0).double().eval()
    ours = engine.nn.Transformer(8, 2, 2, 1, 16, 0.0).double().eval()
    copy_weights(theirs, ours)
    back = {k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()}
    theirs.load_state_dict(back)
    src, tgt = data(5, 2, 8), data(3, 2, 8)
    with torch.no_grad():  # PyTorch's inference fast path gives the same numbers
        expected = theirs(torch.tensor(src), torch.tensor(tgt)).numpy()
    np.testing.assert_allclose(ours(engine.tensor(src), engine.tensor(tgt)).detach().numpy(), expected,
                               rtol=1e-7, atol=1e-10)
    assert ours.encoder.layers[0].self_attn.in_proj_weight is not ours.encoder.layers[1].self_attn.in_proj_weight


def test_square_subsequent_mask(device):
    torch = reference_torch()
    mask = engine.nn.Transformer.generate_square_subsequent_mask(4, device=device, dtype=engine.float64)
    assert mask.device.type == device and mask.dtype == engine.float64
    np.testing.assert_array_equal(mask.cpu().numpy(), torch.nn.Transformer.generate_square_subsequent_mask(4).numpy())


def test_default_initialisation():
    mha = engine.nn.MultiheadAttention(8, 2, add_bias_kv=True)
    assert not mha.in_proj_bias.detach().numpy().any() and not mha.out_proj.bias.detach().numpy().any()
    bound = (6 / (8 + 24)) ** 0.5  # xavier_uniform_ over the packed (3E, E) weight
    assert np.abs(mha.in_proj_weight.detach().numpy()).max() <= bound
    ct = engine.nn.ConvTranspose2d(4, 6, 3, groups=2)
    assert tuple(ct.weight.shape) == (4, 3, 3, 3) and tuple(ct.bias.shape) == (6,)
    assert np.abs(ct.weight.detach().numpy()).max() <= 1 / (3 * 9) ** 0.5


def test_attention_gradcheck(device):
    """Finite differences through a tiny masked attention, its projections included."""
    q, k, v = (engine.tensor(data(1, 2, 3, 2), device=device).requires_grad_() for _ in range(3))
    mask = engine.tensor(_BOOL_MASK[:3, :3], device=device)
    assert gradcheck(lambda *a: engine.nn.functional.scaled_dot_product_attention(*a, attn_mask=mask), (q, k, v),
                     eps=1e-6, atol=1e-6, rtol=1e-4)
    engine.manual_seed(0)
    mha = engine.nn.MultiheadAttention(4, 2, add_bias_kv=True).double().to(device)
    x = engine.tensor(data(3, 1, 4), device=device).requires_grad_()
    w = mha.in_proj_weight.detach().clone().requires_grad_()
    bk = mha.bias_k.detach().clone().requires_grad_()

    def fn(x, w, bk):
        return engine.nn.functional.multi_head_attention_forward(
            x, x, x, 4, 2, w, mha.in_proj_bias, bk, mha.bias_v, False, 0.0, mha.out_proj.weight, mha.out_proj.bias,
            attn_mask=engine.tensor(_causal(3), device=device))
    assert gradcheck(fn, (x, w, bk), eps=1e-6, atol=1e-6, rtol=1e-4)


# ---------------------------------------------------------------------------------------------
# errors: PyTorch's exception types and messages
ERRORS = {
    "sdpa_dtypes": lambda lib: lib.nn.functional.scaled_dot_product_attention(
        lib.zeros(2, 3, 4, dtype=lib.float64), lib.zeros(2, 3, 4), lib.zeros(2, 3, 4, dtype=lib.float64)),
    "sdpa_key_dim": lambda lib: lib.nn.functional.scaled_dot_product_attention(
        lib.zeros(2, 3, 4), lib.zeros(2, 5, 3), lib.zeros(2, 5, 4)),
    "sdpa_value_len": lambda lib: lib.nn.functional.scaled_dot_product_attention(
        lib.zeros(2, 3, 4), lib.zeros(2, 5, 4), lib.zeros(2, 4, 4)),
    "sdpa_mask_and_causal": lambda lib: lib.nn.functional.scaled_dot_product_attention(
        lib.zeros(2, 3, 4), lib.zeros(2, 3, 4), lib.zeros(2, 3, 4), attn_mask=lib.zeros(3, 3), is_causal=True),
    "sdpa_int_mask": lambda lib: lib.nn.functional.scaled_dot_product_attention(
        lib.zeros(2, 3, 4), lib.zeros(2, 3, 4), lib.zeros(2, 3, 4), attn_mask=lib.zeros(3, 3, dtype=lib.int64)),
    "mha_heads": lambda lib: lib.nn.MultiheadAttention(6, 4),
    "mha_nonpositive": lambda lib: lib.nn.MultiheadAttention(0, 4),
    "mha_2d_mask_shape": lambda lib: lib.nn.MultiheadAttention(4, 2)(
        lib.zeros(3, 1, 4), lib.zeros(5, 1, 4), lib.zeros(5, 1, 4), attn_mask=lib.zeros(3, 3)),
    "mha_3d_mask_shape": lambda lib: lib.nn.MultiheadAttention(4, 2)(
        lib.zeros(3, 1, 4), lib.zeros(5, 1, 4), lib.zeros(5, 1, 4), attn_mask=lib.zeros(1, 3, 5)),
    "mha_int_padding_mask": lambda lib: lib.nn.MultiheadAttention(4, 2)(
        lib.zeros(3, 1, 4), lib.zeros(5, 1, 4), lib.zeros(5, 1, 4), key_padding_mask=lib.zeros(1, 5, dtype=lib.int64)),
    "mha_causal_without_mask": lambda lib: lib.nn.MultiheadAttention(4, 2)(
        lib.zeros(3, 1, 4), lib.zeros(3, 1, 4), lib.zeros(3, 1, 4), is_causal=True),
    "mha_query_dims": lambda lib: lib.nn.MultiheadAttention(4, 2)(
        lib.zeros(3, 1, 1, 4), lib.zeros(3, 1, 4), lib.zeros(3, 1, 4)),
    "mha_embed_dim": lambda lib: lib.nn.MultiheadAttention(4, 2)(
        lib.zeros(3, 1, 5), lib.zeros(3, 1, 5), lib.zeros(3, 1, 5)),
    "activation_name": lambda lib: lib.nn.TransformerEncoderLayer(4, 2, activation="tanh"),
    "transformer_d_model": lambda lib: lib.nn.Transformer(4, 2, 1, 1, 8)(lib.zeros(3, 1, 5), lib.zeros(3, 1, 5)),
    "conv_t_channels": lambda lib: lib.nn.functional.conv_transpose2d(lib.zeros(1, 3, 4, 4), lib.zeros(4, 2, 3, 3)),
    "conv_t_output_padding": lambda lib: lib.nn.functional.conv_transpose2d(
        lib.zeros(1, 4, 4, 4), lib.zeros(4, 2, 3, 3), output_padding=1),
    "conv_t_padding_mode": lambda lib: lib.nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect"),
    "conv_t_output_size": lambda lib: lib.nn.ConvTranspose2d(2, 2, 3, stride=2)(lib.zeros(1, 2, 4, 4),
                                                                                output_size=(20, 20)),
    "interpolate_no_size": lambda lib: lib.nn.functional.interpolate(lib.zeros(1, 1, 2, 2)),
    "interpolate_both": lambda lib: lib.nn.functional.interpolate(lib.zeros(1, 1, 2, 2), size=3, scale_factor=2),
    "interpolate_align_corners_nearest": lambda lib: lib.nn.functional.interpolate(
        lib.zeros(1, 1, 2, 2), size=3, align_corners=True),
    "interpolate_bilinear_3d": lambda lib: lib.nn.functional.interpolate(lib.zeros(1, 1, 2), size=3, mode="bilinear"),
    "interpolate_size_len": lambda lib: lib.nn.functional.interpolate(lib.zeros(1, 1, 2, 2), size=(3, 3, 3)),
    "interpolate_mode": lambda lib: lib.nn.functional.interpolate(lib.zeros(1, 1, 2, 2), size=3, mode="cubic"),
    "pixel_shuffle_channels": lambda lib: lib.nn.functional.pixel_shuffle(lib.zeros(1, 5, 2, 2), 2),
    "pixel_shuffle_dims": lambda lib: lib.nn.functional.pixel_shuffle(lib.zeros(4, 2), 2),
    "pixel_unshuffle_width": lambda lib: lib.nn.functional.pixel_unshuffle(lib.zeros(1, 1, 4, 5), 2),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_pytorch(name):
    torch = reference_torch()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as theirs:
            ERRORS[name](torch)
        with pytest.raises(Exception) as ours:
            ERRORS[name](engine)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)

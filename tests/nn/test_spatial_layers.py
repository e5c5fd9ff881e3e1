"""The volumetric, unpooling, grid sampling, embedding-bag and other spatial layers (engine/nn/
modules and engine/nn/functional: conv, pooling, vision, sparse, ...) against PyTorch: outputs, input and
parameter gradients, buffers, reprs and parameter names in float64 on every device; the functional
forms; numerical gradients; PyTorch's errors; the lazy modules and the seeded dropout."""
import math

import numpy as np
import pytest

from gradview import engine
from gradview.engine.testing import gradcheck

from nn_helpers import build_twin, compare_modules, compare_with_torch, reference_torch

rng = np.random.default_rng(5)


def data(*shape):
    return rng.standard_normal(shape)


def positive(*shape):
    return rng.uniform(0.2, 2.0, shape)


def pool_indices(shape, kernel, nd):
    """Valid max-pooling indices for an unpooling input, from PyTorch's own pooling."""
    torch = reference_torch()
    pool = getattr(torch.nn.functional, f"max_pool{nd}d")
    return pool(torch.tensor(data(*shape)), kernel, return_indices=True)[1].numpy()


BAG_INPUT, BAG_OFFSETS = np.array([1, 2, 4, 5, 4, 3, 2, 9, 0, 0]), np.array([0, 2, 2, 5])

# name: (constructor taking the library, inputs)
LAYERS = {
    "Conv3d": (lambda t: t.nn.Conv3d(4, 6, (2, 3, 2), stride=(1, 2, 1), padding=(1, 0, 2), dilation=(2, 1, 1),
                                     groups=2), [data(2, 4, 5, 6, 7)]),
    "Conv3d_unbatched_no_bias": (lambda t: t.nn.Conv3d(2, 3, 2, bias=False), [data(2, 4, 3, 5)]),
    "Conv3d_same": (lambda t: t.nn.Conv3d(2, 3, (3, 2, 3), padding="same"), [data(1, 2, 4, 5, 4)]),
    "Conv3d_reflect": (lambda t: t.nn.Conv3d(2, 2, 3, padding=1, padding_mode="reflect"), [data(1, 2, 4, 4, 5)]),
    "Conv3d_circular_valid": (lambda t: t.nn.Conv3d(2, 2, 2, padding=(1, 0, 1), padding_mode="circular"),
                              [data(2, 2, 3, 4, 3)]),
    "ConvTranspose3d": (lambda t: t.nn.ConvTranspose3d(4, 6, (2, 3, 2), stride=(2, 1, 2), padding=(1, 0, 1),
                                                       output_padding=(1, 0, 0), groups=2, dilation=(1, 2, 1)),
                        [data(2, 4, 3, 4, 3)]),
    "ConvTranspose3d_unbatched": (lambda t: t.nn.ConvTranspose3d(2, 3, 3, stride=2, padding=2, bias=False),
                                  [data(2, 3, 2, 4)]),
    "MaxPool3d": (lambda t: t.nn.MaxPool3d(2), [data(2, 3, 4, 6, 5)]),
    "MaxPool3d_indices": (lambda t: t.nn.MaxPool3d((2, 3, 2), (1, 2, 2), 1, (1, 1, 2), return_indices=True,
                                                   ceil_mode=True), [data(2, 2, 5, 6, 7)]),
    "MaxPool3d_unbatched": (lambda t: t.nn.MaxPool3d(3, 2, 1), [data(2, 5, 5, 4)]),
    "AvgPool3d": (lambda t: t.nn.AvgPool3d(2), [data(2, 3, 4, 6, 5)]),
    "AvgPool3d_pad_ceil": (lambda t: t.nn.AvgPool3d(3, 2, 1, ceil_mode=True), [data(2, 2, 5, 6, 4)]),
    "AvgPool3d_exclude_pad": (lambda t: t.nn.AvgPool3d((3, 2, 3), (2, 1, 2), (1, 1, 0), count_include_pad=False),
                              [data(1, 2, 5, 4, 6)]),
    "AvgPool3d_divisor": (lambda t: t.nn.AvgPool3d(2, divisor_override=3), [data(2, 4, 4, 5)]),
    "AdaptiveAvgPool3d": (lambda t: t.nn.AdaptiveAvgPool3d((2, None, 3)), [data(2, 3, 5, 4, 7)]),
    "AdaptiveAvgPool3d_unbatched": (lambda t: t.nn.AdaptiveAvgPool3d(2), [data(3, 4, 5, 6)]),
    "AdaptiveMaxPool3d": (lambda t: t.nn.AdaptiveMaxPool3d((2, 3, 4)), [data(2, 3, 5, 4, 7)]),
    "AdaptiveMaxPool3d_indices": (lambda t: t.nn.AdaptiveMaxPool3d(3, return_indices=True), [data(3, 4, 5, 7)]),
    "LPPool3d": (lambda t: t.nn.LPPool3d(2, 2), [data(2, 3, 4, 4, 5)]),
    "LPPool3d_stride": (lambda t: t.nn.LPPool3d(1.5, (2, 3, 2), stride=1), [positive(1, 2, 3, 4, 3)]),
    "InstanceNorm3d": (lambda t: t.nn.InstanceNorm3d(3), [data(2, 3, 3, 4, 5)]),
    "InstanceNorm3d_affine_stats": (lambda t: t.nn.InstanceNorm3d(3, affine=True, track_running_stats=True),
                                    [data(2, 3, 3, 4, 2) * 2 + 1]),
    "InstanceNorm3d_unbatched": (lambda t: t.nn.InstanceNorm3d(2), [data(2, 3, 4, 5)]),
    "ZeroPad3d": (lambda t: t.nn.ZeroPad3d((1, 2, 0, 1, 2, 0)), [data(2, 3, 2, 3, 4)]),
    "ConstantPad3d": (lambda t: t.nn.ConstantPad3d(1, 0.5), [data(2, 2, 3, 4)]),
    "ReflectionPad3d": (lambda t: t.nn.ReflectionPad3d((1, 2, 2, 0, 1, 1)), [data(2, 2, 3, 4, 5)]),
    "ReplicationPad3d": (lambda t: t.nn.ReplicationPad3d(2), [data(1, 2, 3, 2, 4)]),
    "CircularPad3d": (lambda t: t.nn.CircularPad3d((1, 0, 2, 1, 1, 2)), [data(2, 2, 3, 4, 3)]),
    "MaxUnpool1d": (lambda t: t.nn.MaxUnpool1d(2), [data(2, 3, 4), pool_indices((2, 3, 8), 2, 1)]),
    "MaxUnpool2d": (lambda t: t.nn.MaxUnpool2d(2, stride=2), [data(2, 3, 3, 4), pool_indices((2, 3, 6, 8), 2, 2)]),
    "MaxUnpool3d": (lambda t: t.nn.MaxUnpool3d((2, 1, 2)), [data(3, 2, 4, 2), pool_indices((3, 4, 4, 4), (2, 1, 2),
                                                                                          3)]),
    "EmbeddingBag": (lambda t: t.nn.EmbeddingBag(10, 3), [BAG_INPUT, BAG_OFFSETS]),
    "EmbeddingBag_sum_padding": (lambda t: t.nn.EmbeddingBag(10, 3, mode="sum", padding_idx=4),
                                 [BAG_INPUT, BAG_OFFSETS]),
    "EmbeddingBag_max_2d": (lambda t: t.nn.EmbeddingBag(10, 4, mode="max"), [BAG_INPUT.reshape(2, 5)]),
    "EmbeddingBag_last_offset": (lambda t: t.nn.EmbeddingBag(10, 3, include_last_offset=True, padding_idx=-1),
                                 [np.array([1, 9, 4, 9, 2]), np.array([0, 3, 3, 4])]),
    "ChannelShuffle": (lambda t: t.nn.ChannelShuffle(3), [data(2, 6, 4, 3)]),
    "FeatureAlphaDropout_eval": (lambda t: t.nn.FeatureAlphaDropout(0.2).eval(), [data(2, 3, 4)]),
    "TripletMarginWithDistanceLoss": (lambda t: t.nn.TripletMarginWithDistanceLoss(swap=True),
                                      [data(5, 4), data(5, 4), data(5, 4)]),
    "TripletMarginWithDistanceLoss_cosine": (
        lambda t: t.nn.TripletMarginWithDistanceLoss(
            distance_function=lambda x, y: 1 - t.nn.functional.cosine_similarity(x, y), margin=0.5,
            reduction="none"), [data(5, 4), data(5, 4), data(5, 4)]),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_matches_pytorch(name, device):
    torch = reference_torch()
    make, inputs = LAYERS[name]
    theirs, t_in = build_twin(torch, make, inputs)
    ours, e_in = build_twin(engine, make, inputs, device)
    compare_modules(ours, theirs, e_in, t_in, device)


# ---------------------------------------------------------------------------------------------
# functional forms: name -> (fn(F, *inputs), inputs[, whether the first node names match])
def _long(F, array):
    lib = engine if F is engine.nn.functional else reference_torch()
    return lib.tensor(array, device="cuda" if lib is engine and engine.get_default_device().type == "cuda" else None)


FUNCTIONAL = {
    "conv3d": (lambda F, x, w, b: F.conv3d(x, w, b, 2, 1, 1, 1), [data(2, 3, 5, 4, 6), data(4, 3, 3, 2, 3), data(4)],
               True),
    "conv3d_groups_dilation": (lambda F, x, w: F.conv3d(x, w, None, (1, 1, 2), (0, 2, 1), (2, 1, 2), 3),
                               [data(1, 6, 5, 4, 7), data(3, 2, 2, 3, 2)], True),
    "conv_transpose3d": (lambda F, x, w, b: F.conv_transpose3d(x, w, b, 2, 1, 1), [data(2, 3, 2, 3, 2),
                                                                                  data(3, 2, 3, 2, 3), data(2)], True),
    "max_pool3d_indices": (lambda F, x: F.max_pool3d(x, 2, 1, 1, 2, return_indices=True), [data(2, 2, 4, 5, 6)]),
    "max_pool3d_with_indices": (lambda F, x: F.max_pool3d_with_indices(x, (1, 2, 3)), [data(2, 3, 4, 6)]),
    "max_pool2d_with_indices": (lambda F, x: F.max_pool2d_with_indices(x, 2, 1), [data(2, 3, 4, 5)], True),
    "max_pool1d_with_indices": (lambda F, x: F.max_pool1d_with_indices(x, 3, 2, 1), [data(2, 3, 8)]),
    "avg_pool3d": (lambda F, x: F.avg_pool3d(x, (2, 3, 2), 1, (1, 1, 0), True, False), [data(2, 2, 4, 5, 3)]),
    "adaptive_avg_pool3d": (lambda F, x: F.adaptive_avg_pool3d(x, (3, 2, 5)), [data(2, 2, 7, 5, 6)]),
    "adaptive_max_pool3d_indices": (lambda F, x: F.adaptive_max_pool3d(x, (3, 2, 4), True), [data(2, 2, 7, 5, 6)]),
    "lp_pool3d_inf": (lambda F, x: F.lp_pool3d(x, math.inf, 2), [data(2, 2, 4, 4, 4)]),
    "max_unpool2d_output_size": (lambda F, x, i: F.max_unpool2d(x, i, 2, output_size=(7, 9)),
                                 [data(2, 3, 3, 4), pool_indices((2, 3, 7, 9), 2, 2)]),
    "max_unpool1d_padding": (lambda F, x, i: F.max_unpool1d(x, i, 3, 2, 1, output_size=[8]),
                             [data(2, 3, 4), np.array([[[0, 3, 4, 7]] * 3] * 2)]),
    "affine_grid_2d": (lambda F, t: F.affine_grid(t, (2, 3, 4, 5), False), [data(2, 2, 3)]),
    "affine_grid_2d_align": (lambda F, t: F.affine_grid(t, [2, 1, 3, 1], True), [data(2, 2, 3)]),
    "affine_grid_3d": (lambda F, t: F.affine_grid(t, (2, 3, 4, 5, 3), True), [data(2, 3, 4)]),
    "embedding_bag_per_sample_weights": (
        lambda F, w, p: F.embedding_bag(_long(F, BAG_INPUT), w, _long(F, BAG_OFFSETS), mode="sum",
                                        per_sample_weights=p), [data(10, 3), data(10)]),
    "embedding_bag_max_padding": (
        lambda F, w: F.embedding_bag(_long(F, BAG_INPUT), w, _long(F, BAG_OFFSETS), mode="max", padding_idx=0),
        [data(10, 3)]),
    "embedding_bag_mean_last_offset": (
        lambda F, w: F.embedding_bag(_long(F, BAG_INPUT), w, _long(F, BAG_OFFSETS), include_last_offset=True),
        [data(10, 3)]),
    "channel_shuffle": (lambda F, x: F.channel_shuffle(x, 2), [data(2, 4, 3)]),
    "pdist": (lambda F, x: F.pdist(x), [data(5, 4)]),
    "pdist_p1": (lambda F, x: F.pdist(x, 1), [data(4, 3)]),
    "pdist_p3": (lambda F, x: F.pdist(x, 3.5), [data(4, 3)]),
    "triplet_margin_with_distance_loss": (lambda F, a, p, n: F.triplet_margin_with_distance_loss(
        a, p, n, margin=2.0, reduction="sum"), [data(4, 3), data(4, 3), data(4, 3)]),
}
for _mode in ("bilinear", "nearest"):
    for _padding in ("zeros", "border", "reflection"):
        for _align in (False, True):
            FUNCTIONAL[f"grid_sample_{_mode}_{_padding}_{int(_align)}"] = (
                lambda F, x, g, m=_mode, p=_padding, a=_align: F.grid_sample(x, g, m, p, a),
                [data(2, 3, 5, 6), rng.uniform(-1.4, 1.4, (2, 4, 3, 2))])
            FUNCTIONAL[f"grid_sample_3d_{_mode}_{_padding}_{int(_align)}"] = (
                lambda F, x, g, m=_mode, p=_padding, a=_align: F.grid_sample(x, g, m, p, a),
                [data(1, 2, 4, 3, 5), rng.uniform(-1.4, 1.4, (1, 2, 3, 2, 3))])


def _call(name):
    fn = FUNCTIONAL[name][0]
    return (lambda *xs: fn(engine.nn.functional, *xs)), (lambda *xs: fn(reference_torch().nn.functional, *xs))


@pytest.mark.parametrize("name", sorted(FUNCTIONAL))
def test_functional_matches_pytorch(name, device):
    ours, theirs = _call(name)
    names = len(FUNCTIONAL[name]) > 2
    compare_with_torch(ours, theirs, FUNCTIONAL[name][1], device=device, names=names)


@pytest.mark.parametrize("name", ["conv3d_groups_dilation", "conv_transpose3d", "max_pool3d_indices", "avg_pool3d",
                                  "adaptive_avg_pool3d", "affine_grid_3d", "grid_sample_bilinear_zeros_0",
                                  "grid_sample_bilinear_reflection_1", "grid_sample_3d_bilinear_border_0",
                                  "embedding_bag_per_sample_weights", "pdist"])
def test_functional_gradcheck(name):
    fn, inputs = FUNCTIONAL[name][:2]
    args = tuple(engine.tensor(v, requires_grad=v.dtype.kind == "f") for v in inputs)

    def first(*xs):
        result = fn(engine.nn.functional, *xs)
        return result[0] if isinstance(result, tuple) else result
    assert gradcheck(first, args, eps=1e-6, atol=1e-6, rtol=1e-4)


def test_conv3d_double_backward_matches_pytorch():
    """create_graph through the fused conv3d node (its composite twin) gives PyTorch's second derivatives."""
    torch = reference_torch()
    x, w, b = data(1, 2, 4, 3, 4), data(4, 1, 2, 2, 3), data(4)
    results = []
    for lib in (engine, torch):
        xs = [lib.tensor(v, requires_grad=True) for v in (x, w, b)]
        out = lib.nn.functional.conv3d(*xs, stride=(2, 1, 1), padding=1, groups=2)
        grads = lib.autograd.grad((out * out).sum(), xs, create_graph=True)
        sum((g * g).sum() for g in grads).backward()
        results.append([t.grad.detach().numpy() for t in xs])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-9)


def test_feature_alpha_dropout_draws_pytorch_numbers():
    torch = reference_torch()
    x = data(4, 5, 3, 2)
    engine.manual_seed(7)
    torch.manual_seed(7)
    ours = engine.nn.functional.feature_alpha_dropout(engine.tensor(x), 0.3, training=True)
    theirs = torch.nn.functional.feature_alpha_dropout(torch.tensor(x), 0.3, training=True)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    module = engine.nn.FeatureAlphaDropout(0.3)
    assert repr(module) == "FeatureAlphaDropout(p=0.3, inplace=False)"
    out = module(engine.zeros(4, 5, 3, 2)).numpy()
    assert np.ptp(out.reshape(4, 5, -1), axis=-1).max() == 0  # whole channels share one draw
    assert len(np.unique(out.round(12))) == 2
    assert module.eval()(engine.tensor(x)).numpy().tolist() == x.tolist()


@pytest.mark.parametrize("kind", ["LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyBatchNorm1d", "LazyBatchNorm2d"])
def test_lazy_modules(kind):
    torch = reference_torch()
    shapes = {"LazyConv1d": (2, 3, 7), "LazyConv2d": (2, 3, 5, 6), "LazyConv3d": (2, 3, 4, 5, 4),
              "LazyBatchNorm1d": (4, 3), "LazyBatchNorm2d": (2, 3, 4, 5)}
    args = (4, 3) if kind.startswith("LazyConv") else ()
    kwargs = {"padding": 1, "groups": 1} if kind.startswith("LazyConv") else {}
    ours, theirs = getattr(engine.nn, kind)(*args, **kwargs), getattr(torch.nn, kind)(*args, **kwargs)
    optimizer = engine.optim.SGD(ours.parameters(), lr=0.1)
    x = data(*shapes[kind])
    out = ours.double()(engine.tensor(x))
    theirs = theirs.double()
    theirs(torch.tensor(x))  # materialise, then compare as eager twins
    assert type(ours).__name__ == type(theirs).__name__ and repr(ours) == repr(theirs)
    compare_modules(ours, theirs, [engine.tensor(x, requires_grad=True)], [torch.tensor(x, requires_grad=True)])
    assert out.shape == theirs(torch.tensor(x)).shape
    optimizer.step()  # the optimiser still holds the filled-in parameters


def test_embedding_bag_module_details():
    torch = reference_torch()
    bag = engine.nn.EmbeddingBag(6, 3, mode="sum", padding_idx=2, max_norm=1.0)
    assert repr(bag) == repr(torch.nn.EmbeddingBag(6, 3, mode="sum", padding_idx=2, max_norm=1.0))
    assert not bag.weight[2].detach().numpy().any()
    pretrained = engine.nn.EmbeddingBag.from_pretrained(engine.tensor(data(4, 2)), mode="max")
    assert not pretrained.weight.requires_grad and pretrained.mode == "max"
    out = bag(engine.tensor([[0, 1], [3, 5]]))
    assert out.shape == (2, 3)
    assert (np.linalg.norm(bag.weight.detach().numpy()[[0, 1, 3, 5]], axis=1) <= 1.0 + 1e-6).all()


# ---------------------------------------------------------------------------------------------
# errors: the same type and message as PyTorch's
ERRORS = {
    "conv3d_dims": lambda F, t: F.conv3d(t.randn(2, 3, 4, 5), t.randn(2, 3, 1, 1, 1)),
    "conv3d_channels": lambda F, t: F.conv3d(t.randn(1, 3, 4, 4, 4), t.randn(2, 2, 1, 1, 1)),
    "conv3d_kernel_too_big": lambda F, t: F.conv3d(t.randn(1, 1, 2, 4, 4), t.randn(1, 1, 3, 1, 1)),
    "conv3d_same_strided": lambda F, t: F.conv3d(t.randn(1, 1, 4, 4, 4), t.randn(1, 1, 3, 3, 3), stride=2,
                                                 padding="same"),
    "conv_transpose3d_dims": lambda F, t: F.conv_transpose3d(t.randn(2, 3, 4), t.randn(3, 2, 1, 1, 1)),
    "max_pool3d_dims": lambda F, t: F.max_pool3d(t.randn(3, 4, 5), 2),
    "max_pool3d_output": lambda F, t: F.max_pool3d(t.randn(1, 1, 1, 4, 4), 2),
    "avg_pool3d_divisor": lambda F, t: F.avg_pool3d(t.randn(1, 1, 4, 4, 4), 2, divisor_override=0),
    "max_unpool_output_size": lambda F, t: F.max_unpool2d(t.randn(1, 1, 2, 2), t.zeros(1, 1, 2, 2, dtype=t.int64),
                                                          2, output_size=(9, 4)),
    "max_unpool_output_len": lambda F, t: F.max_unpool2d(t.randn(1, 1, 2, 2), t.zeros(1, 1, 2, 2, dtype=t.int64),
                                                         2, output_size=(1, 4, 4, 4, 4)),
    "max_unpool_index": lambda F, t: F.max_unpool2d(t.randn(1, 1, 2, 2), t.tensor([[[[0, 1], [2, 30]]]]), 2),
    "max_unpool1d_index": lambda F, t: F.max_unpool1d(t.randn(1, 2, 2), t.tensor([[[0, 5], [1, 9]]]), 2),
    "grid_sample_mode": lambda F, t: F.grid_sample(t.randn(1, 1, 3, 3), t.zeros(1, 2, 2, 2), mode="area"),
    "grid_sample_padding": lambda F, t: F.grid_sample(t.randn(1, 1, 3, 3), t.zeros(1, 2, 2, 2),
                                                      padding_mode="wrap"),
    "affine_grid_theta": lambda F, t: F.affine_grid(t.randn(2, 3, 4), (2, 3, 4, 5), False),
    "affine_grid_size": lambda F, t: F.affine_grid(t.randn(2, 2, 3), (2, 3, 4), False),
    "affine_grid_int": lambda F, t: F.affine_grid(t.ones(2, 2, 3, dtype=t.int64), (2, 3, 4, 5), False),
    "embedding_bag_no_offsets": lambda F, t: F.embedding_bag(t.tensor([1, 2]), t.randn(4, 2)),
    "embedding_bag_mode": lambda F, t: F.embedding_bag(t.tensor([[1, 2]]), t.randn(4, 2), mode="min"),
    "embedding_bag_weights_mean": lambda F, t: F.embedding_bag(t.tensor([[1, 2]]), t.randn(4, 2),
                                                               per_sample_weights=t.ones(1, 2)),
    "embedding_bag_weights_shape": lambda F, t: F.embedding_bag(t.tensor([[1, 2]]), t.randn(4, 2), mode="sum",
                                                                per_sample_weights=t.ones(2)),
    "embedding_bag_weight_1d": lambda F, t: F.embedding_bag(t.tensor([[1, 2]]), t.randn(4)),
    "channel_shuffle_divisible": lambda F, t: F.channel_shuffle(t.randn(1, 5, 2), 2),
    "pdist_3d": lambda F, t: F.pdist(t.randn(2, 3, 4)),
    "triplet_distance_margin": lambda F, t: F.triplet_margin_with_distance_loss(t.randn(3), t.randn(3), t.randn(3),
                                                                                margin=0),
    "triplet_distance_dims": lambda F, t: F.triplet_margin_with_distance_loss(t.randn(2, 3), t.randn(3),
                                                                              t.randn(2, 3)),
    "TripletMarginWithDistanceLoss_margin": lambda F, t: t.nn.TripletMarginWithDistanceLoss(margin=-1.0),
    "EmbeddingBag_padding_idx": lambda F, t: t.nn.EmbeddingBag(4, 2, padding_idx=4),
    "Conv3d_padding_string": lambda F, t: t.nn.Conv3d(1, 1, 2, padding="full"),
    "ConvTranspose3d_padding_mode": lambda F, t: t.nn.ConvTranspose3d(1, 1, 2, padding_mode="reflect"),
    "CircularPad3d_dims": lambda F, t: t.nn.CircularPad3d(1)(t.randn(2, 3)),
    "InstanceNorm3d_dims": lambda F, t: t.nn.InstanceNorm3d(3)(t.randn(2, 3, 4)),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_pytorch(name):
    torch = reference_torch()
    with pytest.raises(Exception) as theirs:
        ERRORS[name](torch.nn.functional, torch)
    with pytest.raises(theirs.type) as ours:
        ERRORS[name](engine.nn.functional, engine)
    assert str(ours.value) == str(theirs.value)

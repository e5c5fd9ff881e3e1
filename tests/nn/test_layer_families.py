"""Activations, distances, padding, normalisation, pooling and loss layers beyond test_layers.py
(engine/nn/modules and engine/nn/functional, by family) against PyTorch: outputs, input and parameter
gradients, buffers, reprs and parameter names in float64 on every device; the functional forms with
each reduction; PyTorch's errors; the random ones (RReLU, gumbel_softmax) statistically."""
import math
import sys

import numpy as np
import pytest

from gradview import engine
from gradview.engine.testing import gradcheck

from nn_helpers import Const, build_twin, compare_modules, compare_with_torch, flatten, reference_torch

rng = np.random.default_rng(11)


def data(*shape):
    return rng.standard_normal(shape)


def positive(*shape):
    return rng.uniform(0.2, 2.0, shape)


def signs(*shape):
    return rng.choice([-1.0, 1.0], shape)


def _lib(ns):
    """The library a namespace belongs to: the engine (gradview.engine...) or torch."""
    return engine if ns.__name__.startswith("gradview.engine") else sys.modules[ns.__name__.split(".")[0]]


def weights(lib, values):
    return lib.tensor(values, dtype=lib.float64)


# name: (constructor taking the library, inputs)
LAYERS = {
    "PReLU": (lambda t: t.nn.PReLU(), [data(3, 4)]),
    "PReLU_channels": (lambda t: t.nn.PReLU(3, init=0.1), [data(2, 3, 4)]),
    "PReLU_unbatched_1d": (lambda t: t.nn.PReLU(), [data(5)]),
    "GLU": (lambda t: t.nn.GLU(), [data(3, 6)]),
    "GLU_dim1": (lambda t: t.nn.GLU(1), [data(2, 4, 3)]),
    "CELU": (lambda t: t.nn.CELU(0.5), [data(3, 4)]),
    "Softshrink": (lambda t: t.nn.Softshrink(0.3), [data(3, 4)]),
    "Hardshrink": (lambda t: t.nn.Hardshrink(), [data(3, 4)]),
    "Tanhshrink": (lambda t: t.nn.Tanhshrink(), [data(3, 4)]),
    "RReLU_eval": (lambda t: t.nn.RReLU(0.1, 0.3).eval(), [data(3, 4)]),
    "Softmax2d": (lambda t: t.nn.Softmax2d(), [data(2, 3, 4, 5)]),
    "Softmax2d_unbatched": (lambda t: t.nn.Softmax2d(), [data(3, 4, 5)]),
    "CosineSimilarity": (lambda t: t.nn.CosineSimilarity(), [data(4, 5), data(4, 5)]),
    "CosineSimilarity_dim0": (lambda t: t.nn.CosineSimilarity(dim=0, eps=1e-6), [data(5), data(5)]),
    "PairwiseDistance": (lambda t: t.nn.PairwiseDistance(), [data(4, 5), data(4, 5)]),
    "PairwiseDistance_p1_keepdim": (lambda t: t.nn.PairwiseDistance(p=1.0, keepdim=True), [data(4, 5), data(4, 5)]),
    "ZeroPad1d": (lambda t: t.nn.ZeroPad1d(2), [data(2, 3, 4)]),
    "ZeroPad2d": (lambda t: t.nn.ZeroPad2d((1, 2, 0, 3)), [data(2, 3, 4, 4)]),
    "ConstantPad1d": (lambda t: t.nn.ConstantPad1d((1, 3), 2.5), [data(3, 4)]),
    "ConstantPad2d": (lambda t: t.nn.ConstantPad2d(1, -1.0), [data(2, 3, 4, 4)]),
    "ReflectionPad1d": (lambda t: t.nn.ReflectionPad1d(2), [data(2, 3, 5)]),
    "ReflectionPad2d": (lambda t: t.nn.ReflectionPad2d((1, 2, 2, 1)), [data(2, 3, 4, 5)]),
    "ReplicationPad1d": (lambda t: t.nn.ReplicationPad1d((3, 1)), [data(2, 3, 4)]),
    "ReplicationPad2d_unbatched": (lambda t: t.nn.ReplicationPad2d(2), [data(3, 4, 5)]),
    "CircularPad1d": (lambda t: t.nn.CircularPad1d(2), [data(2, 3, 5)]),
    "CircularPad2d": (lambda t: t.nn.CircularPad2d((1, 0, 2, 1)), [data(2, 3, 4, 5)]),
    "InstanceNorm1d": (lambda t: t.nn.InstanceNorm1d(3), [data(2, 3, 6)]),
    "InstanceNorm1d_unbatched_affine": (lambda t: t.nn.InstanceNorm1d(3, affine=True), [data(3, 6)]),
    "InstanceNorm2d_stats": (lambda t: t.nn.InstanceNorm2d(3, affine=True, track_running_stats=True),
                             [data(2, 3, 4, 5) * 2 + 1]),
    "InstanceNorm2d_stats_eval": (lambda t: t.nn.InstanceNorm2d(3, momentum=None, track_running_stats=True).eval(),
                                  [data(2, 3, 4, 5)]),
    "RMSNorm": (lambda t: t.nn.RMSNorm(5), [data(3, 4, 5)]),
    "RMSNorm_2d_eps_no_affine": (lambda t: t.nn.RMSNorm((4, 5), eps=1e-3, elementwise_affine=False), [data(3, 4, 5)]),
    "LocalResponseNorm": (lambda t: t.nn.LocalResponseNorm(3, alpha=0.1), [data(2, 5, 6)]),
    "LocalResponseNorm_4d": (lambda t: t.nn.LocalResponseNorm(2, alpha=0.2, beta=0.5, k=2.0), [data(2, 5, 3, 4)]),
    "AdaptiveAvgPool1d": (lambda t: t.nn.AdaptiveAvgPool1d(3), [data(2, 3, 7)]),
    "AdaptiveAvgPool1d_unbatched": (lambda t: t.nn.AdaptiveAvgPool1d(4), [data(3, 8)]),
    "AdaptiveMaxPool1d": (lambda t: t.nn.AdaptiveMaxPool1d(3), [data(2, 3, 7)]),
    "AdaptiveMaxPool1d_indices": (lambda t: t.nn.AdaptiveMaxPool1d(5, return_indices=True), [data(2, 3, 8)]),
    "LPPool1d": (lambda t: t.nn.LPPool1d(2, 3), [data(2, 3, 8)]),
    "LPPool1d_stride_ceil": (lambda t: t.nn.LPPool1d(3, 3, stride=2, ceil_mode=True), [data(2, 3, 8)]),
    "LPPool2d": (lambda t: t.nn.LPPool2d(1.5, 2, 1), [positive(2, 3, 4, 5)]),
    "LPPool2d_inf": (lambda t: t.nn.LPPool2d(float("inf"), (2, 3)), [data(2, 3, 4, 6)]),
    "Unfold": (lambda t: t.nn.Unfold(2, padding=1, stride=2), [data(2, 3, 4, 5)]),
    "Fold": (lambda t: t.nn.Fold((4, 5), 2), [data(2, 12, 12)]),
    "MarginRankingLoss": (lambda t: t.nn.MarginRankingLoss(margin=0.3), [data(6), data(6), Const(signs(6))]),
    "HingeEmbeddingLoss": (lambda t: t.nn.HingeEmbeddingLoss(reduction="none"), [data(3, 4), Const(signs(3, 4))]),
    "CosineEmbeddingLoss": (lambda t: t.nn.CosineEmbeddingLoss(margin=0.2), [data(5, 4), data(5, 4),
                                                                           Const(signs(5))]),
    "CosineEmbeddingLoss_unbatched": (lambda t: t.nn.CosineEmbeddingLoss(reduction="sum"),
                                      [data(4), data(4), Const(np.array(-1.0))]),
    "TripletMarginLoss": (lambda t: t.nn.TripletMarginLoss(), [data(5, 4), data(5, 4), data(5, 4)]),
    "TripletMarginLoss_swap_p1": (lambda t: t.nn.TripletMarginLoss(margin=2.0, p=1, swap=True, reduction="none"),
                                  [data(5, 4), data(5, 4), data(5, 4)]),
    "GaussianNLLLoss": (lambda t: t.nn.GaussianNLLLoss(), [data(4, 3), Const(data(4, 3)), positive(4, 3)]),
    "GaussianNLLLoss_full_homoscedastic": (lambda t: t.nn.GaussianNLLLoss(full=True, reduction="sum"),
                                           [data(4, 3), Const(data(4, 3)), positive(4)]),
    "PoissonNLLLoss": (lambda t: t.nn.PoissonNLLLoss(), [data(4, 3), Const(positive(4, 3))]),
    "PoissonNLLLoss_full_not_log": (lambda t: t.nn.PoissonNLLLoss(log_input=False, full=True, reduction="none"),
                                    [positive(4, 3), Const(rng.uniform(0.1, 3.0, (4, 3)))]),
    "SoftMarginLoss": (lambda t: t.nn.SoftMarginLoss(), [data(4, 3), Const(signs(4, 3))]),
    "MultiLabelSoftMarginLoss": (lambda t: t.nn.MultiLabelSoftMarginLoss(weight=weights(t, [1.0, 2.0, 0.5])),
                                 [data(4, 3), Const(rng.integers(0, 2, (4, 3)).astype(float))]),
    "MultiMarginLoss": (lambda t: t.nn.MultiMarginLoss(), [data(4, 5), np.array([0, 4, 2, 2])]),
    "MultiMarginLoss_p2_weight": (lambda t: t.nn.MultiMarginLoss(p=2, margin=0.5, reduction="none",
                                                                 weight=weights(t, [1.0, 2.0, 0.5, 1.0, 3.0])),
                                  [data(4, 5), np.array([0, 4, 2, 2])]),
    "MultiMarginLoss_unbatched": (lambda t: t.nn.MultiMarginLoss(reduction="none"), [data(5), np.array(3)]),
    "MultiLabelMarginLoss": (lambda t: t.nn.MultiLabelMarginLoss(),
                             [data(3, 4), np.array([[3, 0, -1, 1], [0, 1, 2, 3], [2, 2, -1, -1]])]),
    "MultiLabelMarginLoss_unbatched": (lambda t: t.nn.MultiLabelMarginLoss(reduction="none"),
                                       [data(4), np.array([1, -1, 0, 0])]),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_matches_pytorch(name, device):
    torch = reference_torch()
    make, inputs = LAYERS[name]
    theirs, t_in = build_twin(torch, make, inputs)
    ours, e_in = build_twin(engine, make, inputs, device)
    compare_modules(ours, theirs, e_in, t_in, device)


# ---------------------------------------------------------------------------------------------
# functional forms: name -> (fn(F, *inputs), inputs); targets are built inside, without gradients
def _t(F, array):
    return _lib(F).tensor(array)


LOSS_TARGETS = {"signs": signs(4, 3), "row_signs": signs(4), "labels": np.array([2, 0, 1, 1]),
                "multilabels": np.array([[2, -1, 0], [0, 1, 2], [1, 1, -1], [-1, 0, 0]]),
                "counts": rng.uniform(0.1, 3.0, (4, 3))}

FUNCTIONAL = {
    "prelu": (lambda F, x, w: F.prelu(x, w), [data(2, 3, 4), data(3)]),
    "prelu_scalar": (lambda F, x, w: F.prelu(x, w), [np.array(-0.7), data(1)]),
    "glu": (lambda F, x: F.glu(x, 0), [data(4, 3)]),
    "softshrink": (lambda F, x: F.softshrink(x, 0.2), [data(3, 4)]),
    "hardshrink": (lambda F, x: F.hardshrink(x, 0.7), [data(3, 4)]),
    "rrelu_eval": (lambda F, x: F.rrelu(x, 0.2, 0.4), [data(3, 4)]),
    "elu_": (lambda F, x: F.elu_(x * 1, 0.7), [data(3, 4)]),
    "leaky_relu_": (lambda F, x: F.leaky_relu_(x * 1, 0.2), [data(3, 4)]),
    "hardtanh_": (lambda F, x: F.hardtanh_(x * 1, -0.5, 0.3), [data(3, 4)]),
    "threshold_": (lambda F, x: F.threshold_(x * 1, 0.1, -2.0), [data(3, 4)]),
    "celu_": (lambda F, x: F.celu_(x * 1, 0.5), [data(3, 4)]),
    "selu_": (lambda F, x: F.selu_(x * 1), [data(3, 4)]),
    "rrelu_eval_": (lambda F, x: F.rrelu_(x * 1, 0.1, 0.5), [data(3, 4)]),
    "instance_norm_running_stats": (lambda F, x, w, b: _instance_norm_with_stats(F, x, w, b),
                                    [data(2, 3, 5), data(3), data(3)]),
    "instance_norm_use_running_stats": (lambda F, x: F.instance_norm(x, _t(F, np.linspace(-1, 1, 3)),
                                                                     _t(F, np.linspace(0.5, 2, 3)),
                                                                     use_input_stats=False), [data(2, 3, 5)]),
    "rms_norm_weight": (lambda F, x, w: F.rms_norm(x, [5], w), [data(3, 5), data(5)]),
    "rms_norm_float32": (lambda F, x: F.rms_norm(x.float(), (3, 5)), [data(2, 3, 5)], 1e-5),
    "local_response_norm": (lambda F, x: F.local_response_norm(x, 4, alpha=0.5), [data(2, 6, 3)]),
    "adaptive_avg_pool1d": (lambda F, x: F.adaptive_avg_pool1d(x, (5,)), [data(2, 3, 6)]),
    "adaptive_max_pool1d_indices": (lambda F, x: F.adaptive_max_pool1d(x, 4, return_indices=True), [data(3, 10)]),
    "lp_pool1d": (lambda F, x: F.lp_pool1d(x, 1, 2), [data(2, 3, 6)]),
    "lp_pool2d_stride": (lambda F, x: F.lp_pool2d(x, 2, (2, 3), stride=(1, 2)), [data(2, 3, 5, 7)]),
    "margin_ranking_loss": (lambda F, a, b, r: F.margin_ranking_loss(a, b, _t(F, LOSS_TARGETS["signs"]), 0.1,
                                                                     reduction=r), [data(4, 3), data(4, 3)]),
    "hinge_embedding_loss": (lambda F, x, r: F.hinge_embedding_loss(x, _t(F, LOSS_TARGETS["signs"]), 0.5,
                                                                    reduction=r), [data(4, 3)]),
    "soft_margin_loss": (lambda F, x, r: F.soft_margin_loss(x, _t(F, LOSS_TARGETS["signs"]), reduction=r),
                         [data(4, 3)]),
    "cosine_embedding_loss": (lambda F, a, b, r: F.cosine_embedding_loss(a, b, _t(F, LOSS_TARGETS["row_signs"]),
                                                                         0.1, reduction=r), [data(4, 3), data(4, 3)]),
    "triplet_margin_loss": (lambda F, a, p, n, r: F.triplet_margin_loss(a, p, n, 0.5, 3, swap=True, reduction=r),
                            [data(4, 3), data(4, 3), data(4, 3)]),
    "gaussian_nll_loss": (lambda F, x, v, r: F.gaussian_nll_loss(x, _t(F, LOSS_TARGETS["counts"]), v, True,
                                                                 reduction=r), [data(4, 3), positive(4, 1)]),
    "gaussian_nll_loss_float_var": (lambda F, x, r: F.gaussian_nll_loss(x, _t(F, LOSS_TARGETS["counts"]), 0.5,
                                                                        reduction=r), [data(4, 3)]),
    "poisson_nll_loss": (lambda F, x, r: F.poisson_nll_loss(x, _t(F, LOSS_TARGETS["counts"]), full=True,
                                                            reduction=r), [data(4, 3)]),
    "multilabel_soft_margin_loss": (lambda F, x, r: F.multilabel_soft_margin_loss(
        x, _t(F, (LOSS_TARGETS["signs"] > 0) * 1.0), reduction=r), [data(4, 3)]),
    "multi_margin_loss": (lambda F, x, r: F.multi_margin_loss(x, _t(F, LOSS_TARGETS["labels"]), 2, 0.7,
                                                              reduction=r), [data(4, 3)]),
    "multilabel_margin_loss": (lambda F, x, r: F.multilabel_margin_loss(x, _t(F, LOSS_TARGETS["multilabels"]),
                                                                        reduction=r), [data(4, 3)]),
}
LOSSES = sorted(n for n in FUNCTIONAL if "_loss" in n)  # these take the reduction last


def _instance_norm_with_stats(F, x, w, b):
    """The output, and the running statistics it updated (momentum 0.3)."""
    mean, var = _t(F, np.linspace(-1, 1, 3)), _t(F, np.linspace(0.5, 2, 3))
    out = F.instance_norm(x, mean, var, w, b, momentum=0.3)
    return out, mean, var


def _call(name, reduction):
    fn = FUNCTIONAL[name][0]
    if reduction is None:
        return (lambda *xs: fn(engine.nn.functional, *xs)), (lambda *xs: fn(reference_torch().nn.functional, *xs))
    return ((lambda *xs: fn(engine.nn.functional, *xs, reduction)),
            (lambda *xs: fn(reference_torch().nn.functional, *xs, reduction)))


@pytest.mark.parametrize("name", sorted(set(FUNCTIONAL) - set(LOSSES)))
def test_functional_matches_pytorch(name, device):
    ours, theirs = _call(name, None)
    rtol = FUNCTIONAL[name][2] if len(FUNCTIONAL[name]) > 2 else 1e-7  # float32 sums may round differently
    compare_with_torch(ours, theirs, FUNCTIONAL[name][1], device=device, names=False, rtol=rtol)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("name", LOSSES)
def test_loss_functional_matches_pytorch(name, reduction, device):
    ours, theirs = _call(name, reduction)
    compare_with_torch(ours, theirs, FUNCTIONAL[name][1], device=device, names=False)


def test_legacy_reduction_arguments():
    F = engine.nn.functional
    x, y = engine.tensor(data(4, 3)), engine.tensor(signs(4, 3))
    assert F.soft_margin_loss(x, y, size_average=False).shape == ()
    assert F.soft_margin_loss(x, y, reduce=False).shape == (4, 3)
    assert engine.nn.HingeEmbeddingLoss(reduce=False).reduction == "none"
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        F.hinge_embedding_loss(x, y, reduction="foo")


@pytest.mark.parametrize("name", ["prelu", "glu", "softshrink", "instance_norm_running_stats", "rms_norm_weight",
                                  "local_response_norm", "adaptive_avg_pool1d", "adaptive_max_pool1d_indices",
                                  "lp_pool2d_stride"])
def test_functional_gradcheck(name):
    fn, inputs = FUNCTIONAL[name]
    args = tuple(engine.tensor(v, requires_grad=True) for v in inputs)
    assert gradcheck(lambda *xs: flatten(fn(engine.nn.functional, *xs))[0], args, eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("name", ["cosine_embedding_loss", "triplet_margin_loss", "multi_margin_loss",
                                  "multilabel_margin_loss", "gaussian_nll_loss"])
def test_loss_gradcheck(name):
    fn, inputs = FUNCTIONAL[name]
    args = tuple(engine.tensor(v, requires_grad=True) for v in inputs)
    assert gradcheck(lambda *xs: fn(engine.nn.functional, *xs, "sum"), args, eps=1e-6, atol=1e-6, rtol=1e-4)


# ---------------------------------------------------------------------------------------------
# errors: the same type and message as PyTorch's
ERRORS = {
    "glu_odd": lambda F, t: F.glu(t.randn(3, 5)),
    "glu_scalar": lambda F, t: F.glu(t.randn(())),
    "prelu_channels": lambda F, t: F.prelu(t.randn(3, 4), t.ones(3)),
    "prelu_weight_2d": lambda F, t: F.prelu(t.randn(3, 4), t.ones(2, 2)),
    "rrelu_bounds": lambda F, t: F.rrelu(t.randn(3), 0.5, 0.1),
    "instance_norm_one_element": lambda F, t: F.instance_norm(t.randn(3, 4, 1)),
    "instance_norm_no_stats": lambda F, t: F.instance_norm(t.randn(3, 4, 5), use_input_stats=False),
    "rms_norm_shape": lambda F, t: F.rms_norm(t.randn(3, 4, 6), (4, 5)),
    "local_response_norm_2d": lambda F, t: F.local_response_norm(t.randn(3, 4), 2),
    "adaptive_max_pool1d_4d": lambda F, t: F.adaptive_max_pool1d(t.randn(2, 3, 4, 5), 2),
    "adaptive_avg_pool1d_1d": lambda F, t: F.adaptive_avg_pool1d(t.randn(5), 2),
    "margin_ranking_dims": lambda F, t: F.margin_ranking_loss(t.randn(5), t.randn(5), t.ones(1, 5)),
    "cosine_embedding_target_2d": lambda F, t: F.cosine_embedding_loss(t.randn(3, 4), t.randn(3, 4), t.ones(3, 1)),
    "cosine_embedding_input_dims": lambda F, t: F.cosine_embedding_loss(t.randn(3, 4, 2), t.randn(3, 4, 2),
                                                                        t.ones(3)),
    "triplet_dims": lambda F, t: F.triplet_margin_loss(t.randn(3, 4), t.randn(3, 4), t.randn(4)),
    "triplet_margin": lambda F, t: F.triplet_margin_loss(t.randn(4), t.randn(4), t.randn(4), margin=0),
    "gaussian_var_size": lambda F, t: F.gaussian_nll_loss(t.randn(5), t.randn(5), t.ones(3)),
    "gaussian_var_negative": lambda F, t: F.gaussian_nll_loss(t.randn(5), t.randn(5), -t.ones(5)),
    "gaussian_reduction": lambda F, t: F.gaussian_nll_loss(t.randn(5), t.randn(5), t.ones(5), reduction="x"),
    "poisson_reduction": lambda F, t: F.poisson_nll_loss(t.randn(5), t.randn(5), reduction="foo"),
    "multi_margin_p": lambda F, t: F.multi_margin_loss(t.randn(3, 5), t.tensor([2, 1, 0]), p=3),
    "multi_margin_target_range": lambda F, t: F.multi_margin_loss(t.randn(3, 5), t.tensor([2, 1, 7])),
    "multi_margin_target_size": lambda F, t: F.multi_margin_loss(t.randn(3, 5), t.tensor([2, 1])),
    "multi_margin_target_2d": lambda F, t: F.multi_margin_loss(t.randn(3, 5), t.tensor([[2], [1], [0]])),
    "multilabel_margin_range": lambda F, t: F.multilabel_margin_loss(t.randn(3, 5), t.full((3, 5), 7)),
    "multi_margin_weight": lambda F, t: F.multi_margin_loss(t.randn(3, 5), t.tensor([2, 1, 0]),
                                                            weight=t.ones(5, 1)),
    "multilabel_margin_size": lambda F, t: F.multilabel_margin_loss(t.randn(3, 5), t.zeros(2, 5, dtype=t.int64)),
    "Softmax2d_2d": lambda F, t: t.nn.Softmax2d()(t.randn(3, 4)),
    "InstanceNorm1d_4d": lambda F, t: t.nn.InstanceNorm1d(3)(t.randn(2, 3, 4, 5)),
    "InstanceNorm1d_features": lambda F, t: t.nn.InstanceNorm1d(3, affine=True)(t.randn(4, 5)),
    "CircularPad1d_4d": lambda F, t: t.nn.CircularPad1d(1)(t.randn(2, 3, 4, 5)),
    "CircularPad2d_2d": lambda F, t: t.nn.CircularPad2d(1)(t.randn(3, 4)),
    "TripletMarginLoss_margin": lambda F, t: t.nn.TripletMarginLoss(margin=-1.0),
    "MultiMarginLoss_p": lambda F, t: t.nn.MultiMarginLoss(p=3),
    "MultiMarginLoss_weight": lambda F, t: t.nn.MultiMarginLoss(weight=t.ones(2, 2)),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_pytorch(name):
    torch = reference_torch()
    with pytest.raises(Exception) as theirs:
        ERRORS[name](torch.nn.functional, torch)
    with pytest.raises(theirs.type) as ours:
        ERRORS[name](engine.nn.functional, engine)
    assert str(ours.value) == str(theirs.value)


def test_softshrink_negative_lambda():
    with pytest.raises(RuntimeError, match="lambda must be in range"):
        engine.nn.functional.softshrink(engine.randn(3), -1.0)


def test_instance_norm_warns_on_feature_mismatch_without_affine():
    with pytest.warns(UserWarning, match="does not match num_features"):
        engine.nn.InstanceNorm1d(3)(engine.randn(4, 5))


# ---------------------------------------------------------------------------------------------
# random layers, in-place variants, running statistics, lazy modules
def test_rrelu_training_draws_slopes_between_the_bounds(device):
    engine.manual_seed(0)
    x = engine.tensor(-np.abs(data(200, 50)) - 0.01, device=device).requires_grad_()
    layer = engine.nn.RReLU(0.1, 0.3)
    y = layer(x)
    slopes = (y / x).detach().cpu().numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and abs(slopes.mean() - 0.2) < 0.005
    assert slopes.std() > 0.05  # one slope per element, not one per call
    y.sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), slopes)  # the gradient is the slope drawn
    pos = engine.tensor(positive(10, 10), device=device)
    assert engine.equal(layer(pos), pos)
    layer.eval()
    np.testing.assert_allclose(layer(x).detach().cpu().numpy(), x.detach().cpu().numpy() * 0.2)


def test_gumbel_softmax(device):
    F = engine.nn.functional
    probs = np.array([0.6, 0.3, 0.1])
    logits = engine.tensor(np.log(np.tile(probs, (6000, 1))), device=device, requires_grad=True)
    engine.manual_seed(3)
    soft = F.gumbel_softmax(logits, tau=0.5)
    assert tuple(soft.shape) == (6000, 3) and soft.device.type == device
    np.testing.assert_allclose(soft.detach().cpu().numpy().sum(1), 1.0)
    engine.manual_seed(3)
    hard = F.gumbel_softmax(logits, tau=0.5, hard=True)
    h, s = hard.detach().cpu().numpy(), soft.detach().cpu().numpy()
    np.testing.assert_array_equal(h, np.eye(3)[s.argmax(1)])  # one-hot at the soft sample's mode
    # the category drawn follows softmax(logits)
    assert np.abs(h.mean(0) - probs).max() < 0.02
    # straight through: the hard sample's gradient is the soft sample's
    c = engine.tensor(data(6000, 3), device=device)
    g_hard = engine.autograd.grad((hard * c).sum(), logits)[0]
    g_soft = engine.autograd.grad((soft * c).sum(), logits)[0]
    np.testing.assert_allclose(g_hard.cpu().numpy(), g_soft.cpu().numpy(), rtol=1e-6, atol=1e-9)
    with pytest.warns(UserWarning, match="deprecated"):
        F.gumbel_softmax(logits, eps=1e-5, dim=0)


def test_inplace_variants_write_into_their_input():
    F = engine.nn.functional
    for fn in (F.elu_, F.leaky_relu_, F.hardtanh_, F.celu_, F.selu_, F.rrelu_, lambda x: F.threshold_(x, 0.0, 5.0)):
        x = engine.tensor(data(3, 4))
        version = x._version
        assert fn(x) is x and x._version > version
    x = engine.tensor(-np.ones(4))
    F.rrelu_(x, 0.1, 0.3, training=True)
    assert np.all((x.numpy() <= -0.1) & (x.numpy() >= -0.3))
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        F.elu_(engine.randn(3, requires_grad=True))


def test_instance_norm_running_statistics_over_steps_and_eval():
    torch = reference_torch()
    theirs = torch.nn.InstanceNorm1d(3, momentum=0.2, track_running_stats=True).double()
    ours = engine.nn.InstanceNorm1d(3, momentum=0.2, track_running_stats=True).double()
    for _ in range(3):
        x = data(4, 3, 6) * 3 + 1
        theirs(torch.tensor(x))
        ours(engine.tensor(x))
    for key in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(ours.state_dict()[key].numpy(), theirs.state_dict()[key].numpy(), rtol=1e-12)
    theirs.eval()
    ours.eval()
    x = data(2, 3, 6)
    np.testing.assert_allclose(ours(engine.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12)


def test_lazy_linear():
    torch = reference_torch()
    assert repr(engine.nn.LazyLinear(3)) == repr(torch.nn.LazyLinear(3))
    engine.manual_seed(5)
    lazy = engine.nn.LazyLinear(3).double()
    weight = lazy.weight
    optimizer = engine.optim.SGD(lazy.parameters(), lr=0.1)
    x = engine.tensor(data(4, 5))
    out = lazy(x)
    assert type(lazy) is engine.nn.Linear and lazy.in_features == 5 and lazy.weight is weight
    assert tuple(lazy.weight.shape) == (3, 5) and tuple(lazy.bias.shape) == (3,) and out.shape == (4, 3)
    torch.manual_seed(5)
    twin = torch.nn.LazyLinear(3).double()  # initialised at its first call too, in float64: the same draws
    twin(torch.tensor(x.numpy()))
    np.testing.assert_allclose(lazy.weight.detach().numpy(), twin.weight.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(lazy.bias.detach().numpy(), twin.bias.detach().numpy(), rtol=1e-12)
    before = lazy.weight.detach().numpy().copy()
    out.sum().backward()
    optimizer.step()
    assert not np.array_equal(lazy.weight.detach().numpy(), before)
    assert repr(lazy) == "Linear(in_features=5, out_features=3, bias=True)"
    assert engine.nn.LazyLinear(2, bias=False)(engine.randn(1, 4)).shape == (1, 2)


def test_padding_modules_keep_pytorch_padding_tuples():
    for cls, n in [("ZeroPad1d", 2), ("ConstantPad2d", 4), ("ReflectionPad2d", 4), ("CircularPad1d", 2)]:
        args = (1, 0.5) if cls.startswith("Constant") else (1,)
        assert getattr(engine.nn, cls)(*args).padding == (1,) * n
    assert math.isclose(engine.nn.ConstantPad1d(1, 0.5)(engine.zeros(1, 1)).sum().item(), 1.0)

"""The `torch.<name>` spellings of neural-network functions, with ATen's signatures.

`torch.batch_norm`, `torch.embedding`, `torch.kl_div`, ... are not `torch.nn.functional`'s
functions under another name: they take ATen's argument order (`torch.embedding(weight, indices)`,
`torch.batch_norm(input, weight, bias, running_mean, running_var, ...)`), its names (`train`,
`cudnn_enabled`) and its integer reductions (0 none, 1 mean, 2 sum). Each one here calls the
functional form with its arguments put right. Names whose signature is the functional one are
listed in SAME_AS_FUNCTIONAL.
"""


class _Functional:
    """nn.functional, imported when first used: it imports the engine, whose unknown names are
    looked up here, so this module must load without it."""

    def __getattr__(self, name):
        from .nn import functional
        return getattr(functional, name)


F = _Functional()

SAME_AS_FUNCTIONAL = frozenset("""conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d
bilinear cosine_similarity pairwise_distance pixel_shuffle pixel_unshuffle prelu selu celu threshold
hardshrink max_pool1d max_pool2d max_pool3d avg_pool1d adaptive_avg_pool1d channel_shuffle
native_channel_shuffle rms_norm pdist""".split())

_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


def _reduction(value):
    return _REDUCTIONS[value] if isinstance(value, int) else value


def dropout(input, p, train):
    return F.dropout(input, p, train)


def alpha_dropout(input, p, train):
    return F.alpha_dropout(input, p, train)


def feature_dropout(input, p, train):
    from .nn.functional.dropout import _feature_dropout
    return _feature_dropout(input, p, train, False, 2)  # whole channels of (N, C, ...)


def native_dropout(input, p, train):
    """(output, mask): dropout's result and the kept places, drawn as dropout draws them."""
    if train is False or p == 0.0:
        return input.clone(), input.new_ones(input.shape).bool()
    from .nn.functional.dropout import _dropout_mask
    scaled = _dropout_mask(input, p, tuple(input.shape))  # kept places 1 / (1 - p), the rest 0
    kept = scaled != 0
    if train is None:  # PyTorch's derivative then leaves the scale out: its gradient is the mask alone
        masked = input * kept
        return masked + (masked * (1.0 / (1.0 - p) - 1.0)).detach(), kept
    return input * scaled, kept


def feature_alpha_dropout(input, p, train):
    return F.feature_alpha_dropout(input, p, train)


def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled):
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps, cudnn_enabled):
    return F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05, cudnn_enable=True):
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-05, cudnn_enabled=True):
    return F.group_norm(input, num_groups, weight, bias, eps)


def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    return F.embedding(indices, weight, None if padding_idx < 0 else padding_idx,
                       scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


def rrelu(input, lower=0.125, upper=0.3333333333333333, training=False, generator=None):
    if not training:
        return F.rrelu(input, lower, upper, training)
    from .nn.functional.activation import rrelu_sampled
    return rrelu_sampled(input, lower, upper, generator)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return F.max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def adaptive_max_pool1d(input, output_size):
    return F.adaptive_max_pool1d(input, output_size, True)  # ATen's op returns the indices too


def conv_tbc(input, weight, bias, pad=0):
    """A 1-d convolution over (time, batch, channel) input with a (width, in, out) weight."""
    out = F.conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=pad)
    return out.permute(2, 0, 1)


def convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups):
    n = input.dim() - 2
    if transposed:
        conv = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[n - 1]
        return conv(input, weight, bias, stride, padding, output_padding, groups, dilation)
    return (F.conv1d, F.conv2d, F.conv3d)[n - 1](input, weight, bias, stride, padding, dilation, groups)


_MODES = ("bilinear", "nearest", "bicubic")
_PADDINGS = ("zeros", "border", "reflection")


def grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners):
    return F.grid_sample(input, grid, _MODES[interpolation_mode], _PADDINGS[padding_mode], align_corners)


def grid_sampler_2d(input, grid, interpolation_mode, padding_mode, align_corners):
    return grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners)


def grid_sampler_3d(input, grid, interpolation_mode, padding_mode, align_corners):
    return grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners)


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    return (F.linear(input, w_ih, b_ih) + F.linear(hx, w_hh, b_hh)).tanh()


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    return (F.linear(input, w_ih, b_ih) + F.linear(hx, w_hh, b_hh)).relu()


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step: hx is (h, c); gates in PyTorch's order input, forget, cell, output."""
    h, c = hx
    i, f, g, o = (F.linear(input, w_ih, b_ih) + F.linear(h, w_hh, b_hh)).chunk(4, -1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c.tanh(), c


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step: gates in PyTorch's order reset, update, new."""
    ir, iz, in_ = F.linear(input, w_ih, b_ih).chunk(3, -1)
    hr, hz, hn = F.linear(hx, w_hh, b_hh).chunk(3, -1)
    r, z = (ir + hr).sigmoid(), (iz + hz).sigmoid()
    n = (in_ + r * hn).tanh()
    return (1 - z) * n + z * hx


def affine_grid_generator(theta, size, align_corners):
    return F.affine_grid(theta, size, align_corners)


def kl_div(input, target, reduction=1, *, log_target=False):
    return F.kl_div(input, target, reduction=_reduction(reduction), log_target=log_target)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=1):
    return F.binary_cross_entropy_with_logits(input, target, weight, reduction=_reduction(reduction),
                                              pos_weight=pos_weight)


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction=1):
    return F.margin_ranking_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def hinge_embedding_loss(input, target, margin=1.0, reduction=1):
    return F.hinge_embedding_loss(input, target, margin, reduction=_reduction(reduction))


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=1):
    return F.cosine_embedding_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-06, swap=False, reduction=1):
    return F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap, reduction=_reduction(reduction))


def poisson_nll_loss(input, target, log_input, full, eps, reduction):
    return F.poisson_nll_loss(input, target, log_input, full, eps=eps, reduction=_reduction(reduction))


NAMES = frozenset(name for name, value in dict(globals()).items() if callable(value) and not name.startswith("_")
                  and getattr(value, "__module__", None) == __name__ and name != "F") | SAME_AS_FUNCTIONAL


def torch_level(name):
    """`torch.<name>` for the names above."""
    if name in SAME_AS_FUNCTIONAL:
        return getattr(F, name)
    return globals()[name]

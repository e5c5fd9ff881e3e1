"""Volumetric (3-D) convolution, pooling and padding layers, unpooling, EmbeddingBag and other
spatial layers, with PyTorch's constructors, parameter names and reprs."""
from ... import creation
from .. import functional as F, init
from ..parameter import Parameter
from .attention_layers import _ConvTransposeNd
from .conv import Conv1d, Conv2d, _ConvNd, _ntuple, _pair, _single
from .dropout import _DropoutNd
from .loss import _Loss
from .module import Module
from .more_layers import LPPool1d, PairwiseDistance, _InstanceNorm, _PadNd, ConstantPad1d, ZeroPad1d
from .normalization import BatchNorm1d, BatchNorm2d
from .pooling import _MaxPoolNd, AdaptiveAvgPool2d, AvgPool2d

__all__ = ["Conv3d", "ConvTranspose3d", "MaxPool3d", "AvgPool3d", "AdaptiveAvgPool3d", "AdaptiveMaxPool3d",
           "InstanceNorm3d", "ZeroPad3d", "ConstantPad3d", "ReflectionPad3d", "ReplicationPad3d", "CircularPad3d",
           "LPPool3d", "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d", "EmbeddingBag", "ChannelShuffle",
           "FeatureAlphaDropout", "TripletMarginWithDistanceLoss", "LazyConv1d", "LazyConv2d", "LazyConv3d",
           "LazyBatchNorm1d", "LazyBatchNorm2d"]

_triple = _ntuple(3)


# ---------------------------------------------------------------------------------------------
# convolution
class Conv3d(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, _triple(kernel_size), _triple(stride),
                         padding if isinstance(padding, str) else _triple(padding), _triple(dilation), False,
                         _triple(0), groups, bias, padding_mode, device, dtype)

    def _conv_forward(self, input, weight, bias):
        if self.padding_mode != "zeros":
            return F.conv3d(F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode), weight,
                            bias, self.stride, _triple(0), self.dilation, self.groups)
        return F.conv3d(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input):
        return self._conv_forward(input, self.weight, self.bias)


class ConvTranspose3d(_ConvTransposeNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, _triple(kernel_size), _triple(stride), _triple(padding),
                         _triple(dilation), _triple(output_padding), groups, bias, padding_mode, device, dtype)

    def forward(self, input, output_size=None):
        return F.conv_transpose3d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups, self.dilation)


# ---------------------------------------------------------------------------------------------
# pooling and unpooling
class MaxPool3d(_MaxPoolNd):
    def forward(self, input):
        return F.max_pool3d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class AvgPool3d(AvgPool2d):
    def forward(self, input):
        return F.avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


class AdaptiveAvgPool3d(AdaptiveAvgPool2d):
    def forward(self, input):
        return F.adaptive_avg_pool3d(input, self.output_size)


class AdaptiveMaxPool3d(AdaptiveAvgPool3d):
    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input):
        return F.adaptive_max_pool3d(input, self.output_size, self.return_indices)


class LPPool3d(LPPool1d):
    def forward(self, input):
        return F.lp_pool3d(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)


class _MaxUnpoolNd(Module):
    tuple_of = staticmethod(_single)

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = self.tuple_of(kernel_size)
        self.stride = self.tuple_of(stride if stride is not None else kernel_size)
        self.padding = self.tuple_of(padding)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    def forward(self, input, indices, output_size=None):
        return F.max_unpool1d(input, indices, self.kernel_size, self.stride, self.padding, output_size)


class MaxUnpool2d(_MaxUnpoolNd):
    tuple_of = staticmethod(_pair)

    def forward(self, input, indices, output_size=None):
        return F.max_unpool2d(input, indices, self.kernel_size, self.stride, self.padding, output_size)


class MaxUnpool3d(_MaxUnpoolNd):
    tuple_of = staticmethod(_triple)

    def forward(self, input, indices, output_size=None):
        return F.max_unpool3d(input, indices, self.kernel_size, self.stride, self.padding, output_size)


# ---------------------------------------------------------------------------------------------
# normalisation and padding
class InstanceNorm3d(_InstanceNorm):
    no_batch_dim = 4


class ConstantPad3d(ConstantPad1d):
    sides = 6


class ZeroPad3d(ZeroPad1d):
    sides = 6


class ReflectionPad3d(_PadNd):
    mode, sides = "reflect", 6


class ReplicationPad3d(_PadNd):
    mode, sides = "replicate", 6


class CircularPad3d(_PadNd):
    mode, sides, dims = "circular", 6, (4, 5)


# ---------------------------------------------------------------------------------------------
# embedding bags, channel shuffle, dropout, loss
class EmbeddingBag(Module):
    __constants__ = ["num_embeddings", "embedding_dim", "max_norm", "norm_type", "scale_grad_by_freq", "mode",
                     "sparse", "include_last_offset", "padding_idx"]

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
                 mode="mean", sparse=False, _weight=None, include_last_offset=False, padding_idx=None, device=None,
                 dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.max_norm, self.norm_type, self.scale_grad_by_freq = max_norm, norm_type, scale_grad_by_freq
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise AssertionError("padding_idx must be within num_embeddings")
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        if _weight is None:
            self.weight = Parameter(creation.empty((num_embeddings, embedding_dim), device=device, dtype=dtype))
            self.reset_parameters()
        else:
            if list(_weight.shape) != [num_embeddings, embedding_dim]:
                raise AssertionError("Shape of weight does not match num_embeddings and embedding_dim")
            self.weight = Parameter(_weight)
        self.mode, self.sparse, self.include_last_offset = mode, sparse, include_last_offset

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            from ...autograd import no_grad
            with no_grad():
                self.weight[self.padding_idx].fill_(0)

    def forward(self, input, offsets=None, per_sample_weights=None):
        return F.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type, self.scale_grad_by_freq,
                               self.mode, self.sparse, per_sample_weights, self.include_last_offset,
                               self.padding_idx)

    def extra_repr(self):
        s = f"{self.num_embeddings!r}, {self.embedding_dim!r}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm!r}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type!r}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq!r}"
        s += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx!r}"
        return s

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
                        mode="mean", sparse=False, include_last_offset=False, padding_idx=None):
        if embeddings.dim() != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        bag = cls(embeddings.shape[0], embeddings.shape[1], max_norm, norm_type, scale_grad_by_freq, mode, sparse,
                  embeddings, include_last_offset, padding_idx)
        bag.weight.requires_grad = not freeze
        return bag


class ChannelShuffle(Module):
    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, input):
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self):
        return f"groups={self.groups}"


class FeatureAlphaDropout(_DropoutNd):
    def forward(self, input):
        return F.feature_alpha_dropout(input, self.p, self.training)


class TripletMarginWithDistanceLoss(_Loss):
    def __init__(self, *, distance_function=None, margin=1.0, swap=False, reduction="mean"):
        super().__init__(None, None, reduction)
        if margin <= 0:
            raise ValueError(f"TripletMarginWithDistanceLoss: expected margin to be greater than 0, got {margin} "
                             "instead")
        self.distance_function = distance_function if distance_function is not None else PairwiseDistance()
        self.margin, self.swap = margin, swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_with_distance_loss(anchor, positive, negative,
                                                   distance_function=self.distance_function, margin=self.margin,
                                                   swap=self.swap, reduction=self.reduction)


# ---------------------------------------------------------------------------------------------
# lazy modules: in_channels / num_features come from the first input; the empty parameters are
# filled in place (an optimiser holding them keeps working) and the module becomes its eager class
def _materialize(module, shapes):
    for p, shape in zip((module.weight, module.bias), shapes):
        if p is not None:
            p._data = creation.empty(shape, dtype=p.dtype, device=p.device)._data
            p._version_box[0] += 1


class _LazyConvNd:
    eager, spatial = None, 0

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        # built for one group per channel, then emptied: the checks and attributes are the eager ones
        self.eager.__init__(self, groups, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                            padding_mode, device, dtype)
        self.in_channels = 0
        self.weight = Parameter(creation.empty(0, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(creation.empty(0, device=device, dtype=dtype))

    def reset_parameters(self):
        pass  # nothing to draw before the first input (the eager __init__ calls this: no random draws)

    def forward(self, input):
        self.in_channels = input.shape[0 if input.dim() == self.spatial + 1 else 1]
        if self.in_channels % self.groups:
            raise ValueError("in_channels must be divisible by groups")
        _materialize(self, ((self.out_channels, self.in_channels // self.groups, *self.kernel_size),
                            (self.out_channels,)))
        self.eager.reset_parameters(self)
        self.__class__ = self.eager
        return self.forward(input)


class LazyConv1d(_LazyConvNd, Conv1d):
    eager, spatial = Conv1d, 1


class LazyConv2d(_LazyConvNd, Conv2d):
    eager, spatial = Conv2d, 2


class LazyConv3d(_LazyConvNd, Conv3d):
    eager, spatial = Conv3d, 3


class _LazyBatchNorm:
    eager = None

    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None, dtype=None):
        self.eager.__init__(self, 0, eps, momentum, affine, track_running_stats, device, dtype)

    def reset_parameters(self):
        if self.num_features:
            self.eager.reset_parameters(self)

    def forward(self, input):
        self.num_features = input.shape[1] if input.dim() > 1 else input.shape[0]
        _materialize(self, ((self.num_features,),) * 2)
        for name in ("running_mean", "running_var"):
            buf = getattr(self, name)
            if buf is not None:
                setattr(self, name, creation.empty(self.num_features, dtype=buf.dtype, device=buf.device))
        self.reset_parameters()
        self.__class__ = self.eager
        return self.forward(input)


class LazyBatchNorm1d(_LazyBatchNorm, BatchNorm1d):
    eager = BatchNorm1d


class LazyBatchNorm2d(_LazyBatchNorm, BatchNorm2d):
    eager = BatchNorm2d

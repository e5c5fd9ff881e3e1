"""Neural-network primitives: activations, softmax, losses, normalisation, embedding, padding,
convolution and pooling, and a fused LSTM layer. Each is one graph node with PyTorch's node name.

Forwards work on raw arrays (`xp`). Convolution and pooling are vectorised with strided window
views: a convolution is one im2col copy plus one matrix product, and its backward loops only
over kernel offsets, never over pixels. Activations of convolutions are kept channels-last in
memory (an NCHW-shaped view of NHWC data), which makes the window copies contiguous.

What a forward computes and its backward reuses (im2col columns, which pooling offset won, LSTM
gates) is kept in a `Stash` passed among the op's params; it lives as long as the graph node.
VJPs take the usual math namespace `m`: on a plain backward they use NumPy directly; under
create_graph (`m is TENSOR_MATH`) they are written with differentiable tensor ops, and the bigger
kernels differentiate a composite twin built from other primitives.
"""

# every family is imported here, so importing the package declares all its ops
from .activation import (sigmoid_array, softmax, log_softmax, gelu, leaky_relu, elu, silu, softplus, hardtanh)
from .loss import mse_loss, binary_cross_entropy, binary_cross_entropy_with_logits, nll_loss
from .embedding import embedding
from .padding import constant_pad, index_pad
from .normalization import layer_norm, batch_norm
from .conv import conv2d, conv3d, unfold, fold
from .pooling import pool_out_size, max_pool_indices, max_pool2d, avg_pool2d
from .rnn import lstm_layer

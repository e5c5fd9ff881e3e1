"""nn.functional: attention, transposed convolution and resampling (re-exported by functional.py).

Everything here is a composition of existing engine ops (matmul, softmax, masked_fill, fold,
index_select, reshape/permute), so it differentiates for free and draws as real graph nodes; the
node names therefore are those of the parts, not PyTorch's fused kernels."""
import math
import warnings

import numpy as np

from .. import creation
from .._dtype import bool_
from ..ops import elementwise as _ew
from ..ops import nn as _nn
from ..ops.shape import cat
from .functional import _SCALAR_NAMES, _pair, dropout, linear, pad, softmax

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward", "conv_transpose1d", "conv_transpose2d",
           "interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "pixel_shuffle", "pixel_unshuffle"]


def _scalar_name(dtype):
    return _SCALAR_NAMES.get(dtype.name, dtype.name)


# ---------------------------------------------------------------------------------------------
# attention
def _check_sdpa(query, key, value, attn_mask, is_causal):
    if not (query.dtype is key.dtype is value.dtype):
        raise RuntimeError("Expected query, key, and value to have the same dtype, but got query.dtype: "
                           f"{_scalar_name(query.dtype)} key.dtype: {_scalar_name(key.dtype)} and value.dtype: "
                           f"{_scalar_name(value.dtype)} instead.")
    if attn_mask is not None:
        if attn_mask.dtype.name != "bool" and not attn_mask.dtype.is_floating_point:
            raise RuntimeError("Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                               f"attn_mask.dtype: {_scalar_name(attn_mask.dtype)} and  query.dtype: "
                               f"{_scalar_name(query.dtype)} instead.")
        if is_causal:
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when "
                               "is_causal=True")
    batch = math.prod(query.shape[:-2])
    # the messages of the batched products PyTorch's math path runs
    if key.shape[-1] != query.shape[-1]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{batch}, "
                           f"{query.shape[-1]}] but got: [{batch}, {key.shape[-1]}].")
    if value.shape[-2] != key.shape[-2]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{batch}, "
                           f"{key.shape[-2]}] but got: [{batch}, {value.shape[-2]}].")


def _repeat_heads(x, heads):
    """repeat_interleave along the head dim (-3): grouped-query attention shares each key/value head."""
    h = x.shape[-3]
    if h == heads:
        return x
    if heads % h:
        raise RuntimeError(f"number of heads in key/value must divide number of heads in query, got {heads} "
                           f"query heads and {h} key/value heads")
    shape = tuple(x.shape)
    return x.unsqueeze(-3).expand(*shape[:-2], heads // h, *shape[-2:]).reshape(*shape[:-3], heads, *shape[-2:])


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """softmax(Q K^T * scale + mask) V. A bool mask marks the positions that take part; a float mask
    is added to the scores. Rows whose every position is masked give zeros (PyTorch's safe softmax)."""
    _check_sdpa(query, key, value, attn_mask, is_causal)
    if enable_gqa:
        key, value = _repeat_heads(key, query.shape[-3]), _repeat_heads(value, query.shape[-3])
    factor = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = query.matmul(key.transpose(-2, -1)) * factor
    if is_causal:
        attn_mask = creation.ones((query.shape[-2], key.shape[-2]), dtype=bool_,
                                  device=query.device).tril()
    if attn_mask is None:
        weights = softmax(scores, -1)
    else:
        if attn_mask.dtype.name == "bool":
            scores = scores.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            scores = scores + attn_mask
        # fully masked rows: softmax of zeros, then zeroed, so neither forward nor backward sees NaN
        dead = (scores == float("-inf")).all(-1, keepdim=True)
        weights = _ew.where(dead, 0.0, softmax(_ew.where(dead, 0.0, scores), -1))
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p)
    return weights.matmul(value)


def _none_or_dtype(t):
    return None if t is None else t.dtype


def _canonical_mask(mask, mask_name, other_type, other_name, target_type, check_other=True):
    """A bool mask (True = masked out) as the float mask MultiheadAttention adds (-inf / 0)."""
    if mask is None:
        return None
    is_float = mask.dtype.is_floating_point
    if mask.dtype.name != "bool" and not is_float:
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    if check_other and other_type is not None and mask.dtype is not other_type:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. Use same type for both "
                      "instead.", stacklevel=3)
    if not is_float:
        mask = creation.zeros(tuple(mask.shape), dtype=target_type, device=mask.device).masked_fill(
            mask, float("-inf"))
    return mask


def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads):
    if query.dim() not in (2, 3):
        raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received {query.dim()}-D query "
                             "tensor")
    batched = query.dim() == 3
    kind, nd = ("batched (3-D)", 3) if batched else ("unbatched (2-D)", 2)
    if key.dim() != nd or value.dim() != nd:
        raise AssertionError(f"For {kind} `query`, expected `key` and `value` to be {nd}-D but found {key.dim()}-D "
                             f"and {value.dim()}-D tensors respectively")
    if key_padding_mask is not None and key_padding_mask.dim() != nd - 1:
        raise AssertionError(f"For {kind} `query`, expected `key_padding_mask` to be `None` or {nd - 1}-D but found "
                             f"{key_padding_mask.dim()}-D tensor instead")
    if attn_mask is not None:
        if attn_mask.dim() not in (2, 3):
            raise AssertionError(f"For {kind} `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found "
                                 f"{attn_mask.dim()}-D tensor instead")
        if not batched and attn_mask.dim() == 3:
            expected = (num_heads, query.shape[0], key.shape[0])
            if tuple(attn_mask.shape) != expected:
                raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got {attn_mask.shape}")
    return batched


def _in_projection(query, key, value, w_q, w_k, w_v, b_q, b_k, b_v):
    return linear(query, w_q, b_q), linear(key, w_k, b_k), linear(value, w_v, b_v)


def _in_projection_packed(query, key, value, w, b):
    if query is key and key is value:  # self-attention: one product for q, k and v
        proj = linear(query, w, b).unflatten(-1, (3, query.shape[-1]))
        return proj[..., 0, :], proj[..., 1, :], proj[..., 2, :]
    bs = (None,) * 3 if b is None else b.chunk(3)
    return _in_projection(query, key, value, *w.chunk(3), *bs)


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
                                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
                                 training=True, key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
                                 v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
                                 is_causal=False):
    """PyTorch's reference multi-head attention, (L, N, E) inputs (or unbatched (L, E))."""
    is_batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", _none_or_dtype(attn_mask), "attn_mask",
                                       query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
                           "method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the causal hint alone does it (scaled_dot_product_attention's is_causal)
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, check_other=False)
        if key_padding_mask is not None:
            is_causal = False
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"key's sequence and batch dims {key.shape[:2]} do not match value's "
                                 f"{value.shape[:2]}")
        bs = (None,) * 3 if in_proj_bias is None else in_proj_bias.chunk(3)
        q, k, v = _in_projection(query, key, value, q_proj_weight, k_proj_weight, v_proj_weight, *bs)
    else:
        if tuple(key.shape) != tuple(value.shape):
            raise AssertionError(f"key shape {key.shape} does not match value shape {value.shape}")
        q, k, v = _in_projection_packed(query, key, value, in_proj_weight, in_proj_bias)
    if attn_mask is not None:
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {attn_mask.shape}, but should be "
                                   f"{(tgt_len, src_len)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.dim() == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {attn_mask.shape}, but should be "
                                   f"{(bsz * num_heads, tgt_len, src_len)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError(f"bias cannot be added to static {'key' if static_k is not None else 'value'}.")
        k = cat([k, bias_k.repeat(1, bsz, 1)])
        v = cat([v, bias_v.repeat(1, bsz, 1)])
        attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))
    elif (bias_k is None) != (bias_v is None):
        raise AssertionError("bias_k is set but bias_v is None" if bias_v is None else
                             "bias_v is set but bias_k is None")
    # heads become part of the batch: (N * heads, length, head_dim)
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = _heads(k, static_k, bsz * num_heads, head_dim, "static_k")
    v = _heads(v, static_v, bsz * num_heads, head_dim, "static_v")
    if add_zero_attn:
        zeros = creation.zeros((bsz * num_heads, 1, head_dim), dtype=k.dtype, device=k.device)
        k, v = cat([k, zeros], 1), cat([v, zeros.to(v.dtype)], 1)
        attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))
    src_len = k.shape[1]
    if key_padding_mask is not None:
        if key_padding_mask.shape[0] != bsz:
            raise AssertionError(f"Expected key_padded_mask.shape[0] to be {bsz}, but got {key_padding_mask.shape[0]}")
        if key_padding_mask.shape[1] != src_len:
            raise AssertionError(f"Expected key_padded_mask.shape[1] to be {src_len}, but got "
                                 f"{key_padding_mask.shape[1]}")
        key_padding_mask = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(-1, num_heads, -1, -1).reshape(
            bsz * num_heads, 1, src_len)
        attn_mask = key_padding_mask if attn_mask is None else attn_mask + key_padding_mask
    if not training:
        dropout_p = 0.0
    if need_weights:
        scores = (q * math.sqrt(1.0 / float(head_dim))).bmm(k.transpose(-2, -1))
        if attn_mask is not None:
            scores = attn_mask + scores
        weights = softmax(scores, -1)
        if dropout_p > 0.0:
            weights = dropout(weights, p=dropout_p)
        out = weights.bmm(v).transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(1)
        if not is_batched:
            out, weights = out.squeeze(1), weights.squeeze(0)
        return out, weights
    if attn_mask is not None:
        attn_mask = attn_mask.unsqueeze(0) if attn_mask.shape[0] == 1 and attn_mask.dim() == 3 else \
            attn_mask.reshape(bsz, num_heads, -1, src_len)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    out = out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
    return (out if is_batched else out.squeeze(1)), None


def _heads(x, static, batch_heads, head_dim, name):
    if static is None:
        return x.reshape(x.shape[0], batch_heads, head_dim).transpose(0, 1)
    if static.shape[0] != batch_heads:
        raise AssertionError(f"expecting {name}.size(0) of {batch_heads}, but got {static.shape[0]}")
    if static.shape[2] != head_dim:
        raise AssertionError(f"expecting {name}.size(2) of {head_dim}, but got {static.shape[2]}")
    return static


# ---------------------------------------------------------------------------------------------
# transposed convolution: each input pixel scatters weight-scaled kernels, i.e. a matrix product
# into columns that fold (col2im) sums into the image
def _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, spatial, name):
    if input.dim() not in (spatial + 1, spatial + 2):
        raise RuntimeError(f"Expected {spatial + 1}D (unbatched) or {spatial + 2}D (batched) input to {name}, but "
                           f"got input of size: {list(input.shape)}")
    if input.dim() == spatial + 1:
        return _conv_transpose(input.unsqueeze(0), weight, bias, stride, padding, output_padding, groups, dilation,
                               spatial, name).squeeze(0)
    if input.dtype is not weight.dtype:
        raise RuntimeError(f"expected scalar type {input.dtype.name.capitalize()} but found "
                           f"{weight.dtype.name.capitalize()}")
    if spatial == 1:  # a height-1 image
        out = _conv_transpose(input.unsqueeze(2), weight.unsqueeze(2), bias, (1,) + _pair(stride, 1),
                              (0,) + _pair(padding, 1), (0,) + _pair(output_padding, 1), groups,
                              (1,) + _pair(dilation, 1), 2, name)
        return out.squeeze(2)
    stride, padding, output_padding, dilation = (_pair(v) for v in (stride, padding, output_padding, dilation))
    n, c, h, w = input.shape
    cin, og, kh, kw = weight.shape
    if c != cin:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected input"
                           f"{list(input.shape)} to have {cin} channels, but got {c} channels instead")
    if any(o >= s and o >= d for o, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError("output padding must be smaller than either stride or dilation, but got "
                           f"output_padding_height: {output_padding[0]} output_padding_width: {output_padding[1]} "
                           f"stride_height: {stride[0]} stride_width: {stride[1]} dilation_height: {dilation[0]} "
                           f"dilation_width: {dilation[1]}")
    # columns (N, G, out/G * kh * kw, H * W) from one batched product per group
    x = input.reshape(n, groups, c // groups, h * w)
    wg = weight.reshape(groups, c // groups, og * kh * kw).transpose(-2, -1)
    cols = wg.matmul(x).reshape(n, groups * og * kh * kw, h * w)
    full = tuple((i - 1) * s + d * (k - 1) + 1 for i, s, d, k in zip((h, w), stride, dilation, (kh, kw)))
    out = _nn.fold(cols, full, (kh, kw), dilation, (0, 0), stride)
    # crop the padding, then output_padding extends the far edges (with zeros past the full image)
    size = tuple(f - 2 * p + o for f, p, o in zip(full, padding, output_padding))
    extra = tuple(max(0, p + s - f) for p, s, f in zip(padding, size, full))
    if any(extra):
        out = pad(out, (0, extra[1], 0, extra[0]))
    if any(padding) or any(extra) or any(output_padding):
        out = out[:, :, padding[0]:padding[0] + size[0], padding[1]:padding[1] + size[1]]
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    return out


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 2,
                           "conv_transpose2d")


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 1,
                           "conv_transpose1d")


# ---------------------------------------------------------------------------------------------
# resampling: gathers along each spatial dim (index_select), blended for the linear modes; the
# source positions follow PyTorch's CPU kernels (float32 arithmetic for nearest)
_LINEAR_MODES = {"linear": 3, "bilinear": 4, "trilinear": 5}


def _nearest_index(n_in, n_out, scale, exact):
    s = np.float32(1.0 / scale if scale is not None and scale > 0 else np.float32(n_in) / np.float32(n_out))
    dst = np.arange(n_out, dtype=np.float64 if exact else np.float32)
    if exact:
        src = np.floor((dst + 0.5) * np.float64(s))
    elif n_out == n_in or n_out == 2 * n_in:  # the kernel's exact shortcuts
        src = np.arange(n_out) * n_in // n_out
    else:
        src = np.floor(dst * s)
    return np.minimum(src.astype(np.int64), n_in - 1)


def _linear_source(n_in, n_out, scale, align_corners, dtype):
    """Indices of the two neighbours and their weights, per output position."""
    if align_corners:
        s = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        src = np.arange(n_out, dtype=dtype) * dtype(s)
    else:
        s = 1.0 / scale if scale is not None and scale > 0 else n_in / n_out
        src = np.maximum(dtype(s) * (np.arange(n_out, dtype=dtype) + dtype(0.5)) - dtype(0.5), 0)
    i0 = src.astype(np.int64)
    i1 = i0 + (i0 < n_in - 1)
    lam = np.clip(src - i0, 0, 1).astype(dtype)
    return i0, i1, 1 - lam, lam


def _cubic_source(n_in, n_out, scale, align_corners, dtype):
    """The four neighbours (clamped to the edge) and their weights per output position: Keys'
    cubic convolution with A = -0.75, PyTorch's bicubic kernel."""
    if align_corners:
        s = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        src = np.arange(n_out, dtype=dtype) * dtype(s)
    else:  # unlike linear, the source coordinate is not clamped at 0
        s = 1.0 / scale if scale is not None and scale > 0 else n_in / n_out
        src = dtype(s) * (np.arange(n_out, dtype=dtype) + dtype(0.5)) - dtype(0.5)
    base = np.floor(src)
    t = (src - base).astype(dtype)
    a = -0.75

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    weights = [far(t + 1), near(t), near(1 - t), far(2 - t)]
    indices = [np.clip(base.astype(np.int64) + k, 0, n_in - 1) for k in (-1, 0, 1, 2)]
    return indices, [w.astype(dtype) for w in weights]


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: linear | bilinear | "
                             "bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    dim = input.dim() - 2
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError("Input and output must have the same number of spatial dimensions, but got input "
                                 f"with spatial dimensions of {list(input.shape[2:])} and output size of {size}. "
                                 "Please provide input tensor in (N, C, d1, d2, ...,dK) format and output size in "
                                 "(o1, o2, ...,oK) format.")
            output_size = [int(s) for s in size]
        else:
            output_size = [int(size)] * dim
        scales = [None] * dim
    elif scale_factor is not None:
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError("Input and scale_factor must have the same number of spatial dimensions, but got "
                                 f"input with spatial dimensions of {list(input.shape[2:])} and scale_factor of shape "
                                 f"{scale_factor}. Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
                                 "scale_factor in (s1, s2, ...,sK) format.")
            scales = [float(s) for s in scale_factor]
        else:
            scales = [float(scale_factor)] * dim
        output_size = [math.floor(float(n) * s) for n, s in zip(input.shape[2:], scales)]
        if recompute_scale_factor:
            scales = [None] * dim
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if antialias:
        raise NotImplementedError("antialias is not supported")
    if mode in _LINEAR_MODES and input.dim() != _LINEAR_MODES[mode]:
        if input.dim() in (3, 4, 5):
            raise NotImplementedError(f"Got {input.dim()}D input, but {mode} mode needs {_LINEAR_MODES[mode]}D input")
    if mode == "area" and input.dim() in (3, 4, 5):  # the average over each output cell's source window
        from . import functional as F, functional_spatial
        pool = {3: F.adaptive_avg_pool1d, 4: F.adaptive_avg_pool2d, 5: functional_spatial.adaptive_avg_pool3d}
        return pool[input.dim()](input, output_size)
    if mode == "bicubic" and input.dim() != 4:
        raise NotImplementedError(f"Got {input.dim()}D input, but bicubic mode needs 4D input")
    if mode not in ("nearest", "nearest-exact", "bicubic", *_LINEAR_MODES) or input.dim() not in (3, 4, 5):
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.dim()}D) for "
                                  "the modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
                                  f"nearest-exact (got {mode})")
    if any(o <= 0 for o in output_size):
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input "
                           f"({', '.join(str(s) for s in input.shape[2:])}) and output "
                           f"({', '.join(str(o) for o in output_size)})")
    out = input
    dtype = np.dtype(input.dtype.name) if input.dtype.is_floating_point else np.float32
    for d, (n_in, n_out, scale) in enumerate(zip(input.shape[2:], output_size, scales)):
        axis = d + 2
        if mode.startswith("nearest"):
            out = out.index_select(axis, _index(_nearest_index(n_in, n_out, scale, mode == "nearest-exact"), input))
            continue
        shape = (n_out,) + (1,) * (input.dim() - axis - 1)
        if mode == "bicubic":
            indices, weights = _cubic_source(n_in, n_out, scale, align_corners, dtype.type)
            taps = [out.index_select(axis, _index(i, input)) *
                    creation.tensor(w.reshape(shape), dtype=input.dtype, device=input.device)
                    for i, w in zip(indices, weights)]
            out = taps[0] + taps[1] + taps[2] + taps[3]
            continue
        i0, i1, w0, w1 = _linear_source(n_in, n_out, scale, align_corners, dtype.type)
        shape = (n_out,) + (1,) * (input.dim() - axis - 1)
        w0, w1 = (creation.tensor(w.reshape(shape), dtype=input.dtype, device=input.device) for w in (w0, w1))
        out = out.index_select(axis, _index(i0, input)) * w0 + out.index_select(axis, _index(i1, input)) * w1
    return out


def _index(array, like):
    return creation.tensor(array, device=like.device)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ---------------------------------------------------------------------------------------------
# pixel (un)shuffle: channels <-> space blocks, one reshape-permute-reshape
def pixel_shuffle(input, upscale_factor):
    r = int(upscale_factor)
    if input.dim() < 3:
        raise RuntimeError("pixel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.dim()} dimension(s)")
    *batch, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError("pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                           f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    b = len(batch)
    x = input.reshape(*batch, c // (r * r), r, r, h, w).permute(*range(b), b, b + 3, b + 1, b + 4, b + 2)
    return x.reshape(*batch, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    r = int(downscale_factor)
    if input.dim() < 3:
        raise RuntimeError("pixel_unshuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.dim()} dimension(s)")
    *batch, c, h, w = input.shape
    for name, n, i in (("height", h, -2), ("width", w, -1)):
        if n % r:
            raise RuntimeError(f"pixel_unshuffle expects {name} to be divisible by downscale_factor, but "
                               f"input.size({i})={n} is not divisible by {r}")
    b = len(batch)
    x = input.reshape(*batch, c, h // r, r, w // r, r).permute(*range(b), b, b + 2, b + 4, b + 1, b + 3)
    return x.reshape(*batch, c * r * r, h // r, w // r)

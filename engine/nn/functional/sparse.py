"""Embedding lookups (single rows and bags) and one_hot."""
import math
import warnings

import numpy as np

from ... import creation
from ..._dtype import int64
from ...ops import elementwise as _ew
from ...ops import nn as _nn
from ...tensor import Tensor
from ._utils import _on


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    if input.dtype.name not in ("int64", "int32"):
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got torch.{input.dtype.title}Tensor instead (while checking arguments "
                           "for embedding)")
    n = weight.shape[0]
    if padding_idx is not None:
        if padding_idx > 0:
            if padding_idx >= n:
                raise AssertionError("Padding_idx must be within num_embeddings")
        elif padding_idx < 0:
            if padding_idx < -n:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx = n + padding_idx
    idx = input._data
    if idx.size and (idx.max() >= n or idx.min() < 0):
        raise IndexError("index out of range in self")
    if max_norm is not None:
        _embedding_renorm(weight, idx, max_norm, norm_type)
    return _nn.embedding(weight, idx, padding_idx, scale_grad_by_freq)


def _embedding_renorm(weight, idx, max_norm, norm_type):
    xp = weight._xp
    rows = xp.unique(idx.reshape(-1))
    data = weight._data
    norms = xp.linalg.norm(data[rows], ord=norm_type, axis=1) if norm_type != 2 else \
        xp.sqrt((data[rows] ** 2).sum(axis=1))
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
    data[rows] *= scale[:, None].astype(data.dtype)
    weight._version_box[0] += 1


def one_hot(input, num_classes=-1):
    tensor = input
    if tensor.dtype is not int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    data = tensor._host()
    if data.size and data.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        if data.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(data.max()) + 1
    elif data.size and data.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    out = (data[..., None] == np.arange(num_classes)).astype(np.int64)
    result = Tensor._make(out)
    return result.to(tensor.device) if tensor.device.type != "cpu" else result


# max over the bags' rows padded to the longest bag with -inf
def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean",
                  sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    if weight.dtype.name in ("int64", "int32") and input.dtype.is_floating_point:
        warnings.warn("Argument order of nn.functional.embedding_bag was changed. Usage `embedding_bag(weight, "
                      "input, ...)` is deprecated, and should now be `embedding_bag(input, weight, ...)`.",
                      stacklevel=2)
        weight, input = input, weight
    if per_sample_weights is not None and tuple(input.shape) != tuple(per_sample_weights.shape):
        raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is not None, then it "
                         f"must have the same shape as the input ({input.shape})")
    if weight.dim() != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension {weight.dim()}")
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a mini-batch of "
                             f"fixed length sequences. However, found offsets of type {type(offsets)}")
        starts = np.arange(0, input.numel(), max(input.shape[1], 1))[:input.shape[0]]
        include_last_offset = False
        input = input.reshape(-1)
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.reshape(-1)
    elif input.dim() == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.dim() != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        starts = offsets._host().astype(np.int64)
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.dim()}")
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise ValueError("max mode does not support sparse weights")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError("embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                  f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
                                  "GitHub.")
    count = input.shape[0]
    if starts.size and starts[0] != 0:
        raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start from "
                           f"position 0. However, got {int(starts[0])}")
    if include_last_offset:  # one bag fewer; the last still runs to the end of the input (PyTorch's CPU kernel)
        starts = starts[:-1]
    ends = np.minimum(np.append(starts[1:], count), count)
    if max_norm is not None:
        _embedding_renorm(weight, input._data, max_norm, norm_type)
    idx = input._host().astype(np.int64)
    if idx.size and (idx.max() >= weight.shape[0] or idx.min() < 0):
        raise IndexError("index out of range in self")
    kept = np.ones(count, dtype=bool) if padding_idx is None else idx != padding_idx % weight.shape[0]
    pos = np.arange(count)
    member = (pos >= starts[:, None]) & (pos < ends[:, None]) & kept  # (bags, indices)
    rows = embedding(input, weight)
    if mode == "max":
        width = max(int(member.sum(1).max()) if member.size else 0, 1)
        # each bag's kept positions, padded with a position whose row is masked to -inf
        order = np.argsort(~member, axis=1, kind="stable")[:, :width]
        valid = np.take_along_axis(member, order, 1)
        picked = rows[_on(order.reshape(-1), weight)].reshape(len(starts), width, -1)
        picked = picked.masked_fill(_on(~valid[..., None], weight), -math.inf)
        out = picked.max(1)[0]
        return _ew.where(_on(valid.any(1, keepdims=True), weight), out, 0.0)
    bags = member.astype(np.float64)
    if mode == "mean":
        bags /= np.maximum(bags.sum(1, keepdims=True), 1)
    bags = creation.tensor(bags, dtype=weight.dtype, device=weight.device)
    if per_sample_weights is not None:
        bags = bags * per_sample_weights
    return bags.matmul(rows)

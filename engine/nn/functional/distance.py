"""Distances: cosine similarity, pairwise and condensed (pdist) distances."""
import numpy as np

from ._utils import _on


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    # as PyTorch: each input divided by its (clamped) norm, then the product summed (SumBackward1)
    x1 = x1 / x1.norm(2, dim, keepdim=True).clamp_min(eps)
    x2 = x2 / x2.norm(2, dim, keepdim=True).clamp_min(eps)
    return (x1 * x2).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    return (x1 - x2 + eps).norm(p, -1, keepdim)


def pdist(input, p=2):
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    i, j = np.triu_indices(input.shape[0], 1)
    return (input[_on(i, input)] - input[_on(j, input)]).norm(p, 1)

"""nn.functional: volumetric (3-D) convolution and pooling, unpooling, grid sampling, bags of
embeddings and other spatial helpers (re-exported by functional.py)."""

__all__ = []

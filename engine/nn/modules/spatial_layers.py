"""Volumetric (3-D) convolution, pooling and padding layers, unpooling, EmbeddingBag and other
spatial layers."""

__all__ = []

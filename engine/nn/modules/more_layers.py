"""More activations, padding, normalisation, pooling, distance and loss modules."""

__all__ = []

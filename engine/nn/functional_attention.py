"""nn.functional: attention, transposed convolution and resampling (re-exported by functional.py)."""

__all__ = []

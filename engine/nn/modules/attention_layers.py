"""Attention and transformer layers, transposed convolutions and upsampling."""

__all__ = []

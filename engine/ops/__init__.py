"""Primitive ops, one place each: forward, VJP and PyTorch's node name side by side."""

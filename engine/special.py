"""`torch.special`: PyTorch's special-functions namespace (the functions live in engine/ops)."""

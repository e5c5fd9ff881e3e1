"""`torch.linalg`: PyTorch's linear-algebra namespace (the functions live in engine/ops)."""

"""`torch.distributions`: probability distributions with PyTorch's API (sample, rsample, log_prob,
entropy, kl_divergence)."""

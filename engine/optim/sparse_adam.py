"""`torch.optim.SparseAdam`, PyTorch's single-tensor formula.

As in adam.py, the update runs on the parameter's raw arrays with NumPy ufuncs (CuPy's on the cuda
device) and reuses `_scratch` work arrays; scalar state that PyTorch keeps as float32 0-d tensors is kept
the same way, so it rounds as PyTorch's does and state dicts load across.
"""
import math

import numpy as np

from ._arrays import _check, _done, _grads
from .optimizer import Optimizer


class SparseAdam(Optimizer):
    """Adam on the stored entries of a sparse gradient only. The engine has no sparse layout: a dense
    gradient stands for its sparse form, `grad.to_sparse()`, whose stored entries are the nonzero ones
    (PyTorch itself refuses dense gradients)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False):
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        _check(lr, betas=betas)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "maximize": maximize}
        super().__init__(params, defaults)
        complex_params = [[i, j] for i, group in enumerate(self.param_groups)
                          for j, p in enumerate(group["params"]) if p.is_complex()]
        if complex_params:
            raise ValueError(f"Complex params at indices {complex_params}: SparseAdam does not support complex "
                             "parameters")

    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            for p, grad in _grads(group):
                state = self.state[p]
                state["step"] = step = state.get("step", 0) + 1  # a Python int, as in PyTorch
                exp_avg = self._lazy_state(p, "exp_avg")
                exp_avg_sq = self._lazy_state(p, "exp_avg_sq")
                mask = grad != 0
                if not mask.any():
                    continue
                values = grad[mask]
                old_exp_avg, old_exp_avg_sq = exp_avg[mask], exp_avg_sq[mask]
                exp_avg_update = (values - old_exp_avg) * (1 - beta1)
                exp_avg_sq_update = (values * values - old_exp_avg_sq) * (1 - beta2)
                exp_avg[mask] = old_exp_avg + exp_avg_update
                exp_avg_sq[mask] = old_exp_avg_sq + exp_avg_sq_update
                numer = exp_avg_update + old_exp_avg
                denom = np.sqrt(exp_avg_sq_update + old_exp_avg_sq) + eps
                step_size = lr * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
                p._data[mask] += -step_size * (numer / denom)
                _done(p)
        return loss

"""`torch.optim.Rprop`, PyTorch's single-tensor formula.

As in adam.py, the update runs on the parameter's raw arrays with NumPy ufuncs (CuPy's on the cuda
device) and reuses `_scratch` work arrays; scalar state that PyTorch keeps as float32 0-d tensors is kept
the same way, so it rounds as PyTorch's does and state dicts load across.
"""
import numpy as np

from ._arrays import _check, _done, _grads
from .optimizer import Optimizer, _step_tensor


class Rprop(Optimizer):
    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, capturable=False, foreach=None,
                 maximize=False, differentiable=False):
        _check(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = {"lr": lr, "etas": etas, "step_sizes": step_sizes, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            etaminus, etaplus = group["etas"]
            step_size_min, step_size_max = group["step_sizes"]
            for p, grad in _grads(group):
                _step_tensor(self.state[p])
                prev = self._lazy_state(p, "prev")
                step_size = self._lazy_state(p, "step_size", group["lr"])
                sign = self._scratch(p)
                np.multiply(grad, prev, out=sign)
                np.sign(sign, out=sign)
                sign[sign > 0] = etaplus
                sign[sign < 0] = etaminus
                sign[sign == 0] = 1
                step_size *= sign
                np.clip(step_size, step_size_min, step_size_max, out=step_size)
                # where the gradient changed sign: no step now, and no sign comparison next time
                prev[...] = grad
                prev[sign == etaminus] = 0
                np.sign(prev, out=sign)
                sign *= step_size
                p._data -= sign
                _done(p)
        return loss

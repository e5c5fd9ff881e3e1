"""`torch.optim.Adadelta`, PyTorch's single-tensor formula.

As in adam.py, the update runs on the parameter's raw arrays with NumPy ufuncs (CuPy's on the cuda
device) and reuses `_scratch` work arrays; scalar state that PyTorch keeps as float32 0-d tensors is kept
the same way, so it rounds as PyTorch's does and state dicts load across.
"""
import numpy as np

from ._arrays import _check, _done, _ema_sq_, _grads, _l2
from .optimizer import Optimizer, _step_tensor


class Adadelta(Optimizer):
    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check(lr, eps, weight_decay=weight_decay)
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay, "maximize": maximize,
                    "capturable": capturable, "foreach": foreach, "differentiable": differentiable}
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, rho, eps = group["lr"], group["rho"], group["eps"]
            for p, grad in _grads(group):
                _step_tensor(self.state[p])
                square_avg = self._lazy_state(p, "square_avg")
                acc_delta = self._lazy_state(p, "acc_delta")
                grad = _l2(grad, p, group["weight_decay"])
                tmp, std = self._scratch(p), self._scratch(p, 1)
                _ema_sq_(square_avg, grad, rho, tmp)
                np.add(square_avg, eps, out=std)
                np.sqrt(std, out=std)
                delta = tmp
                np.add(acc_delta, eps, out=delta)
                np.sqrt(delta, out=delta)
                delta /= std
                delta *= grad
                _ema_sq_(acc_delta, delta, rho, std)
                delta *= -lr
                p._data += delta
                _done(p)
        return loss

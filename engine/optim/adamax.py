"""`torch.optim.Adamax`, PyTorch's single-tensor formula.

As in adam.py, the update runs on the parameter's raw arrays with NumPy ufuncs (CuPy's on the cuda
device) and reuses `_scratch` work arrays; scalar state that PyTorch keeps as float32 0-d tensors is kept
the same way, so it rounds as PyTorch's does and state dicts load across.
"""
import numpy as np

from ._arrays import _check, _done, _grads, _l2, _lerp_
from .optimizer import Optimizer, _step_tensor


class Adamax(Optimizer):
    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        _check(lr, eps, betas, weight_decay)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            for p, grad in _grads(group):
                step = _step_tensor(self.state[p])
                exp_avg = self._lazy_state(p, "exp_avg")
                exp_inf = self._lazy_state(p, "exp_inf")
                grad = _l2(grad, p, group["weight_decay"])
                tmp = self._scratch(p)
                _lerp_(exp_avg, grad, 1 - beta1, tmp)
                exp_inf *= beta2
                np.abs(grad, out=tmp)
                tmp += eps
                np.maximum(exp_inf, tmp, out=exp_inf)
                clr = lr / (1 - beta1 ** step)
                np.divide(exp_avg, exp_inf, out=tmp)
                tmp *= -clr
                p._data += tmp
                _done(p)
        return loss

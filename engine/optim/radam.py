"""`torch.optim.RAdam`, PyTorch's single-tensor formula.

As in adam.py, the update runs on the parameter's raw arrays with NumPy ufuncs (CuPy's on the cuda
device) and reuses `_scratch` work arrays; scalar state that PyTorch keeps as float32 0-d tensors is kept
the same way, so it rounds as PyTorch's does and state dicts load across.
"""
import numpy as np

from ._arrays import _check, _done, _ema_sq_, _grads, _lerp_
from .optimizer import Optimizer, _step_tensor


class RAdam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
                 *, foreach=None, maximize=False, capturable=False, differentiable=False):
        _check(lr, eps, betas, weight_decay)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "maximize": maximize,
                    "foreach": foreach, "capturable": capturable, "decoupled_weight_decay": decoupled_weight_decay,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps, weight_decay = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p, grad in _grads(group):
                step = _step_tensor(self.state[p])
                exp_avg = self._lazy_state(p, "exp_avg")
                exp_avg_sq = self._lazy_state(p, "exp_avg_sq")
                if weight_decay != 0 and group["decoupled_weight_decay"]:
                    p._data *= 1 - lr * weight_decay
                elif weight_decay != 0:
                    grad = grad + weight_decay * p._data
                tmp, adaptive = self._scratch(p), self._scratch(p, 1)
                _lerp_(exp_avg, grad, 1 - beta1, tmp)
                _ema_sq_(exp_avg_sq, grad, beta2, tmp)
                bias_correction1 = 1 - beta1 ** step
                bias_correction2 = 1 - beta2 ** step
                rho_inf = 2 / (1 - beta2) - 1  # the maximum length of the approximated SMA
                rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
                np.divide(exp_avg, bias_correction1, out=tmp)
                tmp *= lr
                if rho_t > 5.0:  # the variance is tractable: rectify the adaptive step
                    np.sqrt(exp_avg_sq, out=adaptive)
                    adaptive += eps
                    np.divide(bias_correction2 ** 0.5, adaptive, out=adaptive)
                    tmp *= adaptive
                    tmp *= ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                p._data -= tmp
                _done(p)
        return loss

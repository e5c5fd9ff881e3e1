"""`torch.optim.NAdam`, PyTorch's single-tensor formula.

As in adam.py, the update runs on the parameter's raw arrays with NumPy ufuncs (CuPy's on the cuda
device) and reuses `_scratch` work arrays; scalar state that PyTorch keeps as float32 0-d tensors is kept
the same way, so it rounds as PyTorch's does and state dicts load across.
"""
import numpy as np

from ._arrays import _check, _done, _ema_sq_, _grads, _lerp_
from .optimizer import Optimizer, _state_tensor, _step_tensor


class NAdam(Optimizer):
    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        _check(lr, eps, betas, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "momentum_decay": momentum_decay, "decoupled_weight_decay": decoupled_weight_decay,
                    "maximize": maximize, "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            weight_decay, momentum_decay = group["weight_decay"], group["momentum_decay"]
            for p, grad in _grads(group):
                state = self.state[p]
                step = _step_tensor(state)
                if "mu_product" not in state:
                    state["mu_product"] = _state_tensor(np.ones((), dtype=np.float32))
                exp_avg = self._lazy_state(p, "exp_avg")
                exp_avg_sq = self._lazy_state(p, "exp_avg_sq")
                bias_correction2 = 1 - beta2 ** step
                if weight_decay != 0 and group["decoupled_weight_decay"]:
                    p._data *= 1 - lr * weight_decay
                elif weight_decay != 0:
                    grad = grad + weight_decay * p._data
                mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
                mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
                mu_product = state["mu_product"]._data
                mu_product *= mu  # in float32, as PyTorch's
                mu_product = float(mu_product)
                tmp, denom = self._scratch(p), self._scratch(p, 1)
                _lerp_(exp_avg, grad, 1 - beta1, tmp)
                _ema_sq_(exp_avg_sq, grad, beta2, tmp)
                np.divide(exp_avg_sq, bias_correction2, out=denom)
                np.sqrt(denom, out=denom)
                denom += eps
                np.divide(grad, denom, out=tmp)
                tmp *= -lr * (1.0 - mu) / (1.0 - mu_product)
                p._data += tmp
                np.divide(exp_avg, denom, out=tmp)
                tmp *= (-lr * mu_next) / (1.0 - mu_product * mu_next)
                p._data += tmp
                _done(p)
        return loss

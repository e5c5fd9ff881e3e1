"""`torch.optim.Adam` (and the decoupled weight decay AdamW sets), with amsgrad and maximize, PyTorch's
single-tensor formula."""
import numpy as np

from . import _fused
from .optimizer import Optimizer, _step_tensor


class Adam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False, fused=None, decoupled_weight_decay=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "betas": tuple(float(b) for b in betas), "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize, "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable, "fused": fused, "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("amsgrad", False)
            group.setdefault("maximize", False)
            group.setdefault("decoupled_weight_decay", False)

    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            lr = group["lr"]
            beta1, beta2 = group["betas"]
            eps = group["eps"]
            weight_decay = group["weight_decay"]
            amsgrad = group["amsgrad"]
            maximize = group["maximize"]
            decoupled = group["decoupled_weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                exp_avg = self._lazy_state(p, "exp_avg")
                exp_avg_sq = self._lazy_state(p, "exp_avg_sq")
                max_exp_avg_sq = self._lazy_state(p, "max_exp_avg_sq") if amsgrad else None
                step = _step_tensor(state)
                bias_correction1 = 1 - beta1 ** step
                bias_correction2 = 1 - beta2 ** step
                step_size = lr / bias_correction1
                bias_correction2_sqrt = bias_correction2 ** 0.5
                param = p._data
                fused = _fused.adam(p._xp, maximize, weight_decay != 0 and not decoupled,
                                    weight_decay != 0 and decoupled, amsgrad)
                if fused is not None:
                    outputs = (param, exp_avg, exp_avg_sq) + ((max_exp_avg_sq,) if amsgrad else ())
                    fused(p.grad._data, weight_decay, 1 - lr * weight_decay, 1 - beta1, beta2, 1 - beta2,
                          bias_correction2_sqrt, eps, -step_size, *outputs)
                    p._version_box[0] += 1
                    continue
                grad = p.grad._data
                if maximize:
                    grad = -grad
                if weight_decay != 0:
                    if decoupled:
                        param *= 1 - lr * weight_decay
                    else:
                        grad = grad + weight_decay * param
                # exp_avg.lerp_(grad, 1 - beta1); exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                tmp = self._scratch(p)
                np.subtract(grad, exp_avg, out=tmp)
                tmp *= 1 - beta1
                exp_avg += tmp
                exp_avg_sq *= beta2
                np.multiply(grad, grad, out=tmp)
                tmp *= 1 - beta2
                exp_avg_sq += tmp
                denom = self._scratch(p, 1)
                if amsgrad:
                    np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
                    np.sqrt(max_exp_avg_sq, out=denom)
                else:
                    np.sqrt(exp_avg_sq, out=denom)
                denom /= bias_correction2_sqrt
                denom += eps
                np.divide(exp_avg, denom, out=tmp)
                tmp *= -step_size
                param += tmp
                p._version_box[0] += 1
        return loss

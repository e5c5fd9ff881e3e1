"""`torch.optim.RMSprop` (centered, momentum, weight decay, maximize), PyTorch's single-tensor formula."""
import numpy as np

from .optimizer import Optimizer, _step_tensor


class RMSprop(Optimizer):
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps, "centered": centered,
                    "weight_decay": weight_decay, "capturable": capturable, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            weight_decay, momentum = group["weight_decay"], group["momentum"]
            centered, maximize = group["centered"], group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad._data
                if maximize:
                    grad = -grad
                state = self.state[p]
                square_avg = self._lazy_state(p, "square_avg")
                if momentum > 0:
                    buf = self._lazy_state(p, "momentum_buffer")
                if centered:
                    grad_avg = self._lazy_state(p, "grad_avg")
                _step_tensor(state)
                param = p._data
                if weight_decay != 0:
                    grad = grad + weight_decay * param
                square_avg *= alpha
                tmp = self._scratch(p)
                np.multiply(grad, grad, out=tmp)
                tmp *= 1 - alpha
                square_avg += tmp
                avg = self._scratch(p, 1)
                if centered:
                    np.subtract(grad, grad_avg, out=tmp)
                    tmp *= 1 - alpha
                    grad_avg += tmp
                    np.multiply(grad_avg, grad_avg, out=avg)
                    np.subtract(square_avg, avg, out=avg)
                    np.sqrt(avg, out=avg)
                else:
                    np.sqrt(square_avg, out=avg)
                avg += eps
                if momentum > 0:
                    buf *= momentum
                    np.divide(grad, avg, out=tmp)
                    buf += tmp
                    param -= lr * buf
                else:
                    np.divide(grad, avg, out=tmp)
                    tmp *= -lr
                    param += tmp
                p._version_box[0] += 1
        return loss

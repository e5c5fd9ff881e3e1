"""Stochastic gradient descent with momentum, dampening, Nesterov momentum, weight decay and maximize."""
import numpy as np

from . import _fused
from .optimizer import Optimizer, required, _state_tensor


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize=False,
                 foreach=None, differentiable=False, fused=None):
        if lr is not required and lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay,
                    "nesterov": nesterov, "maximize": maximize, "foreach": foreach, "differentiable": differentiable,
                    "fused": fused}
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)

    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            lr = group["lr"]
            momentum = group["momentum"]
            dampening = group["dampening"]
            weight_decay = group["weight_decay"]
            nesterov = group["nesterov"]
            maximize = group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad._data
                param = p._data
                buf = self.state[p].get("momentum_buffer") if momentum != 0 else None
                fused = None if buf is None else _fused.sgd_momentum(p._xp, maximize, weight_decay != 0, dampening,
                                                                      nesterov)
                if fused is not None:
                    fused(grad, weight_decay, momentum, 1 - dampening, -lr, param, buf._data)
                    p._version_box[0] += 1
                    continue
                if maximize:
                    grad = -grad
                if weight_decay != 0:
                    grad = grad + weight_decay * param
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = _state_tensor(grad.copy())  # on grad's device
                        b = buf._data
                    else:
                        b = buf._data
                        b *= momentum
                        if dampening:
                            b += (1 - dampening) * grad
                        else:
                            b += grad
                    grad = grad + momentum * b if nesterov else b
                # param.add_(grad, alpha=-lr), without a fresh temporary
                tmp = self._scratch(p)
                np.multiply(grad, -lr, out=tmp)
                param += tmp
                p._version_box[0] += 1
        return loss

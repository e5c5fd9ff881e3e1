"""`torch.optim.Adagrad`."""
import numpy as np

from .optimizer import Optimizer, _state_tensor, _step_tensor


class Adagrad(Optimizer):
    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                state["step"] = _state_tensor(np.zeros((), dtype=np.float32))
                self._lazy_state(p, "sum", group["initial_accumulator_value"])

    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad._data
                if group["maximize"]:
                    grad = -grad
                state = self.state[p]
                step = _step_tensor(state)
                if group["weight_decay"] != 0:
                    grad = grad + group["weight_decay"] * p._data
                clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
                acc = state["sum"]._data
                acc += grad * grad
                std = np.empty_like(acc)
                np.sqrt(acc, out=std)
                std += group["eps"]
                p._data -= clr * (grad / std)
                p._version_box[0] += 1
        return loss

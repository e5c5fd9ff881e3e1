"""`torch.optim.ASGD`, PyTorch's single-tensor formula.

As in adam.py, the update runs on the parameter's raw arrays with NumPy ufuncs (CuPy's on the cuda
device) and reuses `_scratch` work arrays; scalar state that PyTorch keeps as float32 0-d tensors is kept
the same way, so it rounds as PyTorch's does and state dicts load across.
"""
import numpy as np

from ._arrays import _check, _done, _grads, _l2
from .optimizer import Optimizer, _state_tensor, _step_tensor


class ASGD(Optimizer):
    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, foreach=None,
                 maximize=False, differentiable=False, capturable=False):
        _check(lr, weight_decay=weight_decay)
        defaults = {"lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0, "weight_decay": weight_decay,
                    "foreach": foreach, "maximize": maximize, "differentiable": differentiable,
                    "capturable": capturable}
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, lambd, alpha, t0 = group["lr"], group["lambd"], group["alpha"], group["t0"]
            for p, grad in _grads(group):
                state = self.state[p]
                if not state:  # PyTorch keeps all of ASGD's scalars with the parameter
                    for key, value in (("step", 0.0), ("eta", lr), ("mu", 1.0)):
                        state[key] = _state_tensor(p._xp.full((), value, dtype=np.float32))
                step = _step_tensor(state)
                ax = self._lazy_state(p, "ax")
                grad = _l2(grad, p, group["weight_decay"])
                eta, mu = state["eta"]._data, state["mu"]._data
                eta_value = float(eta)
                param = p._data
                param *= 1 - lambd * eta_value
                tmp = self._scratch(p)
                np.multiply(grad, -eta_value, out=tmp)
                param += tmp
                mu_value = float(mu)
                if mu_value != 1:
                    np.subtract(param, ax, out=tmp)
                    tmp *= mu_value
                    ax += tmp
                else:
                    ax[...] = param
                # PyTorch makes these float32 tensors first (torch.as_tensor), whatever eta's dtype
                eta[...] = float(np.float32(lr / ((1 + lambd * lr * step) ** alpha)))
                mu[...] = float(np.float32(1 / max(1, step - t0)))
                _done(p)
        return loss

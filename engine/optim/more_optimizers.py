"""Adadelta, Adamax, NAdam, RAdam, Rprop, ASGD and SparseAdam, PyTorch's single-tensor formulas.

As in adam.py, each update runs on the parameter's raw arrays with NumPy ufuncs (CuPy's on the cuda
device) and reuses `_scratch` work arrays. Scalar state that PyTorch keeps as float32 0-d tensors
(step, NAdam's mu_product, ASGD's eta and mu) is kept the same way, so it rounds as PyTorch's does
and state dicts load across.
"""
import math

import numpy as np

from .optimizer import Optimizer, _step_tensor, _state_tensor

__all__ = ["Adadelta", "Adamax", "NAdam", "RAdam", "Rprop", "ASGD", "SparseAdam"]


def _check(lr, eps=None, betas=None, weight_decay=None):
    """PyTorch's argument checks, in its order."""
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if eps is not None and not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    for i, beta in enumerate(betas or ()):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
    if weight_decay is not None and not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


def _grads(group):
    """(p, grad) for the group's parameters that have a gradient; maximize and L2 weight decay applied
    (in new arrays: the gradient itself is never written)."""
    for p in group["params"]:
        if p.grad is None:
            continue
        grad = p.grad._data
        if group.get("maximize"):
            grad = -grad
        yield p, grad


def _l2(grad, p, weight_decay):
    return grad + weight_decay * p._data if weight_decay != 0 else grad


def _lerp_(avg, end, weight, tmp):
    """avg.lerp_(end, weight) with PyTorch's two-sided formula (exact at weight 0 and 1)."""
    np.subtract(end, avg, out=tmp)
    if weight < 0.5:
        tmp *= weight
        avg += tmp
    else:
        tmp *= 1 - weight
        np.subtract(end, tmp, out=avg)


def _ema_sq_(avg_sq, grad, beta, tmp):
    """avg_sq.mul_(beta).addcmul_(grad, grad, value=1 - beta)"""
    avg_sq *= beta
    np.multiply(grad, grad, out=tmp)
    tmp *= 1 - beta
    avg_sq += tmp


def _done(p):
    p._version_box[0] += 1


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


class SparseAdam(Optimizer):
    """Adam on the stored entries of a sparse gradient only. The engine has no sparse layout: a dense
    gradient stands for its sparse form, `grad.to_sparse()`, whose stored entries are the nonzero ones
    (PyTorch itself refuses dense gradients)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False):
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        _check(lr, betas=betas)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "maximize": maximize}
        super().__init__(params, defaults)
        complex_params = [[i, j] for i, group in enumerate(self.param_groups)
                          for j, p in enumerate(group["params"]) if p.is_complex()]
        if complex_params:
            raise ValueError(f"Complex params at indices {complex_params}: SparseAdam does not support complex "
                             "parameters")

    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            for p, grad in _grads(group):
                state = self.state[p]
                state["step"] = step = state.get("step", 0) + 1  # a Python int, as in PyTorch
                exp_avg = self._lazy_state(p, "exp_avg")
                exp_avg_sq = self._lazy_state(p, "exp_avg_sq")
                mask = grad != 0
                if not mask.any():
                    continue
                values = grad[mask]
                old_exp_avg, old_exp_avg_sq = exp_avg[mask], exp_avg_sq[mask]
                exp_avg_update = (values - old_exp_avg) * (1 - beta1)
                exp_avg_sq_update = (values * values - old_exp_avg_sq) * (1 - beta2)
                exp_avg[mask] = old_exp_avg + exp_avg_update
                exp_avg_sq[mask] = old_exp_avg_sq + exp_avg_sq_update
                numer = exp_avg_update + old_exp_avg
                denom = np.sqrt(exp_avg_sq_update + old_exp_avg_sq) + eps
                step_size = lr * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
                p._data[mask] += -step_size * (numer / denom)
                _done(p)
        return loss

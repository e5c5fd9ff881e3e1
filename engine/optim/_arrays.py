"""Argument checks and in-place array steps shared by the single-tensor optimizers (Adadelta,
Adamax, NAdam, RAdam, Rprop, ASGD, SparseAdam)."""
import numpy as np


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

from numbers import Number

import numpy as np

import gradview.engine as torch

from . import constraints
from .distribution import ExponentialFamily
from .utils import broadcast_all


def _lgamma(x):
    return torch.lgamma(torch.tensor(x)).numpy()


def _poisson_np(rate):
    """Poisson draws from the engine's uniform stream: inversion below rate 10, Hörmann's transformed
    rejection (PTRS) above. Seeded, but not PyTorch's own sampler."""
    lam = rate.reshape(-1).astype(np.float64)
    out = np.zeros_like(lam)
    small = np.flatnonzero((lam > 0) & (lam < 10))
    if small.size:  # count until the CDF passes u
        u = torch.rand(small.size, dtype=torch.float64).numpy()
        p = np.exp(-lam[small])
        cdf, k = p.copy(), np.zeros(small.size)
        while (more := u > cdf).any():
            k[more] += 1
            p = np.where(more, p * lam[small] / np.maximum(k, 1), p)
            cdf = np.where(more, cdf + p, cdf)
        out[small] = k
    todo = np.flatnonzero(lam >= 10)
    while todo.size:
        lt = lam[todo]
        slam, loglam = np.sqrt(lt), np.log(lt)
        b = 0.931 + 2.53 * slam
        a = -0.059 + 0.02483 * b
        inv_alpha, vr = 1.1239 + 1.1328 / (b - 3.4), 0.9277 - 3.6224 / (b - 2)
        u = torch.rand(todo.size, dtype=torch.float64).numpy() - 0.5
        v = torch.rand(todo.size, dtype=torch.float64).numpy()
        us = 0.5 - np.abs(u)
        k = np.floor((2 * a / us + b) * u + lt + 0.43)
        ok = ((us >= 0.07) & (v <= vr)) | ((k >= 0) & ~((us < 0.013) & (v > us)) & (
            np.log(v) + np.log(inv_alpha) - np.log(a / (us * us) + b) <= -lt + k * loglam - _lgamma(k + 1)))
        out[todo[ok]] = k[ok]
        todo = todo[~ok]
    return out.reshape(rate.shape)


class Poisson(ExponentialFamily):
    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(torch.Size() if isinstance(rate, Number) else self.rate.size(), validate_args=validate_args)

    mean = property(lambda self: self.rate)
    mode = property(lambda self: self.rate.floor())
    variance = property(lambda self: self.rate)

    def sample(self, sample_shape=torch.Size()):
        shape = self._extended_shape(sample_shape)
        rate = self.rate.detach().expand(shape).cpu().numpy()
        return torch.tensor(_poisson_np(rate).astype(rate.dtype), device=self.rate.device)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        return value.xlogy(rate) - rate - (value + 1).lgamma()

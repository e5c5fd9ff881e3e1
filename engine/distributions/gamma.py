import math
from numbers import Number

import numpy as np

import gradview.engine as torch

from . import constraints
from .distribution import ExponentialFamily
from .utils import broadcast_all

try:  # the reparameterised gradient needs the regularised incomplete gamma function
    from scipy.special import gammainc, gammaincc, gammaln
except ImportError:  # NumPy versions below (Numerical Recipes' series and continued fraction)
    gammainc = None


def _gammaln_np(a):
    return np.vectorize(math.lgamma, otypes=[np.float64])(a)


def _gammainc_pair_np(a, x, iterations=500):
    """(P(a, x), Q(a, x)) for a > 0, x >= 0: the series where x < a + 1, the continued fraction
    (modified Lentz) elsewhere, each to double precision."""
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        prefix = np.exp(a * np.log(x) - x - _gammaln_np(a))
        series = x < a + 1
        term = 1.0 / a
        total = term.copy()
        ap = a.copy()
        for _ in range(iterations):
            ap = ap + 1
            term = term * x / ap
            total = total + term
            if np.all(np.abs(term) <= np.abs(total) * 1e-17):
                break
        p_series = total * prefix
        tiny = 1e-300
        b = x + 1 - a
        c = np.full_like(x, 1 / tiny)
        d = 1 / np.where(b == 0, tiny, b)
        h = d.copy()
        for i in range(1, iterations):
            an = -i * (i - a)
            b = b + 2
            d = an * d + b
            d = 1 / np.where(np.abs(d) < tiny, tiny, d)
            c = b + an / c
            c = np.where(np.abs(c) < tiny, tiny, c)
            delta = d * c
            h = h * delta
            if np.all(np.abs(delta - 1) <= 1e-16):
                break
        q_fraction = prefix * h
        p = np.where(series, p_series, 1 - q_fraction)
        q = np.where(series, 1 - p_series, q_fraction)
        p = np.where(x == 0, 0.0, p)
        q = np.where(x == 0, 1.0, q)
    return p, q


if gammainc is None:
    def gammainc(a, x):
        return _gammainc_pair_np(a, x)[0]

    def gammaincc(a, x):
        return _gammainc_pair_np(a, x)[1]

    gammaln = _gammaln_np


def _standard_gamma_np(alpha):
    """Gamma(alpha, 1) draws by Marsaglia and Tsang's method (alpha < 1 boosted by U**(1/alpha)), with
    normals and uniforms from the engine's stream: seeded, but not PyTorch's own gamma sampler."""
    a = alpha.reshape(-1)
    boost = a < 1
    d = np.where(boost, a + 1, a) - 1.0 / 3.0
    c = 1.0 / np.sqrt(9.0 * d)
    out, todo = np.empty_like(a), np.arange(a.size)
    while todo.size:
        z = torch.randn(todo.size, dtype=torch.float64).numpy()
        u = torch.rand(todo.size, dtype=torch.float64).numpy()
        v = (1 + c[todo] * z) ** 3
        dt = d[todo]
        ok = (v > 0) & (np.log(u) < 0.5 * z * z + dt - dt * v + dt * np.log(np.where(v > 0, v, 1.0)))
        out[todo[ok]] = dt[ok] * v[ok]
        todo = todo[~ok]
    if boost.any():
        out[boost] *= torch.rand(int(boost.sum()), dtype=torch.float64).numpy() ** (1.0 / a[boost])
    return out.reshape(alpha.shape)


def _standard_gamma_grad_np(x, a):
    """d sample / d alpha by implicit differentiation of the CDF: -(dP(a, x)/da) / pdf(x), the CDF's
    alpha-derivative by central differences (of Q where P is near 1, to keep the digits)."""
    h = 1e-5 * a
    lower = gammainc(a, x) < 0.5
    dp = np.where(lower, gammainc(a + h, x) - gammainc(a - h, x), gammaincc(a - h, x) - gammaincc(a + h, x)) / (2 * h)
    log_pdf = (a - 1) * np.log(x) - x - gammaln(a)
    return -dp * np.exp(-log_pdf)


class _StandardGamma(torch.autograd.Function):
    @staticmethod
    def forward(ctx, alpha):
        a = alpha.detach().cpu().numpy()
        x = np.maximum(_standard_gamma_np(a.astype(np.float64)), np.finfo(a.dtype).tiny)
        ctx.save_for_backward(torch.tensor(x), torch.tensor(a.astype(np.float64)))
        return torch.tensor(x.astype(a.dtype), device=alpha.device)

    @staticmethod
    def backward(ctx, grad):
        x, a = ctx.saved_tensors
        return grad * torch.tensor(_standard_gamma_grad_np(x.numpy(), a.numpy()), dtype=grad.dtype,
                                   device=grad.device)


class _GammaCDF(torch.autograd.Function):
    """P(a, x), the regularised lower incomplete gamma; differentiable in x only (as PyTorch's igamma)."""
    @staticmethod
    def forward(ctx, a, x):
        a_np, x_np = np.broadcast_arrays(a.detach().cpu().numpy(), x.detach().cpu().numpy())
        ctx.save_for_backward(torch.tensor(a_np.copy()), torch.tensor(x_np.copy()))
        return torch.tensor(gammainc(a_np, x_np), dtype=x.dtype, device=x.device)

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        pdf = torch.exp(torch.xlogy(a - 1, x) - x - torch.lgamma(a))
        return None, grad * pdf.to(grad.dtype)


def _standard_gamma(alpha):
    return _StandardGamma.apply(alpha)


class Gamma(ExponentialFamily):
    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        scalar = isinstance(concentration, Number) and isinstance(rate, Number)
        super().__init__(torch.Size() if scalar else self.concentration.size(), validate_args=validate_args)

    mean = property(lambda self: self.concentration / self.rate)
    mode = property(lambda self: ((self.concentration - 1) / self.rate).clamp(min=0))
    variance = property(lambda self: self.concentration / self.rate.pow(2))

    def rsample(self, sample_shape=torch.Size()):
        shape = self._extended_shape(sample_shape)
        value = _standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape)
        return value.clamp(min=torch.finfo(value.dtype).tiny)  # never 0, as PyTorch clamps

    def log_prob(self, value):
        value = torch.as_tensor(value, dtype=self.rate.dtype, device=self.rate.device)
        if self._validate_args:
            self._validate_sample(value)
        return (torch.xlogy(self.concentration, self.rate) + torch.xlogy(self.concentration - 1, value)
                - self.rate * value - torch.lgamma(self.concentration))

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        c, x = torch.broadcast_tensors(self.concentration, self.rate * value)
        return _GammaCDF.apply(c, x)

    def entropy(self):
        c = self.concentration
        return c - torch.log(self.rate) + torch.lgamma(c) + (1.0 - c) * torch.digamma(c)

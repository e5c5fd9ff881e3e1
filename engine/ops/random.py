"""Random samplers as Tensor methods over PyTorch's stream (log_normal_, cauchy_, geometric_), and the
out-of-place forms of existing ones (bernoulli, multinomial)."""
import inspect

import numpy as np
from ._core import Tensor
from ._registry import binds, register
from ..creation import _rng, bernoulli, multinomial
from .inplace import run_inplace


# ---------------------------------------------------------------------------------------------
# random: new samplers over PyTorch's stream, and the out-of-place forms of existing ones
def _sampler(name, draw, check=None):
    params = list(inspect.signature(draw).parameters.values())[3:]  # after (rng, shape, dtype)

    def sample_(self, *args, generator=None, **kwargs):
        bound = inspect.Signature(params).bind(*args, **kwargs)  # by position or by PyTorch's names
        bound.apply_defaults()
        args = tuple(bound.arguments.values())
        if check is not None:
            check(self, *args)

        def compute(old):
            data = draw(_rng(generator), old._data.shape, old._data.dtype, *args)
            if old.device.type != "cpu":
                data = old.device.backend.from_numpy(data, old.device.index)
            return Tensor._make(data, device=old.device)
        return run_inplace(self, compute, name)
    sample_.__name__ = name
    self_ = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    generator = inspect.Parameter("generator", inspect.Parameter.KEYWORD_ONLY, default=None)
    sample_.__signature__ = inspect.Signature([self_, *params, generator])
    return sample_


def _positive_scale(name, what):
    def check(self, location=0.0, scale=1.0):
        if not scale > 0:
            raise RuntimeError(f"{name} expects {what} > 0.0, but found {what}={scale:g}")
        if not self.dtype.is_floating_point:
            raise NotImplementedError(f'"{name.rstrip("_")}_cpu" not implemented for \'{self.dtype.title}\'')
    return check


def _check_cauchy(self, median=0.0, sigma=1.0):
    if not self.dtype.is_floating_point:
        raise RuntimeError("Cauchy distribution is a continuous probability distribution. dtype must be a floating "
                           f"point but you specified {np.dtype(self.dtype.np).name.replace('int64', 'long int')}")
    _positive_scale("cauchy_", "sigma")(self, median, sigma)


def _check_geometric(self, p):
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p:g}")


_log_normal_ = register(_sampler("log_normal_",
                                 lambda rng, shape, dt, mean=1.0, std=2.0: rng.log_normal(shape, dt, mean, std),
                                 _positive_scale("log_normal_", "std")), method="log_normal_")
_cauchy_ = register(_sampler("cauchy_", lambda rng, shape, dt, median=0.0, sigma=1.0: rng.cauchy(shape, dt, median, sigma),
                             _check_cauchy), method="cauchy_")
_geometric_ = register(_sampler("geometric_", lambda rng, shape, dt, p: rng.geometric(shape, dt, p), _check_geometric),
                       method="geometric_")


@binds(method="bernoulli")
def _bernoulli(self, p=None, *, generator=None):
    if p is None:
        return bernoulli(self, generator=generator)
    return self.new_empty(self.shape).bernoulli_(p, generator=generator)


@binds(method="multinomial")
def _multinomial(self, num_samples, replacement=False, *, generator=None):
    return multinomial(self, num_samples, replacement, generator=generator)

"""The public torch-level functions (`torch.add`, `torch.exp`, ...) and the Tensor methods and
operators, bound in one place from the ops that implement them."""
import numpy as np

from . import _state
from ._keywords import accepting_in, accepting_torch_keywords
from ._dtype import bool_
from types import FunctionType

from .ops import elementwise as ew, reduce as red, shape as sh, linalg as la
from .ops import (sorting, indexing, special, unary, binary, scan, arrange, contract, matrix,  # noqa: F401
                  decompose, norms, scatter_gather, random, attributes, convert, spectral, windows,
                  bessel, polynomials, normal_functions, solvers,
                  incomplete_gamma, float_parts, aliases)  # (their ops register)
from .ops import _registry
from .ops._core import apply
from .ops._registry import binds, register
from .ops.inplace import run_inplace, check_writable, copy_into, fill_with
from .creation import tensor, full_like, random_array
from .tensor import Tensor


def _as_operand(value):
    if isinstance(value, np.ndarray):
        return Tensor._make(value) if value.ndim else value.item()
    return value


# ---------------------------------------------------------------------------------------------
# arithmetic with PyTorch's keyword forms
def _check_alpha(input, other, alpha):
    for t in (input, other):
        if isinstance(t, Tensor) and not t.dtype.is_floating_point and isinstance(alpha, float):
            raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")


@binds("add", inplace=True)
def add(input, other, *, alpha=1, out=None):
    other = _as_operand(other)
    if alpha != 1:
        _check_alpha(input, other, alpha)
        if isinstance(other, Tensor) and isinstance(input, Tensor):
            return ew.add_scaled(input, other, alpha, out=out)  # one AddBackward0 node, as in PyTorch
        other = ew.mul(other, alpha) if isinstance(other, Tensor) else other * alpha
    if not isinstance(input, Tensor):
        return ew.add(_as_operand(input), other, out=out)
    return ew.add(input, other, out=out)


@binds("sub", "subtract", inplace=True)
def sub(input, other, *, alpha=1, out=None):
    other = _as_operand(other)
    if isinstance(other, Tensor) and other.dtype is bool_ and isinstance(input, Tensor) and input.dtype is bool_:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
                           "`logical_xor()` operator instead.")
    if isinstance(other, (Tensor, bool)) and (other is True or other is False or other.dtype is bool_) or \
            isinstance(input, (Tensor, bool)) and (input is True or input is False or input.dtype is bool_):
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying "
                           "to invert a mask, use the `~` or `logical_not()` operator instead.")
    if alpha != 1:
        _check_alpha(input, other, alpha)
        if isinstance(other, Tensor) and isinstance(input, Tensor):
            return ew.add_scaled(input, other, -alpha, out=out, op=ew.sub_scaled_op)
        other = ew.mul(other, alpha) if isinstance(other, Tensor) else other * alpha
    return ew.sub(_as_operand(input), other, out=out)


@binds("rsub", method=False)
def rsub(input, other, *, alpha=1):
    """other - alpha * input (sub with its operands swapped)."""
    return sub(other, input, alpha=alpha)


@binds("mul", "multiply", inplace=True)
def mul(input, other, *, out=None):
    return ew.mul(_as_operand(input), _as_operand(other), out=out)


@binds("div", "divide", inplace=True)
def div(input, other, *, rounding_mode=None, out=None):
    input, other = _as_operand(input), _as_operand(other)
    if rounding_mode is None:
        return ew.div(input, other, out=out)
    if rounding_mode == "floor":
        return ew.div_floor(input, other, out=out)
    if rounding_mode == "trunc":
        return ew.div_trunc(input, other, out=out)
    raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                       f"'{rounding_mode}'")


@binds("pow", inplace=True)
def pow(input, exponent, *, out=None):
    return ew.pow(_as_operand(input), _as_operand(exponent), out=out)


@binds("neg", "negative", inplace=True)
def neg(input, *, out=None):
    if input.dtype is bool_:
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
                           "invert a mask, use the `~` or `logical_not()` operator instead.")
    return ew.neg(input, out=out)


@binds("relu", inplace=True)
def relu(input):
    return ew.relu(input)


@binds("square", inplace=True)
def square(input):
    return ew.square(input)


@binds("lerp", inplace=True)
def lerp(input, end, weight):
    return input + (end - input) * weight


@binds("addcmul", inplace=True)
def addcmul(input, tensor1, tensor2, *, value=1):
    return input + tensor1 * tensor2 * value if value != 1 else input + tensor1 * tensor2


@binds("addcdiv", inplace=True)
def addcdiv(input, tensor1, tensor2, *, value=1):
    return input + tensor1 / tensor2 * value if value != 1 else input + tensor1 / tensor2


@binds("clamp_min", inplace=True)
def clamp_min(input, min):
    return ew.clamp(input, min=min)


@binds("clamp_max", inplace=True)
def clamp_max(input, max):
    return ew.clamp(input, max=max)


@binds("softmax")
def softmax(input, dim, dtype=None):
    from .nn import functional as F  # nn.functional is built on these functions: imported when first used
    return F.softmax(input, dim, dtype=dtype)


@binds("log_softmax")
def log_softmax(input, dim, dtype=None):
    from .nn import functional as F  # nn.functional is built on these functions: imported when first used
    return F.log_softmax(input, dim, dtype=dtype)


@binds("std_mean", method=False)
def _std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, bool):  # std_mean(x, False): the old unbiased= form
        dim, unbiased = None, dim
    return red.std(input, dim, unbiased, keepdim, correction=correction), red.mean(input, dim, keepdim)


@binds("var_mean", method=False)
def _var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    return red.var(input, dim, unbiased, keepdim, correction=correction), red.mean(input, dim, keepdim)


def _pair_data(input, other):
    """Both operands' arrays on input's device (comparisons never copy to the host)."""
    if isinstance(other, Tensor):
        _check_same_device(input, other)
        return input._data, other._data
    return input._data, other


def _check_same_device(a, b):
    if a.device != b.device:
        raise RuntimeError("Expected all tensors to be on the same device, but found at least two devices, "
                           f"{a.device} and {b.device}!")


@binds("allclose")
def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    a, b = _pair_data(input, other)
    return bool(input._xp.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


@binds("isclose")
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    a, b = _pair_data(input, other)
    return Tensor._make(input._xp.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan), device=input.device)


@binds("equal")
def equal(input, other):
    a, b = _pair_data(input, other)
    return input.shape == other.shape and bool(input._xp.array_equal(a, b))


@binds("numel", method=False)
def numel(input):
    return input.numel()


@binds("is_tensor", method=False)
def is_tensor(obj):
    return isinstance(obj, Tensor)


@binds("is_floating_point", method=False)
def is_floating_point(input):
    return input.dtype.is_floating_point


@binds(method="sum_to_size")
def sum_to_size(input, *sizes, size=None):
    shape = sh._shape_arg(sizes if size is None else (size,))
    g = input
    lead = g.dim() - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and g.shape[i + lead] != 1)
    if axes:
        g = red.sum(g, axes, keepdim=True)
    if lead:
        g = sh.reshape(g, shape)
    return g


register(lambda input, other: ew.div(input, other), torch="true_divide", inplace=True)


# ---------------------------------------------------------------------------------------------
# Tensor methods
def _method(fn):
    def method(self, *args, **kwargs):
        return fn(self, *args, **kwargs)
    method.__name__ = getattr(fn, "__name__", "method")
    method.__wrapped__ = fn  # its signature is the function's
    return method


register(lambda self, other: sh.reshape(self, other.shape), method="reshape_as")
register(lambda self, other: sh.expand(self, other.shape), method="expand_as")

def _size_like(self, other):
    return self.shape == other.shape


# operators
def _reflect(fn):
    return lambda self, other: fn(_as_operand(other), self)


Tensor.__add__ = lambda self, other: ew.add(self, _as_operand(other))
Tensor.__radd__ = _reflect(ew.add)
Tensor.__sub__ = lambda self, other: sub(self, other)
Tensor.__rsub__ = lambda self, other: sub(other, self)
Tensor.__mul__ = lambda self, other: ew.mul(self, _as_operand(other))
Tensor.__rmul__ = _reflect(ew.mul)
Tensor.__truediv__ = lambda self, other: ew.div(self, _as_operand(other))
Tensor.__rtruediv__ = lambda self, other: ew.mul(ew.reciprocal(self), _as_operand(other))
Tensor.__rdiv__ = Tensor.__rtruediv__  # Python 2's name, which PyTorch keeps
Tensor.__floordiv__ = lambda self, other: ew.floor_divide(self, _as_operand(other))
Tensor.__rfloordiv__ = _reflect(ew.floor_divide)
Tensor.__mod__ = lambda self, other: ew.remainder(self, _as_operand(other))
Tensor.__rmod__ = _reflect(ew.remainder)
Tensor.__pow__ = lambda self, other: ew.pow(self, _as_operand(other))
Tensor.__rpow__ = _reflect(ew.pow)
Tensor.__matmul__ = lambda self, other: la.matmul(self, other)
Tensor.__rmatmul__ = lambda self, other: la.matmul(other, self)
Tensor.__neg__ = lambda self: neg(self)
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = lambda self: ew.abs(self)
def _invert(self):
    if self.dtype is bool_:
        return ew.logical_not(self)
    if self.dtype.is_floating_point:
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
    return ew.bitwise_not(self)


Tensor.__invert__ = _invert
Tensor.__and__ = lambda self, other: ew.bitwise_and(self, _as_operand(other))
Tensor.__rand__ = _reflect(ew.bitwise_and)
Tensor.__or__ = lambda self, other: ew.bitwise_or(self, _as_operand(other))
Tensor.__ror__ = _reflect(ew.bitwise_or)
Tensor.__xor__ = lambda self, other: ew.bitwise_xor(self, _as_operand(other))
Tensor.__rxor__ = _reflect(ew.bitwise_xor)


def _compare(op):
    def compare(self, other):
        other = _as_operand(other)
        if not isinstance(other, (Tensor, int, float, bool, np.generic)):
            return NotImplemented
        return op(self, other)
    return compare


Tensor.__eq__ = _compare(ew.eq)
Tensor.__ne__ = _compare(ew.ne)
Tensor.__lt__ = _compare(ew.lt)
Tensor.__le__ = _compare(ew.le)
Tensor.__gt__ = _compare(ew.gt)
Tensor.__ge__ = _compare(ew.ge)
Tensor.__hash__ = lambda self: id(self)


# ---------------------------------------------------------------------------------------------
# in-place methods: the out-of-place op, written back into the tensor
def _inplace(fn, name):
    def method(self, *args, **kwargs):
        return run_inplace(self, lambda old: fn(old, *args, **kwargs), name, (args, kwargs))
    method.__name__ = name
    return method


@binds(method="copy_")
def _copy_(self, src, non_blocking=False):
    if not isinstance(src, Tensor):
        src = tensor(src)

    def compute(old):
        value = src.to(old.device) if src.device != old.device else src
        return apply(copy_into, (old, value))
    return run_inplace(self, compute, "copy_", (src,))


@binds(method="fill_")
def _fill_(self, value, name="fill_"):
    def compute(old):
        if isinstance(value, Tensor):
            if value.dim():
                raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                                   f"{value.dim()} dimensions.")
            return apply(fill_with, (old, value.to(old.device)))
        return full_like(old, value)
    return run_inplace(self, compute, name, (value,))


@binds(method="zero_")
def _zero_(self):
    return _fill_(self, 0, "zero_")


def _metadata_inplace(view_fn, name):
    """t_, transpose_, squeeze_, unsqueeze_: change the tensor's shape in place."""
    def method(self, *args, **kwargs):
        check_writable(self)
        result = view_fn(self, *args, **kwargs)
        self._data = result._data
        if result._rg and _state.grad_enabled:
            self.grad_fn = result.grad_fn
        self._version_box[0] += 1
        return self
    method.__name__ = name
    method.__wrapped__ = view_fn
    return method


def _sampler(kind, **defaults):
    def method(self, *args, generator=None, **kwargs):
        params = dict(defaults)
        params.update(zip(defaults.keys(), args))
        params.update(kwargs)
        return _fill_random(self, kind + "_", kind, generator, params)
    method.__name__ = kind + "_"
    return method


def _fill_random(self, name, kind, generator, params):
    """Overwrite with random values: an in-place op whose result depends on nothing in the graph."""

    def compute(old):
        data = random_array(kind, old._data.shape, old._data.dtype, generator, **params)
        if old.device.type != "cpu":
            data = old.device.backend.from_numpy(data, old.device.index)
        return Tensor._make(data, device=old.device)
    return run_inplace(self, compute, name)


@binds(method="random_")
def _random_(self, from_=0, to=None, *, generator=None):
    """random_(to) or random_(from, to): integers in [from, to)."""
    low, high = (0, from_) if to is None else (from_, to)
    return _fill_random(self, "random_", "integers", generator, {"low": low, "high": high})


register(_metadata_inplace(sh.t, "t_"), method="t_")
register(_metadata_inplace(sh.transpose, "transpose_"), method="transpose_")
register(_metadata_inplace(sh.squeeze, "squeeze_"), method="squeeze_")
register(_metadata_inplace(sh.unsqueeze, "unsqueeze_"), method="unsqueeze_")
register(_sampler("uniform", low=0.0, high=1.0), method="uniform_")
register(_sampler("normal", mean=0.0, std=1.0), method="normal_")
register(_sampler("bernoulli", p=0.5), method="bernoulli_")
register(_sampler("exponential", lambd=1.0), method="exponential_")

# ---------------------------------------------------------------------------------------------
# the Tensor methods, in-place twins and properties, made from the registry once
def _install():
    for name, fn in _registry.METHODS.items():
        # a plain function binds `self` by itself; an op object (UnaryOp, BinaryOp) needs a method around it
        setattr(Tensor, name, fn if fn.__class__ is FunctionType else _method(fn))
    for name, fn in _registry.INPLACE.items():
        setattr(Tensor, name, _inplace(fn, name))
    for name, fn in _registry.PROPERTIES.items():
        setattr(Tensor, name, property(fn))


_install()
Tensor.__iadd__ = Tensor.add_
Tensor.__isub__ = Tensor.sub_
Tensor.__imul__ = Tensor.mul_
Tensor.__itruediv__ = Tensor.div_
Tensor.__ifloordiv__ = Tensor.floor_divide_
Tensor.__imod__ = Tensor.remainder_
Tensor.__ipow__ = Tensor.pow_
Tensor.__iand__ = lambda self, other: run_inplace(self, lambda old: ew.bitwise_and(old, other), "and_", (other,))
Tensor.__ior__ = lambda self, other: run_inplace(self, lambda old: ew.bitwise_or(old, other), "or_", (other,))
Tensor.__ixor__ = lambda self, other: run_inplace(self, lambda old: ew.bitwise_xor(old, other), "xor_", (other,))
Tensor.__imatmul__ = lambda self, other: run_inplace(self, lambda old: la.matmul(old, other), "matmul_", (other,))


# ---------------------------------------------------------------------------------------------
# PyTorch's keyword aliases (`input=` for the first operand, NumPy's `axis=`, `keepdims=`, ...)
FUNCTIONS = accepting_in(_registry.FUNCTIONS)  # the torch namespace
for _name, _fn in list(vars(Tensor).items()):
    if callable(_fn) and not isinstance(_fn, type) and not _name.startswith("__"):
        setattr(Tensor, _name, accepting_torch_keywords(_fn, method=True))

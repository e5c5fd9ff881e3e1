"""The public torch-level functions (`torch.add`, `torch.exp`, ...) and the Tensor methods and
operators, bound in one place from the ops that implement them."""
import functools
import inspect

import numpy as np

from . import _state
from ._dtype import bool_
from .ops import elementwise as ew, reduce as red, shape as sh, indexing as ix, linalg as la
from .ops import sorting as _sorting, more_math as _more_math, linalg_more as _linalg_more
from .ops import indexing_more as _indexing_more, more_tensor as _more_tensor
from .ops._core import apply
from .ops.inplace import run_inplace, check_writable, copy_into, fill_with
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


def mul(input, other, *, out=None):
    return ew.mul(_as_operand(input), _as_operand(other), out=out)


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


def pow(input, exponent, *, out=None):
    return ew.pow(_as_operand(input), _as_operand(exponent), out=out)


def neg(input, *, out=None):
    if input.dtype is bool_:
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
                           "invert a mask, use the `~` or `logical_not()` operator instead.")
    return ew.neg(input, out=out)


def relu(input):
    return ew.relu(input)


def square(input):
    return ew.square(input)


def lerp(input, end, weight):
    return input + (end - input) * weight


def addcmul(input, tensor1, tensor2, *, value=1):
    return input + tensor1 * tensor2 * value if value != 1 else input + tensor1 * tensor2


def addcdiv(input, tensor1, tensor2, *, value=1):
    return input + tensor1 / tensor2 * value if value != 1 else input + tensor1 / tensor2


def clamp_min(input, min):
    return ew.clamp(input, min=min)


def clamp_max(input, max):
    return ew.clamp(input, max=max)


def softmax(input, dim, dtype=None):
    from .nn import functional as F
    return F.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim, dtype=None):
    from .nn import functional as F
    return F.log_softmax(input, dim, dtype=dtype)


def _std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, bool):  # std_mean(x, False): the old unbiased= form
        dim, unbiased = None, dim
    return red.std(input, dim, unbiased, keepdim, correction=correction), red.mean(input, dim, keepdim)


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


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    a, b = _pair_data(input, other)
    return bool(input._xp.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    a, b = _pair_data(input, other)
    return Tensor._make(input._xp.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan), device=input.device)


def equal(input, other):
    a, b = _pair_data(input, other)
    return input.shape == other.shape and bool(input._xp.array_equal(a, b))


def numel(input):
    return input.numel()


def is_tensor(obj):
    return isinstance(obj, Tensor)


def is_floating_point(input):
    return input.dtype.is_floating_point


def sum_to_size(input, *size):
    shape = sh._shape_arg(size)
    from .ops._core import TENSOR_MATH
    g = input
    lead = g.dim() - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and g.shape[i + lead] != 1)
    if axes:
        g = red.sum(g, axes, keepdim=True)
    if lead:
        g = sh.reshape(g, shape)
    return g


# ---------------------------------------------------------------------------------------------
# the torch namespace functions (re-exported by engine/__init__.py)
FUNCTIONS = {
    "add": add, "sub": sub, "subtract": sub, "mul": mul, "multiply": mul, "div": div, "divide": div,
    "true_divide": lambda input, other: ew.div(input, other), "floor_divide": ew.floor_divide,
    "remainder": ew.remainder,
    "fmod": ew.fmod, "pow": pow, "neg": neg, "negative": neg, "atan2": ew.atan2, "arctan2": ew.atan2,
    "exp": ew.exp, "exp2": ew.exp2, "expm1": ew.expm1, "log": ew.log, "log2": ew.log2, "log10": ew.log10,
    "log1p": ew.log1p, "sqrt": ew.sqrt, "rsqrt": ew.rsqrt, "reciprocal": ew.reciprocal, "square": square,
    "sin": ew.sin, "cos": ew.cos, "tan": ew.tan, "asin": ew.asin, "acos": ew.acos, "atan": ew.atan,
    "arcsin": ew.asin, "arccos": ew.acos, "arctan": ew.atan, "sinh": ew.sinh, "cosh": ew.cosh,
    "tanh": ew.tanh, "sigmoid": ew.sigmoid, "abs": ew.abs, "absolute": ew.abs, "sign": ew.sign,
    "floor": ew.floor, "ceil": ew.ceil, "trunc": ew.trunc, "frac": ew.frac, "round": ew.round_decimals, "relu": relu,
    "erf": ew.erf, "clamp": ew.clamp, "clip": ew.clamp, "clamp_min": clamp_min, "clamp_max": clamp_max,
    "maximum": ew.maximum, "minimum": ew.minimum, "where": ew.where, "lerp": lerp, "addcmul": addcmul,
    "addcdiv": addcdiv,
    "eq": ew.eq, "ne": ew.ne, "lt": ew.lt, "le": ew.le, "gt": ew.gt, "ge": ew.ge, "greater": ew.gt,
    "less": ew.lt, "greater_equal": ew.ge, "less_equal": ew.le, "not_equal": ew.ne,
    "logical_and": ew.logical_and, "logical_or": ew.logical_or, "logical_xor": ew.logical_xor,
    "logical_not": ew.logical_not, "bitwise_and": ew.bitwise_and, "bitwise_or": ew.bitwise_or,
    "bitwise_xor": ew.bitwise_xor, "bitwise_not": ew.bitwise_not, "isnan": ew.isnan, "isinf": ew.isinf,
    "isfinite": ew.isfinite,
    "sum": red.sum, "mean": red.mean, "prod": red.prod, "max": red.max, "min": red.min, "amax": red.amax,
    "amin": red.amin, "argmax": red.argmax, "argmin": red.argmin, "var": red.var, "std": red.std,
    "std_mean": _std_mean, "var_mean": _var_mean, "logsumexp": red.logsumexp, "norm": red.norm,
    "all": red.all, "any": red.any, "cumsum": red.cumsum, "cumprod": red.cumprod,
    "count_nonzero": red.count_nonzero,
    "reshape": sh.reshape, "flatten": sh.flatten, "unflatten": sh.unflatten, "squeeze": sh.squeeze,
    "unsqueeze": sh.unsqueeze, "transpose": sh.transpose, "swapaxes": sh.transpose, "swapdims": sh.transpose,
    "t": sh.t, "permute": sh.permute, "movedim": sh.movedim, "moveaxis": sh.movedim, "cat": sh.cat,
    "concat": sh.cat, "concatenate": sh.cat, "stack": sh.stack, "hstack": sh.hstack, "vstack": sh.vstack,
    "split": sh.split, "chunk": sh.chunk, "unbind": sh.unbind, "narrow": sh.narrow, "select": sh.select,
    "broadcast_to": sh.broadcast_to, "broadcast_tensors": sh.broadcast_tensors, "flip": sh.flip, "roll": sh.roll,
    "tril": sh.tril, "triu": sh.triu, "clone": sh.clone, "diagonal": sh.diagonal,
    "index_select": ix.index_select, "gather": ix.gather, "scatter": ix.scatter, "scatter_add": ix.scatter_add,
    "masked_fill": ix.masked_fill, "masked_select": ix.masked_select, "nonzero": ix.nonzero,
    "argwhere": ix.argwhere, "index_put": ix.index_put,
    "matmul": la.matmul, "mm": la.mm, "bmm": la.bmm, "mv": la.mv, "dot": la.dot, "inner": la.inner,
    "outer": la.outer, "ger": la.outer, "addmm": la.addmm, "softmax": softmax, "log_softmax": log_softmax,
    "allclose": allclose, "isclose": isclose, "equal": equal, "numel": numel, "is_tensor": is_tensor,
    "is_floating_point": is_floating_point,
}


# ---------------------------------------------------------------------------------------------
# Tensor methods
def _method(fn):
    def method(self, *args, **kwargs):
        return fn(self, *args, **kwargs)
    method.__name__ = getattr(fn, "__name__", "method")
    method.__wrapped__ = fn  # its signature is the function's
    return method


_METHOD_NAMES = [
    "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "floor_divide", "remainder",
    "fmod", "pow", "neg", "negative", "atan2", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt",
    "rsqrt", "reciprocal", "square", "sin", "cos", "tan", "asin", "acos", "atan", "arcsin", "arccos", "arctan",
    "sinh", "cosh", "tanh", "sigmoid", "abs", "absolute", "sign", "floor", "ceil", "trunc", "frac", "round",
    "relu", "erf", "clamp", "clip", "clamp_min", "clamp_max", "maximum", "minimum", "lerp", "addcmul", "addcdiv",
    "eq", "ne", "lt", "le", "gt", "ge", "greater", "less", "greater_equal", "less_equal", "not_equal",
    "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor",
    "bitwise_not", "isnan", "isinf", "isfinite",
    "sum", "mean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "var", "std", "logsumexp",
    "norm", "all", "any", "cumsum", "cumprod", "count_nonzero",
    "reshape", "flatten", "unflatten", "squeeze", "unsqueeze", "transpose", "swapaxes", "swapdims", "t",
    "permute", "movedim", "moveaxis", "split", "chunk", "unbind", "narrow", "select", "broadcast_to", "flip",
    "roll", "tril", "triu", "clone", "diagonal", "index_select", "gather", "scatter", "scatter_add",
    "masked_fill", "masked_select", "nonzero", "argwhere", "index_put",
    "matmul", "mm", "bmm", "mv", "dot", "inner", "outer", "ger", "softmax", "log_softmax", "allclose",
    "isclose", "equal",
]

for _name in _METHOD_NAMES:
    setattr(Tensor, _name, _method(FUNCTIONS[_name]))

Tensor.view = _method(sh.view)
Tensor.view_as = _method(sh.view_as)
Tensor.reshape_as = lambda self, other: sh.reshape(self, other.shape)
Tensor.expand = _method(sh.expand)
Tensor.expand_as = lambda self, other: sh.expand(self, other.shape)
Tensor.repeat = _method(sh.repeat)
Tensor.contiguous = _method(sh.contiguous)
Tensor.sum_to_size = _method(sum_to_size)
Tensor.addmm = _method(la.addmm)


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


_INPLACE = {
    "add_": add, "sub_": sub, "subtract_": sub, "mul_": mul, "multiply_": mul, "div_": div, "divide_": div,
    "true_divide_": FUNCTIONS["true_divide"], "floor_divide_": ew.floor_divide, "remainder_": ew.remainder,
    "fmod_": ew.fmod, "pow_": pow, "neg_": neg, "negative_": neg, "exp_": ew.exp, "expm1_": ew.expm1,
    "log_": ew.log, "log1p_": ew.log1p, "log2_": ew.log2, "log10_": ew.log10, "sqrt_": ew.sqrt,
    "rsqrt_": ew.rsqrt, "reciprocal_": ew.reciprocal, "square_": square, "sin_": ew.sin, "cos_": ew.cos,
    "tan_": ew.tan, "tanh_": ew.tanh, "sigmoid_": ew.sigmoid, "abs_": ew.abs, "sign_": ew.sign,
    "floor_": ew.floor, "ceil_": ew.ceil, "trunc_": ew.trunc, "round_": ew.round_decimals, "relu_": relu,
    "clamp_": ew.clamp, "clip_": ew.clamp, "clamp_min_": clamp_min, "clamp_max_": clamp_max, "lerp_": lerp,
    "addcmul_": addcmul, "addcdiv_": addcdiv, "masked_fill_": ix.masked_fill, "scatter_": ix.scatter,
    "scatter_add_": ix.scatter_add, "index_put_": ix.index_put, "maximum_": ew.maximum, "minimum_": ew.minimum,
    "tril_": sh.tril, "triu_": sh.triu, "eq_": ew.eq, "ne_": ew.ne, "lt_": ew.lt, "le_": ew.le, "gt_": ew.gt,
    "ge_": ew.ge, "logical_not_": ew.logical_not, "logical_and_": ew.logical_and,
    "logical_or_": ew.logical_or,
}

for _name, _fn in _INPLACE.items():
    setattr(Tensor, _name, _inplace(_fn, _name))


# ---------------------------------------------------------------------------------------------
# the op families kept in modules of their own: each has FUNCTIONS, METHODS and INPLACE
def _register(module):
    FUNCTIONS.update(module.FUNCTIONS)
    for name in module.METHODS:
        setattr(Tensor, name, _method(module.FUNCTIONS[name]))
    for name, fn in module.INPLACE.items():
        setattr(Tensor, name, _inplace(fn, name))


for _module in (_sorting, _more_math, _linalg_more, _indexing_more, _more_tensor):
    _register(_module)
Tensor.polygamma = lambda self, n: _more_math.polygamma(n, self)  # x.polygamma(n): the order moves last

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


def _copy_(self, src, non_blocking=False):
    if not isinstance(src, Tensor):
        from .creation import tensor
        src = tensor(src)

    def compute(old):
        value = src.to(old.device) if src.device != old.device else src
        return apply(copy_into, (old, value))
    return run_inplace(self, compute, "copy_", (src,))


def _fill_(self, value, name="fill_"):
    def compute(old):
        from .creation import full_like
        if isinstance(value, Tensor):
            if value.dim():
                raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                                   f"{value.dim()} dimensions.")
            return apply(fill_with, (old, value.to(old.device)))
        return full_like(old, value)
    return run_inplace(self, compute, name, (value,))


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
    from .creation import random_array

    def compute(old):
        data = random_array(kind, old._data.shape, old._data.dtype, generator, **params)
        if old.device.type != "cpu":
            data = old.device.backend.from_numpy(data, old.device.index)
        return Tensor._make(data, device=old.device)
    return run_inplace(self, compute, name)


def _random_(self, low=0, high=None, *, generator=None):
    if high is None:
        low, high = 0, low
    return _fill_random(self, "random_", "integers", generator, {"low": low, "high": high})


Tensor.copy_ = _copy_
Tensor.fill_ = _fill_
Tensor.zero_ = _zero_
Tensor.t_ = _metadata_inplace(sh.t, "t_")
Tensor.transpose_ = _metadata_inplace(sh.transpose, "transpose_")
Tensor.squeeze_ = _metadata_inplace(sh.squeeze, "squeeze_")
Tensor.unsqueeze_ = _metadata_inplace(sh.unsqueeze, "unsqueeze_")
Tensor.uniform_ = _sampler("uniform", low=0.0, high=1.0)
Tensor.normal_ = _sampler("normal", mean=0.0, std=1.0)
Tensor.bernoulli_ = _sampler("bernoulli", p=0.5)
Tensor.exponential_ = _sampler("exponential", lambd=1.0)
Tensor.random_ = _random_


# ---------------------------------------------------------------------------------------------
# NumPy's keyword names, which PyTorch accepts as well: x.sum(axis=1, keepdims=True)
_NUMPY_KEYWORDS = {"axis": "dim", "keepdims": "keepdim"}


def _numpy_keywords(fn):
    """fn, also taking axis= for dim= and keepdims= for keepdim= where it has those parameters."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return fn
    aliases = {alias: name for alias, name in _NUMPY_KEYWORDS.items() if name in params and alias not in params}
    if not aliases:
        return fn

    @functools.wraps(fn)
    def accepting(*args, **kwargs):
        if kwargs:
            for alias in aliases.keys() & kwargs.keys():
                kwargs[aliases[alias]] = kwargs.pop(alias)
        return fn(*args, **kwargs)
    return accepting


for _name, _fn in list(FUNCTIONS.items()):
    FUNCTIONS[_name] = _numpy_keywords(_fn)
for _name, _fn in list(vars(Tensor).items()):
    if callable(_fn) and not isinstance(_fn, type) and not _name.startswith("__"):
        setattr(Tensor, _name, _numpy_keywords(_fn))

"""Tensor creation: tensor, as_tensor, from_numpy, zeros/ones/full/empty, arange, linspace, eye,
rand/randn/randint and the *_like forms, plus the random generator and manual_seed."""
import functools
import inspect
import math
import numbers

import numpy as np

from . import _dtype
from ._random import TorchStream
from . import _state, backends
from .ops import _registry
from ._device import canonical, CPU
from .tensor import Tensor


def _with_out(fn):
    """`out=`: the result written into `out` (resized when its shape differs) and returned as `out`;
    without a dtype or device given, the result takes out's, as in PyTorch."""
    params = inspect.signature(fn).parameters

    @functools.wraps(fn)
    def creation(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        for key, value in (("dtype", out.dtype), ("device", out.device)):
            if key in params and kwargs.get(key) is None:
                kwargs[key] = value
        from .ops.elementwise import write_out  # the ops need autograd, which makes tensors with creation
        return write_out(out, fn(*args, **kwargs))
    return creation


def _sized(fn):
    """Functions of `*size` also take it as `size=` (`torch.randn(size=(2, 3))`)."""
    @functools.wraps(fn)
    def creation(*size, **kwargs):
        if "size" in kwargs:
            if size:
                raise TypeError(f"{fn.__name__}() got multiple values for argument 'size'")
            size = kwargs.pop("size")
            size = (size,) if isinstance(size, numbers.Integral) else tuple(size)
        return fn(*size, **kwargs)
    return creation


def _place(array, dtype, device, requires_grad):
    """Make a leaf tensor from a NumPy array, moved to `device`."""
    dev = canonical(device)
    if dev is not CPU:
        array = dev.backend.from_numpy(array, dev.index)
    t = Tensor._make(array, device=dev)
    if requires_grad:
        t.requires_grad_(True)
    if _state.recorder is not None:  # graph capture places a leaf where it was made
        _state.recorder.created(t)
    return t


def _infer_dtype(data):
    """PyTorch's dtype inference for nested Python data: bool < int < float (default dtype)."""
    category = -1
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, Tensor):
            category = max(category, item.dtype.category + (10 if item.dtype.is_floating_point else 0))
            if item.dtype.is_floating_point:
                return item.dtype
            continue
        if isinstance(item, np.ndarray):
            return _dtype.from_numpy_dtype(item.dtype)
        if isinstance(item, (list, tuple)):
            stack.extend(item)
            continue
        category = max(category, _dtype.scalar_category(item))
    if category >= 10:
        category -= 10
    return {-1: _dtype.get_default_dtype(), 0: _dtype.bool_, 1: _dtype.int64, 2: _dtype.get_default_dtype()}[category]


def _to_numpy_nested(data):
    if isinstance(data, Tensor):
        return data.detach().cpu()._data
    if isinstance(data, (list, tuple)):
        if any(isinstance(d, Tensor) for d in data):
            return np.array([_to_numpy_nested(d) for d in data])
    return data


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    if isinstance(data, Tensor):
        dtype = dtype or data.dtype
        array = data.detach().cpu()._data.astype(_dtype.as_dtype(dtype).np, copy=True)
        return _place(array, dtype, device, requires_grad)
    if dtype is None:
        if isinstance(data, np.ndarray):
            dtype = _dtype.from_numpy_dtype(data.dtype)
        elif isinstance(data, np.generic):
            dtype = _dtype.from_numpy_dtype(data.dtype)
        else:
            dtype = _infer_dtype(data)
    dtype = _dtype.as_dtype(dtype)
    try:
        array = np.array(_to_numpy_nested(data), dtype=dtype.np)
    except ValueError as exc:
        raise ValueError(f"expected sequence of equal length lists: {exc}") from None
    except TypeError as exc:
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'") from exc
    if requires_grad and not dtype.is_floating_point:
        raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
    return _place(array, dtype, device, requires_grad)


def as_tensor(data, dtype=None, device=None):
    if isinstance(data, Tensor):
        result = data
        if dtype is not None:
            result = result.to(_dtype.as_dtype(dtype))
        if device is not None:
            result = result.to(device)
        return result
    if isinstance(data, np.ndarray) and (dtype is None or _dtype.as_dtype(dtype).np == data.dtype) \
            and canonical(device) is CPU:
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array):
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    _dtype.from_numpy_dtype(array.dtype)  # raises for unsupported dtypes
    t = Tensor._make(array)
    if _state.recorder is not None:
        _state.recorder.created(t)
    return t


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = s.item()
        if not isinstance(s, numbers.Integral):
            raise TypeError(f"empty(): argument 'size' must be tuple of ints, but found element of type "
                            f"{type(s).__name__}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
        out.append(int(s))
    return tuple(out)


def _resolve(dtype, default=None):
    if dtype is None:
        return default or _dtype.get_default_dtype()
    return _dtype.as_dtype(dtype)


def _filled(fill, size, dtype, device, requires_grad):
    dt = _resolve(dtype)
    return _place(fill(_shape(size), dt.np), dt, device, requires_grad)


@_with_out
@_sized
def zeros(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    return _filled(np.zeros, size, dtype, device, requires_grad)


@_with_out
@_sized
def ones(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    return _filled(np.ones, size, dtype, device, requires_grad)


@_with_out
@_sized
def empty(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None, memory_format=None,
          pin_memory=False):
    # zero-filled rather than uninitialised: values a viewer shows should never be garbage
    return _filled(np.zeros, size, dtype, device, requires_grad)


@_with_out
def full(size, fill_value, *, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    if dtype is None:
        dtype = {0: _dtype.bool_, 1: _dtype.int64, 2: _dtype.get_default_dtype()}[
            _dtype.scalar_category(fill_value.item() if isinstance(fill_value, Tensor) else fill_value)]
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    dt = _dtype.as_dtype(dtype)
    return _place(np.full(_shape((size,) if isinstance(size, int) else (tuple(size),)), fill_value, dtype=dt.np),
                  dt, device, requires_grad)


def scalar_tensor(value, *, dtype=None, device=None, requires_grad=False):
    dt = _resolve(dtype)
    array = np.asarray(value, dtype=dt.np)
    dev = canonical(device)
    if dev is not CPU:
        array = dev.backend.from_numpy(array, dev.index)
    return Tensor._make(array, device=dev)


def _like(fill, t, dtype, device, requires_grad):
    dt = _resolve(dtype, t.dtype)
    return _place(fill(t._data.shape, dt.np), dt, device if device is not None else t.device, requires_grad)


def zeros_like(input, *, dtype=None, device=None, requires_grad=False, layout=None, memory_format=None):
    return _like(np.zeros, input, dtype, device, requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad=False, layout=None, memory_format=None):
    return _like(np.ones, input, dtype, device, requires_grad)


def empty_like(input, *, dtype=None, device=None, requires_grad=False, layout=None, memory_format=None):
    return _like(np.zeros, input, dtype, device, requires_grad)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False, layout=None, memory_format=None):
    t = input
    dt = _resolve(dtype, t.dtype)
    return _place(np.full(t._data.shape, fill_value, dtype=dt.np), dt, device if device is not None else t.device,
                  requires_grad)


@_with_out
def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    if end is None:
        start, end = 0, start
    values = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    start, end, step = values
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) / step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype is None:
        dtype = _dtype.int64 if all(isinstance(v, numbers.Integral) for v in values) else _dtype.get_default_dtype()
    dt = _dtype.as_dtype(dtype)
    n = max(math.ceil((end - start) / step), 0)
    # computed in float64 then cast, like PyTorch, so float ranges do not drift
    array = (start + step * np.arange(n, dtype=np.float64)).astype(dt.np) if dt.is_floating_point \
        else np.arange(start, end, step).astype(dt.np)
    return _place(array, dt, device, requires_grad)


@_with_out
def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    dt = _resolve(dtype)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    array = np.linspace(start, end, int(steps), dtype=np.float64)
    if not dt.is_floating_point:
        array = np.trunc(array)
    return _place(array.astype(dt.np), dt, device, requires_grad)


@_with_out
def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    dt = _resolve(dtype)
    return _place(np.logspace(start, end, int(steps), base=base).astype(dt.np), dt, device, requires_grad)


@_with_out
def eye(n, m=None, *, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    dt = _resolve(dtype)
    return _place(np.eye(n, n if m is None else m, dtype=dt.np), dt, device, requires_grad)


# ---------------------------------------------------------------------------------------------
# randomness: PyTorch's CPU stream (engine/_random.py), drawn on the host for every device, so a seed
# gives PyTorch's numbers on the cpu and the same numbers on the other devices
class Generator:
    def __init__(self, device="cpu"):
        self.device = canonical(device) if device != "cpu" else CPU
        self._rng = TorchStream()

    def manual_seed(self, seed):
        self._rng.manual_seed(seed)
        return self

    def seed(self):
        s = int(np.random.SeedSequence().entropy % (2 ** 63))
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._rng.seed

    def get_state(self):
        import pickle
        return tensor(list(pickle.dumps(self._rng.get_state())), dtype=_dtype.uint8)

    def set_state(self, state):
        import pickle
        self._rng.set_state(pickle.loads(bytes(state.tolist())))
        return self


default_generator = Generator()


def manual_seed(seed):
    default_generator.manual_seed(seed)
    backends.manual_seed(seed)
    return default_generator


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state):
    default_generator.set_state(state)


def _rng(generator):
    return (generator or default_generator)._rng


@_with_out
@_sized
def rand(*size, generator=None, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    dt = _resolve(dtype)
    return _place(_rng(generator).uniform(_shape(size), dt.np), dt, device, requires_grad)


@_with_out
@_sized
def randn(*size, generator=None, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    dt = _resolve(dtype)
    return _place(_rng(generator).normal(_shape(size), dt.np), dt, device, requires_grad)


@_with_out
def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None, requires_grad=False,
            out=None, layout=None):
    if size is None:  # randint(high, size)
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    dt = _resolve(dtype, _dtype.int64)
    return _place(_rng(generator).integers(low, high, _shape((size,))).astype(dt.np), dt, device, requires_grad)


@_with_out
def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    dt = _resolve(dtype, _dtype.int64)
    return _place(_rng(generator).permutation(n).astype(dt.np), dt, device, requires_grad)


def rand_like(t, *, dtype=None, device=None, requires_grad=False, generator=None, layout=None, memory_format=None):
    return rand(*t.shape, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad,
                generator=generator)


def randn_like(t, *, dtype=None, device=None, requires_grad=False, generator=None, layout=None, memory_format=None):
    return randn(*t.shape, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad,
                 generator=generator)


def randint_like(t, low=0, high=None, *, dtype=None, device=None, requires_grad=False):
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(t.shape), dtype=dtype or t.dtype, device=device or t.device)


@_with_out
def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None, requires_grad=False,
           out=None):
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        m = mean if isinstance(mean, Tensor) else None
        s = std if isinstance(std, Tensor) else None
        shape = np.broadcast_shapes(*(t.shape for t in (m, s) if t is not None))
        ref = m if m is not None else s
        noise = randn(*shape, generator=generator, dtype=ref.dtype, device=ref.device)
        return (noise * std + mean).detach()
    return randn(*size, generator=generator, dtype=dtype, device=device, requires_grad=requires_grad) * std + mean \
        if not requires_grad else (randn(*size, generator=generator, dtype=dtype, device=device) * std + mean) \
        .requires_grad_()


@_with_out
def bernoulli(input, p=None, *, generator=None, out=None):
    if p is not None:  # bernoulli(input, p): input's shape, each value 1 with probability p
        return input.bernoulli(p, generator=generator)
    p = input
    sample = _rng(generator).bernoulli_tensor(p.detach().cpu()._data)
    return _place(sample.astype(p.dtype.np), p.dtype, p.device, False)


@_with_out
def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    probs = input
    rng = _rng(generator)
    p = probs.detach().cpu()._data.astype(np.float64)
    rows = p.reshape(-1, p.shape[-1])
    out = []
    for row in rows:
        out.append(rng.choice(row, num_samples, replacement))
    array = np.array(out, dtype=np.int64).reshape(p.shape[:-1] + (num_samples,))
    return _place(array, _dtype.int64, probs.device, False)


def random_array(kind, shape, dtype, generator=None, **kw):
    """Random NumPy data for the in-place samplers (uniform_, normal_, ...)."""
    rng = _rng(generator)
    shape = tuple(shape)
    if kind == "uniform":
        return rng.uniform(shape, dtype, kw.get("low", 0.0), kw.get("high", 1.0))
    if kind == "normal":
        return rng.normal(shape, dtype, kw.get("mean", 0.0), kw.get("std", 1.0))
    if kind == "bernoulli":
        return rng.bernoulli(shape, kw.get("p", 0.5), dtype)
    if kind == "exponential":
        return rng.exponential(shape, dtype if np.dtype(dtype).kind == "f" else np.float64,
                               kw.get("lambd", 1.0)).astype(dtype)
    if kind == "integers":
        return rng.integers(kw["low"], kw["high"], shape).astype(dtype)
    raise ValueError(kind)


# ---------------------------------------------------------------------------------------------
# Tensor.new_*: a tensor like this one (bound onto Tensor by the registry)
def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
    return tensor(data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


_registry.register(new_tensor, method="new_tensor")


def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
    return zeros(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


_registry.register(new_zeros, method="new_zeros")


def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
    return ones(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


_registry.register(new_ones, method="new_ones")


def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
    return full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device,
                requires_grad=requires_grad)


_registry.register(new_full, method="new_full")

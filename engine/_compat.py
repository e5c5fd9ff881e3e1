"""Small torch-level utilities scripts call around the maths: finfo/iinfo, type promotion queries,
thread and determinism switches, and where torch.<name> finds the names it loads on first use."""
import numpy as np

from . import _dtype


def _g(x):
    return f"{x:g}" if abs(x) < 1e5 or x == 0 else f"{x:.6g}"


class finfo:
    """torch.finfo: the limits of a floating dtype (the default dtype when none is given)."""

    def __init__(self, type=None):
        dt = _dtype.get_default_dtype() if type is None else _dtype.as_dtype(type)
        if not dt.is_floating_point:
            raise TypeError("torch.finfo() requires a floating point input type. Use torch.iinfo to handle "
                            "'torch.finfo'")
        info = np.finfo(dt.np)
        self.bits = info.bits
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.tiny)
        self.resolution = 10.0 ** -info.precision
        self.dtype = dt.name

    def __repr__(self):
        return (f"finfo(resolution={_g(self.resolution)}, min={_g(self.min)}, max={_g(self.max)}, "
                f"eps={_g(self.eps)}, smallest_normal={_g(self.smallest_normal)}, tiny={_g(self.tiny)}, "
                f"dtype={self.dtype})")


class iinfo:
    """torch.iinfo: the limits of an integer dtype."""

    def __init__(self, type):
        dt = _dtype.as_dtype(type)
        if dt.is_floating_point or dt is _dtype.bool_:
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to handle "
                            "'torch.iinfo'")
        info = np.iinfo(dt.np)
        self.bits, self.max, self.min, self.dtype = info.bits, int(info.max), int(info.min), dt.name

    def __repr__(self):
        return f"iinfo(min={float(self.min):.6g}, max={float(self.max):.6g}, dtype={self.dtype})"


def promote_types(type1, type2):
    a, b = _dtype.as_dtype(type1), _dtype.as_dtype(type2)
    return _dtype.result_type([a, b], [], [])


def result_type(tensor1, tensor2):
    from .tensor import Tensor
    dims, zero_dims, scalars = [], [], []
    for x in (tensor1, tensor2):
        if isinstance(x, Tensor):
            (dims if x.dim() else zero_dims).append(x.dtype)
        else:
            scalars.append(_dtype.scalar_category(x))
    return _dtype.result_type(dims, zero_dims, scalars)


def can_cast(from_, to):
    return _dtype.can_cast(_dtype.as_dtype(from_), _dtype.as_dtype(to))


def is_complex(input):
    return False  # the engine has no complex dtypes


def typename(obj):
    """`torch.typename`: a tensor's legacy type name (torch.FloatTensor), else the class's full name."""
    from .tensor import Tensor
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(type(obj), "__module__", None)
    name = type(obj).__qualname__
    return name if module in ("builtins", None) else f"{module}.{name}"


def is_nonzero(input):
    if input.numel() != 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input.item())


# threads and determinism: kept so scripts that set them run; NumPy's BLAS decides its own threads
_settings = {"threads": 1, "interop_threads": 1, "deterministic": False, "warn_only": False,
             "matmul_precision": "highest"}


def get_num_threads():
    return _settings["threads"]


def set_num_threads(n):
    if int(n) <= 0:
        raise RuntimeError("set_num_threads expects a positive integer")
    _settings["threads"] = int(n)


def get_num_interop_threads():
    return _settings["interop_threads"]


def set_num_interop_threads(n):
    _settings["interop_threads"] = int(n)


def use_deterministic_algorithms(mode, *, warn_only=False):
    _settings["deterministic"], _settings["warn_only"] = bool(mode), bool(warn_only)


def are_deterministic_algorithms_enabled():
    return _settings["deterministic"]  # (every engine op is deterministic anyway)


def is_deterministic_algorithms_warn_only_enabled():
    return _settings["warn_only"]


def set_float32_matmul_precision(precision):
    if precision not in ("highest", "high", "medium"):
        raise RuntimeError(f"Invalid precision: {precision}")
    _settings["matmul_precision"] = precision


def get_float32_matmul_precision():
    return _settings["matmul_precision"]


# torch.<name>_(tensor, ...): the tensor's in-place method
INPLACE_FUNCTIONS = frozenset("""relu_ sigmoid_ tanh_ exp_ abs_ clamp_ clamp_min_ clamp_max_ clip_ ceil_ floor_
round_ trunc_ frac_ neg_ sqrt_ rsqrt_ log_ sin_ cos_ fill_ zero_ dropout_ selu_ celu_""".split())


def torch_level(name):
    """The function `torch.<name>` for the names above, or None."""
    if name.startswith("_"):
        return None
    import importlib  # the torch.<name> spellings of nn functions (nn imports the engine: loaded here)
    _torch_nn = importlib.import_module(f"{__package__}._torch_nn")
    if name in _torch_nn.NAMES:
        return _torch_nn.torch_level(name)
    if name in INPLACE_FUNCTIONS:
        if name in ("dropout_", "selu_", "celu_"):
            fn = getattr(importlib.import_module("gradview.engine.nn.functional"), name[:-1])
            return lambda input, *args, **kwargs: fn(input, *args, inplace=True, **kwargs)
        return lambda input, *args, **kwargs: getattr(input, name)(*args, **kwargs)
    return None

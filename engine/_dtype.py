"""Tensor dtypes and PyTorch's type-promotion rules."""
import numpy as np


class dtype:
    """A tensor element type; prints as PyTorch does (``torch.float32``)."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "category", "title")

    def __init__(self, name, np_dtype, category, title):
        self.name = name
        self.title = title  # the legacy type's stem: Float for torch.FloatTensor, in messages too
        self.np = np.dtype(np_dtype)
        # category orders the kinds for promotion: bool < integer < floating
        self.category = category
        self.is_floating_point = category == 2
        self.is_signed = self.np.kind in "fi"
        self.itemsize = self.np.itemsize

    def __repr__(self):
        return "torch." + self.name

    def __reduce__(self):
        return self.name

    def to_real(self):
        return self


bool_ = dtype("bool", np.bool_, 0, "Bool")
uint8 = dtype("uint8", np.uint8, 1, "Byte")
int8 = dtype("int8", np.int8, 1, "Char")
int16 = dtype("int16", np.int16, 1, "Short")
int32 = dtype("int32", np.int32, 1, "Int")
int64 = dtype("int64", np.int64, 1, "Long")
float16 = dtype("float16", np.float16, 2, "Half")
float32 = dtype("float32", np.float32, 2, "Float")
float64 = dtype("float64", np.float64, 2, "Double")

ALL = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
_BY_NUMPY = {d.np: d for d in ALL}
_BY_NAME = {d.name: d for d in ALL}
_BY_NAME.update({"float": float32, "double": float64, "half": float16, "long": int64,
                 "int": int32, "short": int16})

# the C++ scalar type's name, which some of PyTorch's messages use instead of the title ("long int")
_SCALAR_TYPE_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
                      "int32": "int", "bool": "bool"}


def scalar_type_name(d):
    return _SCALAR_TYPE_NAMES.get(d.name, d.name)


_default_float = [float32]


def legacy_type_name(d, device_type="cpu"):
    """PyTorch's legacy name of a tensor type: torch.FloatTensor, torch.cuda.LongTensor."""
    return f"torch.{'' if device_type == 'cpu' else device_type + '.'}{d.title}Tensor"


def get_default_dtype():
    return _default_float[0]


def set_default_dtype(d):
    d = as_dtype(d)
    if not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _default_float[0] = d


def from_numpy_dtype(np_dtype):
    try:
        return _BY_NUMPY[np.dtype(np_dtype)]
    except KeyError:
        raise TypeError(
            f"can't convert np.ndarray of type {np.dtype(np_dtype)}. The only supported types are: "
            "float64, float32, float16, int64, int32, int16, int8, uint8, and bool.") from None


def as_dtype(d):
    """Accept an engine dtype, a NumPy dtype, a Python type or a name."""
    if isinstance(d, dtype):
        return d
    if d is float:
        return float64
    if d is int:
        return int64
    if d is bool:
        return bool_
    if isinstance(d, str) and d in _BY_NAME:
        return _BY_NAME[d]
    return from_numpy_dtype(d)


def _promote_pair(a, b):
    if a is b:
        return a
    return from_numpy_dtype(np.promote_types(a.np, b.np))


def scalar_category(value):
    if isinstance(value, (bool, np.bool_)):
        return 0
    if isinstance(value, (int, np.integer)):
        return 1
    if isinstance(value, (float, np.floating)):
        return 2
    if isinstance(value, complex):
        raise TypeError("complex numbers are not supported")
    raise TypeError(f"unsupported operand type {type(value).__name__}")


_SCALAR_DEFAULT = {0: lambda: bool_, 1: lambda: int64, 2: get_default_dtype}


def result_type(dims_dtypes, zero_dim_dtypes, scalar_categories):
    """PyTorch's promotion: the highest category wins; within it, dimensioned tensors outrank
    zero-dim tensors, which outrank Python scalars (which take the default dtype)."""
    top = -1
    for group in (dims_dtypes, zero_dim_dtypes):
        for d in group:
            if d.category > top:
                top = d.category
    for c in scalar_categories:
        if c > top:
            top = c
    for group in (dims_dtypes, zero_dim_dtypes):
        best = None
        for d in group:
            if d.category == top:
                best = d if best is None else _promote_pair(best, d)
        if best is not None:
            return best
    return _SCALAR_DEFAULT[top]()


def can_cast(src, dst):
    """PyTorch's rule for writing a result into an existing tensor (in-place ops and out=)."""
    return src.category <= dst.category

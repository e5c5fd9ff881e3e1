"""What the functional families share: dtype titles for error messages and argument tuples."""
from ... import creation

_TITLES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
           "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}
_SCALAR_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
                 "int32": "int", "bool": "bool"}


def _title(dtype):
    return _TITLES.get(dtype.name, dtype.name)


def _pair(v, n=2):
    if isinstance(v, (tuple, list)):
        if len(v) == 1:
            return tuple(int(v[0]) for _ in range(n))
        return tuple(int(a) for a in v)
    return (int(v),) * n


def _scalar_name(dtype):
    return _SCALAR_NAMES.get(dtype.name, dtype.name)


def _triple(v):
    return _pair(v, 3)


def _on(array, like):
    """A constant (index or weight array) as a tensor on `like`'s device."""
    return creation.tensor(array, device=like.device)

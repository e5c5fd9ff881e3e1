"""`torch.linalg`: PyTorch's linear-algebra namespace. The functions are declared in engine/ops with
their `linalg=` names."""
from . import functions as _functions  # noqa: F401  (every op module loaded, so all have registered)
from . import _keywords
from .ops import _registry, matrix as _matrix

globals().update(_keywords.accepting_in(_registry.LINALG))


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    return _matrix.diagonal(A, offset, dim1, dim2)

"""`torch.special`: PyTorch's special-functions namespace. The functions are declared in engine/ops
with their `special=` names; the few here differ from their torch-level twins in signature."""
from . import functions as _functions
from . import _keywords
from .ops import _registry, elementwise as _ew, bessel as _bessel

globals().update(_keywords.accepting_in(_registry.SPECIAL))


def log_softmax(input, dim, *, dtype=None):
    return _functions.log_softmax(input, dim, dtype=dtype)


def softmax(input, dim, *, dtype=None):
    return _functions.softmax(input, dim, dtype=dtype)


def round(input, *, decimals=0):
    # the decimals overload of round, whose node is RoundBackward1
    return _ew.round_decimals_node(input, decimals)


# the special functions PyTorch declares with `x` as their operand's name
def airy_ai(x, *, out=None):
    return _bessel.airy_ai(x, out=out)


def scaled_modified_bessel_k0(x, *, out=None):
    return _bessel.scaled_modified_bessel_k0(x, out=out)


def scaled_modified_bessel_k1(x, *, out=None):
    return _bessel.scaled_modified_bessel_k1(x, out=out)


def spherical_bessel_j0(x, *, out=None):
    return _bessel.spherical_bessel_j0(x, out=out)

"""`torch.special`: PyTorch's special-functions namespace (the functions live in engine/ops)."""
from .ops import elementwise as _ew, reduce as _red, more_math as _mm
from . import functions as _functions

expit = _ew.sigmoid
erf = _ew.erf
erfc = _mm.erfc
erfinv = _mm.erfinv
logit = _mm.logit
xlogy = _mm.xlogy
gammaln = _mm.lgamma
digamma = psi = _mm.digamma
polygamma = _mm.polygamma
multigammaln = _mm.mvlgamma
sinc = _mm.sinc
i0 = _mm.i0
entr = _mm.entr
log1p = _ew.log1p
expm1 = _ew.expm1
exp2 = _ew.exp2
logsumexp = _red.logsumexp
ndtr = _mm.ndtr


def log_softmax(input, dim, *, dtype=None):
    return _functions.log_softmax(input, dim, dtype=dtype)


def softmax(input, dim, *, dtype=None):
    return _functions.softmax(input, dim, dtype=dtype)


def round(input, *, decimals=0):
    # the decimals overload of round, whose node is RoundBackward1
    return _mm._special_round(input, decimals)

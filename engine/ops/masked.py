"""`torch.masked`: reductions and normalizations over the elements a boolean `mask` keeps.

As in PyTorch, each op replaces the masked-out elements by the identity of its reduction (0 for a
sum, 1 for a product, -inf for a maximum, ...) with `where`, then runs the ordinary op, so values,
dtypes and gradients (zero on masked-out elements) are those of the ops it is built from. Loaded
with `torch.masked`, after the rest of the engine (it is written in the engine's public ops).
"""
import math
import sys

from .. import _dtype
from ..creation import tensor, ones

F = sys.modules[__name__.rsplit(".", 2)[0]]   # the engine's torch-level namespace, complete by now

MASKED = {}   # torch.masked.<name> -> function


def _masked(fn):
    MASKED[fn.__name__] = fn
    return fn


_WIDENED = (_dtype.uint8, _dtype.bool_, _dtype.int8, _dtype.int16, _dtype.int32)


def _identity(op, x, ord=2):
    """The value that leaves op's result unchanged when added to its operands (None: there is none)."""
    dt = x.dtype
    if op in ("sum", "cumsum"):
        value = 0
    elif op in ("prod", "cumprod"):
        value = 1
    elif op in ("amax", "argmax", "logaddexp", "logsumexp"):
        value = -math.inf if dt.is_floating_point else F.iinfo(dt).min
    elif op in ("amin", "argmin"):
        value = math.inf if dt.is_floating_point else F.iinfo(dt).max
    elif op == "norm":
        value = math.inf if ord == -math.inf else 0
    elif op == "median":
        value = math.nan
    else:
        return None
    return tensor(value, dtype=dt, device=x.device)


def _canonical_dim(dim, ndim):
    """dim as a sorted tuple of non-negative dims; None or () mean every dim."""
    if dim is None or dim == ():
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    size = max(ndim, 1)
    out = []
    for d in dims:
        if d >= size or d < -size:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-size}, {size - 1}], but got {d})")
        if d % size in out:
            raise RuntimeError(f"dim={d} appears multiple times in the list of dims")
        out.append(d % size)
    return tuple(sorted(out))


def _input_mask(x, mask):
    if tuple(mask.shape) != tuple(x.shape):
        if mask.dim() > x.dim():
            raise IndexError("_input_mask expected broadcastable mask (got mask dimensionality higher than of the "
                             "input)")
        mask = F.broadcast_to(mask, x.shape)
    return mask.to(_dtype.bool_)


def _combine(op, x, mask, ord=2):
    """x with its masked-out elements replaced by op's identity."""
    if mask is None:
        return x
    return F.where(_input_mask(x, mask), x, _identity(op, x, ord))


def _sum_dtype(x, dtype):
    if dtype is not None:
        return dtype
    return _dtype.int64 if x.dtype in _WIDENED else x.dtype


@_masked
def sum(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    dtype = _sum_dtype(input, dtype)
    return F.sum(_combine("sum", input, mask), _canonical_dim(dim, input.dim()), bool(keepdim), dtype=dtype)


@_masked
def prod(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    result = _combine("prod", input, mask).to(_sum_dtype(input, dtype))
    for d in reversed(_canonical_dim(dim, input.dim())):
        result = result.prod(dim=d, keepdim=bool(keepdim))
    return result


@_masked
def cumsum(input, dim, *, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else dtype
    d = _canonical_dim(dim, input.dim())[0]
    return F.cumsum(_combine("sum", input, mask), d, dtype=dtype).to(dtype)


@_masked
def cumprod(input, dim, *, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else dtype
    d = _canonical_dim(dim, input.dim())[0]
    return F.cumprod(_combine("prod", input, mask), d, dtype=dtype).to(dtype)


@_masked
def amax(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else dtype
    x = _combine("amax", input, mask)
    return F.amax(x, _canonical_dim(dim, x.dim()), bool(keepdim)).to(dtype)


@_masked
def amin(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else dtype
    x = _combine("amin", input, mask)
    return F.amin(x, _canonical_dim(dim, x.dim()), bool(keepdim)).to(dtype)


@_masked
def argmax(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else dtype
    return F.argmax(_combine("argmax", input, mask), dim, bool(keepdim)).to(dtype)


@_masked
def argmin(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else dtype
    return F.argmin(_combine("argmin", input, mask), dim, bool(keepdim)).to(dtype)


def _count(input, dim, keepdim, mask):
    """How many elements each reduced slice keeps (an int64 tensor)."""
    if mask is None:
        return sum(ones(input.shape, dtype=_dtype.int64, device=input.device), dim, keepdim=keepdim)
    return _input_mask(input, mask).sum(dim=dim, keepdim=bool(keepdim))


@_masked
def mean(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    source = "Optional" if dtype is not None else "Input"
    dtype = input.dtype if dtype is None else dtype
    if not dtype.is_floating_point:
        raise ValueError(f"mean(): Could not infer output dtype. {source} dtype must be either a floating point or "
                         f"complex dtype. Got: {dtype}")
    mask = None if mask is None else _input_mask(input, mask)
    return sum(input, dim, keepdim=keepdim, dtype=dtype, mask=mask) / _count(input, dim, keepdim, mask)


@_masked
def median(input, dim=-1, *, keepdim=False, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else dtype
    d = _canonical_dim(dim, input.dim())[0]
    is_float = input.dtype.is_floating_point
    if not is_float:
        input = input.to(_dtype.float32)
    output = F.nanmedian(_combine("median", input, mask), d, keepdim).values
    if is_float:
        return output
    if bool(F.isnan(output).any()):
        raise ValueError("masked median expects no fully masked out rows if dtype is not floating point")
    return output.to(dtype)


@_masked
def logsumexp(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else dtype
    x = _combine("logsumexp", input, mask)
    return F.logsumexp(x, _canonical_dim(dim, input.dim()), keepdim=keepdim).to(dtype)


@_masked
def logaddexp(input, other, *, dtype=None, input_mask=None, other_mask=None):
    dtype = input.dtype if dtype is None else dtype
    return F.logaddexp(_combine("logaddexp", input, input_mask), _combine("logaddexp", other, other_mask)).to(dtype)


@_masked
def norm(input, ord=2.0, dim=None, *, keepdim=False, dtype=None, mask=None):
    from .norms import vector_norm
    dtype = input.dtype if dtype is None else dtype
    x = _combine("norm", input, mask, ord)
    return vector_norm(x, ord, _canonical_dim(dim, input.dim()), bool(keepdim), dtype=dtype)


def _std_var(input, dim, unbiased, correction, keepdim, dtype, mask, take_sqrt):
    if unbiased is not None and correction is not None:
        raise AssertionError("Only one of unbiased and correction may be given")
    corr = 1.0 if unbiased is None else float(bool(unbiased))
    if correction is not None:
        corr = float(correction)
    if dtype is None:
        dtype = input.dtype if input.dtype.is_floating_point else _dtype.float32
    mask = None if mask is None else _input_mask(input, mask)
    count = _count(input, dim, True, mask)
    x = input - sum(input, dim, keepdim=True, dtype=dtype, mask=mask) / count
    total = sum(x * x, dim, keepdim=keepdim, dtype=dtype, mask=mask)
    if not keepdim:
        count = count.reshape(total.shape)
    if corr != 0:
        count = F.clamp_min(count.to(dtype) - corr, 0)
    output = (total / count).to(dtype)
    return F.sqrt(output) if take_sqrt else output


@_masked
def var(input, dim=None, unbiased=None, *, correction=None, keepdim=False, dtype=None, mask=None):
    return _std_var(input, dim, unbiased, correction, keepdim, dtype, mask, take_sqrt=False)


@_masked
def std(input, dim=None, unbiased=None, *, correction=None, keepdim=False, dtype=None, mask=None):
    return _std_var(input, dim, unbiased, correction, keepdim, dtype, mask, take_sqrt=True)


def _normalization(name, identity_of):
    def op(input, dim, *, dtype=None, mask=None):
        from ..nn import functional as nnf
        dtype = input.dtype if dtype is None else dtype
        d = _canonical_dim(dim, input.dim())[0]
        return getattr(nnf, name)(_combine(identity_of, input, mask), d, dtype=dtype)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"{name} over the kept elements (the masked-out ones count as {identity_of}'s identity)."
    return _masked(op)


softmax = _normalization("softmax", "amax")
log_softmax = _normalization("log_softmax", "amax")
softmin = _normalization("softmin", "amin")


@_masked
def normalize(input, ord, dim, *, eps=1e-12, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else dtype
    nrm = norm(input, ord, dim, keepdim=True, dtype=dtype, mask=mask)
    return _combine("sum", input, mask) / F.clamp_min(nrm, eps)

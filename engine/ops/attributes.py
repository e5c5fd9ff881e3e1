"""Tensor attributes and predicates of real tensors in one process's memory (conj, imag, mH,
is_nonzero, is_signed, storage_offset, new, resize_, ...), angle, rsub, the *_copy functions,
and methods reached through nn.functional (prelu, hardshrink)."""
import math
from .._dtype import bool_
from ._core import OpDef, apply, Tensor
from ._registry import binds, register
from ..tensor import Size
from .._dtype import get_default_dtype
from .binary import bitwise_left_shift, bitwise_right_shift
from . import shape as sh, linalg as la
from .inplace import run_inplace


# ---------------------------------------------------------------------------------------------
# real strided tensors: conjugation and the like are the tensor itself (PyTorch returns it too)
@binds("positive")
def positive(input):
    if input.dtype is bool_:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


@binds("conj", "resolve_conj", "resolve_neg",
       method=("share_memory_", "conj", "resolve_conj", "resolve_neg"), prop="real")
def _itself(self):
    return self


def _matrix_transpose(what):
    def transpose(self):
        if self._data.ndim < 2:
            raise RuntimeError(f"tensor.{what} is only supported on matrices or batches of matrices. Got "
                               f"{self._data.ndim}-D tensor.")
        return sh.transpose(self, -2, -1)
    return transpose


@binds(method=False, prop="imag")
def _imag(self):
    raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")


@binds("is_nonzero")
def is_nonzero(input):
    n = input._data.size
    if n != 1:
        raise RuntimeError("Boolean value of Tensor with " + ("no values" if n == 0 else "more than one value") +
                           " is ambiguous")
    return bool(input.item())


@binds(method="storage_offset")
def _storage_offset(self):
    # a view's first element counted from its base's first element (both share the memory)
    return 0 if self._base is None else (self.data_ptr() - self._base.data_ptr()) // self.dtype.itemsize


@binds(method="new")
def _new(self, *args, **kwargs):
    """The legacy constructor: no arguments, sizes or a torch.Size give an empty tensor; data, a tensor."""
    if not args or isinstance(args[0], (int, Size)) and not isinstance(args[0], bool):
        return self.new_empty(*(args or (0,)), **kwargs)
    return self.new_tensor(args[0], **kwargs)


@binds(method="new_empty_strided")
def _new_empty_strided(self, size, stride, *, dtype=None, device=None, requires_grad=False, **_):
    # the engine's arrays are laid out contiguously: the strides are not kept
    return self.new_empty(tuple(size), dtype=dtype, device=device, requires_grad=requires_grad)


@binds(method="resize_")
def _resize_(self, *sizes, size=None, memory_format=None):
    """PyTorch's resize_: the elements keep their order in memory; growing keeps what lay in the
    memory before a shrink, and the rest is new memory (zeros here, uninitialised in PyTorch)."""
    if self._rg:
        raise RuntimeError("cannot resize variables that require grad")
    shape = tuple(sh._shape_arg(sizes if size is None else (size,)))
    if shape == tuple(self._data.shape):
        return self
    n, data = math.prod(shape), self._data
    storage = data.ravel(order="K")
    root = data
    while isinstance(getattr(root, "base", None), type(data)):
        root = root.base
    if root is not data and root.flags.c_contiguous and data.flags.c_contiguous:
        start = self.data_ptr() - Tensor._make(root, device=self.device).data_ptr()
        storage = root.reshape(-1)[start // data.itemsize:]
    if n > storage.size:
        storage = self._xp.concatenate([storage, self._xp.zeros(n - storage.size, dtype=data.dtype)])
    self._data = storage[:n].reshape(shape)
    return self


@binds("resize_as_")
def _resize_as_(self, the_template, memory_format=None):
    return _resize_(self, tuple(the_template.shape))


# ---------------------------------------------------------------------------------------------
def _nn(name):
    def method(self, *args, **kwargs):  # nn.functional imports the ops, so it is reached lazily
        from ..nn import functional as F
        return getattr(F, name)(self, *args, **kwargs)
    method.__name__ = name
    return method


@binds(inplace="addmm_")
def _addmm(input, mat1, mat2, *, beta=1, alpha=1):
    return la.addmm(input, mat1, mat2, beta=beta, alpha=alpha)


def _copy_variant(view):
    """torch.<view>_copy: the view op's result in memory of its own (tuples of views: each copied)."""
    def copy(input, *args, **kwargs):
        out = getattr(input, view)(*args, **kwargs)
        return tuple(t.clone() for t in out) if isinstance(out, (tuple, list)) else out.clone()
    copy.__name__ = f"{view}_copy"
    return copy


def _angle_forward(xp, x):
    return xp.where(x < 0, math.pi, xp.where(xp.isnan(x), x, 0)).astype(x.dtype)


# the argument of a real number: pi below zero, 0 elsewhere (nan stays nan); its gradient is zero
_angle = OpDef("AngleBackward0", _angle_forward, lambda m, g, node: m.zeros_like(g), kind="angle", elementwise=True)


@binds("angle")
def angle(input):
    return apply(_angle, (input if input.dtype.is_floating_point else input.to(get_default_dtype()),))


@binds("constant_pad_nd", method=False)
def constant_pad_nd(input, pad, value=0):
    from ..nn import functional as F
    return F.pad(input, pad, mode="constant", value=value)


def _false(input, *args):
    return False


# predicates and views with nothing to do for real tensors in one process's memory
register(_false, torch=("is_conj", "is_neg", "is_inference"),
         prop=("is_meta", "is_sparse", "is_quantized", "is_mps", "is_xpu"))
register(lambda input: input.dtype.is_signed, torch="is_signed")
register(lambda input, other: input.shape == other.shape, torch="is_same_size")
register(_matrix_transpose("adjoint()"), torch="adjoint")
register(_matrix_transpose("mH"), method=False, prop="mH")
register(lambda self: self.dtype.itemsize, method=False, prop="itemsize")
register(lambda self: self.dtype.itemsize * self._data.size, method=False, prop="nbytes")
for _view in ("view", "t", "permute", "expand", "squeeze", "unsqueeze", "transpose", "diagonal", "unbind",
              "split_with_sizes", "unfold"):  # torch-level only, as in PyTorch
    register(_copy_variant(_view), torch=f"{_view}_copy", method=False)
register(lambda input: input.clone(), torch="alias_copy", method=False)
register(lambda self, axis0, axis1: self.transpose_(axis0, axis1), method="swapaxes_")
register(lambda self, dim0, dim1: self.transpose_(dim0, dim1), method="swapdims_")
register(_nn("prelu"), method="prelu")
register(_nn("hardshrink"), method="hardshrink")
register(lambda self, other: bitwise_left_shift(self, other), method="__lshift__")
register(lambda self, other: bitwise_left_shift(other, self), method="__rlshift__")
register(lambda self, other: bitwise_right_shift(self, other), method="__rshift__")
register(lambda self, other: bitwise_right_shift(other, self), method="__rrshift__")
register(lambda self, other: run_inplace(self, lambda old: bitwise_left_shift(old, other), "lshift_"),
         method="__ilshift__")
register(lambda self, other: run_inplace(self, lambda old: bitwise_right_shift(old, other), "rshift_"),
         method="__irshift__")

"""Names PyTorch keeps beside its ops, each reached through an op the engine already has: legacy
spellings (`__div__`, `row_stack`, `frobenius_norm`, `Tensor.resize`), the `*_copy` twins of views,
the ATen-level forms of the normalisations (`native_layer_norm` and kin, which return the
statistics too), and the questions about layouts and devices whose answer is always no here."""
import math
import warnings

import numpy as np

from ._core import Tensor
from ._registry import register, binds
from . import shape as sh, reduce as red, norms, solvers, indexing
from .. import creation


# ---------------------------------------------------------------------------------------------
# predicates: the engine's tensors are dense, in one process, on cpu or cuda
def _false(input, *args):
    return False


register(_false, torch="is_distributed", method=("is_distributed", "is_shared"),
         prop=("is_sparse_csr", "is_mkldnn", "is_nested", "is_ipu", "is_xla", "is_mtia", "is_maia", "is_vulkan"))


@binds(method=False, prop="volatile")
def _volatile(self):
    warnings.warn("volatile was removed (Variable.volatile is always False)", stacklevel=2)
    return False


@binds(method="is_set_to")
def _is_set_to(self, tensor):
    """Whether both tensors see the same memory with the same sizes and strides."""
    return self.data_ptr() == tensor.data_ptr() and self.shape == tensor.shape and \
        self.stride() == tensor.stride() and self.dtype is tensor.dtype


@binds(method="dim_order")
def _dim_order(self, *, ambiguity_check=False):
    """The dimensions from outermost to innermost in memory (largest stride first)."""
    strides = self.stride()
    return tuple(sorted(range(self.dim()), key=lambda d: -strides[d]))


register(lambda self: self.data_ptr(), method="const_data_ptr")
register(lambda input: input.get_device(), torch="get_device", method=False)


# ---------------------------------------------------------------------------------------------
# Python 2's operator names and the protocols PyTorch's Tensor class defines
register(lambda self, other, *, rounding_mode=None: self.div(other, rounding_mode=rounding_mode), method="__div__")
register(lambda self, other, *, rounding_mode=None: self.div_(other, rounding_mode=rounding_mode), method="__idiv__")
register(lambda self: int(self), method="__long__")
register(lambda self: bool(self), method="__nonzero__")


@binds(method="__reversed__")
def _reversed(self):
    return self if self.dim() == 0 else sh.flip(self, (0,))


@binds(method="__contains__")
def _contains(self, element):
    if not isinstance(element, (Tensor, int, float, bool)):
        raise RuntimeError(f"Tensor.__contains__ only supports Tensor or scalar, but you passed in a "
                           f"{type(element)}.")
    return bool((element == self).any().item())


@binds(method="__dlpack__")
def _dlpack(self, *, stream=-1, max_version=None, dl_device=None, copy=None):
    if self.requires_grad:
        raise RuntimeError("Can't export tensors that require gradient, use tensor.detach()")
    return self._data.__dlpack__(stream=None if self.device.type == "cpu" else stream)


@binds(method="__dlpack_device__")
def _dlpack_device(self):
    return (1, 0) if self.device.type == "cpu" else (2, self.device.index or 0)  # kDLCPU, kDLCUDA


# ---------------------------------------------------------------------------------------------
# legacy and convenience spellings of existing ops
register(lambda tensors: sh.vstack(tensors), torch="row_stack", method=False)
register(lambda input: input.detach(), torch="detach", method=False)
register(lambda ext_tensor: creation.from_numpy(np.from_dlpack(ext_tensor)), torch="from_dlpack", method=False)
register(lambda input: input, torch=("real", "conj_physical"), method=("conj_physical", "conj_physical_"))
register(lambda input: input.imag, torch="imag", method=False)
register(lambda input, input2: solvers.householder_product(input, input2), torch="orgqr")


@binds(method="to_dense")
def _to_dense(self, dtype=None, *, masked_grad=None):
    return self if dtype is None else self.to(dtype)


@binds(method="resize")
def _resize(self, *sizes):
    """The deprecated out-of-place resize: a differentiable view of the same elements."""
    warnings.warn("non-inplace resize is deprecated", stacklevel=2)
    shape = sh._shape_arg(sizes)
    if math.prod(shape) != self.numel():
        raise RuntimeError(f"requested resize to {'x'.join(map(str, shape))} ({math.prod(shape)} elements in "
                           f"total), but the given tensor has a size of {self.numel()} elements.")
    return sh.contiguous(self).view(shape)


@binds(method="resize_as")
def _resize_as(self, tensor):
    return _resize(self, tuple(tensor.shape))


@binds(method="module_load")
def _module_load(self, other, assign=False):
    """What `Module.load_state_dict` writes into this tensor (`assign=True`: the other itself)."""
    return other.detach() if assign else self.copy_(other).detach()


@binds(method="apply_")
def _apply_(self, callable):
    """Each element replaced by callable(element), a Python loop as in PyTorch (cpu only)."""
    values = [callable(v) for v in np.asarray(self.detach().cpu()._data).ravel().tolist()]
    return self.copy_(creation.tensor(values, dtype=self.dtype).reshape(self.shape))


@binds(method="map_")
def _map_(self, tensor, callable):
    other = sh.expand(tensor, tuple(self.shape))
    values = [callable(a, b) for a, b in zip(self.detach().cpu().flatten().tolist(),
                                              other.detach().cpu().flatten().tolist())]
    return self.copy_(creation.tensor(values, dtype=self.dtype).reshape(self.shape))


@binds(method="map2_")
def _map2_(self, x, y, callable):
    xs, ys = (sh.expand(t, tuple(self.shape)).detach().cpu().flatten().tolist() for t in (x, y))
    values = [callable(a, b, c) for a, b, c in zip(self.detach().cpu().flatten().tolist(), xs, ys)]
    return self.copy_(creation.tensor(values, dtype=self.dtype).reshape(self.shape))


@binds("nonzero_static")
def nonzero_static(input, *, size, fill_value=-1):
    """nonzero's indices cut or padded with fill_value to `size` rows (a fixed shape)."""
    found = indexing.nonzero(input)[:size]
    if found.shape[0] < size:
        pad = creation.full((size - found.shape[0], input.dim()), fill_value, dtype=found.dtype, device=input.device)
        found = sh.cat([found, pad])
    return found


# ---------------------------------------------------------------------------------------------
# the *_copy twins of views: the view's values in memory of their own
register(lambda input, dim, index: sh.select(input, dim, index).clone(), torch="select_copy", method=False)
register(lambda input: input.detach().clone(), torch="detach_copy", method=False)


@binds("slice_copy", method=False)
def slice_copy(input, dim=0, start=None, end=None, step=1):
    index = (slice(None),) * (dim % max(input.dim(), 1)) + (slice(start, end, step),)
    return input[index].clone()


@binds("split_copy", method=False)
def split_copy(input, split_size, dim=0):
    return tuple(t.clone() for t in sh.split(input, split_size, dim))


# ---------------------------------------------------------------------------------------------
# norms by their older torch-level names
@binds("frobenius_norm", method=False)
def frobenius_norm(input, dim, keepdim=False):
    return norms.vector_norm(input, 2, dim, keepdim)


@binds("nuclear_norm", method=False)
def nuclear_norm(input, dim=None, keepdim=False):
    if isinstance(dim, bool):  # nuclear_norm(input, keepdim): the two-argument overload
        dim, keepdim = None, dim
    if dim is None and input.dim() != 2:
        raise RuntimeError(f"Expected a tensor with 2 dimensions, but got a tensor with {input.dim()} dimensions "
                           "instead.")
    return norms.matrix_norm(input, "nuc", (0, 1) if dim is None else tuple(dim), keepdim)


@binds("norm_except_dim", method=False)
def norm_except_dim(v, pow=2, dim=0):
    """The norm over every dimension but `dim`, kept as size 1 (weight normalisation's norm)."""
    if dim == -1:
        return red.norm(v, pow)
    dim = dim % v.dim()
    others = tuple(d for d in range(v.dim()) if d != dim)
    return norms.vector_norm(v, pow, others, True)


# ---------------------------------------------------------------------------------------------
# ATen's normalisations: the result and the statistics backward would use
@binds("native_layer_norm", method=False)
def native_layer_norm(input, normalized_shape, weight, bias, eps):
    dims = tuple(range(input.dim() - len(normalized_shape), input.dim()))
    mean = red.mean(input, dims, True)
    rstd = (red.var(input, dims, keepdim=True, correction=0) + eps).rsqrt()
    out = (input - mean) * rstd
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out, mean.detach(), rstd.detach()  # statistics for backward: PyTorch's gradient ignores them


@binds("native_batch_norm", method=False)
def native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps):
    from ..nn import functional as F
    out = F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    if not training:
        empty = creation.empty(0, dtype=input.dtype, device=input.device)
        return out, empty, empty.clone()
    dims = (0,) + tuple(range(2, input.dim()))
    mean = red.mean(input, dims)
    invstd = (red.var(input, dims, correction=0) + eps).rsqrt()
    return out, mean.detach(), invstd.detach()


@binds("native_group_norm", method=False)
def native_group_norm(input, weight, bias, N, C, HxW, group, eps):
    from ..nn import functional as F
    out = F.group_norm(input, group, weight, bias, eps)
    grouped = input.reshape(N, group, (C // group) * HxW)   # explicit: N may be 0
    mean = red.mean(grouped, -1)
    rstd = (red.var(grouped, -1, correction=0) + eps).rsqrt()
    return out, mean, rstd  # (PyTorch's backward takes these statistics' gradients, unlike layer and batch norm)

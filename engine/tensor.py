"""`Tensor`: a backend array plus dtype, device, autograd state and a version counter.

Methods are thin: each calls the op that implements it (engine/ops). In-place methods (`add_`,
`mul_`, ...) are generated from their out-of-place twins by `ops.inplace.run_inplace`.
"""
import weakref

import numpy as np

from . import _state, backends
from ._dtype import get_default_dtype, legacy_type_name
from ._tensor_str import format_tensor
from ._tensortype import legacy_new, resolve
from .storage import UntypedStorage, TypedStorage
from ._dtype import from_numpy_dtype, float32, float64, int64, int32, bool_, float16, uint8, int8, \
    int16
from ._device import CPU, canonical, device as Device
from ._dims import normalize_dim


class Size(tuple):
    """`torch.Size`: a tuple of ints that prints as PyTorch's."""

    def __repr__(self):
        return f"torch.Size([{', '.join(str(s) for s in self)}])"

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, item):
        result = tuple.__getitem__(self, item)
        return Size(result) if isinstance(item, slice) else result

    def __add__(self, other):
        return Size(tuple(self) + tuple(other))


class _TensorType(type):
    def __repr__(cls):
        # scripts print type(x) and expect PyTorch's name; the module stays engine.tensor
        return "<class 'torch.Tensor'>" if cls.__name__ == "Tensor" else type.__repr__(cls)


class Tensor(metaclass=_TensorType):
    __slots__ = ("_data", "dtype", "device", "grad", "grad_fn", "_rg", "_version_box", "_base", "_view_fn",
                 "_accumulator", "_extra", "__weakref__")

    # keep NumPy from treating a Tensor as an array on the left of `ndarray op tensor`
    __array_priority__ = 1000

    def __init__(self, *args, device=None):
        # torch.Tensor(2, 3), torch.Tensor([1, 2]): the legacy constructor, in the default dtype
        t = legacy_new(args, get_default_dtype(), device, typed=False)
        self._init_from(t._data, t.dtype, t.device)
        self._version_box = t._version_box

    def _init_from(self, data, dtype, device):
        """Every slot of a new tensor: the one place they are set (the constructor, _make, ops)."""
        self._data = data
        self.dtype = dtype
        self.device = device
        self.grad = None
        self.grad_fn = None
        self._rg = False
        self._version_box = [0]
        self._base = None
        self._view_fn = None
        self._accumulator = None
        self._extra = None

    @classmethod
    def _make(cls, data, grad_fn=None, requires_grad=False, device=None):
        """Wrap a backend array without copying."""
        if isinstance(data, np.generic):
            data = np.asarray(data)
        t = object.__new__(cls)
        if device is None:
            device = CPU if data.__class__ is np.ndarray else _device_of(data)
        t._init_from(data, from_numpy_dtype(data.dtype), device)
        if grad_fn is not None or requires_grad:
            t.grad_fn = grad_fn
            t._rg = True
        return t

    # -----------------------------------------------------------------------------------------
    # attributes
    @property
    def _xp(self):
        return np if self.device is CPU else self.device.backend.xp

    @property
    def requires_grad(self):
        if self._base is not None:
            self._sync_view()  # its base may have joined the graph since
        return self._rg

    @requires_grad.setter
    def requires_grad(self, value):
        if self.grad_fn is not None and not value:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to use a "
                               "computed variable in a subgraph that doesn't require differentiation use "
                               "var_no_grad = var.detach().")
        if value and not self.dtype.is_floating_point:
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self._rg = bool(value)

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def _version(self):
        return self._version_box[0]

    @property
    def shape(self):
        return Size(self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[normalize_dim(dim, self._data.ndim)]

    def dim(self):
        return self._data.ndim

    ndimension = dim

    @property
    def ndim(self):
        return self._data.ndim

    def numel(self):
        return int(self._data.size)

    nelement = numel

    def element_size(self):
        return self.dtype.itemsize

    def stride(self, dim=None):
        strides = tuple(s // self.dtype.itemsize for s in self._data.strides)
        return strides if dim is None else strides[dim]

    def is_contiguous(self, memory_format=None):
        return bool(self._data.flags.c_contiguous)

    def data_ptr(self):
        return self._data.__array_interface__["data"][0] if isinstance(self._data, np.ndarray) \
            else int(self._data.data.ptr)

    def untyped_storage(self):
        return UntypedStorage(self)

    def storage(self):
        return TypedStorage(self)

    @property
    def is_cuda(self):
        return self.device.type == "cuda"

    @property
    def is_floating_point_(self):
        return self.dtype.is_floating_point

    def is_floating_point(self):
        return self.dtype.is_floating_point

    def is_complex(self):
        return False

    @property
    def layout(self):
        return "torch.strided"

    @property
    def _base_tensor(self):
        return self._base

    @property
    def data(self):
        t = Tensor._make(self._data, device=self.device)
        return t

    @data.setter
    def data(self, value):
        self._data = value._data
        self.dtype = value.dtype
        self.device = value.device

    @property
    def name(self):
        return None if self._extra is None else self._extra.get("name")

    @property
    def retains_grad(self):
        return bool(self._extra and self._extra.get("retains_grad"))

    # -----------------------------------------------------------------------------------------
    # autograd
    def _edge(self):
        """The node a gradient for this tensor flows into (None when it needs none)."""
        if self._base is not None:
            self._sync_view()
        if not self._rg:
            return None
        if self.grad_fn is not None:
            return self.grad_fn
        return self._grad_accumulator()

    def detach(self):
        t = Tensor._make(self._data, device=self.device)
        t._version_box = self._version_box  # shares memory, so it shares the version counter too
        return t

    def detach_(self):
        if self._base is not None and self._base._rg:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn = None
        self._rg = False
        return self

    def retain_grad(self):
        if not self._rg:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None or self.retains_grad:
            return
        ref = weakref.ref(self)

        def store(grad):
            t = ref()
            if t is not None:
                t.grad = grad.detach().clone() if t.grad is None else t.grad + grad.detach()
        self.grad_fn.register_prehook(store)
        self._set_extra("retains_grad", True)

    def _set_extra(self, key, value):
        if self._extra is None:
            self._extra = {}
        self._extra[key] = value

    def register_hook(self, hook):
        if not self._rg:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        node = self.grad_fn if self.grad_fn is not None else self._grad_accumulator()
        return node.register_prehook(hook)

    # -----------------------------------------------------------------------------------------
    # conversion
    def numpy(self, *, force=False):
        if self._rg and _state.grad_enabled or self._rg and not force:
            if not force:
                raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                                   "instead.")
        if self.device is not CPU:
            if force:
                return self.cpu()._data
            raise TypeError(f"can't convert {self.device.type}:{self.device.index} device type tensor to numpy. Use "
                            "Tensor.cpu() to copy the tensor to host memory first.")
        return self._data

    def __array__(self, dtype=None, copy=None):
        data = self.cpu()._data if self.device is not CPU else self._data
        return data if dtype is None else data.astype(dtype)

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._host().reshape(()).item()

    def _host(self):
        if self.device is CPU:
            return self._data
        return self.device.backend.to_numpy(self._data)

    def tolist(self):
        return self._host().tolist()

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def __float__(self):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return float(self.item())

    def __int__(self):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return int(self.item())

    def __index__(self):
        if self.dtype.category != 1 and self.dtype is not bool_ or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __complex__(self):
        return complex(self.item())

    def __hash__(self):
        return id(self)

    def __reduce_ex__(self, proto):
        return (_rebuild, (self._host().copy(), str(self.device), self._rg))

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                               "protocol at the moment.")
        t = Tensor._make(self._data.copy(), device=self.device)
        t._rg = self._rg
        if self.grad is not None:
            t.grad = self.grad.__deepcopy__(memo)
        memo[id(self)] = t
        return t

    def __format__(self, format_spec):
        if self._data.ndim == 0:
            return self.item().__format__(format_spec)
        return object.__format__(self, format_spec)

    def __repr__(self, *, tensor_contents=None):
        if self._base is not None:
            self._sync_view()
        dev = None if self.device is CPU else str(self.device)
        grad_fn = self.grad_fn.short_name() if self.grad_fn is not None else None
        return format_tensor(self._host(), self.dtype, device=dev, requires_grad=self._rg, grad_fn_name=grad_fn)

    __str__ = __repr__

    # -----------------------------------------------------------------------------------------
    # dtype and device
    def type(self, dtype=None, non_blocking=False):
        """The legacy type name (`torch.FloatTensor`), or a copy converted to a dtype or legacy type."""
        if dtype is None:
            return legacy_type_name(self.dtype, self.device.type)
        d, device_type = resolve(dtype)
        result = self
        if device_type is not None and device_type != self.device.type:
            result = result.to(device_type)
        return result.to(d)

    def type_as(self, other):
        return self.to(other.dtype)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None, non_blocking=False):
        return self.to(Device("cuda", device) if isinstance(device, int) else (device or "cuda"))

    def get_device(self):
        return -1 if self.device.type == "cpu" else self.device.index

    def is_pinned(self, device=None):
        return False

    def pin_memory(self, device=None):
        """A copy for fast transfers to the GPU in PyTorch; copies are plain here (CuPy copies pageable
        memory just the same), so this is a clone, and needs a GPU as PyTorch's does."""
        if not backends.is_available("cuda"):
            raise RuntimeError("Cannot access accelerator device when none is available.")
        return self.clone()

    def float(self, memory_format=None):
        return self.to(float32)

    def double(self, memory_format=None):
        return self.to(float64)

    def half(self, memory_format=None):
        return self.to(float16)

    def long(self, memory_format=None):
        return self.to(int64)

    def int(self, memory_format=None):
        return self.to(int32)

    def short(self, memory_format=None):
        return self.to(int16)

    def char(self, memory_format=None):
        return self.to(int8)

    def byte(self, memory_format=None):
        return self.to(uint8)

    def bool(self, memory_format=None):
        return self.to(bool_)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return self.new_zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)

    # -----------------------------------------------------------------------------------------
    # indexing
    # properties that are views
    @property
    def is_cpu(self):
        return self.device.type == "cpu"


def _device_of(data):
    backend = backends.owner_of(data)
    return CPU if backend is None else canonical(backend.device_of(data))


def _rebuild(array, device, requires_grad):
    t = Tensor._make(array)
    if device != "cpu":
        t = t.to(device)
    t._rg = requires_grad
    return t


# ---------------------------------------------------------------------------------------------
# moving between devices is an op too, so gradients flow back across it

"""`nn.Parameter` (a leaf tensor a Module registers as learnable) and `nn.Buffer`."""
from .. import _state
from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that a Module registers as a parameter when assigned as an attribute.

    It shares memory (and the version counter) with the tensor it wraps and is always a leaf.
    """

    __slots__ = ()

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            from ..creation import empty
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): argument 'data' must be Tensor, not {type(data).__name__}")
        self = object.__new__(cls)
        self._init_from(data._data, data.dtype, data.device)
        self._version_box = data._version_box
        if requires_grad and not data.dtype.is_floating_point:
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        self._rg = bool(requires_grad)
        if _state.recorder is not None:  # graph capture places a parameter where it was made
            _state.recorder.created(self)
        return self

    def __init__(self, data=None, requires_grad=True):
        pass  # everything happens in __new__

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = Parameter(Tensor._make(self._data.copy(), device=self.device), self._rg)
        if self.grad is not None:
            result.grad = self.grad.__deepcopy__(memo)
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self._host().copy(), str(self.device), self._rg))


def _rebuild_parameter(array, device, requires_grad):
    t = Tensor._make(array)
    if device != "cpu":
        t = t.to(device)
    return Parameter(t, requires_grad)


class Buffer(Tensor):
    """Marks a tensor to be registered as a buffer when assigned to a Module attribute."""

    __slots__ = ("persistent",)

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            from ..creation import empty
            data = empty(0)
        self = object.__new__(cls)
        self._init_from(data._data, data.dtype, data.device)
        self._version_box = data._version_box
        self.persistent = persistent
        return self

    def __init__(self, data=None, *, persistent=True):
        pass


def is_lazy(param):
    return False


def zero_grads(params, set_to_none=True):
    """Reset the gradients of `params` (Module.zero_grad and Optimizer.zero_grad): drop them, or with
    set_to_none=False zero them in place, detached from any graph that made them."""
    for p in params:
        if p.grad is not None:
            if set_to_none:
                p.grad = None
            else:
                if p.grad.grad_fn is not None:
                    p.grad.detach_()
                else:
                    p.grad.requires_grad_(False)
                p.grad._data[...] = 0
                p.grad._version_box[0] += 1

"""`Tensor.untyped_storage()` and `Tensor.storage()`: the memory a tensor and its views share,
as PyTorch's UntypedStorage (bytes) and TypedStorage (elements of the tensor's dtype)."""


def _memory(tensor):
    """The whole array the tensor's elements live in, flattened (a view: writes reach the tensor)."""
    root = tensor._base._data if tensor._base is not None else tensor._data
    return root.reshape(-1) if root.flags.c_contiguous else tensor._data.reshape(-1)


class UntypedStorage:
    def __init__(self, tensor):
        self._array = _memory(tensor)
        self.device = tensor.device

    def nbytes(self):
        return int(self._array.nbytes)

    size = __len__ = nbytes

    def element_size(self):
        return 1

    def data_ptr(self):
        from .tensor import Tensor
        return Tensor._make(self._array, device=self.device).data_ptr()

    def __repr__(self):
        return f"torch.storage.UntypedStorage of size {self.nbytes()} on {self.device}"


class TypedStorage:
    def __init__(self, tensor):
        self._array = _memory(tensor)
        self.device = tensor.device
        self.dtype = tensor.dtype

    def size(self):
        return int(self._array.size)

    __len__ = size

    def nbytes(self):
        return int(self._array.nbytes)

    def element_size(self):
        return self.dtype.itemsize

    def data_ptr(self):
        return self.untyped().data_ptr()

    def untyped(self):
        s = UntypedStorage.__new__(UntypedStorage)
        s._array, s.device = self._array, self.device
        return s

    def tolist(self):
        from .tensor import Tensor
        return Tensor._make(self._array, device=self.device).tolist()

    def __getitem__(self, i):
        return self.tolist()[i]

    def __repr__(self):
        values = "\n".join(f" {v}" for v in self.tolist())
        return f"{values}\n[torch.storage.TypedStorage(dtype={self.dtype}, device={self.device}) of size {self.size()}]"

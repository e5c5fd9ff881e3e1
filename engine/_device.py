"""`torch.device`: a device type plus an optional index, bound to its backend."""
from . import backends


class device:
    __slots__ = ("type", "index")

    def __new__(cls, type_or_str, index=None):
        if isinstance(type_or_str, device):
            return type_or_str
        if isinstance(type_or_str, int):  # torch.device(0) means cuda:0
            type_or_str, index = "cuda", type_or_str
        text = str(type_or_str)
        if ":" in text:
            kind, _, idx = text.partition(":")
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{text}'")
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was passed "
                                   f"explicitly: {text}")
            index = int(idx)
        else:
            kind = text
        if kind not in backends.DEVICE_TYPES:
            raise RuntimeError(f"Expected one of {', '.join(backends.DEVICE_TYPES)} device type at start of "
                               f"device string: {text}")
        self = object.__new__(cls)
        object.__setattr__(self, "type", kind)
        object.__setattr__(self, "index", index)
        return self

    def __setattr__(self, name, value):
        raise AttributeError("torch.device is immutable")

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (str(self),))

    @property
    def backend(self):
        return backends.get(self.type)

    # `with torch.device("cuda"):` makes it the default device of factory functions inside
    def __enter__(self):
        _default_stack.append(get_default_device())
        set_default_device(self)
        return self

    def __exit__(self, *exc):
        set_default_device(_default_stack.pop())
        return False


CPU = device("cpu")
_default = None  # the device factory functions use when given none (None: the cpu)
_default_stack = []


def set_default_device(dev):
    """`torch.set_default_device`: where tensor(), zeros(), randn(), ... put tensors given no device."""
    global _default
    _default = None if dev is None or device(dev) == CPU else canonical(dev)


def get_default_device():
    return CPU if _default is None else _default


def canonical(dev):
    """The concrete device a tensor lives on: cuda means cuda:0, and the backend must be available.
    None means the default device."""
    if dev is None:
        return CPU if _default is None else _default
    dev = device(dev)
    if dev.type == "cpu":
        return CPU
    backend = backends.get(dev.type)
    if dev.index is not None:
        index = dev.index
    else:  # "cuda" is the current GPU (torch.cuda.set_device)
        from . import cuda
        index = cuda._current if dev.type == "cuda" else 0
    if index >= backend.device_count():
        raise RuntimeError(f"Invalid device {dev.type}:{index}: only {backend.device_count()} "
                           f"{dev.type} device(s) are available")
    return device(dev.type, index)

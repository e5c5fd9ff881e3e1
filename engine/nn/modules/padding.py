"""Padding modules: constant, zero, reflection, replication and circular, over F.pad; an int pads
every side alike."""
from .. import functional as F
from .module import Module


class _PadNd(Module):
    mode, sides, dims = "constant", 2, ()   # dims: the input ranks the mode checks itself (circular)

    def __init__(self, padding):
        super().__init__()
        self.padding = tuple(padding) if isinstance(padding, (tuple, list)) else (padding,) * self.sides

    def forward(self, input):
        if self.dims and input.dim() not in self.dims:
            raise ValueError(f"expected {self.dims[0]}D or {self.dims[1]}D input (got {input.dim()}D input)")
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self):
        return f"{self.padding}"


class ConstantPad1d(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ConstantPad2d(ConstantPad1d):
    sides = 4


class ZeroPad1d(ConstantPad1d):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    extra_repr = _PadNd.extra_repr


class ZeroPad2d(ZeroPad1d):
    sides = 4


class ReflectionPad1d(_PadNd):
    mode = "reflect"


class ReflectionPad2d(_PadNd):
    mode, sides = "reflect", 4


class ReplicationPad1d(_PadNd):
    mode = "replicate"


class ReplicationPad2d(_PadNd):
    mode, sides = "replicate", 4


class CircularPad1d(_PadNd):
    mode, dims = "circular", (2, 3)


class CircularPad2d(_PadNd):
    mode, sides, dims = "circular", 4, (3, 4)


class ConstantPad3d(ConstantPad1d):
    sides = 6


class ZeroPad3d(ZeroPad1d):
    sides = 6


class ReflectionPad3d(_PadNd):
    mode, sides = "reflect", 6


class ReplicationPad3d(_PadNd):
    mode, sides = "replicate", 6


class CircularPad3d(_PadNd):
    mode, sides, dims = "circular", 6, (4, 5)

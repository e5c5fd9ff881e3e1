"""`torch.signal.windows`: the window functions of engine/ops/windows.py."""
from ..ops.windows import WINDOWS as _WINDOWS

globals().update(_WINDOWS)
__all__ = sorted(_WINDOWS)

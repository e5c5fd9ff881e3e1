"""`torch.nn`: Module, Parameter, layers, losses, `functional` and `init`.

Modules register parameters, buffers and submodules by attribute assignment, as in PyTorch. While
a graph capture is recording, calling a module pushes it on `gradview.engine._state.module_stack` for the
duration of its forward, so the recorded ops know which module they ran in.
"""
from .parameter import Parameter, Buffer  # noqa: F401
from .modules import *  # noqa: F401,F403
from .modules import __dict__ as _modules_dict
from . import functional, init, parallel, utils  # noqa: F401

__all__ = ["Parameter", "Buffer", "functional", "init", "utils"] + [
    name for name, value in _modules_dict.items() if isinstance(value, type) and not name.startswith("_")]

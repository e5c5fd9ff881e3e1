"""`torch.utils.hooks.RemovableHandle`."""
from ..nn.modules.module import RemovableHandle  # noqa: F401

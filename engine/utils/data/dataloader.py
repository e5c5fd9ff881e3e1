"""`torch.utils.data.dataloader`, the module path older scripts import the loader from."""
from . import DataLoader, default_collate, default_convert, get_worker_info  # noqa: F401

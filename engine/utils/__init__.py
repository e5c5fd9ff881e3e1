"""`torch.utils`: data loading (`engine.utils.data`) and hook handles."""
from . import data, hooks  # noqa: F401

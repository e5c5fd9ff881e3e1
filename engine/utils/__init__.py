"""`torch.utils`: data loading (`gradview.engine.utils.data`) and hook handles."""
from . import data, hooks  # noqa: F401

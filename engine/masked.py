"""`torch.masked`: reductions and normalizations with a `mask=` of the elements to keep
(engine/ops/masked.py)."""
from .ops.masked import MASKED as _MASKED

globals().update(_MASKED)

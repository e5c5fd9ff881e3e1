"""`torch.utils.data.sampler`, the module path older scripts import samplers from."""
from . import BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler  # noqa: F401

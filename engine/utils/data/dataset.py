"""`torch.utils.data.dataset`, the module path older scripts import datasets from."""
from . import ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset, random_split  # noqa: F401

"""gradview.engine.utils.data: datasets, samplers, collation and DataLoader behave as PyTorch's."""
import collections

import numpy as np
import pytest

from gradview import engine
from gradview.engine.utils.data import (DataLoader, Dataset, TensorDataset, Subset, ConcatDataset, random_split,
                               BatchSampler, SequentialSampler, RandomSampler, default_collate, IterableDataset)

from nn_helpers import reference_torch


class Squares(Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        return {"x": engine.tensor([float(i)]), "y": i * i, "name": f"n{i}"}


def test_tensor_dataset_and_sequential_batches():
    x = engine.arange(20.0).reshape(10, 2)
    y = engine.arange(10)
    ds = TensorDataset(x, y)
    assert len(ds) == 10
    xi, yi = ds[3]
    assert xi.tolist() == [6.0, 7.0] and yi.item() == 3
    batches = list(DataLoader(ds, batch_size=4))
    assert [b[0].shape[0] for b in batches] == [4, 4, 2]
    assert batches[1][1].tolist() == [4, 5, 6, 7]
    assert batches[0][0].dtype is engine.float32 and batches[0][1].dtype is engine.int64
    assert len(DataLoader(ds, batch_size=4)) == 3
    assert len(DataLoader(ds, batch_size=4, drop_last=True)) == 2
    assert [b[0].shape[0] for b in DataLoader(ds, batch_size=4, drop_last=True)] == [4, 4]
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(x, engine.arange(3))


def test_shuffle_with_generator_is_reproducible_and_a_permutation():
    ds = TensorDataset(engine.arange(50))
    order = lambda seed: [int(v) for (b,) in DataLoader(ds, batch_size=7, shuffle=True,  # noqa: E731
                                                         generator=engine.Generator().manual_seed(seed)) for v in b]
    a, b, c = order(1), order(1), order(2)
    assert a == b and a != c
    assert sorted(a) == list(range(50))
    # a loader reshuffles on every pass
    loader = DataLoader(ds, batch_size=50, shuffle=True, generator=engine.Generator().manual_seed(0))
    first, second = next(iter(loader))[0].tolist(), next(iter(loader))[0].tolist()
    assert first != second and sorted(first) == sorted(second)


def test_default_collate_matches_pytorch():
    reference_torch()
    from torch.utils.data import default_collate as torch_collate
    Point = collections.namedtuple("Point", "a b")
    samples = [
        [(np.float32(1.5), 2, np.arange(3.0)), (np.float32(2.5), 3, np.arange(3.0) + 1)],
        [{"v": [1.0, 2.0], "k": 5}, {"v": [3.0, 4.0], "k": 6}],
        [Point(1, 2.0), Point(3, 4.0)],
        [True, False],
    ]
    for batch in samples:
        ours, theirs = default_collate(batch), torch_collate(batch)
        _same_structure(ours, theirs)
    dl = DataLoader(Squares(), batch_size=3)
    first = next(iter(dl))
    assert first["x"].shape == (3, 1) and first["y"].tolist() == [0, 1, 4] and first["name"] == ["n0", "n1", "n2"]


def _same_structure(ours, theirs):
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and ours.keys() == theirs.keys()
        for k in theirs:
            _same_structure(ours[k], theirs[k])
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) or (isinstance(ours, tuple) and isinstance(theirs, tuple)), (ours, theirs)
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _same_structure(a, b)
    elif hasattr(theirs, "numpy"):
        assert str(ours.dtype) == str(theirs.dtype) and tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    else:
        assert ours == theirs


def test_subset_concat_random_split_and_samplers():
    ds = TensorDataset(engine.arange(10))
    sub = Subset(ds, [1, 3, 5])
    assert len(sub) == 3 and sub[1][0].item() == 3
    both = ConcatDataset([sub, ds])
    assert len(both) == 13 and both[3][0].item() == 0 and both[-1][0].item() == 9
    assert len(ds + ds) == 20
    parts = random_split(ds, [0.7, 0.3], generator=engine.Generator().manual_seed(0))
    assert [len(p) for p in parts] == [7, 3]
    assert sorted(int(p[i][0]) for p in parts for i in range(len(p))) == list(range(10))
    with pytest.raises(ValueError, match="Sum of input lengths does not equal the length of the input dataset!"):
        random_split(ds, [3, 3])
    assert list(BatchSampler(SequentialSampler(range(5)), 2, drop_last=False)) == [[0, 1], [2, 3], [4]]
    sampler = RandomSampler(range(6), generator=engine.Generator().manual_seed(3))
    assert sorted(sampler) == list(range(6)) and len(sampler) == 6
    with_replacement = list(RandomSampler(range(4), replacement=True, num_samples=20))
    assert len(with_replacement) == 20 and set(with_replacement) <= set(range(4))
    custom = DataLoader(ds, batch_sampler=BatchSampler(SequentialSampler(ds), 4, drop_last=True))
    assert [b[0].tolist() for b in custom] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    unbatched = list(DataLoader(ds, batch_size=None))
    assert len(unbatched) == 10 and unbatched[2][0].item() == 2


def test_iterable_dataset_and_argument_errors():
    class Count(IterableDataset):
        def __iter__(self):
            return iter(range(7))

    assert [b.tolist() for b in DataLoader(Count(), batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]
    ds = TensorDataset(engine.arange(4))
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        DataLoader(ds, shuffle=True, sampler=SequentialSampler(ds))
    with pytest.raises(ValueError, match="batch_size should be a positive integer value, but got batch_size=0"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(ValueError, match="DataLoader with IterableDataset: expected unspecified shuffle option"):
        DataLoader(Count(), shuffle=True)
    # workers and pinning are accepted (loading happens in this process)
    assert len(list(DataLoader(ds, batch_size=2, num_workers=2, pin_memory=True))) == 2

"""What the functional families share: argument tuples and device checks."""
from ... import creation


def _pair(v, n=2):
    if isinstance(v, (tuple, list)):
        if len(v) == 1:
            return tuple(int(v[0]) for _ in range(n))
        return tuple(int(a) for a in v)
    return (int(v),) * n


def _triple(v):
    return _pair(v, 3)


def _on(array, like):
    """A constant (index or weight array) as a tensor on `like`'s device."""
    return creation.tensor(array, device=like.device)

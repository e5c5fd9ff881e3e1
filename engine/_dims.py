"""Dimension arguments as axes, with PyTorch's errors (used by Tensor and the ops alike)."""


def normalize_dim(dim, ndim):
    """A dim (negative allowed) as a non-negative axis, with PyTorch's IndexError when out of range."""
    n = ndim if ndim > 0 else 1
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim + n if dim < 0 else dim


def normalize_dims(dim, ndim):
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (list, tuple)):
        axes = tuple(normalize_dim(d, ndim) for d in dim)
        if len(set(axes)) != len(axes):
            raise RuntimeError(f"dim {axes[0]} appears multiple times in the list of dims")
        if not ndim:
            return ()  # a 0-dim tensor reduces over dim 0 (or -1) as over nothing
        return tuple(sorted(axes)) if axes else tuple(range(ndim))
    axis = normalize_dim(dim, ndim)
    return (axis,) if ndim else ()

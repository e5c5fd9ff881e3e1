"""Shapes and element strides, for any backend's arrays: sizes, C-order strides, and whether a
strided array can take a new shape without a copy (as PyTorch's view requires)."""


def prod(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def cstrides(shape):
    st = [0] * len(shape)
    acc = 1
    for d in range(len(shape) - 1, -1, -1):
        st[d] = acc
        acc *= shape[d]
    return tuple(st)


def view_strides(old_shape, old_st, new_shape):
    """Strides that give `new_shape` over the same elements without a copy, or None
    (PyTorch's computeStride)."""
    numel = prod(old_shape)
    if numel == 0 or not old_shape:
        return cstrides(new_shape)
    new_st = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    chunk = old_st[-1]
    tensor_numel = 1
    view_numel = 1
    for d in range(len(old_shape) - 1, -1, -1):
        tensor_numel *= old_shape[d]
        if d == 0 or (old_shape[d - 1] != 1 and old_st[d - 1] != tensor_numel * chunk):
            while view_d >= 0 and (view_numel < tensor_numel or new_shape[view_d] == 1):
                new_st[view_d] = view_numel * chunk
                view_numel *= new_shape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if d > 0:
                chunk = old_st[d - 1]
                tensor_numel = 1
                view_numel = 1
    if view_d != -1:
        return None
    return tuple(new_st)

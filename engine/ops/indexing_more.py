"""Indexing beyond the core set: index_add/index_copy/index_fill, masked_scatter, scatter_reduce,
take, take_along_dim, put."""

# Registered by engine/functions.py: FUNCTIONS become torch.<name>, METHODS name the ones that are
# also Tensor methods, INPLACE maps Tensor in-place method names (ending in "_") to functions.
FUNCTIONS = {}
METHODS = []
INPLACE = {}

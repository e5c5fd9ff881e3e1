"""Linear algebra beyond matmul: einsum, tensordot, trace, diag, det, inverse, cross, kron, cdist, ..."""

# Registered by engine/functions.py: FUNCTIONS become torch.<name>, METHODS name the ones that are
# also Tensor methods, INPLACE maps Tensor in-place method names (ending in "_") to functions.
FUNCTIONS = {}
METHODS = []
INPLACE = {}

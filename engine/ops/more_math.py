"""More elementwise math and shape/indexing utilities (PyTorch functions beyond the core set)."""

# Registered by engine/functions.py: FUNCTIONS become torch.<name>, METHODS name the ones that are
# also Tensor methods, INPLACE maps Tensor in-place method names (ending in "_") to functions.
FUNCTIONS = {}
METHODS = []
INPLACE = {}

"""More Tensor methods and in-place forms (PyTorch's spellings beyond the core set)."""

# Registered by engine/functions.py: FUNCTIONS become torch.<name>, METHODS name the ones that are
# also Tensor methods, INPLACE maps Tensor in-place method names (ending in "_") to functions.
FUNCTIONS = {}
METHODS = []
INPLACE = {}

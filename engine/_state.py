"""Process-wide engine switches, kept in one module so hot paths read them with one lookup."""
grad_enabled = True
# set by engine.graph.capture(): a recorder called for every op run (None when not capturing), as
# recorder(op, inputs, result, params); it also has .inplace(name, x, result) for in-place writes,
# .created(t) for a leaf a factory or nn.Parameter made, .stands_for(copy, original) for a copy
# holding a tensor's value before an in-place write
recorder = None
# the nn.Modules whose forward is running, outermost first (kept only while a recorder is set)
module_stack = []

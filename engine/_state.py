"""Process-wide engine switches, kept in one module so hot paths read them with one lookup."""
grad_enabled = True
# set by engine.graph.capture(): a recorder called for every op run (None when not capturing)
recorder = None
# the nn.Modules whose forward is running, outermost first (kept only while a recorder is set)
module_stack = []

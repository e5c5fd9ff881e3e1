"""Process-wide engine switches, kept in one module so hot paths read them with one lookup."""
grad_enabled = True
# set by engine.graph.capture(): a recorder called for every op run (None when not capturing)
recorder = None

"""Process-wide engine switches, kept in one module so hot paths read them with one lookup."""
grad_enabled = True
# set by engine.graph.capture(): a recorder called for every op run (None when not capturing), as
# recorder(op, inputs, result, params); it also has .inplace(name, x, result) for in-place writes,
# .created(t) for a leaf a factory or nn.Parameter made, .stands_for(copy, original) for a copy
# holding a tensor's value before an in-place write; .begin_backward(outputs) and
# .end_backward(outputs) around a backward()
recorder = None
# while a recorder is set, ops._core.apply puts time.perf_counter() here as an op's forward starts
op_started = None
# set by the recorder for the length of a backward(): called by the backward loop once per node it
# runs, as observer(node, grad, grads), after the node's pre-hooks: `grad` the gradient it received,
# `grads` those it produced, one per entry of node._next (() for an AccumulateGrad)
backward_observer = None
# the nn.Modules whose forward is running, outermost first (kept only while a recorder is set)
module_stack = []

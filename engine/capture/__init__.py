"""Graph capture: record every op a program runs into plain, JSON-ready step records.

    import gradview.engine as torch
    with torch.graph.capture() as g:
        loss = model(x).pow(2).mean()
        loss.backward()
    g.steps[0].to_dict()       # {"index": 0, "loss": ..., "nodes": [...], "edges": [...]}

While a capture is active, `gradview.engine._state.recorder` is set and `ops._core.apply` reports each op
run to it (op, inputs, output, params); in-place ops report the tensor they overwrote, and
`autograd.backward` tells it where a backward pass starts and ends; during a backward the loop
reports what each autograd node received and sent on (`_state.backward_observer`). Each
backward() closes one step; what runs after the last one is a final, open step. Nothing of the
engine is patched.

Recording is cheap on purpose: per op it looks up the first stack frame outside the engine
(`sys._getframe` walk, cached per code object), the input nodes (a dict keyed by tensor id) and
the module path, and keeps a reference to the output array. Values and gradients are summarised
only when a step is read (`Step.nodes`, `to_dict()`), never while the program runs. Steps older
than the last `keep_steps` keep only their loss and node count.

The dictionary shape is versioned and documented in docs/graph-schema.md. Nothing here imports
Panel or Bokeh.

The package, by concern:
    frames      which stack frame is the user's (the first outside the engine)
    summaries   JSON-ready summaries of arrays (`summarize`)
    records     the per-op record, `Node`, and what a step keeps
    schema      `Step` and `Graph`, the dictionary shape
    trim        cutting a step to at most N nodes (`trim`, `Step.trimmed_dict`)
    backward    the autograd graph a backward() ran through and what flowed along it
    explain     "why this gradient?": the chain rule, path by path (`explain`)
    names       variable names and call names from frames and bytecode
    recorder    the recorder and `capture`
    from_tensor a step from a tensor's autograd history alone
"""
from .explain import Explanation, explain
from .from_tensor import from_tensor
from .recorder import capture
from .records import Node
from .schema import SCHEMA_VERSION, Graph, Step
from .summaries import summarize
from .trim import trim

__all__ = ["capture", "Graph", "Step", "Node", "summarize", "from_tensor", "trim", "explain", "Explanation",
           "SCHEMA_VERSION"]

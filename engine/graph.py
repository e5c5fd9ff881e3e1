"""Graph capture, under its public name: everything here comes from the `gradview.engine.capture` package
(see its docstring for how capture works and which module holds what).

    import gradview.engine as torch
    with torch.graph.capture() as g:
        loss = model(x).pow(2).mean()
        loss.backward()
    g.steps[0].to_dict()
"""
from .capture import SCHEMA_VERSION, Explanation, Graph, Node, Step, capture, explain, from_tensor, summarize, trim

__all__ = ["capture", "Graph", "Step", "Node", "summarize", "from_tensor", "trim", "explain", "Explanation",
           "SCHEMA_VERSION"]

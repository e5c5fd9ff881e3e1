"""The app's state: one `AppState` per browser session, plain parameters and no widgets.

Views watch these parameters and draw; the controller (app/controller.py) changes them.
"""
from __future__ import annotations

import itertools
import math

import param

__all__ = ["Cell", "AppState", "merge_steps", "node_cell_line", "DTYPES"]

DTYPES = ["float32", "float64"]
_ids = itertools.count(1)


def _new_id() -> str:
    return f"c{next(_ids)}"


class Cell(param.Parameterized):
    """One code cell: its text, what its last run printed, its error and its captured graph."""

    id = param.String(default="", doc="Stable identity of the cell (survives moves and edits).")
    code = param.String(default="", doc="The cell's text as currently edited.")
    ran_code = param.String(default=None, allow_None=True, doc="The text the cell's output came from.")
    output = param.String(default="", doc="What the cell printed (stdout and stderr) in its last run.")
    error = param.String(default=None, allow_None=True, doc="Syntax error or traceback of the last run.")
    error_kind = param.String(default=None, allow_None=True, doc="syntax, exception, limit or crash.")
    error_line = param.Integer(default=None, allow_None=True, doc="1-based line of the error in this cell.")
    error_col = param.Integer(default=None, allow_None=True)
    status = param.Selector(default="new", objects=["new", "stale", "running", "done", "error", "skipped"],
                            doc="new: never ran; stale: edited or upstream changed since its output; "
                                "skipped: an earlier cell failed so it did not run.")
    graph = param.Dict(default=None, allow_None=True, doc="The capture dict of the cell's last run.")
    duration = param.Number(default=0.0, doc="Seconds its last run took.")

    def __init__(self, code: str = "", **params):
        params.setdefault("id", _new_id())
        super().__init__(code=code, **params)


class AppState(param.Parameterized):
    """Everything one session shows: cells, run settings, captured steps and the selection."""

    cells = param.List(default=[], item_type=Cell, doc="The notebook, top to bottom.")

    device = param.Selector(default="cpu", objects=["cpu"], doc="Device new tensors go to (DEVICE in cells).")
    dtype = param.Selector(default="float32", objects=DTYPES, doc="torch.get_default_dtype() in cells.")
    summary_size = param.Integer(default=64, bounds=(1, 100_000),
                                 doc="Tensors with at most this many elements keep all their values.")
    time_limit = param.Number(default=10.0, bounds=(0.1, None), doc="Seconds one run may take.")

    graph_scope = param.Selector(default="cell", objects=["cell", "all"],
                                 doc="Draw the graph of the focused cell only, or of all cells together.")
    focus_cell = param.String(default=None, allow_None=True,
                              doc="The cell whose graph is drawn in 'cell' scope (where the cursor is).")
    graph_view = param.Selector(default="forward", objects=["forward", "backward", "both"],
                                doc="Draw the forward graph, the backward graph PyTorch builds, or both side by side.")
    node_values = param.Boolean(default=False, doc="Write each node's value and gradient on it (micrograd's "
                                                   "data | grad; shape and a statistic for large tensors).")
    colour_scale = param.Selector(default="run", objects=["run", "step"],
                                  doc="Gradient colours on one scale for every step of the run, or fitted to the step shown.")
    steps = param.List(default=[], doc="The captured steps shown (of the focused cell, or merged over cells).")
    step = param.Integer(default=0, bounds=(0, None), doc="Index into `steps` of the step shown.")
    losses = param.List(default=[], doc="(step index, loss) pairs for the loss curve.")
    selected_node = param.String(default=None, allow_None=True, doc="Id of the node shown in the inspector.")
    selected_line = param.Tuple(default=None, allow_None=True, length=2,
                                doc="(cell id, line) whose nodes are highlighted.")
    explanation = param.Dict(default=None, allow_None=True,
                             doc="Why a node got its gradient: {'node', 'step', 'answer'} (the runner's "
                                 "explanation dict, or {'error': text}; None while asked: {'pending': True}).")

    errors = param.List(default=[], doc="Messages of the last run that are not a cell's own error.")
    notice = param.String(default="", doc="A lasting note on what the page opened (a share link that could not "
                                          "be read); kept until other cells are loaded.")
    replaced = param.List(default=None, allow_None=True,
                          doc="The cells a load replaced, while that load can be undone.")
    running = param.Boolean(default=False, doc="A run is in flight.")
    pending = param.Boolean(default=False, doc="An edit is waiting to run.")
    message = param.String(default="", doc="One line on the last run, for the status bar.")
    run_count = param.Integer(default=0, doc="Runs completed in this session.")
    graph_version = param.Integer(default=0, doc="Bumped whenever `steps` is rebuilt.")

    def __init__(self, codes=None, **params):
        super().__init__(**params)
        if codes is not None:
            self.cells = [Cell(code=c) for c in codes]
        if not self.cells:
            self.cells = [Cell(code="")]

    # -- cells -------------------------------------------------------------------------------------
    def index(self, cell_id: str) -> int:
        for i, c in enumerate(self.cells):
            if c.id == cell_id:
                return i
        raise KeyError(cell_id)

    def cell(self, cell_id: str) -> Cell:
        return self.cells[self.index(cell_id)]

    def codes(self) -> list[str]:
        return [c.code for c in self.cells]

    def add_cell(self, after: str | None = None, code: str = "") -> Cell:
        cell = Cell(code=code)
        at = len(self.cells) if after is None else self.index(after) + 1
        self.cells = self.cells[:at] + [cell] + self.cells[at:]
        return cell

    def delete_cell(self, cell_id: str) -> int:
        """Remove a cell (the last one left is emptied instead); returns its former index."""
        i = self.index(cell_id)
        if len(self.cells) == 1:
            self.cells = [Cell(code="")]
        else:
            self.cells = self.cells[:i] + self.cells[i + 1:]
        return i

    def move_cell(self, cell_id: str, delta: int) -> int:
        """Move a cell up (-1) or down (+1); returns the lowest index whose cell changed."""
        i = self.index(cell_id)
        j = min(max(i + delta, 0), len(self.cells) - 1)
        if i == j:
            return i
        cells = list(self.cells)
        cells.insert(j, cells.pop(i))
        self.cells = cells
        return min(i, j)

    def load(self, codes: list[str]):
        """Replace the notebook."""
        self.cells = [Cell(code=c) for c in (codes or [""])]
        self.steps, self.losses, self.step = [], [], 0
        self.selected_node = None
        self.selected_line = None
        self.explanation = None
        self.focus_cell = None
        self.errors = []

    # -- results ---------------------------------------------------------------------------------------
    def shown_cells(self) -> list[Cell]:
        """The cells whose graphs are drawn: all, or the focused one (the first with a graph when none is)."""
        if self.graph_scope == "all":
            return list(self.cells)
        ids = {c.id for c in self.cells}
        if self.focus_cell not in ids:
            first = next((c for c in self.cells if c.graph and any(s.get("nodes") for s in c.graph.get("steps", []))),
                         None)
            if first is None:
                return []
            self.focus_cell = first.id
        return [self.cell(self.focus_cell)]

    def focus(self, cell_id: str):
        """Show `cell_id`'s graph (in 'cell' scope)."""
        if cell_id != self.focus_cell:
            self.focus_cell = cell_id
            if self.graph_scope == "cell":
                self.rebuild_steps()

    def rebuild_steps(self):
        """Merge the shown cells' graphs into the steps shown; keep showing the last step if it was shown."""
        at_end = self.step >= default_step(self.steps)
        steps, losses = merge_steps([(c.id, c.graph) for c in self.shown_cells()])
        with param.parameterized.batch_call_watchers(self):
            self.steps = steps
            self.losses = losses
            if at_end or self.step >= len(steps):
                self.step = default_step(steps)
            self.graph_version += 1

    def current_step(self) -> dict | None:
        if not self.steps:
            return None
        return self.steps[min(self.step, len(self.steps) - 1)]

    def node(self, node_id: str | None, step: int | None = None) -> dict | None:
        if node_id is None:
            return None
        s = self.current_step() if step is None else self.steps[step]
        if s is None:
            return None
        for n in s["nodes"]:
            if n["id"] == node_id:
                return n
        return None

    def explain_target(self, node_id: str | None, step: int | None = None) -> tuple[str, int, str] | None:
        """(cell id, that cell's step index, the node's id in that cell's capture) of a node shown,
        to ask the runner why it got its gradient; None when it is not a node a backward reached."""
        s = self.current_step() if step is None else self.steps[step]
        node = self.node(node_id, step)
        if s is None or node is None or not node.get("grad"):
            return None
        for cid, index in (s.get("cell_steps") or {}).items():
            prefix = f"{cid}:"
            if node_id.startswith(prefix) and index is not None:
                return cid, index, node_id[len(prefix):]
        return None

    def node_history(self, node_id: str) -> list[tuple[int, dict]]:
        """(step index, node) for every step that holds the node."""
        out = []
        for s in self.steps:
            for n in s["nodes"]:
                if n["id"] == node_id:
                    out.append((s["index"], n))
                    break
        return out

    def nodes_at_line(self, cell_id: str, line: int) -> list[str]:
        s = self.current_step()
        if s is None:
            return []
        return [n["id"] for n in s["nodes"] if node_cell_line(n) == (cell_id, line)]


def node_cell_line(node: dict) -> tuple[str | None, int | None]:
    """(cell id, line) of the code that made a node, when it came from a cell (its "source")."""
    cid = node.get("source")
    line = node.get("line")
    if cid is None or line is None or line < 0:
        return None, None
    return cid, line


def _prefixed(node: dict, prefix: str) -> dict:
    node = dict(node)
    node["id"] = prefix + str(node["id"])
    if node.get("inputs"):
        node["inputs"] = [prefix + str(j) for j in node["inputs"]]
    if node.get("updates"):
        node["updates"] = prefix + str(node["updates"])
    return node


def _split_update(step: dict) -> tuple[dict, dict]:
    """(the nodes of an open step that update a leaf in place, with what they read in it; the others)."""
    by_id = {n["id"]: n for n in step["nodes"]}
    keep = set()
    todo = [n["id"] for n in step["nodes"] if n.get("updates")]
    todo += [n["updates"] for n in step["nodes"] if n.get("updates") in by_id]
    while todo:
        nid = todo.pop()
        if nid in keep or nid not in by_id:
            continue
        keep.add(nid)
        todo.extend(by_id[nid].get("inputs") or ())
    def part(ids):
        return dict(step, nodes=[n for n in step["nodes"] if n["id"] in ids],
                    edges=[e for e in step.get("edges", []) if e["source"] in ids and e["target"] in ids])
    return part(keep), part(set(by_id) - keep)


def default_step(steps: list[dict]) -> int:
    """The step a graph opens on: the last one, or the last training step when what follows it is
    code that ran after training (an evaluation)."""
    k = len(steps) - 1
    if k > 0 and steps[k].get("closed") is False:
        k -= 1
    return max(k, 0)


def merge_steps(cell_graphs) -> tuple[list[dict], list[tuple[int, float]]]:
    """One list of steps from each cell's capture dict.

    Node ids are prefixed with their cell's id, so they are unique across cells and stable while a
    cell is edited. A cell with one step (no training loop) appears in every step; a cell with several
    steps contributes its i-th step to step i (its last one past its end). The steps' index and loss
    come from the cell with the most steps.
    """
    per_cell = []
    for cid, graph in cell_graphs:
        if not graph:
            continue
        every = list(graph.get("steps", []))
        steps = [s for s in every if s.get("nodes")]
        if len(steps) > 1 and steps[-1].get("closed") is False:
            # what ran after the last backward(): the update it made (an optimizer step) is shown
            # with the last step; the rest (an evaluation after training) is a step of its own
            update, rest = _split_update(steps.pop())
            if update["nodes"]:
                last = dict(steps[-1])
                last["nodes"] = list(last["nodes"]) + [_prefixed(n, "after:") for n in update["nodes"]]
                last["edges"] = list(last.get("edges", [])) + [
                    {"source": "after:" + str(e["source"]), "target": "after:" + str(e["target"])}
                    for e in update["edges"]]
                steps[-1] = last
            if rest["nodes"]:
                steps.append(rest)
        if steps:
            per_cell.append((cid, steps, every))
    if not per_cell:
        return [], []
    n = max(len(steps) for _, steps, _ in per_cell)
    lead, lead_all = next((steps, every) for _, steps, every in per_cell if len(steps) == n)
    merged = []
    for i in range(n):
        nodes, edges = [], []
        left_out = 0
        sites = []
        backward = {"nodes": [], "edges": []}
        cell_steps = {}  # cell id -> the index of the cell's own step shown here
        for cid, steps, _ in per_cell:
            s = steps[min(i, len(steps) - 1)]
            cell_steps[cid] = s.get("index")
            left_out += int(s.get("nodes_left_out") or 0)
            sites += s.get("left_out_sites") or []
            prefix = f"{cid}:"
            nodes.extend(_prefixed(node, prefix) for node in s["nodes"])
            for e in s.get("edges", []):
                edges.append({"source": prefix + str(e["source"]), "target": prefix + str(e["target"])})
            bg = s.get("backward")
            if bg and (i < len(steps) or len(steps) == 1):
                backward["nodes"] += [dict(b, id=prefix + b["id"], forward_id=prefix + str(b["forward_id"])
                                           if b.get("forward_id") is not None else None) for b in bg["nodes"]]
                backward["edges"] += [dict(e, source=prefix + e["source"], target=prefix + e["target"])
                                      for e in bg["edges"]]
        merged.append({"index": lead[i].get("index", i), "loss": lead[i].get("loss"), "nodes": nodes, "edges": edges,
                       "nodes_left_out": left_out, "left_out_sites": sites,
                       "closed": lead[i].get("closed", True), "backward": backward if backward["nodes"] else None,
                       "cell_steps": cell_steps})
    losses = []
    if len(lead_all) > 1:
        for k, s in enumerate(lead_all):
            loss = s.get("loss")
            if isinstance(loss, (int, float)) and math.isfinite(loss):
                losses.append((s.get("index", k), float(loss)))
    return merged, losses

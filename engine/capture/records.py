"""What a capture keeps per op: the record tuple, the Node it becomes when a step is read, and the
side tables of a step (`StepData`)."""
import linecache
import os
from dataclasses import dataclass, field

# One record per node, a tuple built once per op on the hot path: the OpDef (None for a leaf), the
# output tensor, its autograd node at the time, input record indices, the user's code object and
# the offset of the instruction running there (line and columns are looked up from it when the
# step is read), the module path, the forward's time in seconds and the tensor's version then.
R_OP, R_T, R_FN, R_INS, R_CODE, R_LASTI, R_MOD, R_TIME, R_VER = range(9)
K_LEAF, K_PARAM = 1, 2
KIND_NAMES = {K_LEAF: "leaf", K_PARAM: "param"}


@dataclass
class Node:
    """One node of a captured step: an op (and the tensor it produced) or a leaf tensor."""
    id: str
    label: str
    kind: str                 # "leaf", "param", "op", "output", "failed" (a call that raised)
    op: str | None            # PyTorch node name ("MulBackward0") or function name ("mul"); None for leaves
    shape: list
    dtype: str
    device: str
    line: int = -1
    file: str = ""
    code: str = ""
    source: str | None = None  # what the capture's source_of names the file ("c3" for a notebook cell)
    module: str | None = None
    col: int = -1             # where on the line the call that made it starts and ends (0-based)
    end_col: int = -1
    module_type: str | None = None  # class name of the innermost module ("Linear")
    value: dict | None = None
    grad: dict | None = None
    time_us: float | None = None
    fn: str | None = None     # short op name ("mul"), also for ops that needed no gradient
    var: str | None = None    # the variable that held this tensor in the user's frame, if seen
    inputs: list = field(default_factory=list)  # input node ids in argument order (repeats kept)
    aliases: list = field(default_factory=list)  # a leaf's other variable names ("also: z")
    error: str | None = None  # for kind "failed": the exception the call raised
    inplace: str | None = None  # "add_" when the op wrote into an existing tensor
    updates: str | None = None  # a leaf this in-place op changed without making a new node for it
    requires_grad: bool = False
    index: int = 0            # position in run order within the step

    def to_dict(self):
        return {"id": self.id, "label": self.label, "kind": self.kind, "op": self.op, "shape": list(self.shape),
                "dtype": self.dtype, "device": self.device, "line": self.line, "file": self.file,
                "code": self.code, "source": self.source, "module": self.module, "module_type": self.module_type, "col": self.col,
                "end_col": self.end_col, "value": self.value, "grad": self.grad,
                "time_us": self.time_us, "fn": self.fn, "var": self.var, "inputs": list(self.inputs),
                "aliases": list(self.aliases), "error": self.error,
                "inplace": self.inplace, "updates": self.updates, "requires_grad": self.requires_grad,
                "index": self.index}


def failed_node(failure, inputs, index):
    """The node of a call that raised: where it was, what it was given and the exception."""
    label, _, code, lasti, message = failure
    line, col, end_col = sites([(None, None, None, (), code, lasti)])[0]
    fname = code.co_filename
    text = linecache.getline(fname, line).strip() if fname and line > 0 else ""
    return Node(id=f"{os.path.basename(fname)}:{line}:failed", label=label, kind="failed", op=None, shape=[],
                dtype="", device="", line=line, col=col, end_col=end_col, file=fname, code=text, fn=label,
                inputs=inputs, error=message, index=index)


def sites(records):
    """(line, col, end_col) per record from its code object and instruction offset (-1 unknown)."""
    positions = {}
    out = []
    for r in records:
        code = r[R_CODE]
        lasti = r[R_LASTI]
        if code is None or lasti < 0:
            out.append((-1, -1, -1))
            continue
        pos = positions.get(id(code))
        if pos is None:
            pos = positions[id(code)] = list(code.co_positions())
        k = lasti // 2
        p = pos[k] if k < len(pos) else (None, None, None, None)
        line = p[0] if p[0] is not None else -1
        out.append((line, p[2] if p[2] is not None else -1, p[3] if p[3] is not None else -1))
    return out


def node_ids(records, leaf_info, sites):
    """Ids from where each node was made: "file:line:op#k", k counting earlier nodes of the same
    file, line and op in this step ("file:line:name#k" for leaves, "param:<path>" for parameters)."""
    counts = {}
    ids = []
    short_names = {}
    for i, r in enumerate(records):
        code = r[R_CODE]
        short = short_names.get(id(code))
        if short is None:
            short = short_names[id(code)] = os.path.basename(code.co_filename) if code is not None else "?"
        op = r[R_OP]
        line = sites[i][0]
        if op is None:
            info = leaf_info[i]
            kind = info[0]
            base = f"param:{info[-1]}" if kind == K_PARAM else f"{short}:{line}:{info[1]}"
        else:
            base = f"{short}:{line}:{op.kind}"
        k = counts.get(base, 0)
        counts[base] = k + 1
        ids.append(base if base[:6] == "param:" and not k else f"{base}#{k}")
    return ids


def count_edges(records):
    return sum(len(r[R_INS]) for r in records)


class StepData:
    """What a step keeps until it is truncated: the records (with their tensors) and side tables."""
    __slots__ = ("records", "leaf_info", "arrays", "inplace", "updates", "outputs", "vars", "module_types",
                 "aliases", "failure", "backward", "flow", "tmap", "param_updates")

    def __init__(self, records, leaf_info, arrays, inplace, updates, outputs, vars, module_types=None,
                 aliases=None, failure=None):
        self.backward = None          # the grad_fn(s) a backward() started from (see backward.structure)
        self.flow = None              # what that backward() sent along each edge (backward.Flow)
        self.tmap = {}                # id(tensor) -> record index (finds an updated parameter's node)
        self.param_updates = []       # ParamUpdate of the optimizer steps that followed this step
        self.aliases = aliases or {}  # leaf record index -> other variable names bound to it
        self.failure = failure        # see Recorder.failure
        self.records = records
        self.leaf_info = leaf_info
        self.arrays = arrays        # record index -> array to show instead of the tensor's own
        self.inplace = inplace
        self.updates = updates
        self.outputs = outputs
        self.vars = vars
        self.module_types = module_types or {}


class ParamUpdate:
    """What one optimizer.step() did to one parameter: its value before and after (copies), the
    optimizer's class name and the user's code that called step() (code object and line)."""
    __slots__ = ("param", "before", "after", "optimizer", "name", "code", "line")

    def __init__(self, param, before, after, optimizer, name, code, line):
        self.param = param
        self.before = before
        self.after = after
        self.optimizer = optimizer
        self.name = name
        self.code = code
        self.line = line

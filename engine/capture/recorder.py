"""The recorder: set as `gradview.engine._state.recorder` while a capture is active, it turns each op the
program runs into a record (see records.py), and a backward() into the end of a step."""
import gc
import time
import weakref

from .. import _state
from .backward import Flow
from .frames import ENGINE_IDS, USER_IDS, classify, engine_codes, getframe, user_frame
from .names import (Namespace, Origin, call_name, apply_code, creation_name, drop_origin, every_name,
                    frame_names, name_leaves, name_on_line, origin_of, origins, var_name)
from .records import K_LEAF, K_PARAM, R_FN, R_OP, R_T, R_VER, ParamUpdate, StepData
from .schema import Graph, Step

_STATE = _state.__dict__
_clock = time.perf_counter  # (perf_counter_ns is several times slower to call on some systems)


class Recorder:
    """Set as engine._state.recorder while a capture is active."""

    def __init__(self, graph):
        self.graph = graph
        self.full_values = graph.full_values
        self.step_index = 0
        self._root_names = {}
        self._child_names = {}
        self._param_names = {}
        self._mod_paths = {}
        self.module_types = {}  # module path -> class name of the module there
        self._keep_modules = []
        self._flow = None       # what the running backward() sends (backward.Flow)
        self._names = {}  # id(tensor) -> (weak reference, variable name) of named leaves
        self.namespace = None  # the globals of the code that last used a new leaf (names for an open step)
        self.last_closed = None  # the step the last backward() closed: an optimizer step updates its parameters
        self._stepping = False   # inside optimizer.step() (a step() calling another is one update)
        self._new_step()

    def _new_step(self):
        self.recs = []
        self.tmap = {}
        self.keep = []          # tensors an entry of tmap refers to that no record holds
        self._stand_ins = {}    # id of a copy -> the tensor whose old value it holds (see stands_for)
        self.leaf_info = {}     # record index -> (K_LEAF or K_PARAM, label)
        self.arrays = {}        # record index -> the value to show (an in-place op's saved old value)
        self.inplace_names = {}
        self.updates = {}
        self.updated = set()    # leaves an in-place op changed in this step
        self.failure = None     # (label, input record indices, code, offset, message) of a call that raised
        self.backward = None    # the grad_fn(s) the step's backward() started from
        self.param_updates = []  # optimizer updates run before any backward() closed a step

    # -- forward ------------------------------------------------------------------------------
    def __call__(self, op, inputs, result, params):
        # the op's time: from the start of its forward in ops._core.apply (set while a recorder is)
        t_s = _STATE["op_started"]
        if t_s is not None:
            t_s = _clock() - t_s
            _STATE["op_started"] = None
        # the user's frame: the first one above the engine's (ids of classified code objects are
        # in two sets; a code seen for the first time takes the slow path once)
        f = getframe(2)
        try:
            while id(f.f_code) in ENGINE_IDS:
                f = f.f_back
            if id(f.f_code) not in USER_IDS:
                f = user_frame(f)
            code = f.f_code
            line = f.f_lasti
        except AttributeError:  # no frame outside the engine
            f = code = None
            line = -1
        ms = _STATE.get("module_stack")
        mod = self._module_path(ms, f) if ms else None
        get = self.tmap.get
        if len(inputs) == 1:
            i = get(id(inputs[0]))
            if i is None:
                i = self._unknown(inputs[0], f, code, line, ms, mod)
            ins = (i,)
        else:
            ins = []
            for t in inputs:
                i = get(id(t))
                if i is None:
                    i = self._unknown(t, f, code, line, ms, mod)
                ins.append(i)
            ins = tuple(ins)
        recs = self.recs
        self.tmap[id(result)] = len(recs)
        recs.append((op, result, result.grad_fn, ins, code, line, mod, t_s, result._version_box[0]))

    def stands_for(self, copy, original):
        """`copy` holds `original`'s value before an in-place op overwrites it: draw it as `original`."""
        self._stand_ins[id(copy)] = original

    def created(self, t):
        """A factory or nn.Parameter made tensor t: remember the user's statement that made it."""
        f = user_frame(getframe(2))
        if f is None:
            return
        o = Origin(t, drop_origin)
        o.key = id(t)
        o.code = f.f_code
        o.lasti = f.f_lasti
        o.ns = f.f_globals if f.f_code.co_name == "<module>" else None  # module code stores there
        o.name = None
        ms = _STATE.get("module_stack")
        o.module = self._module_path(ms, f) if ms else None  # made inside a module's forward: it belongs there
        origins[o.key] = o

    def _unknown(self, t, f, code, line, ms, mod):
        original = self._stand_ins.pop(id(t), None) if self._stand_ins else None
        if original is not None:
            j = self.tmap.get(id(original))
            if j is None:
                j = self._unknown(original, f, code, line, ms, mod)
            self.tmap[id(t)] = j
            self.keep.append(t)
            return j
        fn = t.grad_fn
        recs = self.recs
        if fn is not None:
            # the old value of a tensor an in-place op is about to overwrite: a copy that shares
            # the tensor's node (see ops/inplace.py); it is the value that node stands for
            for j in range(len(recs) - 1, -1, -1):
                if recs[j][R_FN] is fn:
                    self.tmap[id(t)] = j
                    self.keep.append(t)
                    if recs[j][R_T] is not t:
                        self.arrays[j] = t._data
                    return j
        j = len(recs)
        self.tmap[id(t)] = j
        if f is not None:
            self.namespace = f.f_globals
        # a leaf made while capturing is named after the variable its statement bound it to;
        # otherwise after the variable the line that used it reads it from; failing that, at the
        # end of the step, from the variables of its frame
        origin = origin_of(t)
        kind = K_LEAF
        name = None
        if type(t).__name__ == "Parameter":
            kind = K_PARAM
            name, pmod, full = self._param_name(t, ms, f)
            if name is not None:
                self.leaf_info[j] = (K_PARAM, name, full)
                mod = pmod
        if name is None:
            # a tensor seen in an earlier step keeps the name it had (inputs and weights come back)
            known = self._names.get(id(t))
            if known is not None and known[0]() is t:
                name = known[1]
            elif origin is not None and (origin.name or creation_name(t, origin, f)):
                name = origin.name
            elif f is not None:
                name = name_on_line(t, f, code, line)
                if name is not None:
                    if len(self._names) > 4096:
                        self._names.clear()
                    self._names[id(t)] = (weakref.ref(t), name)
            if name is None:
                self.leaf_info[j] = (kind, f)
            else:
                self.leaf_info[j] = (kind, name, name) if kind == K_PARAM else (kind, name)
        if origin is not None:  # placed where it was made, in the module that made it (if any)
            code, line = origin.code, origin.lasti
            if kind == K_LEAF:
                mod = origin.module
        recs.append((None, t, None, (), code, line, mod, None, t._version_box[0]))
        return j

    def _param_name(self, p, ms, f):
        if ms:
            root = ms[0]
            table = self._param_names.get(id(root))
            if table is None:
                table = {}
                try:
                    for name, q in root.named_parameters():
                        table.setdefault(id(q), name)
                except Exception:  # noqa: BLE001
                    pass
                self._param_names[id(root)] = table
                self._keep_modules.append(root)
            name = table.get(id(p))
            if name is not None:
                root_name = self._root_name(root, f)
                owner, _, _ = name.rpartition(".")
                return name, root_name + ("." + owner if owner else ""), f"{root_name}.{name}"
        return None, None, None

    def _module_path(self, ms, f):
        key = (id(ms[0]), id(ms[-1]), len(ms))
        path = self._mod_paths.get(key)
        if path is None:
            parts = [self._root_name(ms[0], f)]
            self.module_types.setdefault(parts[0], type(ms[0]).__name__)
            for parent, child in zip(ms, ms[1:]):
                table = self._child_names.get(id(parent))
                if table is None:
                    table = {}
                    try:
                        for name, c in parent.named_children():
                            table.setdefault(id(c), name)
                    except Exception:  # noqa: BLE001
                        pass
                    self._child_names[id(parent)] = table
                parts.append(table.get(id(child)) or type(child).__name__)
                self.module_types.setdefault(".".join(parts), type(child).__name__)
            path = ".".join(parts)
            self._mod_paths[key] = path
            self.module_types[path] = type(ms[-1]).__name__
            self._keep_modules.append(list(ms))
        return path

    def _root_name(self, root, f):
        name = self._root_names.get(id(root))
        if name is None:
            g = f
            depth = 0
            while g is not None and depth < 30 and name is None:
                if not engine_codes.get(id(g.f_code), False):
                    name = var_name(root, g)
                g = g.f_back
                depth += 1
            if name is None:
                name = type(root).__name__.lower()
            self._root_names[id(root)] = name
            self._keep_modules.append(root)
        return name

    def inplace(self, name, x, result):
        tmap = self.tmap
        i = tmap.get(id(result))
        if i is None:
            return
        self.inplace_names[i] = name
        j = tmap.get(id(x))
        if j is not None and self.recs[j][R_OP] is None and result.grad_fn is None:
            # a leaf changed outside autograd (an optimizer step, x[0] = 1 under no_grad): it stays
            # one node, and this op is marked as updating it
            self.updates[i] = j
            self.updated.add(j)
            g = x.grad
            if g is not None:  # an update reading x.grad: call that leaf "<x>.grad"
                k = tmap.get(id(g))
                if k is not None and self.recs[k][R_OP] is None and self.leaf_info[k][0] == K_LEAF:
                    self.leaf_info[k] = (K_LEAF, ("grad", j))
            return
        tmap[id(x)] = i
        self.keep.append(x)

    # -- optimizer steps ----------------------------------------------------------------------
    def optimizer_step(self, optimizer, call):
        """Run `call` (an optimizer's step) and note each parameter it changed, with its value before
        and after, on the step the last backward() closed (before any did: on the step being recorded)."""
        if self._stepping:
            return call()
        params = [p for group in optimizer.param_groups for p in group["params"]]
        names = {}
        for group in optimizer.param_groups:
            for p, name in zip(group["params"], group.get("param_names") or ()):
                names[id(p)] = name
        before = [(p, p._version_box[0], self._value_now(p)) for p in params]
        self._stepping = True
        try:
            result = call()
        finally:
            self._stepping = False
        f = user_frame(getframe(1))
        code, line = (f.f_code, f.f_lineno) if f is not None else (None, -1)
        kind = type(optimizer).__name__
        done = [ParamUpdate(p, old, p._data.copy(), kind, names.get(id(p)), code, line)
                for p, version, old in before if p._version_box[0] != version]
        step = self.last_closed
        if step is None:
            self.param_updates.extend(done)
        elif step._records is not None:  # (a step already truncated keeps no values)
            step._records.param_updates.extend(done)
        return result

    def _value_now(self, p):
        """A copy of p's value: the one the last closed step kept of it when p has not changed since."""
        step = self.last_closed
        data = step._records if step is not None else None
        if data is not None:
            j = data.tmap.get(id(p))
            if j is not None and j in data.arrays and data.records[j][R_T] is p \
                    and data.records[j][R_VER] == p._version_box[0]:
                return data.arrays[j]
        return p._data.copy()

    # -- backward -----------------------------------------------------------------------------
    def begin_backward(self, outputs):
        _state.recorder = None  # ops run by the backward pass itself are not part of the program
        # the backward loop reports each node it runs (the gradient it received and those it sent on)
        self._flow = _state.backward_observer = Flow()

    def _grads_of(self, flow):
        """{record index: the gradient its tensor received in this backward} from the flow."""
        grads = {}
        received = flow.received
        recs = self.recs
        tmap = self.tmap
        for i, r in enumerate(recs):
            fn = r[R_FN]
            if fn is None:
                t = r[R_T]
                if not t._rg:
                    continue
                if r[R_OP] is not None:
                    # a custom Function's outputs get their node after the ops inside it ran
                    if tmap.get(id(t)) != i:
                        continue
                    fn = t.grad_fn
                elif i in self.leaf_info:
                    # a leaf, or a result from an earlier step entering this one as an input
                    fn = t.grad_fn if t.grad_fn is not None else t._accumulator
                if fn is None:
                    continue
            g = received.get(id(fn))
            if g is not None:
                grads[i] = g
        return grads

    def end_backward(self, outputs):
        flow = self._flow
        _state.backward_observer = None
        try:
            grads = self._grads_of(flow)
            loss = None
            if len(outputs) == 1 and outputs[0]._data.size == 1:
                try:
                    loss = float(outputs[0].item())
                except Exception:  # noqa: BLE001
                    loss = None
            roots = {self.tmap[id(t)] for t in outputs if id(t) in self.tmap}
            # the roots of the autograd graph: walked only when the backward graph is read (the
            # records keep its nodes alive meanwhile)
            self.backward = [t.grad_fn for t in outputs if t.grad_fn is not None]
            self._close(loss, roots, grads, [user_frame(getframe(1))], closed=True)
        finally:
            self._flow = None
            _state.recorder = self

    # -- steps --------------------------------------------------------------------------------
    def _step_data(self, roots, frames):
        """What the step keeps; `frames`: where its variables' names are looked up, first first
        (frames, or Namespace for a namespace whose frame is gone)."""
        recs = self.recs
        arrays = dict(self.arrays)
        # values that a later in-place write could change: leaves (parameters are updated by the
        # optimizer) and views of them are copied now; everything else is kept by reference
        if self.leaf_info:
            boxes = set()
            for j, info in self.leaf_info.items():
                t = recs[j][R_T]
                if t._rg or info[0] == K_PARAM or j in self.updated:
                    boxes.add(id(t._version_box))
            for i in [i for i, r in enumerate(recs) if id(r[R_T]._version_box) in boxes]:
                r = recs[i]
                t = r[R_T]
                if t._version_box[0] == r[R_VER] and i not in arrays:
                    arrays[i] = t._data.copy()
        tables = {}  # id(frame) -> {id(value): name}, one look at each frame's variables per step
        varnames = {}
        tmap = self.tmap
        frames = [f for f in frames if f is not None]
        for frame in frames:
            for tid, name in frame_names(frame, tables).items():
                i = tmap.get(tid)
                if i is not None and recs[i][R_OP] is not None:
                    varnames.setdefault(i, name)
        leaves = name_leaves(self.leaf_info, recs, tables)
        aliases = {}
        if frames and leaves:
            every = every_name(frames)
            for j, info in leaves.items():
                if info[0] == K_LEAF:
                    others = [n for n in every.get(id(recs[j][R_T]), ()) if n != info[1]]
                    if others:
                        aliases[j] = others
        data = StepData(recs, leaves, arrays, self.inplace_names, self.updates, set(roots), varnames,
                         self.module_types, aliases, self.failure)
        data.backward = self.backward
        data.flow = self._flow
        data.tmap = self.tmap
        data.param_updates = self.param_updates
        return data

    def _close(self, loss, roots, grads, frames, closed):
        if not self.recs and not closed and self.failure is None:
            return None
        step = Step.from_records(self.step_index, self._step_data(roots, frames), grads, loss, closed,
                                 self.full_values, self.graph.source_of)
        self.step_index += 1
        self._new_step()
        if closed:
            self.graph._add_step(step)
            self.last_closed = step
        return step

    def snapshot_step(self):
        data = StepData(list(self.recs), name_leaves(self.leaf_info, self.recs, {}), dict(self.arrays),
                         dict(self.inplace_names),
                         dict(self.updates), set(), {}, self.module_types)
        data.tmap = dict(self.tmap)
        data.param_updates = list(self.param_updates)
        return Step.from_records(self.step_index, data, {}, None, False, self.full_values,
                                 self.graph.source_of)

    def finish(self, frame, error=None):
        """End the capture: what ran after the last backward() becomes the open step. `error`: the
        exception that ended the block, if any; the call that raised becomes a "failed" node."""
        frames = [frame]
        if error is not None:
            where = self._record_failure(error)
            if where is not None:
                frames.insert(0, where)  # the names at the point of failure come first
        if self.namespace is not None:
            frames.append(Namespace(self.namespace))  # the block's code may have run elsewhere (exec)
        step = self._close(None, (), {}, frames, closed=False)
        self.graph._open = step
        self._keep_modules = []
        self._root_names.clear()
        self._child_names.clear()
        self._param_names.clear()
        self._mod_paths.clear()

    def _record_failure(self, error):
        """Note the call that raised `error`: its site (the deepest frame outside the engine that
        called into it, else the deepest one), what it was (the op, else the engine function called)
        and the tensors it was given. Returns that frame."""
        from ..tensor import Tensor
        tb = error.__traceback__
        entries = []
        while tb is not None:
            entries.append((tb.tb_frame, tb.tb_lasti))
            tb = tb.tb_next
        engine = [engine_codes.get(id(f.f_code)) if id(f.f_code) in engine_codes else classify(f.f_code)
                  for f, _ in entries]
        user = [k for k, e in enumerate(engine) if not e]
        if not user:
            return None
        called = [k for k in user if k + 1 < len(entries) and engine[k + 1]]
        k = called[-1] if called else user[-1]
        frame, lasti = entries[k]
        label, tensors = call_name(frame.f_code, lasti) or type(error).__name__, []
        if k + 1 < len(entries) and engine[k + 1]:
            callee = entries[k + 1][0]
            apply = next((f for f, _ in entries[k + 1:] if f.f_code is apply_code()), None)
            if apply is not None and "op" in apply.f_locals:
                label = apply.f_locals["op"].kind
                tensors = list(apply.f_locals.get("inputs") or ())
            else:
                code = callee.f_code
                n = code.co_argcount + code.co_kwonlyargcount
                args = [callee.f_locals.get(v) for v in code.co_varnames[:n]]
                if code.co_flags & 0x04:  # *args
                    args.extend(callee.f_locals.get(code.co_varnames[n]) or ())
                tensors = [a for a in args if isinstance(a, Tensor)]
        ins = []
        for t in tensors:
            if not isinstance(t, Tensor):
                continue
            i = self.tmap.get(id(t))
            if i is None:
                i = self._unknown(t, frame, frame.f_code, lasti, None, None)
            ins.append(i)
        message = f"{type(error).__name__}: {error}"
        if len(message) > 2000:
            message = message[:2000] + " ..."
        self.failure = (label, tuple(ins), frame.f_code, lasti, message)
        return frame


class capture:
    """Record every op run inside the block into a `Graph` (returned by `with ... as g`).

    full_values: tensors with at most this many elements keep their exact values; larger ones keep
        statistics, a histogram and a strided preview.
    keep_steps: how many of the most recent steps keep their nodes; older ones keep loss and counts.
    source_of: a function from the file name code was compiled under to a name for that source
        (e.g. the id of the notebook cell compiled as "<cell c3>"), or None for code of no known
        source; each node carries it as `source`. Default: no node has a source.
    """

    def __init__(self, full_values=64, keep_steps=20, source_of=None):
        if full_values < 0 or keep_steps < 0:
            raise ValueError("full_values and keep_steps must be >= 0")
        self.graph = Graph(full_values, keep_steps, source_of)
        self._prev = None
        self._recorder = None
        self._gc = (0, 0, 0)

    def __enter__(self):
        rec = Recorder(self.graph)
        self._recorder = rec
        self.graph._recorder = rec
        self._prev = _state.recorder
        # the records keep every step's tensors alive: collect young objects less often meanwhile
        self._gc = gc.get_threshold()
        if self._gc[0] and self._gc[0] < 10000:
            gc.set_threshold(10000, *self._gc[1:])
        _STATE["op_started"] = None
        _state.recorder = rec
        return self.graph

    def __exit__(self, *exc):
        rec = self._recorder
        _state.recorder = self._prev
        if self._gc[0] and gc.get_threshold()[0] == 10000:
            gc.set_threshold(*self._gc)
        self.graph._recorder = None
        error = exc[1] if len(exc) > 1 and isinstance(exc[1], Exception) else None
        rec.finish(user_frame(getframe(1)), error)
        return False



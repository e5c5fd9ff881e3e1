"""Names for what a program made: the variable a statement bound a tensor to, the variable a line
reads it from, the call a failing instruction made, and the variables of a frame."""
import dis
import weakref

from .records import K_LEAF, K_PARAM, R_T


# ---------------------------------------------------------------------------------------------
# where tensors were made: the factories and nn.Parameter report each tensor made while a capture
# is active (`Recorder.created`), so a leaf is placed and named at the statement that made it,
# not where it is first used. Entries outlive one capture (a tensor made in one cell and used in
# the next) and go with their tensor.
class Origin(weakref.ref):
    __slots__ = ("key", "code", "lasti", "ns", "name", "module")


origins = {}  # id(tensor) -> Origin


def drop_origin(ref):
    if origins.get(ref.key) is ref:
        del origins[ref.key]


def origin_of(t):
    o = origins.get(id(t))
    return o if o is not None and o() is t else None


_STORES = {"STORE_NAME", "STORE_FAST", "STORE_GLOBAL", "STORE_DEREF"}
_stores_cache = {}  # id(code) -> (code, [(offset, line, name) of each store into a variable])


def _stores_after(code, lasti):
    """The variables the statement running at `lasti` stores into after that instruction: the
    stores that follow it up to the first instruction on a line past the call's last line."""
    entry = _stores_cache.get(id(code))
    if entry is None or entry[0] is not code:
        ins = []
        try:
            for i in dis.get_instructions(code):
                p = i.positions
                ins.append((i.offset, p.lineno if p else None, p.end_lineno if p else None,
                            i.argval if i.opname in _STORES else None))
        except Exception:  # noqa: BLE001
            pass
        entry = _stores_cache[id(code)] = (code, ins)
    ins = entry[1]
    end = None
    names = []
    for offset, line, end_line, name in ins:
        if offset < lasti:
            continue
        if offset == lasti:
            end = end_line
            continue
        if end is not None and line is not None and line > end and names:
            break
        if name is not None:
            names.append(name)
            if len(names) >= 16:
                break
    return names


def creation_name(t, origin, f):
    """The variable the statement that made `t` bound it to, if it still does (checked in the
    module namespace of that statement, or in frame `f` when it runs the same code)."""
    ns = origin.ns
    if ns is None and f is not None and f.f_code is origin.code:
        try:
            ns = f.f_locals
        except Exception:  # noqa: BLE001
            return None
    if ns is None:
        return None
    for name in _stores_after(origin.code, origin.lasti):
        if name[:1] != "_" and ns.get(name) is t:
            origin.name = name
            return name
    return None


def var_name(t, f):
    """The name a frame (or its globals) gives to tensor t, or None."""
    if f is None:
        return None
    try:
        loc = f.f_locals
        for k, v in loc.items():
            if v is t and k != "self":
                return k
        g = f.f_globals
        if g is not loc:
            for k, v in g.items():
                if v is t:
                    return k
    except Exception:  # noqa: BLE001
        pass
    return None


_BINARY_NAMES = {"+": "add", "-": "sub", "*": "mul", "/": "div", "//": "floor_divide", "%": "remainder",
                 "**": "pow", "@": "matmul", "&": "bitwise_and", "|": "bitwise_or", "^": "bitwise_xor",
                 "<<": "bitwise_left_shift", ">>": "bitwise_right_shift"}


_CALLEE_LOADS = {"LOAD_ATTR", "LOAD_METHOD", "LOAD_NAME", "LOAD_GLOBAL", "LOAD_FAST", "LOAD_DEREF"}


def call_name(code, lasti):
    """What the instruction at `lasti` calls, by name: the function or method of a call
    ("matmul" for torch.matmul(a, b) or a.matmul(b)), the op of an operator ("matmul" for a @ b),
    "getitem"/"setitem" for subscripts; None when it is none of these."""
    try:
        ins = list(dis.get_instructions(code))
    except Exception:  # noqa: BLE001
        return None
    # the running instruction (a frame's offset may point into the inline caches after it)
    at = max((k for k, i in enumerate(ins) if i.offset <= lasti), default=None)
    if at is None:
        return None
    i = ins[at]
    if i.opname == "BINARY_OP":
        return _BINARY_NAMES.get(i.argrepr.rstrip("="), None)
    if i.opname in ("BINARY_SUBSCR", "STORE_SUBSCR"):
        return "getitem" if i.opname == "BINARY_SUBSCR" else "setitem"
    if i.opname.startswith("CALL") and i.positions is not None:
        # the callee expression starts where the call does: the nearest name or attribute loaded
        # at that position before the call is the function's own name (arguments start later)
        start = (i.positions.lineno, i.positions.col_offset)
        for q in reversed(ins[:at]):
            if q.opname in _CALLEE_LOADS and q.positions is not None and \
                    (q.positions.lineno, q.positions.col_offset) == start:
                return str(q.argval)
    return None


def apply_code():
    from ..ops import _core
    return _core.apply.__code__


class Namespace:
    """A namespace standing in for a frame that has ended (its variables are its module's)."""
    __slots__ = ("f_locals", "f_globals")

    def __init__(self, ns):
        self.f_locals = self.f_globals = ns


def every_name(frames):
    """{id(value): [every variable name bound to it]} over frames' locals and then their globals."""
    out = {}
    seen = set()
    for f in frames:
        for ns in (f.f_locals, f.f_globals):
            if id(ns) in seen:
                continue
            seen.add(id(ns))
            try:
                for k, v in ns.items():
                    if k != "self" and k[:1] != "_":
                        names = out.setdefault(id(v), [])
                        if k not in names:
                            names.append(k)
            except Exception:  # noqa: BLE001
                pass
    return out


_line_names_cache = {}  # id(code) -> (code, {line: [names and (name, attribute) pairs read there]})
_LOADS = {"LOAD_NAME", "LOAD_FAST", "LOAD_GLOBAL", "LOAD_DEREF", "LOAD_CLASSDEREF", "LOAD_FAST_CHECK"}


def _names_by_line(code):
    entry = _line_names_cache.get(id(code))
    if entry is not None and entry[0] is code:
        return entry[1]
    table = {}
    prev = None
    try:
        for ins in dis.get_instructions(code):
            line = ins.positions.lineno if ins.positions is not None else None
            if ins.opname in _LOADS and isinstance(ins.argval, str):
                table.setdefault(line, []).append(ins.argval)
                prev = ins.argval
                continue
            if ins.opname in ("LOAD_ATTR", "LOAD_METHOD") and prev is not None:
                table.setdefault(line, []).append((prev, ins.argval))
            prev = None
    except Exception:  # noqa: BLE001
        pass
    _line_names_cache[id(code)] = (code, table)
    return table


_positions_cache = {}  # id(code) -> (code, list(code.co_positions()))


def _line_of(code, lasti):
    entry = _positions_cache.get(id(code))
    if entry is None or entry[0] is not code:
        entry = _positions_cache[id(code)] = (code, list(code.co_positions()))
    pos = entry[1]
    k = lasti // 2
    return pos[k][0] if 0 <= k < len(pos) else None


def name_on_line(t, f, code, lasti):
    """The variable (or `obj.attr`) the running line reads tensor t from, if any."""
    try:
        line = _line_of(code, lasti)
        names = _names_by_line(code).get(line)
        if not names:
            return None
        loc = f.f_locals
        glo = f.f_globals
        for n in names:
            if type(n) is tuple:
                base = loc.get(n[0], glo.get(n[0]))
                if base is not None and getattr(base, n[1], None) is t:
                    return n[1] if n[0] == "self" else f"{n[0]}.{n[1]}"
            elif loc.get(n, glo.get(n)) is t:
                return n
    except Exception:  # noqa: BLE001
        pass
    return None


def name_leaves(leaf_info, recs, tables):
    """(kind, label) per leaf, a frame standing for the label until now: the variable that frame
    (or else its module) gives the tensor, else "tensor"/"param"."""
    names = {}
    grads = []
    for j, info in leaf_info.items():
        kind, label = info[:2]
        if isinstance(label, str):
            names[j] = info
            continue
        if isinstance(label, tuple):  # ("grad", k): the .grad of leaf k
            grads.append((j, label[1]))
            continue
        tid = id(recs[j][R_T])
        name = frame_names(label, tables).get(tid)
        if name is None and label.f_globals is not label.f_locals:
            name = frame_names(label, tables, module=True).get(tid)
        name = name or ("param" if kind == K_PARAM else "tensor")
        names[j] = (kind, name, name) if kind == K_PARAM else (kind, name)
    for j, k in grads:
        names[j] = (K_LEAF, f"{names[k][1]}.grad" if k in names else "grad")
    return names


def frame_names(f, tables, module=False):
    """{id(value): name} for a frame's variables (or its module's), the first name winning."""
    key = (id(f.f_globals) if module else id(f))
    table = tables.get(key)
    if table is not None:
        return table
    table = tables[key] = {}
    try:
        for k, v in (f.f_globals if module else f.f_locals).items():
            if k != "self" and k[:1] != "_":
                table.setdefault(id(v), k)
    except Exception:  # noqa: BLE001
        pass
    return table



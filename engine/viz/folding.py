"""Groups for drawing a captured step: modules and loops (pure Python, no Bokeh).

Every node gets a dotted group path (see layout.LayoutNode.group), made of:

* module groups: the node's nn.Module path ("model.encoder.fc1"), each prefix a group;
* loop groups: consecutive repeats of the same structure. Ops are compared by their call site
  (file, line, column, op): a loop's iterations run the same call sites in the same order, while
  `y * y * 2` on one line runs two different ones. A run of at least two repeats of one sequence
  of call sites becomes a group named "loop@<line>" with the repeat count; folded runs are then
  compared again, so nested loops nest. A loop is placed inside the deepest module that holds all
  its ops, and the modules of its ops nest inside it.

Leaves join the innermost group that holds all of their consumers in one iteration (a weight used
by every iteration of a loop stays outside the loop). `fold(...)` turns a set of collapsed groups
into layout nodes with layout.fold_groups; expanding is laying out again without them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Group", "Grouping", "group_nodes", "find_repeats", "auto_collapse"]


@dataclass
class Group:
    name: str                  # dotted path; the last part is the group's own name
    kind: str                  # "module" or "loop"
    label: str                 # what a folded node shows, e.g. "fc1 · Linear" or "loop ×12"
    count: int = 1             # iterations of a loop
    line: int = -1             # first line of a loop's body
    size: int = 0              # nodes inside (nested groups included)
    depth: int = 0             # number of dots in name


@dataclass
class Grouping:
    node_group: dict[str, str | None] = field(default_factory=dict)   # node id -> group path
    groups: dict[str, Group] = field(default_factory=dict)            # path -> Group, outer first


def find_repeats(symbols, min_count=2, max_tries=6):
    """Tandem repeats in a sequence: [(start, period, count)], non-overlapping, left to right.

    At each position the candidate periods are the distances to the next few occurrences of the
    same symbol; the first period whose block repeats at least `min_count` times wins. None never
    matches anything.
    """
    n = len(symbols)
    nxt = [None] * n
    last = {}
    for k in range(n - 1, -1, -1):
        s = symbols[k]
        if s is not None:
            nxt[k] = last.get(s)
            last[s] = k
    out = []
    i = 0
    while i < n:
        j = nxt[i]
        found = None
        tries = 0
        while j is not None and tries < max_tries:
            period = j - i
            if j + period <= n and symbols[i:j] == symbols[j:j + period] and None not in symbols[i:j]:
                count = 2
                while i + (count + 1) * period <= n and \
                        symbols[i + count * period:i + (count + 1) * period] == symbols[i:j]:
                    count += 1
                if count >= min_count:
                    found = (i, period, count)
                break
            j = nxt[j]
            tries += 1
        if found:
            out.append(found)
            i += found[1] * found[2]
        else:
            i += 1
    return out


class _Loop:
    __slots__ = ("iterations", "count", "line", "name", "prefix", "members", "suffix")

    def __init__(self, iterations, suffix):
        self.iterations = iterations  # a list of item lists, one per iteration
        self.count = len(iterations)
        self.suffix = suffix          # "~k" for a loop found inside iteration k of another
        self.name = None


def _site(node):
    line = node.get("line", -1)
    if line is None or line < 0:
        return None
    return (node.get("file", ""), line, node.get("col", -1), node.get("end_col", -1), node.get("fn") or node.get("op"))


def _detect(items, symbols, depth, max_depth, suffix, found):
    """Replace repeats in `items` by loop items (recursively inside each iteration)."""
    for _ in range(max_depth):
        reps = find_repeats(symbols)
        if not reps:
            break
        new_items, new_symbols = [], []
        pos = 0
        for start, period, count in reps:
            new_items += items[pos:start]
            new_symbols += symbols[pos:start]
            iterations = []
            for it in range(count):
                lo = start + it * period
                body, body_symbols = items[lo:lo + period], symbols[lo:lo + period]
                if depth < max_depth and period > 1:
                    body = _detect(body, body_symbols, depth + 1, max_depth, f"{suffix}~{it}", found)
                iterations.append(body)
            loop = _Loop(iterations, suffix)
            found.append(loop)
            new_items.append(("loop", loop))
            new_symbols.append(("loop", tuple(symbols[start:start + period])))
            pos = start + period * count
        new_items += items[pos:]
        new_symbols += symbols[pos:]
        items, symbols = new_items, new_symbols
    return items


def group_nodes(nodes, edges=None, *, loops=True, modules=True, max_depth=3, module_types=None,
                left_out_sites=None):
    """Group the nodes of a step (dicts as in Step.to_dict()); returns a Grouping.
    module_types: {module path: class name} (a step dict's "modules") for the group labels.
    left_out_sites: a trimmed step's "left_out_sites", so a loop counts the iterations left out too."""
    nodes = list(nodes)
    by_id = {n["id"]: n for n in nodes}
    ops = [n for n in nodes if n.get("kind") in ("op", "output")]
    # the chain of (loop, iteration) each op sits in, outermost first
    chain = {n["id"]: [] for n in ops}
    loop_list = []
    if loops and len(ops) > 2:
        items = _detect([("op", n["id"]) for n in ops], [_site(n) for n in ops], 0, max_depth, "", loop_list)

        def walk(items, outer):
            for kind, v in items:
                if kind == "op":
                    chain[v] = outer
                else:
                    for it, body in enumerate(v.iterations):
                        walk(body, outer + [(v, it)])
        walk(items, [])

    if left_out_sites:
        _count_left_out(loop_list, ops, left_out_sites)
    # loops: the module that holds them, a name, their first line
    for loop in loop_list:
        members = [m for body in loop.iterations for m in _flat_ops(body)]
        loop.members = members
        mods = [by_id[m].get("module") or "" for m in members]
        loop.prefix = _common_prefix(mods) if modules else ""
        first = by_id[members[0]]
        loop.line = first.get("line", -1)

    grouping = Grouping()
    used_names = {}

    def loop_name(loop, parent):
        if loop.name is None:
            base = (f"loop@{loop.line}" if loop.line is not None and loop.line >= 0 else "loop") + loop.suffix
            key = (parent, base)
            k = used_names.get(key, 0)
            used_names[key] = k + 1
            loop.name = base if k == 0 else f"{base}#{k + 1}"
        return loop.name

    def path_for(module, loops_of):
        parts = []
        base = ""
        for loop, _ in loops_of:
            prefix = loop.prefix
            rel = prefix[len(base):].lstrip(".") if prefix.startswith(base) else prefix
            if rel:
                parts += rel.split(".")
            parent = ".".join(parts)
            parts.append(loop_name(loop, parent))
            base = prefix
        module = (module or "") if modules else ""
        if base:
            rest = module[len(base) + 1:] if module.startswith(base + ".") else ""
        else:
            rest = module
        if rest:
            parts += rest.split(".")
        return ".".join(parts) or None

    consumers = {}
    for n in nodes:
        for src in n.get("inputs") or ():
            consumers.setdefault(src, []).append(n["id"])
    if edges is not None and not any(n.get("inputs") for n in nodes):
        for e in edges:
            s, t = (e["source"], e["target"]) if isinstance(e, dict) else e
            consumers.setdefault(s, []).append(t)

    # leaves: inside the loop iterations that hold all their consumers, as long as the other
    # iterations of that loop also have a leaf made at the same place (a fresh input per iteration,
    # not a starting value or a weight)
    leaf_common = {}
    for n in nodes:
        nid = n["id"]
        if nid in chain:
            continue
        cons = [c for c in consumers.get(nid, ()) if c in chain]
        common = None
        for c in cons:
            ch = chain[c]
            if common is None:
                common = list(ch)
            else:
                k = 0
                while k < len(common) and k < len(ch) and common[k][0] is ch[k][0] and common[k][1] == ch[k][1]:
                    k += 1
                common = common[:k]
        leaf_common[nid] = common or []
    seen_at = {}
    for nid, common in leaf_common.items():
        n = by_id[nid]
        site = (n.get("line"), n.get("col"), n.get("end_col"))
        for loop, it in common:
            seen_at.setdefault((id(loop), site), set()).add(it)
    for n in nodes:
        nid = n["id"]
        if nid in chain:
            grouping.node_group[nid] = path_for(n.get("module"), chain[nid])
            continue
        site = (n.get("line"), n.get("col"), n.get("end_col"))
        keep = []
        for loop, it in leaf_common[nid]:
            if len(seen_at.get((id(loop), site), ())) < 2:
                break
            keep.append((loop, it))
        grouping.node_group[nid] = path_for(n.get("module"), keep)

    # group records, outer first
    sizes = {}
    for g in grouping.node_group.values():
        if g:
            parts = g.split(".")
            for k in range(1, len(parts) + 1):
                p = ".".join(parts[:k])
                sizes[p] = sizes.get(p, 0) + 1
    loops_by_path = {}
    for n in ops:
        g = grouping.node_group[n["id"]]
        for loop, _ in chain[n["id"]]:
            path = g[:g.index(loop.name) + len(loop.name)] if g and loop.name in g else None
            if path:
                loops_by_path[path] = loop
    module_types = dict(module_types or {})
    for n in nodes:
        if n.get("module") and n.get("module_type"):
            module_types.setdefault(n["module"], n["module_type"])
    for path in sorted(sizes, key=lambda p: (p.count("."), p)):
        last = path.rsplit(".", 1)[-1]
        loop = loops_by_path.get(path)
        if loop is not None:
            line = f" · line {loop.line}" if loop.line is not None and loop.line >= 0 else ""
            grouping.groups[path] = Group(path, "loop", f"loop ×{loop.count}{line}", loop.count, loop.line,
                                          sizes[path], path.count("."))
        else:
            # the module path of this group: drop the loop parts
            mod_path = ".".join(p for p in path.split(".") if not p.startswith("loop@") and p != "loop")
            mtype = module_types.get(mod_path)
            grouping.groups[path] = Group(path, "module", f"{last} · {mtype}" if mtype else last, 1, -1,
                                          sizes[path], path.count("."))
    return grouping


def _count_left_out(loop_list, ops, left_out_sites):
    """Add to each outermost loop of plain ops the iterations a trimmed step left out: at each of
    its call sites, what ran there (kept or left out) over how often one iteration runs it."""
    left = {}
    for s in left_out_sites:
        left[tuple(s[:5])] = left.get(tuple(s[:5]), 0) + int(s[5])
    kept = {}
    for n in ops:
        site = _site(n)
        kept[site] = kept.get(site, 0) + 1
    by_id = {n["id"]: n for n in ops}
    for loop in loop_list:
        body = loop.iterations[0]
        if loop.suffix or any(kind != "op" for kind, _ in body):
            continue
        per_iteration = {}
        for _, nid in body:
            site = _site(by_id[nid])
            per_iteration[site] = per_iteration.get(site, 0) + 1
        if any(site in left for site in per_iteration):
            ran = max((kept.get(site, 0) + left.get(site, 0)) // k for site, k in per_iteration.items())
            loop.count = max(loop.count, ran)


def _op_ids(item):
    kind, v = item
    if kind == "op":
        return [v]
    return [m for body in v.iterations for m in _flat_ops(body)]


def _flat_ops(items):
    out = []
    for it in items:
        out += _op_ids(it)
    return out


def _common_prefix(paths):
    if not paths:
        return ""
    split = [p.split(".") if p else [] for p in paths]
    first = split[0]
    k = 0
    while k < len(first) and all(len(s) > k and s[k] == first[k] for s in split[1:]):
        k += 1
    return ".".join(first[:k])


def auto_collapse(grouping, n_nodes, limit=2000):
    """Groups to fold so that about `limit` nodes or fewer remain: loops first (outermost first),
    then modules from the deepest level up... stopping as soon as the count is under the limit.
    Returns a set of group paths (no group inside another folded group)."""
    if n_nodes <= limit:
        return set()
    groups = grouping.groups
    collapsed = set()

    def visible_count():
        folded = sorted(collapsed, key=lambda p: p.count("."))
        outer = []
        for p in folded:
            if not any(p == o or p.startswith(o + ".") for o in outer):
                outer.append(p)
        return n_nodes - sum(groups[p].size - 1 for p in outer)

    loops = sorted((g for g in groups.values() if g.kind == "loop"), key=lambda g: (g.depth, -g.size))
    for g in loops:
        if any(g.name.startswith(c + ".") for c in collapsed):
            continue
        collapsed.add(g.name)
        if visible_count() <= limit:
            return _outermost(collapsed)
    modules = [g for g in groups.values() if g.kind == "module"]
    for depth in sorted({g.depth for g in modules}, reverse=True):
        for g in sorted((g for g in modules if g.depth == depth), key=lambda g: -g.size):
            if g.size < 2:
                continue
            collapsed.add(g.name)
        if visible_count() <= limit:
            break
    return _outermost(collapsed)


def _outermost(paths):
    out = set()
    for p in sorted(paths, key=lambda p: p.count(".")):
        if not any(p.startswith(o + ".") for o in out):
            out.add(p)
    return out

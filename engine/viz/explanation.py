"""The answer to "why this gradient?" as HTML: one rendering for the app's inspector and for
exported pages (which hold the answers computed at export time), so both read the same."""
from __future__ import annotations

import html

__all__ = ["EXPLAIN_CSS", "EXPLAIN_PATHS", "explanation_html", "values_text", "summary_line", "shape_text",
           "format_number", "flatten_some"]

EXPLAIN_PATHS = 20  # paths an explanation lists one by one (the rest are summed)

EXPLAIN_CSS = """
.gv-explain { font-size: 12px; line-height: 1.35; }
.gv-explain-head { margin-bottom: 4px; }
.gv-explain-path { border-left: 3px solid #d4380d33; padding-left: 6px; margin: 4px 0; }
.gv-explain ol { margin: 2px 0 2px 16px; padding: 0; }
.gv-num { color: #555; }
.gv-explain-join, .gv-explain-others, .gv-explain-groups { color: #444; margin: 3px 0; }
.gv-explain-total { font-weight: bold; margin-top: 4px; }
.gv-explain-error { color: #a8071a; }
"""


def format_number(v) -> str:
    """A number as the inspector, hover texts and explanations write it: whole numbers as they
    are, others to 5 significant digits, with an exponent when tiny or huge; None as a dash."""
    if v is None:
        return "–"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, int):
        return str(v)
    a = abs(v)
    return f"{v:.3e}" if a != 0 and (a < 1e-3 or a >= 1e5) else f"{v:.5g}"


def flatten_some(values, limit):
    """The first `limit` numbers of nested lists, in order (without flattening the rest)."""
    out = []
    stack = [values]
    while stack and len(out) < limit:
        x = stack.pop()
        if isinstance(x, list):
            stack.extend(reversed(x))
        else:
            out.append(x)
    return out


def summary_line(s, limit=12) -> str:
    """A value or gradient summary as one line: its numbers when few, else its statistics."""
    if not s:
        return "none"
    if isinstance(s, dict) and "data" in s:
        data = s["data"]
        if not isinstance(data, list):
            return format_number(data)
        vals = flatten_some(data, limit + 1)
        more = s.get("numel", 0) > limit
        return "[" + ", ".join(format_number(v) for v in vals[:limit]) + (", …]" if more else "]")
    if isinstance(s, dict):
        parts = [f"{k} {format_number(s[k])}" for k in ("min", "max", "mean", "std", "norm") if s.get(k) is not None]
        for k in ("nan", "inf"):
            if s.get(k):
                parts.append(f"{s[k]} {k.upper() if k == 'nan' else k}")
        return " · ".join(parts) or f"{s.get('numel', 0)} values"
    return str(s)


def values_text(s) -> str:
    """A summary's numbers in full when the capture kept them all (a small tensor), else its shape
    and statistics."""
    if not isinstance(s, dict):
        return summary_line(s)
    if "data" in s and s.get("full", True):
        data = s["data"]
        if not isinstance(data, list):
            return format_number(data)

        def nested(v):
            return "[" + ", ".join(nested(x) for x in v) + "]" if isinstance(v, list) else format_number(v)
        return nested(data)
    shape = s.get("shape")
    head = f"shape {shape_text(shape)}: " if shape is not None else ""
    stats = {k: v for k, v in s.items() if k not in ("data",)}
    return head + summary_line(stats)


_ACC = "torch::autograd::AccumulateGrad"


def _rule_words(step) -> str:
    """A path step's rule in words: which node, what it did with the gradient it received."""
    node = str(step.get("node", "")).rpartition("::")[2]
    if step.get("node") == _ACC:
        return "AccumulateGrad adds what it receives into <code>.grad</code>"
    inp = html.escape(str(step.get("input", "")))
    return (f"{html.escape(node)} turns the gradient it received (<i>grad</i>) into the gradient of its "
            f"input <i>{inp}</i>")


def explanation_html(answer, target_label="") -> str:
    """The inspector's answer to "why this gradient?": each path from the output with each node's
    rule in words and symbols and the numbers it received and sent, where paths join, the paths
    beyond those listed summed, and the total (the node's gradient)."""
    if not answer:
        return ""
    if answer.get("pending"):
        return "<div class='gv-explain gv-explain-pending'>Working out the chain rule…</div>"
    if answer.get("error"):
        return f"<div class='gv-explain gv-explain-error'>No explanation: {html.escape(str(answer['error']))}</div>"
    name = html.escape(str(answer.get("target") or target_label))
    n = int(answer.get("path_count") or 0)
    paths = answer.get("paths") or []
    out = [f"<div class='gv-explain'><div class='gv-explain-head'>Why the gradient of <b>{name}</b> is "
           f"<code>{html.escape(values_text(answer.get('total')))}</code>: {n} path{'s' if n != 1 else ''} from the "
           f"output to it, each node applying its local rule (chain rule); largest contribution first.</div>"]
    for k, p in enumerate(paths):
        rows = []
        for st in p.get("steps") or ():
            rows.append(f"<li class='gv-explain-step'>{_rule_words(st)}: <code>{html.escape(str(st.get('rule', '')))}</code>"
                        f"<br><span class='gv-num'>{html.escape(values_text(st.get('received')))} → "
                        f"{html.escape(values_text(st.get('sent')))}</span></li>")
        out.append(f"<div class='gv-explain-path'><b>path {k + 1}</b> contributes "
                   f"<code class='gv-explain-contribution'>{html.escape(values_text(p.get('contribution')))}</code>"
                   f"<ol>{''.join(rows)}</ol></div>")
    hidden = n - len(paths)
    if answer.get("others") is not None and hidden > 0:
        out.append(f"<div class='gv-explain-others'>{hidden} more path{'s' if hidden != 1 else ''} (smaller), "
                   f"together: <code>{html.escape(values_text(answer['others']))}</code></div>")
    if answer.get("rest") is not None:
        out.append(f"<div class='gv-explain-others'>paths not followed one by one, together: "
                   f"<code>{html.escape(values_text(answer['rest']))}</code></div>")
    groups = answer.get("groups") or []
    if hidden > 0 and groups:
        items = "".join(
            f"<li>{g['paths']} path{'s' if g['paths'] != 1 else ''} through "
            f"{html.escape(', '.join(f'{nm.rpartition(chr(58))[2]} ×{t}' for nm, t in g['route']))}: "
            f"<code>{html.escape(values_text(g['contribution']))}</code></li>" for g in groups)
        out.append(f"<div class='gv-explain-groups'>paths grouped by the nodes they pass through:<ul>{items}</ul></div>")
    for j in answer.get("joins") or ():
        node = html.escape(str(j.get("node", "")).rpartition("::")[2])
        terms = " + ".join(html.escape(values_text(part.get("grad"))) for part in j.get("parts") or ())
        out.append(f"<div class='gv-explain-join'>at {node}, {len(j.get('parts') or ())} gradients add up: "
                   f"<code>{terms} = {html.escape(values_text(j.get('sum')))}</code></div>")
    out.append(f"<div class='gv-explain-total'>total (the gradient of {name}): "
               f"<code class='gv-explain-total-value'>{html.escape(values_text(answer.get('total')))}</code></div></div>")
    return "".join(out)


def shape_text(shape) -> str:
    if shape is None:
        return ""
    return " × ".join(str(d) for d in shape) if len(shape) else "scalar"

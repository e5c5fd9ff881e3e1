"""The answers to "why this gradient?" an exported page holds: worked out at export time by
`Step.explain`, rendered as the app renders them, for the nodes of each kept step (bounded by
count and by what they add to the page, with a note in the page when some are left out)."""
import json
import linecache

import pytest

pytest.importorskip("bokeh", reason="bokeh is not installed")

import gradview.engine as torch  # noqa: E402
from gradview.engine import graph, viz  # noqa: E402
from gradview.engine.viz import _js  # noqa: E402
from gradview.engine.viz.explanation import EXPLAIN_PATHS, explanation_html  # noqa: E402
from gradview.engine.viz.export import explanations_of  # noqa: E402

WALK = """\
x = torch.ones(2, 2, requires_grad=True)
y = x + 2
z = y * y * 3
out = z.mean()
out.backward()
"""


def run(code, name):
    linecache.cache[name] = (len(code), None, code.splitlines(True), name)
    torch.manual_seed(0)
    with graph.capture() as g:
        exec(compile(code, name, "exec"), {"torch": torch})
    return g


def held(root):
    """The tables of the page's "why this gradient?" callback (None when the page has none)."""
    from bokeh.models import CustomJS
    found = [c for c in root.select({"type": CustomJS}) if c.code == _js.EXPLAIN]
    return found[0].args["table"] if found else None


def keys_line(root):
    from bokeh.models import Div
    return next(d.text for d in root.select({"type": Div}) if "gv-keys" in d.text)


def test_the_page_holds_step_explain_for_every_node_a_gradient_reached():
    g = run(WALK, "<walk>")
    step = g.steps[-1]
    tables = held(viz.page(g))
    assert len(tables) == 1
    drawn = step.to_dict()["nodes"]
    reached = [n["id"] for n in drawn if n["grad"] is not None]
    assert sorted(tables[0]) == sorted(reached) and len(reached) == 5
    by_id = {str(n.id): n.id for n in step.nodes}
    for node_id, text in tables[0].items():
        assert text == explanation_html(step.explain(by_id[node_id]).to_dict(max_paths=EXPLAIN_PATHS))
    x = next(n["id"] for n in drawn if n["label"] == "x")
    assert "<code class='gv-explain-total-value'>[[4.5, 4.5], [4.5, 4.5]]</code>" in tables[0][x]
    # the same answers are in the saved page (as Bokeh writes them)
    assert json.dumps("[[4.5, 4.5], [4.5, 4.5]]")[1:-1] in viz.to_html(g)


def test_each_kept_step_has_its_own_answers():
    g = run("w = torch.tensor([1.0, 2.0], requires_grad=True)\nfor k in range(3):\n"
            "    (w * (k + 1)).sum().backward()\n", "<steps>")
    tables = held(viz.page(g))
    assert len(tables) == 3
    for k, (live, table) in enumerate(zip(g.steps, tables)):
        w = next(n.id for n in live.nodes if n.label == "w")
        assert table[str(w)] == explanation_html(live.explain(w).to_dict(max_paths=EXPLAIN_PATHS))
        assert f"[{k + 1}, {k + 1}]" in table[str(w)]   # each step's own gradient
    assert "answers" not in keys_line(viz.page(g))   # nothing left out, nothing said


def test_no_answers_without_a_capture_or_when_asked_not_to():
    g = run(WALK, "<walk>")
    assert held(viz.page(g, explain=False)) is None
    assert held(viz.page(g.steps[-1].to_dict())) is None   # a dict: nothing to work them out from
    assert held(viz.page(g.steps[-1])) is not None          # a Step


CHAIN = """\
w = torch.randn(4, requires_grad=True)
b = torch.randn(4, requires_grad=True)
h = torch.randn(4)
for k in range(60):
    h = torch.tanh(h * w + b)
out = h.sum()
out.backward()
"""


def test_bounded_by_count_and_size_leaves_and_parameters_first_and_said_in_the_page():
    g = run(CHAIN, "<chain>")
    step = g.steps[-1]
    drawn = step.to_dict()
    reached = [n for n in drawn["nodes"] if n["grad"] is not None]
    leaves = {n["id"] for n in reached if n["kind"] in ("leaf", "param")}
    few = explanations_of([(step, drawn)], max_nodes=10)
    assert len(few.tables[0]) == 10 and leaves <= set(few.tables[0])
    assert f"answers 10 of the {len(reached)} nodes" in few.note
    # a small size budget: fewer answers, the page says how many
    small = explanations_of([(step, drawn)], max_nodes=10, max_bytes=few.size // 3)
    assert 0 < len(small.tables[0]) < 10 and small.size <= few.size // 3
    assert f"answers {len(small.tables[0])} of the {len(reached)} nodes" in small.note
    none = explanations_of([(step, drawn)], max_bytes=100)
    assert none.tables == [{}] and "no “why this gradient?” here" in none.note
    # the default bound on the page itself
    root = viz.page(g)
    assert len(held(root)[0]) <= len(reached)
    if len(held(root)[0]) < len(reached):
        assert "“why this gradient?” answers" in keys_line(root)


def test_only_nodes_a_reader_can_click_get_answers():
    g = run(CHAIN, "<chain>")
    root = viz.page(g, max_nodes=20)  # the loop folds into one node
    drawn = set(next(iter(root.select({"name": "graph-nodes"}))).data["id"])
    table = held(root)[0]
    reached = [n["id"] for n in g.steps[-1].to_dict()["nodes"] if n["grad"] is not None]
    assert len(drawn) < len(reached)
    assert table and set(table) <= drawn
    assert set(table) == {i for i in reached if i in drawn}  # small enough: every clickable one

"""A step past the node cap: the outputs, the loss and the ops closest to them are kept, one node
stands for the rest, nothing kept dangles, and a folded loop still counts every iteration."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gradview.engine import graph  # noqa: E402
from gradview.engine.viz.folding import group_nodes  # noqa: E402
from tests.graph.source import run_failing, run_source  # noqa: E402

LOOP = ("x = torch.ones(3, requires_grad=True)\n"
        "y = x\n"
        "for i in range(3000):\n"
        "    y = torch.sin(y) * 1.01\n"
        "loss = y.sum()\n"
        "loss.backward()\n")


def check_trimmed(d, cap, total):
    nodes = d["nodes"]
    assert len(nodes) == cap and d["node_count"] == total and d["nodes_left_out"] == total - (cap - 1)
    ids = {n["id"] for n in nodes}
    assert all(e["source"] in ids and e["target"] in ids for e in d["edges"])
    # nothing dangles: every kept op feeds a kept node unless it is an output
    fed = {e["source"] for e in d["edges"]}
    assert all(n["id"] in fed for n in nodes if n["kind"] == "op")
    # what lost an input is fed by the stand-in, which is the one "elided" node
    (stand_in,) = [n for n in nodes if n["kind"] == "elided"]
    lost = {n["id"] for n in nodes if any(j not in ids for j in n["inputs"])}
    assert lost and {e["target"] for e in d["edges"] if e["source"] == stand_in["id"]} == lost


def test_the_loss_and_the_ops_nearest_it_are_kept():
    g, _ = run_source(LOOP, "<trim>")
    step = g.steps[0]
    assert step.node_count == 1 + 2 * 3000 + 1
    d = step.trimmed_dict(4000)
    check_trimmed(d, 4000, 6002)
    assert d["nodes"][-1]["kind"] == "output" and d["nodes"][-1]["label"] == "sum"
    assert d["nodes"][-1]["value"]["data"] == step.loss or abs(d["nodes"][-1]["value"]["data"] - step.loss) < 1e-4
    # the kept ops are the last ones run, in run order
    kept = [n["index"] for n in d["nodes"] if n["kind"] != "elided"]
    assert kept == sorted(kept) and kept[-1] == 6001 and kept[0] == 6002 - 3999
    # a folded loop counts every iteration that ran, kept or not
    grouping = group_nodes(d["nodes"], d["edges"], left_out_sites=d["left_out_sites"])
    (loop,) = [g for g in grouping.groups.values() if g.kind == "loop"]
    assert loop.count == 3000 and loop.label.startswith("loop ×3000")


def test_trimming_a_dict_again_keeps_the_count_and_one_stand_in():
    g, _ = run_source(LOOP, "<trim2>")
    once = g.steps[0].trimmed_dict(5000)
    twice = graph.trim(once, 1000)
    check_trimmed(twice, 1000, 6002)
    grouping = group_nodes(twice["nodes"], twice["edges"], left_out_sites=twice["left_out_sites"])
    assert [g.count for g in grouping.groups.values() if g.kind == "loop"] == [3000]
    # under the cap: unchanged
    assert graph.trim(once, 6000) is once


def test_a_failed_call_is_kept_past_the_cap():
    src = LOOP.replace("loss = y.sum()\nloss.backward()\n", "y.view(7)\n")
    g, _, _ = run_failing(src, "<trim-fail>", None)
    d = g.steps[-1].trimmed_dict(50)
    assert d["nodes"][-1]["kind"] == "failed" and len(d["nodes"]) == 50
    assert not [n for n in d["nodes"] if n["kind"] == "output"]


def test_graph_to_dict_trims_every_kept_step():
    g, _ = run_source(LOOP, "<trim3>")
    d = g.to_dict(max_nodes=100)
    assert [len(s["nodes"]) for s in d["steps"]] == [100]

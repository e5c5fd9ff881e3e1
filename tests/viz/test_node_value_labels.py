"""Values and gradients written on the nodes: the number format (short, exponents, a rounded number
never looking round), the lines of a node (numbers of small tensors, a named statistic for large
ones), the node growing to hold them, and the numbers equal to PyTorch's on a small program."""
from __future__ import annotations

import math
import re

import pytest

import gradview.engine as engine
from gradview.engine import graph
from gradview.engine.viz.bokeh_view import (NODE_VALUES_UP_TO, VALUE_WRAP, backward_step, node_columns,
                                            node_values_text, number_text)

NUM = r"-?(?:\d+(?:\.\d*)?(?:e-?\d+)?|nan|-?inf)"


@pytest.mark.parametrize("v, text", [
    (0.25, "0.25"), (4.5, "4.5"), (27.0, "27"), (-3.0, "-3"), (1 / 3, "0.3333"), (0.0, "0"),
    (1e-8, "1e-8"), (-1.5e-7, "-1.5e-7"), (2.5e12, "2.5e12"), (123456.0, "1.235e5"), (1e5, "1e5"),
    (float("nan"), "nan"), (float("inf"), "inf"), (float("-inf"), "-inf"), (7, "7"), (True, "True"),
    (12345678901, "1.235e10"), ("inf", "inf"), (1234.56, "1.235e3"), (4096.0, "4096"),
])
def test_number_text(v, text):
    assert number_text(v) == text


@pytest.mark.parametrize("v", [2.49996, 0.99999, 0.0999996, 1.00004e-6, 99999.4])
def test_a_rounded_number_keeps_its_trailing_zeros(v):
    text = number_text(v)
    assert float(text) != v
    mantissa = text.partition("e")[0]
    assert mantissa.endswith("0") and len(mantissa.replace("-", "").replace(".", "").lstrip("0")) >= 4, text


@pytest.mark.parametrize("v", [1e-30, -4e-12, 3.3e-300, 5e-324])
def test_tiny_numbers_never_show_as_zero(v):
    text = number_text(v)
    assert "e" in text and float(text) != 0 and math.copysign(1, float(text)) == math.copysign(1, v)
    assert abs(float(text) - v) <= 1e-3 * abs(v) or v == 5e-324


@pytest.mark.parametrize("v", [1e300, -6.02e23, 1.5e308])
def test_huge_numbers_keep_their_exponent(v):
    text = number_text(v)
    assert "e" in text and abs(float(text) - v) <= 1e-3 * abs(v)


def test_a_float32_value_reads_as_its_decimal():
    import numpy as np
    assert number_text(float(np.float32(0.1)), "float32") == "0.1"
    assert number_text(float(np.float32(0.1))) == "0.1000"  # as a float64 it is not 0.1


def _summary(data, shape, **stats):
    numel = 1
    for d in shape:
        numel *= d
    return dict({"numel": numel, "shape": list(shape), "dtype": "float64", "full": True, "data": data}, **stats)


def test_small_tensors_show_their_numbers_and_large_ones_a_named_statistic():
    n = {"kind": "op", "value": _summary([1.0, 2.5], [2]), "grad": _summary(0.125, [])}
    assert node_values_text(n) == "data [1, 2.5]\ngrad 0.125"
    big = {"kind": "op", "value": {"numel": 100, "shape": [10, 10], "mean": 0.5, "norm": 7.0, "dtype": "float32"},
           "grad": {"numel": 100, "shape": [10, 10], "mean": 0.0, "norm": 3.25e-9, "nan": 2}}
    assert node_values_text(big) == "data mean 0.5\ngrad norm 3.25e-9 (2 nan)"
    # one element past the limit: a statistic, even though the capture kept the numbers
    over = [float(k) for k in range(NODE_VALUES_UP_TO + 1)]
    n5 = {"kind": "op", "value": _summary(over, [len(over)], mean=sum(over) / len(over))}
    assert node_values_text(n5) == f"data mean {number_text(sum(over) / len(over))}"
    assert node_values_text({"kind": "leaf", "value": _summary(1.0, [])}) == "data 1"  # no gradient: no line
    assert node_values_text({"kind": "failed", "value": None}) == ""


def test_long_lines_wrap_and_keep_every_number():
    data = [[1 / 3, -2 / 3], [1.5e-7, 2.5e12]]
    text = node_values_text({"kind": "op", "grad": _summary(data, [2, 2])})
    lines = text.split("\n")
    assert len(lines) > 1 and all(len(line) <= VALUE_WRAP + 6 for line in lines)
    assert [float(v) for v in re.findall(NUM, text)] == pytest.approx([1 / 3, -2 / 3, 1.5e-7, 2.5e12], rel=1e-3)


def test_nodes_grow_to_hold_their_values():
    with graph.capture() as g:
        x = engine.tensor([1 / 3, 2 / 3, 1.0, 4 / 3], requires_grad=True)
        (x * x).sum().backward()
    step = g.steps[-1].to_dict()
    off, *_ = node_columns(step)
    on, *_ = node_columns(step, values=True)
    assert all(v == "" for v in off["values"]) and all(h == 0 for h in off["values_h"])
    assert all(on["values"]) and all(h > 0 for h in on["values_h"])
    for k in range(len(on["id"])):
        lines = on["values"][k].split("\n")
        assert on["h"][k] >= off["h"][k] + 0.25 * len(lines)
        assert on["w"][k] >= 0.14 * max(len(line) for line in lines)  # 9px monospace at 40 px per unit


def _numbers(line):
    return [float(v) for v in re.findall(NUM, line.partition(" ")[2])]


def test_values_and_gradients_on_nodes_equal_pytorchs():
    torch = pytest.importorskip("torch")
    with graph.capture() as g:
        x = engine.tensor([[0.5, -1.25], [2.0, 3.0]], requires_grad=True)
        w = engine.tensor([0.1, -0.7], requires_grad=True)
        h = engine.tanh(x @ w)
        out = (h * h).mean() * 1e-5
        out.backward()
    step = g.steps[-1].to_dict()
    cols, *_ = node_columns(step, values=True)
    lines = dict(zip(cols["id"], cols["values"]))
    tx = torch.tensor([[0.5, -1.25], [2.0, 3.0]], requires_grad=True)
    tw = torch.tensor([0.1, -0.7], requires_grad=True)
    th = torch.tanh(tx @ tw)
    th.retain_grad()
    tout = (th * th).mean() * 1e-5
    tout.retain_grad()
    tout.backward()
    want = {"x": (tx, tx.grad), "w": (tw, tw.grad), "tanh": (th, th.grad), "mul": (tout, tout.grad)}
    by_label = {}
    for n in step["nodes"]:
        by_label.setdefault(n["label"], n["id"])  # the first of a label (x, w, tanh; mul: the last below)
    by_label["mul"] = [n["id"] for n in step["nodes"] if n["label"] == "mul"][-1]
    for label, (value, grad) in want.items():
        text = lines[by_label[label]].replace("\n  ", " ")
        data, _, grad_line = text.partition("\ngrad ")
        assert _numbers(data) == pytest.approx(value.detach().flatten().tolist(), rel=1e-3), label
        assert _numbers("grad " + grad_line) == pytest.approx(grad.flatten().tolist(), rel=1e-3), label
    # the backward view: each node the gradient it received (MulBackward0 of the last mul: d out/d out)
    back = backward_step(step)
    bcols, *_ = node_columns(back, values=True)
    first = bcols["values"][list(bcols["id"]).index(back["nodes"][0]["id"])]
    assert first == "grad 1" and not any(v.startswith("data") for v in bcols["values"])

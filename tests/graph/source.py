"""Run a program as if it were a file under graph capture (its lines readable through linecache)."""
import linecache

import gradview.engine as torch
from gradview.engine import graph


def run_source(source, filename, namespace=None, capture=None):
    """Run `source` under `capture` (a new engine.graph.capture() by default); returns (graph, namespace).
    An exception the program raises propagates after the capture has ended."""
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    ns = {"torch": torch} if namespace is None else namespace
    with (capture or graph.capture()) as g:
        exec(compile(source, filename, "exec"), ns)
    return g, ns


def run_failing(source, filename, namespace=None):
    """Like run_source for a program that raises: (graph, namespace, the exception)."""
    cm = graph.capture()
    try:
        run_source(source, filename, namespace, cm)
    except Exception as exc:  # noqa: BLE001
        return cm.graph, namespace, exc
    raise AssertionError("the program did not raise")

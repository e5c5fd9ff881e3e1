"""The blocks shared by the Sphinx directive, the MkDocs fence and the notebook magic: options,
running code under capture, error locations, and the cache of rendered blocks."""
import os

import pytest

pytest.importorskip("bokeh", reason="bokeh is not installed (pip install -e '.[docs]')")

from gradview.app.integrations.blocks import (BlockCache, BlockOptionError, BlockOptions, parse_option_line,  # noqa: E402
                                     parse_options, render_block, run_block)
from gradview.engine.viz import bokehjs_files, fragment  # noqa: E402

CODE = """\
import torch
w = torch.ones(3, requires_grad=True)
for i in range(2):
    print("step", i)
    (w.exp() * i).sum().backward()
"""


def test_options_parse_and_name_the_bad_one():
    o = parse_options({"step": "1", "direction": "tb", "height": "300", "show-code": "", "show-output": "no",
                       "title": "a b"})
    assert (o.step, o.direction, o.height, o.show_code, o.show_output, o.title) == (1, "TB", 300, True, False, "a b")
    assert parse_options({}, BlockOptions(height=200)).height == 200
    for raw, word in [({"step": "x"}, "step"), ({"direction": "up"}, "direction"),
                      ({"colour": "red"}, "colour"), ({"height": "5"}, "height"), ({"view": "sideways"}, "view"),
                      ({"show-code": "maybe"}, "show-code")]:
        with pytest.raises(BlockOptionError, match=word):
            parse_options(raw)
    assert parse_option_line('step=0 title="two words" show-code=false') == {
        "step": "0", "title": "two words", "show-code": "false"}


def test_run_block_prints_and_captures_each_step():
    g, result = run_block(CODE)
    assert result.printed == "step 0\nstep 1\n" and result.error is None
    assert len(g.steps) == 2 and all(s.node_count for s in g.steps)


def test_error_names_its_line_in_the_page_and_in_a_script(tmp_path):
    code = "import torch\nx = torch.ones(2)\n\ny = x @ torch.ones(3)\n"
    _, result = run_block(code)
    assert result.error_line == 4 and result.error_summary.startswith("RuntimeError")
    assert result.location("page.rst", first_line=20) == ("page.rst", 23)
    assert "y = x @ torch.ones(3)" in result.error and "run_block" not in result.error
    script = tmp_path / "bad.py"
    script.write_text("import torch\n1 / 0\n")
    _, result = run_block("", script=str(script))
    assert result.location("page.rst", 20) == (str(script), 2) and "ZeroDivisionError" in result.error_summary
    _, result = run_block("import torch\nx = (\n")
    assert result.error_line == 2 and "SyntaxError" in result.error_summary


def test_render_block_draws_and_the_cache_reruns_only_changes(tmp_path):
    cache = BlockCache(str(tmp_path / "cache"))
    options = parse_options({"step": "0"})
    first = render_block(CODE, options, cache=cache)
    assert "graph-nodes" in first.html and "graph-step" in first.html and first.nodes > 0
    again = render_block(CODE, options, cache=cache)
    assert again.cached and again.html == first.html and (cache.runs, cache.hits) == (1, 1)
    render_block(CODE.replace("exp", "tanh"), options, cache=cache)
    render_block(CODE, parse_options({"step": "1"}), cache=cache)
    assert (cache.runs, cache.hits) == (3, 1)
    with pytest.raises(BlockOptionError, match="step 5"):
        render_block(CODE, parse_options({"step": "5"}))


def test_fragment_leaves_bokehjs_to_the_page():
    g, _ = run_block(CODE)
    script, div = fragment(g)
    assert "graph-nodes" in script and "data-root-id" in div
    # the graph's data, its drawings with values on the nodes and its answers to "why this
    # gradient?" (about 500 kB), not BokehJS (over 1 MB)
    assert "Bokeh.safely" in script and len(script) < 700_000
    files = bokehjs_files()
    assert [name.split("-3")[0] for name, _ in files] == ["bokeh", "bokeh-widgets"]
    assert all(os.path.getsize(path) > 100_000 for _, path in files)


def test_try_it_button_opens_the_static_app_on_the_code():
    import html
    import re

    from gradview.app.integrations.blocks import with_try_it
    from gradview.app.notebook import decode_share
    result = render_block(CODE, parse_options({}))
    assert with_try_it(result, parse_options({}), None) == result.html  # no app named: a static graph
    assert with_try_it(result, parse_options({"try-it": "false"}), "https://example.org/app/") == result.html
    page = with_try_it(result, parse_options({}), "https://example.org/app/")
    assert page.endswith("</button></div>") and page.count('class="gradview-try"') == 1
    url = html.unescape(re.search(r'data-app="([^"]*)"', page).group(1))
    assert url.startswith("https://example.org/app/?nb=") and decode_share(url.split("nb=")[1]) == [CODE]

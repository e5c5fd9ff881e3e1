"""py:percent notebooks: parsing, writing and the round trip."""
from gradview.app.notebook import parse_percent, to_percent


def test_parse_splits_on_markers():
    text = "# %%\nimport torch\nx = 1\n\n# %% second cell\nprint(x)\n"
    assert parse_percent(text) == ["import torch\nx = 1", "print(x)"]


def test_text_before_first_marker_is_a_cell():
    text = '"""A header docstring."""\n\n# %%\nx = 1\n'
    assert parse_percent(text) == ['"""A header docstring."""', "x = 1"]


def test_blank_header_is_dropped_and_blank_edges_trimmed():
    text = "\n\n# %%\n\n\nx = 1\n\n\n# %%\n\ny = 2\n"
    assert parse_percent(text) == ["x = 1", "y = 2"]


def test_no_markers_is_one_cell():
    assert parse_percent("x = 1\ny = 2\n") == ["x = 1\ny = 2"]
    assert parse_percent("") == [""]


def test_markdown_cells_are_kept_as_comments():
    text = "# %% [markdown]\n# # Title\n# some text\n# %%\nx = 1\n"
    assert parse_percent(text) == ["# # Title\n# some text", "x = 1"]


def test_marker_lookalikes_are_not_markers():
    text = "# %%\nx = '# %% not at line start'\n# %%% three\n#%% no space\n"
    cells = parse_percent(text)
    assert cells[0].startswith("x = '# %% not at line start'")
    assert "# %%% three" in cells[0]
    # `#%%` is a marker in the format (Spyder writes it)
    assert len(cells) == 2


def test_crlf_files():
    assert parse_percent("# %%\r\nx = 1\r\n# %%\r\ny = 2\r\n") == ["x = 1", "y = 2"]


def test_round_trip():
    cells = ["import torch\nx = torch.ones(3)", "for i in range(3):\n    x = x * 2\n\n    print(x)", "", "y = 1"]
    assert parse_percent(to_percent(cells)) == cells


def test_written_file_is_percent_format():
    text = to_percent(["a = 1", "b = 2"])
    assert text == "# %%\na = 1\n\n# %%\nb = 2\n"
    assert text.count("# %%") == 2


def test_examples_parse_into_several_cells():
    from gradview.app.views.controls import list_examples
    examples = list_examples()
    assert "Walkthrough" in examples
    for title, path in examples.items():
        with open(path, encoding="utf-8") as f:
            cells = parse_percent(f.read())
        assert cells and all(isinstance(c, str) for c in cells), title

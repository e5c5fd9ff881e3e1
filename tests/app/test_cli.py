"""The `gradview` command dispatches to the `python -m` forms."""
import pytest

from gradview.app.cli import COMMANDS, main


def test_help_lists_the_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in COMMANDS)
    assert main([]) == 2
    assert main(["frobnicate"]) == 2 and "unknown command 'frobnicate'" in capsys.readouterr().err


def test_version_is_the_package_version(capsys):
    from gradview import engine
    import gradview
    assert main(["--version"]) == 0 and capsys.readouterr().out == f"gradview {gradview.__version__}\n"
    assert engine.__version__ == f"2.13.0+gradview.{gradview.__version__}"   # PyTorch's API version, then ours
    assert "--version" in (main(["--help"]), capsys.readouterr().out)[1]


@pytest.mark.parametrize("name", ["serve", "export", "build"])
def test_each_command_has_its_help(name, capsys):
    with pytest.raises(SystemExit) as info:
        main([name, "--help"])
    assert info.value.code == 0 and "usage:" in capsys.readouterr().out


def test_run_and_export_a_script(tmp_path, capsys):
    script = tmp_path / "tiny.py"
    script.write_text("import torch\nw = torch.ones(2, requires_grad=True)\n(w * 3).sum().backward()\nprint(w.grad)\n")
    assert main(["run", str(script)]) == 0
    assert "tensor([3., 3.])" in capsys.readouterr().out
    assert main(["run", "--help"]) == 0 and "engine" in (out := capsys.readouterr().out) and out.startswith("usage:")
    out = tmp_path / "tiny.html"
    assert main(["export", str(script), "-o", str(out)]) == 0
    assert "graph-nodes" in out.read_text()


def test_export_with_a_try_it_link(tmp_path):
    import html
    import re

    from gradview.app.notebook import decode_share
    script = tmp_path / "tiny.py"
    code = "import torch\nw = torch.ones(2, requires_grad=True)\n(w * 3).sum().backward()\n"
    script.write_text(code)
    out = tmp_path / "tiny.html"
    assert main(["export", str(script), "-o", str(out), "--try-it", "https://example.org/app/"]) == 0
    page = out.read_text()
    link = re.search(r'</head>\s*<body[^>]*>\s*<p[^>]*><a class="gradview-try" href="([^"]*)"', page)
    url = html.unescape(link.group(1))
    assert url.startswith("https://example.org/app/?nb=") and decode_share(url.split("nb=")[1]) == [code]

"""From a checkout the folders' own names still work (`import engine as torch`, `python -m app.build`),
and they are the installed package's modules, never second copies."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SAME_MODULES = """
import sys
import engine as torch, engine.graph, engine.nn.functional as F, app.runner
import gradview.engine, gradview.engine.graph, gradview.app.runner
assert torch is gradview.engine and engine.graph is gradview.engine.graph, "engine loaded twice"
assert F is gradview.engine.nn.functional and app.runner is gradview.app.runner
for name, module in list(sys.modules.items()):
    if name.split(".")[0] in ("engine", "app"):
        assert module is sys.modules["gradview." + name], name + " is a second copy"
x = torch.ones(2, requires_grad=True)
(x * 3).sum().backward()
assert isinstance(x, gradview.engine.Tensor) and x.grad.tolist() == [3.0, 3.0]
print("ok")
"""


def _run(args, **kw):
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300, **kw)


def test_folder_names_are_the_package_modules():
    proc = _run(["-c", SAME_MODULES])
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_python_m_with_folder_names(tmp_path):
    script = tmp_path / "script.py"
    script.write_text("import torch\nprint((torch.ones(2) * 3).tolist())\n")
    proc = _run(["-m", "engine.run", str(script)])
    assert proc.returncode == 0 and proc.stdout.strip() == "[3.0, 3.0]", proc.stderr
    for module in ("app.build", "app.export"):
        proc = _run(["-m", module, "--help"])
        assert proc.returncode == 0 and "usage:" in proc.stdout, (module, proc.stderr)

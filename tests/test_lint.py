"""The tree passes the linter's error checks (the rules in pyproject.toml's [tool.ruff.lint]):
syntax errors, undefined names, unused variables and the like fail the tests, not a reader."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_no_errors():
    pytest.importorskip("ruff", reason="ruff is not installed (it is in the test extra)")
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", "."],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr

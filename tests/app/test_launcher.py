"""`python -m gradview.app`: loopback by default, other addresses only with --allow-remote and a warning."""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from gradview.app.__main__ import is_loopback, main, served_address, warn_if_exposed

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_loopback_addresses():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("[::1]") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("") and not is_loopback("::") and not is_loopback("10.1.2.3")


def test_non_loopback_needs_allow_remote(capsys):
    assert main(["--address", "0.0.0.0", "--dry-run"]) == 2
    assert "Refusing" in capsys.readouterr().err
    assert main(["--address", "0.0.0.0", "--allow-remote", "--dry-run"]) == 0
    out = capsys.readouterr()
    assert "arbitrary Python" in out.err and "--address 0.0.0.0" in out.out


def test_default_is_127_0_0_1(capsys):
    assert main(["--dry-run", "--port", "5123"]) == 0
    out = capsys.readouterr()
    assert "--address 127.0.0.1" in out.out and "--port 5123" in out.out and not out.err


def test_num_procs_is_bokehs(capsys):
    assert main(["--dry-run"]) == 0
    assert "--num-procs" not in capsys.readouterr().out
    assert main(["--dry-run", "--num-procs", "4"]) == 0
    assert "--num-procs 4" in capsys.readouterr().out


def test_plain_panel_serve_is_warned_about(monkeypatch):
    from gradview import app
    assert served_address(["panel", "serve", "app/main.py"]) == ""
    assert served_address(["panel", "serve", "app/main.py", "--address=127.0.0.1"]) == "127.0.0.1"
    assert served_address(["pytest"]) is None
    said = []
    monkeypatch.setattr(sys, "argv", ["panel", "serve", "app/main.py", "--port", "5006"])
    monkeypatch.setattr(app, "_address_checked", False, raising=False)
    assert warn_if_exposed(said.append) and "every interface" in said[0] and "python -m gradview.app" in said[0]
    assert not warn_if_exposed(said.append)  # once per server
    monkeypatch.setattr(sys, "argv", ["panel", "serve", "app/main.py", "--address", "127.0.0.1"])
    monkeypatch.setattr(app, "_address_checked", False)
    assert not warn_if_exposed(said.append) and len(said) == 1


@pytest.mark.skipif(shutil.which("panel") is None, reason="the panel command is not on PATH")
def test_launcher_serves_on_loopback():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "gradview.app", "--port", str(port)], cwd=ROOT,
                            env=dict(os.environ, GRADVIEW_RUNNER="inprocess"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/main", timeout=10) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode(errors="replace")
                time.sleep(0.3)
        else:
            pytest.fail("the launcher's server did not come up")
        # nothing listens on the machine's other addresses
        others = {i[4][0] for i in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)} - {"127.0.0.1"}
        for addr in others:
            if is_loopback(addr):
                continue
            with socket.socket() as s, pytest.raises(OSError):
                s.settimeout(2)
                s.connect((addr, port))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()

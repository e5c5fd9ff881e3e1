"""The deployment examples in docs/deploy: nginx in front of two servers keeps each visitor's page
and websocket on one server (skipped where nginx is not installed; GRADVIEW_NGINX may name the
binary), and the Dockerfile's parts hold together."""
import asyncio
import os
import shutil
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NGINX = os.environ.get("GRADVIEW_NGINX") or shutil.which("nginx")


def nginx_conf(tmp_path, port, backends):
    """docs/deploy/nginx.conf with this test's ports, logging which server each request went to."""
    with open(os.path.join(ROOT, "docs", "deploy", "nginx.conf")) as f:
        conf = f.read()
    conf = conf.replace("server 127.0.0.1:5007;", f"server 127.0.0.1:{backends[0]};")
    conf = conf.replace("server 127.0.0.1:5008;", f"server 127.0.0.1:{backends[1]};")
    conf = conf.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    tmp = tmp_path / "nginx"
    temp_paths = ""   # nginx's own scratch folders, here rather than under /var/lib/nginx
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / kind).mkdir(parents=True, exist_ok=True)
        temp_paths += f"    {kind}_temp_path {tmp / kind};\n"
    conf = conf.replace("http {", "http {\n" + temp_paths +
                        "    log_format gv '$gradview_key $upstream_addr $request_uri';\n"
                        f"    access_log {tmp / 'access.log'} gv;\n", 1)
    path = tmp / "nginx.conf"
    path.write_text(conf)
    return path, tmp / "access.log"


@pytest.mark.skipif(not NGINX, reason="nginx is not installed (set GRADVIEW_NGINX to its binary)")
def test_nginx_keeps_each_visitor_on_one_server(tmp_path):
    pytest.importorskip("panel")
    sys.path.insert(0, ROOT)
    from bench.bench_load import CODE, ProtocolSession, free_port, start_server, stop_server
    from gradview.app.notebook import encode_share

    servers = []
    nginx = None
    try:
        for k in range(2):
            servers.append(start_server(free_port(), {"GRADVIEW_SLOTS_DIR": str(tmp_path / f"slots{k}"),
                                                      "GRADVIEW_MAX_SESSIONS": "8"}))
        ports = [int(url.split(":")[2].split("/")[0]) for _, url in servers]
        port = free_port()
        conf, access = nginx_conf(tmp_path, port, ports)
        nginx = subprocess.Popen([NGINX, "-p", str(tmp_path / "nginx"), "-c", str(conf), "-g",
                                  f"daemon off; error_log stderr; pid {tmp_path / 'nginx' / 'nginx.pid'};"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        time.sleep(0.5)
        assert nginx.poll() is None, nginx.stderr.read().decode()

        async def visits(n):
            for k in range(n):
                page = f"http://127.0.0.1:{port}/main?nb={encode_share([CODE.format(k=k, n=1)])}"
                s = await ProtocolSession.open(page)
                try:
                    assert await s.wait_nodes(lambda c: c == 2, 60) == 2
                    s.set_code(CODE.format(k=k, n=5))    # the websocket reaches the session's server
                    assert await s.wait_nodes(lambda c: c == 6, 30) == 6
                finally:
                    s.close()

        asyncio.run(asyncio.wait_for(visits(4), 240))
        by_key = {}
        for line in access.read_text().splitlines():
            key, upstream, uri = line.split(" ", 2)
            by_key.setdefault(key, []).append((upstream, uri))
        visitors = [reqs for reqs in by_key.values() if any(u.startswith("/main?") for _, u in reqs)]
        assert len(visitors) == 4
        for reqs in visitors:
            assert any(u == "/main/ws" for _, u in reqs)
            assert len({up for up, _ in reqs}) == 1, reqs   # page, scripts and websocket: one server
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(10)
        for proc, _ in servers:
            stop_server(proc)


def test_the_dockerfile_copies_what_the_app_needs_and_starts_the_launcher(capsys):
    """No image is built here (that needs a Docker daemon and the network); the file's parts are
    checked: what it copies exists and its command is a valid launcher command line."""
    import json
    from gradview.app.__main__ import main
    docker = os.path.join(ROOT, "docs", "deploy", "Dockerfile")
    lines = [line.strip() for line in open(docker) if line.strip() and not line.startswith("#")]
    copies = [line.split()[1:-1] for line in lines if line.startswith("COPY ")]
    assert {p for c in copies for p in c} >= {"engine", "app", "static", "pyproject.toml"}
    for c in copies:
        assert all(os.path.exists(os.path.join(ROOT, p)) for p in c)
    cmd = json.loads(next(line for line in lines if line.startswith("CMD "))[4:])
    assert cmd[:3] == ["python", "-m", "gradview.app"]
    assert main(cmd[3:] + ["--dry-run"]) == 0
    out = capsys.readouterr()
    assert "--address 0.0.0.0" in out.out and "--allow-websocket-origin=*" in out.out
    assert any(line.startswith("USER ") and "root" not in line for line in lines)

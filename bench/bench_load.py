"""How many sessions one server holds: edit-to-graph latency under load, measured without browsers.

Each session is driven over Bokeh's own websocket protocol, as BokehJS in a browser would: the page
request makes the session, the client pulls the document, sets its cell's code as typing does (the
editor's `code_input`) and waits for the `graph-nodes` source to come back with the expected number
of nodes. So the figures are the server's alone (running the cells, capturing the graph, laying it out,
sending the patches): nothing is drawn, and one light client drives every session.

Each session's cell is a chain of n multiplications (n changes every edit), and it also defines
`secret_<session>` and adds 100 nodes per *other* session's secret it can see, so a leak between
sessions shows as a wrong node count. Latency is from setting the code to the graph arriving,
including the app's 300 ms typing pause. Between edits a session pauses (`--pause`, seconds, mean of
a uniform draw from half to one and a half times it), as someone reading the graph would.

    python bench/bench_load.py --sessions 8 16 32 --seconds 30   # p50/p95 at each load
    python bench/bench_load.py --find                           # most sessions with p95 <= 1 s, per core
    python bench/bench_load.py --soak 3600 --sessions 8         # an hour: processes, memory, fds must not grow

Traffic goes only to 127.0.0.1 (a server started here, or `--url` of one on this machine).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from urllib.parse import urlsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

CODE = """import torch
secret_{k} = {k}
seen = [name for name in globals() if name.startswith('secret_') and name != 'secret_{k}']
x = torch.tensor(2.0, requires_grad=True)
y = x
for i in range({n} + 100 * len(seen)):
    y = y * x
"""
# soak: now and then a cell that starts a child process and loops until the time limit stops it
HOSTILE = "import subprocess\nchild = subprocess.Popen(['sleep', '300'])\nwhile True:\n    pass\n"
EDIT_TIMEOUT = 20.0
TARGET_P95 = 1.0
SOAK_TIME_LIMIT = 3
_ids = itertools.count()


# ------------------------------------------------------------------------------------------------
# one session over Bokeh's websocket protocol

class ServerFullError(RuntimeError):
    """The server answered with its "server is full" page (the error's text is that page's JSON)."""


class ProtocolSession:
    """One server session, spoken to as BokehJS does: messages of a header, metadata and content
    (JSON texts), then the binary buffers the header announces."""

    def __init__(self, ws, doc):
        self.ws = ws
        self.title = doc.get("title", "")
        self.nodes_id, self.editors, self.node_count = None, [], None
        self._find(doc)
        self.changed = asyncio.Event()

    @classmethod
    async def open(cls, page_url: str) -> "ProtocolSession":
        from tornado.httpclient import AsyncHTTPClient, HTTPRequest
        from tornado.websocket import websocket_connect
        page = await AsyncHTTPClient().fetch(page_url, request_timeout=120)
        token = re.search(r'"token":\s*"([^"]+)"', page.body.decode()).group(1)
        parts = urlsplit(page_url)
        ws_url = f"ws://{parts.netloc}{parts.path.rstrip('/')}/ws"
        # cookies the page set go with the websocket, as a browser's would (a load balancer's sticky one)
        cookies = "; ".join(c.split(";", 1)[0] for c in page.headers.get_list("Set-Cookie"))
        ws = await websocket_connect(HTTPRequest(ws_url, request_timeout=120, headers={"Cookie": cookies} if cookies else None),
                                     subprotocols=["bokeh", token], max_message_size=256 * 2**20)
        header, _ = await cls._read(ws)
        if header["msgtype"] != "ACK":
            raise RuntimeError(f"expected ACK, got {header['msgtype']}")
        cls._write(ws, "PULL-DOC-REQ", {})
        while True:
            header, content = await cls._read(ws)
            if header["msgtype"] == "PULL-DOC-REPLY":
                break
        session = cls(ws, content["doc"])
        if "full" in session.title:
            ws.close()
            raise ServerFullError(json.dumps(content["doc"]))
        # what BokehJS says once the page is up (the app holds back later results until then)
        cls._write(ws, "PATCH-DOC", {"events": [{"kind": "MessageSent", "msg_type": "bokeh_event", "msg_data": {
            "type": "event", "name": "document_ready", "values": {}}}]})
        session._reader = asyncio.ensure_future(session._read_loop())
        return session

    @staticmethod
    def _write(ws, msgtype, content):
        ws.write_message(json.dumps({"msgid": f"c{next(_ids)}", "msgtype": msgtype}))
        ws.write_message("{}")
        ws.write_message(json.dumps(content))

    @staticmethod
    async def _read(ws):
        texts = []
        for _ in range(3):
            msg = await ws.read_message()
            if msg is None:
                raise ConnectionError("the server closed the connection")
            texts.append(msg)
        header = json.loads(texts[0])
        for _ in range(header.get("num_buffers", 0)):   # buffer header and payload: not needed here
            await ws.read_message()
            await ws.read_message()
        return header, json.loads(texts[2])

    def _find(self, obj):
        """The ids of the graph's node source and of the cell editors, wherever they are in the JSON."""
        stack = [obj]
        while stack:
            o = stack.pop()
            if isinstance(o, dict):
                attrs = o.get("attributes")
                if isinstance(attrs, dict):
                    if attrs.get("name") == "graph-nodes":
                        self.nodes_id = o["id"]
                        self.node_count = self._column_length(attrs.get("data"))
                    if "gv-cell" in (attrs.get("css_classes") or []):
                        self.editors.append(o["id"])
                stack.extend(o.values())
            elif isinstance(o, list):
                stack.extend(o)

    @staticmethod
    def _column_length(data, name="id"):
        if isinstance(data, dict) and data.get("type") == "map":
            data = dict(data["entries"])
        col = data.get(name) if isinstance(data, dict) else None
        if isinstance(col, list):
            return len(col)
        if isinstance(col, dict) and "shape" in col:
            return int(col["shape"][0])
        return None

    async def _read_loop(self):
        try:
            while True:
                header, content = await self._read(self.ws)
                if header["msgtype"] != "PATCH-DOC":
                    continue
                for event in content.get("events", []):
                    if (event.get("model") or {}).get("id") != self.nodes_id:
                        continue
                    if event.get("kind") == "ColumnDataChanged" or event.get("attr") == "data":
                        n = self._column_length(event.get("data", event.get("new")))
                        if n is not None:
                            self.node_count = n
                            self.changed.set()
        except (ConnectionError, asyncio.CancelledError):
            pass
        except Exception as exc:  # noqa: BLE001  a protocol surprise ends this session, said once
            self.node_count = f"reader failed: {type(exc).__name__}: {exc}"
            self.changed.set()

    def set_code(self, code: str, editor: int = 0):
        self._write(self.ws, "PATCH-DOC", {"events": [
            {"kind": "ModelChanged", "model": {"id": self.editors[editor]}, "attr": "code_input", "new": code}]})

    async def wait_nodes(self, accept, timeout: float):
        """Wait until `accept(node_count)`; the count, or None on timeout."""
        deadline = time.perf_counter() + timeout
        while not (isinstance(self.node_count, int) and accept(self.node_count)):
            if isinstance(self.node_count, str):
                raise RuntimeError(self.node_count)
            left = deadline - time.perf_counter()
            if left <= 0:
                return None
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except asyncio.TimeoutError:
                return None
        return self.node_count

    def close(self):
        reader = getattr(self, "_reader", None)
        if reader is not None:
            reader.cancel()
        self.ws.close()


# ------------------------------------------------------------------------------------------------
# many sessions

class Client:
    """One user: opens a session, edits its cell in a bounded loop; with `renew`, closes the session
    after that many edits and opens a new one (people coming and going)."""

    def __init__(self, k, url, seconds, pause, renew=None, hostile=None):
        self.k, self.url, self.seconds, self.pause, self.renew = k, url, seconds, pause, renew
        self.hostile = hostile   # (every how many edits, seconds to wait) for the HOSTILE cell
        self.latencies, self.errors, self.leaks, self.full, self.opened = [], [], 0, 0, 0
        self.done = False

    async def run(self, stagger):
        await asyncio.sleep(stagger)   # tabs opened one after another, as people arrive
        self.end = None                # `seconds` of edits from the first graph on (server start-up left out)
        rng = random.Random(self.k)
        try:
            while self.end is None or time.perf_counter() < self.end:
                await self._session(rng)
        except Exception as exc:  # noqa: BLE001
            self.errors.append(f"session {self.k}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        self.done = True

    async def _session(self, rng):
        from gradview.app.notebook import encode_share
        n = 1
        try:
            s = await ProtocolSession.open(f"{self.url}?nb={encode_share([CODE.format(k=self.k, n=n)])}")
        except ServerFullError:
            self.full += 1
            self.end = self.end or time.perf_counter() + self.seconds
            await asyncio.sleep(2)
            return
        self.opened += 1
        try:
            if await s.wait_nodes(lambda c: c == 2, 60) is None:
                self.errors.append(f"session {self.k}: no first graph after 60 s")
                self.end = self.end or 0
                return
            if self.end is None:
                self.end = time.perf_counter() + self.seconds
            edits = 0
            while time.perf_counter() < self.end and (self.renew is None or edits < self.renew):
                if self.hostile and edits % self.hostile[0] == self.hostile[0] - 1:
                    s.set_code(HOSTILE)   # stopped at the time limit: its worker and child are ended
                    edits += 1
                    await asyncio.sleep(self.hostile[1])
                    continue
                n = rng.choice([m for m in range(1, 40) if m != n])
                t0 = time.perf_counter()
                s.set_code(CODE.format(k=self.k, n=n))
                got = await s.wait_nodes(lambda c, n=n: c == n + 1 or c >= n + 101, EDIT_TIMEOUT)
                edits += 1
                if got is None:
                    self.errors.append(f"session {self.k}: no graph of {n + 1} nodes after {EDIT_TIMEOUT:g} s")
                elif got >= n + 101:
                    self.leaks += 1
                else:
                    self.latencies.append(time.perf_counter() - t0)
                await asyncio.sleep(rng.uniform(0.5 * self.pause, 1.5 * self.pause))
        finally:
            s.close()


async def drive(url, sessions, seconds, pause, stagger=0.5, renew=None, hostile=None):
    clients = [Client(k, url, seconds, pause, renew, hostile) for k in range(sessions)]
    await asyncio.wait_for(asyncio.gather(*(c.run(stagger * c.k) for c in clients)),
                           seconds + stagger * sessions + 180)
    return clients


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def summary(clients):
    lat = [x for c in clients for x in c.latencies]
    return {"edits": len(lat), "p50": percentile(lat, 0.5), "p95": percentile(lat, 0.95),
            "max": max(lat) if lat else float("nan"), "mean": statistics.mean(lat) if lat else float("nan"),
            "errors": [e for c in clients for e in c.errors], "leaks": sum(c.leaks for c in clients),
            "full": sum(c.full for c in clients), "opened": sum(c.opened for c in clients),
            "stuck": [c.k for c in clients if not c.done]}


# ------------------------------------------------------------------------------------------------
# the server and what it holds

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port, env=None, num_procs=1, session_lifetime_ms=3000, log=None, extra=()):
    """`python -m gradview.app` on 127.0.0.1:port; unused sessions dropped after `session_lifetime_ms`; its
    log to the file `log` (or nowhere)."""
    env = dict(os.environ, PYTHONPATH=ROOT, **(env or {}))
    env.pop("GRADVIEW_RUNNER", None)
    out = open(log, "w") if log else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-m", "gradview.app", "--port", str(port), "--",
                             "--num-procs", str(num_procs), "--unused-session-lifetime", str(session_lifetime_ms),
                             "--check-unused-sessions", str(max(500, session_lifetime_ms // 2)), *extra],
                            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/main"
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited")
        try:   # a static file: asking for the page would open a session that holds a place
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/js/bokeh.min.js", timeout=10):
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the server did not come up")


def stop_server(proc):
    """Stop the server and, with --num-procs, the processes it forked (its process group)."""
    import signal
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pass
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def process_tree(root: int) -> list[int]:
    """`root` and every process below it (workers, their children, orphans handed to the server)."""
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    text = f.read()
                ppid = int(text[text.rfind(")") + 2:].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(name))
    out, stack = [], [root]
    while stack:
        pid = stack.pop()
        out.append(pid)
        stack.extend(children.get(pid, []))
    return out


def footprint(root: int) -> dict:
    """Processes, resident memory (MiB) and open file descriptors of the server and all below it."""
    pids = process_tree(root)
    page = os.sysconf("SC_PAGE_SIZE")
    rss = fds = 0
    server_rss = server_fds = 0
    zombies = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as f:
                r = int(f.read().split()[1]) * page / 2**20
            n = len(os.listdir(f"/proc/{pid}/fd"))
            with open(f"/proc/{pid}/stat") as f:
                zombies += f.read().rsplit(")", 1)[1].split()[0] == "Z"
        except (OSError, ValueError):
            continue
        rss += r
        fds += n
        if pid == root:
            server_rss, server_fds = r, n
    return {"processes": len(pids), "zombies": zombies, "rss_mb": rss, "fds": fds,
            "server_rss_mb": server_rss, "server_fds": server_fds}


def cpu_seconds(root: int) -> tuple[float, float]:
    """CPU time used so far by the server process itself, and by every live process below it (its
    workers), children they waited for included."""
    tick = os.sysconf("SC_CLK_TCK")
    server = below = 0
    for pid in process_tree(root):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            t = sum(int(x) for x in fields[11:13]) + (0 if pid == root else sum(int(x) for x in fields[13:15]))
        except (OSError, ValueError, IndexError):
            continue
        if pid == root:
            server += t
        else:
            below += t
    return server / tick, below / tick


def load_average():
    try:
        return os.getloadavg()
    except OSError:
        return (float("nan"),) * 3


# ------------------------------------------------------------------------------------------------
# the three modes

def print_level(n, s, seconds, wall):
    cpu = ""
    if s.get("cpu"):
        per = [x / max(1, s["edits"]) * 1000 for x in s["cpu"]]
        cpu = f"  CPU per edit: server process {per[0]:.0f} ms, processes below it {per[1]:.0f} ms"
    print(f"{n:4d} sessions  {s['edits']:5d} edits  p50 {s['p50'] * 1000:6.0f} ms  p95 {s['p95'] * 1000:6.0f} ms  "
          f"max {s['max'] * 1000:6.0f} ms  errors {len(s['errors'])}  leaks {s['leaks']}  refused {s['full']}{cpu}  "
          f"({seconds:g} s, {wall:.0f} s wall, load {load_average()[0]:.1f})", flush=True)
    for e in s["errors"][:5]:
        print("       " + e)


def run_levels(url, levels, seconds, pause, server=None):
    results = {}
    for n in levels:
        t0 = time.perf_counter()
        cpu0 = cpu_seconds(server.pid) if server is not None else None
        s = summary(asyncio.run(drive(url, n, seconds, pause)))
        if server is not None:
            s["cpu"] = [b - a for a, b in zip(cpu0, cpu_seconds(server.pid))]   # opening sessions included
        print_level(n, s, seconds, time.perf_counter() - t0)
        results[n] = s
        time.sleep(5)   # let the sessions close before the next level
    return results


def held_at_target(results):
    ok = [n for n, s in results.items() if s["edits"] and s["p95"] <= TARGET_P95 and not s["errors"]
          and not s["leaks"] and not s["full"]]
    return max(ok) if ok else 0


def find(url, seconds, pause, server=None, start=2, limit=256):
    """Double the sessions until p95 passes the target, then try halfway between."""
    results, n = {}, start
    while n <= limit:
        results.update(run_levels(url, [n], seconds, pause, server))
        if held_at_target(results) != n:
            break
        n *= 2
    good = held_at_target(results)
    bad = min([m for m in results if m > good], default=None)
    if good and bad and bad - good > 2:
        results.update(run_levels(url, [(good + bad) // 2], seconds, pause, server))
    return results


def soak(proc, url, sessions, seconds, pause, sample_every, renew):
    """Sessions come and go for `seconds`; the server's footprint is sampled, and compared after
    every session has closed with the footprint before the first opened."""
    asyncio.run(drive(url, 1, 1, pause))   # warm up: the app loaded, a spare worker started
    time.sleep(12)                         # that session dropped
    before = footprint(proc.pid)
    print(f"before: {before}", flush=True)
    samples = []
    stop = False

    async def sampler():
        t0 = time.perf_counter()
        while not stop:
            await asyncio.sleep(sample_every)
            f = footprint(proc.pid)
            f["t"] = time.perf_counter() - t0
            samples.append(f)
            print(f"  t={f['t']:6.0f} s  processes {f['processes']:3d} (zombies {f['zombies']})  "
                  f"rss {f['rss_mb']:7.0f} MiB (server {f['server_rss_mb']:5.0f})  fds {f['fds']:4d} "
                  f"(server {f['server_fds']})  load {load_average()[0]:.1f}", flush=True)

    async def main():
        nonlocal stop
        task = asyncio.ensure_future(sampler())
        clients = await drive(url, sessions, seconds, pause, renew=renew, hostile=(10, SOAK_TIME_LIMIT + 3))
        stop = True
        await task
        return clients

    clients = asyncio.run(main())
    s = summary(clients)
    print_level(sessions, s, seconds, seconds)
    print(f"sessions opened and closed: {s['opened']}")
    time.sleep(12)   # unused sessions are dropped, their workers ended
    after = footprint(proc.pid)
    print(f"after:  {after}", flush=True)
    grew = {k: (before[k], after[k]) for k in ("processes", "zombies", "fds", "server_fds")
            if after[k] > before[k] + (2 if k.endswith("fds") else 0)}
    rss_growth = after["server_rss_mb"] - before["server_rss_mb"]
    half = len(samples) // 2
    if half >= 2:
        first = statistics.median(x["server_rss_mb"] for x in samples[:half])
        last = statistics.median(x["server_rss_mb"] for x in samples[half:])
        print(f"server memory, median of the first and second half of the run: {first:.0f} -> {last:.0f} MiB")
    print(f"grew: {grew or 'nothing'}; server memory {rss_growth:+.0f} MiB")
    return not grew and not s["errors"] and not s["leaks"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, nargs="+", default=[8, 16, 32])
    ap.add_argument("--seconds", type=float, default=30, help="edits per level (or soak length)")
    ap.add_argument("--pause", type=float, default=2.0, help="mean pause between a session's edits (s)")
    ap.add_argument("--find", action="store_true", help="search for the most sessions with p95 <= 1 s")
    ap.add_argument("--soak", type=float, metavar="SECONDS", help="sessions come and go this long")
    ap.add_argument("--renew", type=int, default=20, help="soak: edits before a session closes and reopens")
    ap.add_argument("--sample", type=float, default=60, help="soak: seconds between footprint samples")
    ap.add_argument("--num-procs", type=int, default=1, help="server processes (Bokeh's --num-procs)")
    ap.add_argument("--url", help="a server already running on this machine (default: start one)")
    args = ap.parse_args(argv)
    proc, url = None, args.url
    if url and urlsplit(url).hostname not in ("127.0.0.1", "localhost"):
        ap.error("load goes to this machine only: --url must be on 127.0.0.1")
    most = max(args.sessions) if not args.find else 256
    env = {"GRADVIEW_MAX_SESSIONS": str(most + 4 * args.num_procs), "GRADVIEW_IDLE_MINUTES": "0"}
    if args.soak:
        env["GRADVIEW_TIME_LIMIT"] = str(SOAK_TIME_LIMIT)
    if url is None:
        proc, url = start_server(free_port(), env, args.num_procs)
    cores = os.cpu_count() or 1
    print(f"{cores} CPUs, load before {load_average()[0]:.1f}, pause {args.pause:g} s between edits, "
          f"{args.num_procs} server process(es)", flush=True)
    try:
        if args.soak:
            if proc is None:
                ap.error("--soak starts its own server (it watches that server's processes)")
            return 0 if soak(proc, url, args.sessions[0], args.soak, args.pause, args.sample, args.renew) else 1
        results = (find(url, args.seconds, args.pause, proc) if args.find
                   else run_levels(url, args.sessions, args.seconds, args.pause, proc))
    finally:
        if proc is not None:
            stop_server(proc)
    held = held_at_target(results)
    print(f"held at p95 <= {TARGET_P95:g} s: {held} sessions = {held / cores:.1f} per core ({cores} cores)")
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())

"""Serve the app: `python -m gradview.app [--port N] [--address ADDR] [--allow-remote] [--num-procs N] [-- extra panel serve options]`.

Cells run arbitrary Python with the rights of the user who started the server. So the server
listens on 127.0.0.1 unless told otherwise, and any other address needs `--allow-remote` (and then
a warning is printed). Plain `panel serve app/main.py` listens on every interface by default; this
launcher is the safe way to start the app. For public hosting use the static build
(`python -m gradview.app.build`), where each visitor's browser runs the cells.
"""
from __future__ import annotations

import argparse
import ipaddress
import os
import shutil
import socket
import sys

MAIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "main.py")
# the folder that holds the top package (the checkout, or site-packages): on the server's PYTHONPATH
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(sys.modules[__package__.partition(".")[0]].__file__)))

WARNING = ("WARNING: gradview is listening on {address}. Anyone who can reach this address can run "
           "arbitrary Python on this machine with your rights (cells are code). Only do this on a network "
           "you trust; for public hosting, use the static build (python -m gradview.app.build).")


def is_loopback(address: str) -> bool:
    """True for addresses that only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    address = (address or "").strip().strip("[]")
    if not address:
        return False  # empty means every interface
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        try:
            infos = socket.getaddrinfo(address, None)
        except OSError:
            return False
        return bool(infos) and all(ipaddress.ip_address(i[4][0].split("%")[0]).is_loopback for i in infos)


def option_value(argv, option: str) -> str | None:
    """The value a command line gives `option` (`--port 5007` or `--port=5007`), or None."""
    argv = list(argv)
    for i, arg in enumerate(argv):
        if arg == option and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(option + "="):
            return arg.split("=", 1)[1]
    return None


def served_address(argv) -> str | None:
    """The address a `panel serve` command line listens on ("" for every interface, its default), or
    None when `argv` is not such a command line."""
    argv = list(argv)
    if "serve" not in argv:
        return None
    address = option_value(argv, "--address")
    return "" if address is None else address


def warn_if_exposed(log=None) -> bool:
    """At server start: log the warning when this process serves on an address others can reach."""
    from gradview import app
    if getattr(app, "_address_checked", False):
        return False
    app._address_checked = True
    address = served_address(sys.argv)
    if address is None or is_loopback(address):
        return False
    message = WARNING.format(address=address or "every interface (panel serve's default)") + (
        " Start it with `python -m gradview.app` to listen on 127.0.0.1 only.")
    if log is None:
        import logging
        log = logging.getLogger("gradview").warning
    log(message)
    return True


def build_command(args, extra) -> list[str]:
    panel = shutil.which("panel")
    cmd = [panel] if panel else [sys.executable, "-m", "panel"]
    cmd += ["serve", MAIN, "--port", str(args.port), "--address", args.address]
    if args.num_procs != 1:
        cmd += ["--num-procs", str(args.num_procs)]
    if not any(e.startswith("--allow-websocket-origin") for e in extra):
        host = "localhost" if is_loopback(args.address) else "*"
        if host == "localhost":
            cmd += [f"--allow-websocket-origin=localhost:{args.port}",
                    f"--allow-websocket-origin=127.0.0.1:{args.port}"]
        else:
            cmd += ["--allow-websocket-origin=*"]
    return cmd + list(extra)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gradview.app", description=__doc__.split("\n\n")[0],
                                     epilog="Options after -- go to panel serve unchanged.")
    parser.add_argument("--port", type=int, default=5006)
    parser.add_argument("--address", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow an address other machines can reach (cells run arbitrary Python)")
    parser.add_argument("--num-procs", type=int, default=1,
                        help="server processes sharing the port (Bokeh's own; 0: one per core). The session "
                             "and memory budget is the server's as a whole")
    parser.add_argument("--dry-run", action="store_true", help="print the command instead of running it")
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    args = parser.parse_args(argv)
    if not is_loopback(args.address):
        if not args.allow_remote:
            print(f"Refusing to listen on {args.address or 'every interface'}: cells run arbitrary Python with "
                  f"this server's rights. Pass --allow-remote to do it anyway, or use the static build "
                  f"(python -m gradview.app.build) for public hosting.", file=sys.stderr)
            return 2
        print(WARNING.format(address=args.address or "every interface"), file=sys.stderr)
    cmd = build_command(args, extra)
    if args.dry_run:
        print(" ".join(cmd))
        return 0
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if os.name == "posix":
        os.execvpe(cmd[0], cmd, env)
    import subprocess
    return subprocess.call(cmd, env=env)


if __name__ == "__main__":
    sys.exit(main())

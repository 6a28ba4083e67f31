"""Which server in front of ``/login/``: the original's two commands and wrk, side by side.

    python -m loadtest.servers                 # every configuration, 3 interleaved rounds
    python -m loadtest.servers --only uvicorn,granian --rounds 5

One ``wmi2 up`` provides the data dir (certificate, Redis, database, sandbox); each
configuration then serves the same app on a port of its own, with ``WMI_WEB_WORKERS``
processes (2 by default), all on 127.0.0.1:

- ``uvicorn``: ``wmi2 web`` with ``WMI_SERVER=uvicorn`` (TLS in Python's ``ssl``);
- ``granian``: ``wmi2 web`` with ``WMI_SERVER=granian`` (TLS in Rust);
- ``caddy+uvicorn`` / ``caddy+granian``: Caddy terminating TLS in front of ``wmi2 api``
  over plain HTTP (the shape of the compose deployment);
- ``static``: calibration, granian serving a constant 833-byte page from a bare ASGI
  callable: what this machine gives at this moment without any of WMI2's code.

Rounds are interleaved (each round runs every configuration once) so that a moment of
load from elsewhere on the machine spreads over all of them; the table gives medians.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from loadtest import bench
from loadtest.stack import ROOT, Up, free_port, insecure_context

CONFIGS = ("uvicorn", "granian", "caddy+uvicorn", "caddy+granian", "static")

STATIC_APP = """
BODY = b"x" * 833
HEADERS = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", b"833")]
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
"""

CADDYFILE = """{{
    admin off
    auto_https off
    log {{
        level ERROR
    }}
}}
https://localhost:{port} {{
    bind 127.0.0.1
    tls {cert} {key}
    reverse_proxy 127.0.0.1:{upstream}
}}
"""


class Running:
    """The processes of one configuration, listening on ``port``."""

    def __init__(self, name: str, up: Up, workers: int, scratch: Path) -> None:
        self.name = name
        self.port = free_port()
        self.procs: list[subprocess.Popen[bytes]] = []
        env = dict(up.env, WMI_WEB_WORKERS=str(workers), WMI_REDIS_URL=f"unix://{up.data_dir / 'redis.sock'}")
        self.log = scratch / f"{name.replace('+', '-')}.log"
        log = self.log.open("ab")
        cert, key = up.data_dir / "tls" / "cert.pem", up.data_dir / "tls" / "key.pem"
        if name in ("uvicorn", "granian"):
            self._start(
                [sys.executable, "-m", "services.cli", "web", "--port", str(self.port)],
                dict(env, WMI_SERVER=name),
                log,
            )
        elif name.startswith("caddy+"):
            upstream = free_port()
            self._start(
                [sys.executable, "-m", "services.cli", "api", "--port", str(upstream)],
                dict(env, WMI_SERVER=name.split("+")[1]),
                log,
            )
            caddyfile = scratch / f"Caddyfile-{self.port}"
            caddyfile.write_text(CADDYFILE.format(port=self.port, cert=cert, key=key, upstream=upstream))
            self._start(["caddy", "run", "--config", str(caddyfile), "--adapter", "caddyfile"], env, log)
        elif name == "static":
            (scratch / "static_app.py").write_text(STATIC_APP)
            self._start(
                [
                    sys.executable,
                    "-m",
                    "granian",
                    "--interface",
                    "asgi",
                    "static_app:app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(workers),
                    "--loop",
                    "uvloop",
                    "--http",
                    "1",
                    "--no-ws",
                    "--log-level",
                    "warning",
                    "--ssl-certificate",
                    str(cert),
                    "--ssl-keyfile",
                    str(key),
                    "--working-dir",
                    str(scratch),
                ],
                env,
                log,
            )
        else:
            raise ValueError(name)
        try:
            self._wait()
        except BaseException:
            self.stop()
            raise

    def _start(self, argv: list[str], env: dict[str, str], log: Any) -> None:
        self.procs.append(
            subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        )

    def _wait(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        url = f"https://localhost:{self.port}/login/"
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.procs):
                self.stop()
                raise RuntimeError(f"{self.name} exited; see {self.log}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(url, context=insecure_context(), timeout=5) as answer,
            ):
                if answer.status == 200:
                    # One more request per worker, so that none pays its first-request cost in the run.
                    for _ in range(8):
                        urllib.request.urlopen(url, context=insecure_context(), timeout=5).close()
                    return
            time.sleep(0.3)
        raise TimeoutError(f"{self.name} did not answer on {url}")

    def stop(self) -> None:
        for proc in reversed(self.procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.servers", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", default=",".join(CONFIGS), help=f"comma-separated, of: {', '.join(CONFIGS)}"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WMI_WEB_WORKERS", "2")))
    parser.add_argument("--requests", type=int, default=1000, help="ab -n and httperf --num-conns")
    parser.add_argument("--wrk-seconds", type=int, default=10)
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    for name in names:
        if name not in CONFIGS:
            parser.error(f"unknown configuration {name!r}")
    if any(n.startswith("caddy") for n in names) and shutil.which("caddy") is None:
        parser.error("caddy is not installed")
    figures: dict[str, dict[str, list[float]]] = {
        n: {"ab": [], "httperf": [], "wrk": [], "errors": []} for n in names
    }
    scratch = Path(tempfile.mkdtemp(prefix="wmi2-servers-"))
    try:
        with Up() as up:
            running: dict[str, Running] = {}
            try:
                for name in names:
                    running[name] = Running(name, up, args.workers, scratch)
                for round_ in range(args.rounds):
                    order = names[round_ % len(names) :] + names[: round_ % len(names)]
                    for name in order:
                        port = running[name].port
                        a = bench.ab(port, args.requests)
                        h = bench.httperf(port, args.requests)
                        w = bench.wrk(port, args.wrk_seconds)
                        f = figures[name]
                        f["ab"].append(a["value"])
                        f["httperf"].append(h["value"])
                        f["wrk"].append(w["value"])
                        f["errors"].append(a["errors"] + a["length_failures"] + h["errors"] + w["errors"])
                        print(
                            f"round {round_ + 1} {name:14} ab {a['value']:8.1f}  httperf {h['value']:7.1f}  "
                            f"wrk {w['value']:9.1f}  errors {f['errors'][-1]}  load {os.getloadavg()[0]:.1f}",
                            flush=True,
                        )
            finally:
                for server in running.values():
                    server.stop()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(
        f"\nmedians of {args.rounds} rounds, {args.workers} workers; ab -n {args.requests} -c 50 -r, "
        f"httperf --num-conns {args.requests} --max-connections 50 --max-piped-calls 10 --ssl, "
        f"wrk -c 50 -d {args.wrk_seconds}s"
    )
    print(f"{'server':16}{'ab req/s':>10}{'httperf conn/s':>16}{'wrk req/s':>11}{'errors':>8}")
    for name in names:
        f = figures[name]
        print(
            f"{name:16}{statistics.median(f['ab']):10.0f}{statistics.median(f['httperf']):16.0f}"
            f"{statistics.median(f['wrk']):11.0f}{max(f['errors']):8.0f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The event fan-out: N browsers on one events process, M events, every one to every browser.

    python -m loadtest.fanout --clients 10000 --events 100 --rate 5

Starts its own events service (``wmi2 events``, plain HTTP on 127.0.0.1, as behind the
proxy) on a private redis-server, unless ``--url`` names a running one (then give
``--redis-url`` and, for the memory figure, ``--server-pid``). Opens ``--clients`` SSE
streams from this one asyncio process, with a session cookie, lets them sit idle to
measure the service's memory per client, then publishes ``--events`` events through
:class:`services.common.events.Publisher` at ``--rate`` per second and reports:

- the connections opened and still held at the end;
- per-event delivery latency over all (client, event) pairs: publish to arrival, p50/p95/p99;
- events lost (a client that did not get an event, or lost its stream) and duplicated:
  both must be 0;
- the service's RSS (process and its children) per idle client: (RSS with the clients
  connected - RSS before) / clients.

The open-file limit of this process (and of the service it starts) is raised to the hard
limit, which bounds ``--clients``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from array import array
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlparse

import psutil
import redis
import uvloop

from loadtest.pipeline import percentile
from loadtest.stack import ROOT, free_port
from services.cli.accounts import create_admin
from services.cli.redis_server import redis_command, wait_for_redis
from services.common.events import Publisher
from services.common.sessions import COOKIE, open_session

EVENT_TYPE = "fanout.probe"
_ID = re.compile(rb"id: (\d+)-(\d+)\nevent: " + EVENT_TYPE.encode())
# Connections being opened at once: keeps the server's accept backlog from overflowing.
CONNECT_BATCH = 200


def raise_fd_limit(wanted: int) -> int:
    """Raise the soft open-file limit toward ``wanted`` (at most the hard limit); return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard == resource.RLIM_INFINITY else min(max(wanted, soft), hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Probe:
    """What every client shares: the publish time of each event, and every latency seen."""

    def __init__(self) -> None:
        self.published: dict[tuple[int, int], float] = {}
        self.latencies = array("d")
        self.early = 0  # arrivals of an id this process has not recorded yet (should not happen)


class Client(asyncio.Protocol):
    __slots__ = ("_buffer", "_probe", "closed", "dups", "last", "ready", "received", "status", "transport")

    def __init__(self, probe: Probe, ready: asyncio.Future[None]) -> None:
        self._probe = probe
        self._buffer = b""
        self.ready = ready
        self.transport: asyncio.Transport | None = None
        self.status = 0
        self.received = 0
        self.dups = 0
        self.last: tuple[int, int] = (0, 0)
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        # Called for every client and every event: kept lean, since this process's own
        # CPU competes with the server's on the same machine.
        now = time.perf_counter()
        if self._buffer:
            data = self._buffer + data
            self._buffer = b""
        if not self.status:
            head, found, rest = data.partition(b"\r\n\r\n")
            if not found:
                self._buffer = data
                return
            self.status = int(head.split(b" ", 2)[1])
            if not self.ready.done():
                self.ready.set_result(None)
            data = rest
        # Whole frames only: the rest (a frame cut by the network) waits for the next read.
        end = data.rfind(b"\n\n") + 2
        if end < len(data):
            self._buffer = data[end:]
        if end < 2 or data.find(b"id: ", 0, end) < 0:
            return  # a heartbeat, the retry line, a chunk's end, or no whole frame yet
        for match in _ID.finditer(data, 0, end):
            order = (int(match.group(1)), int(match.group(2)))
            if order <= self.last:
                self.dups += 1
                continue
            self.last = order
            self.received += 1
            sent = self._probe.published.get(order)
            if sent is None:
                self._probe.early += 1
            else:
                self._probe.latencies.append(now - sent)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.ready.done():
            self.ready.set_result(None)


def rss(pid: int) -> int:
    """The resident memory of a process and its children, in bytes."""
    top = psutil.Process(pid)
    total = 0
    for proc in [top, *top.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children so far."""
    top = psutil.Process(pid)
    total = 0.0
    for proc in [top, *top.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


class Service:
    """A private redis-server and ``wmi2 events`` in a temporary directory."""

    def __init__(self, server: str | None) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="wmi2-fanout-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.redis_url = f"unix://{self.directory / 'redis.sock'}"
        self.log = self.directory / "events.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("WMI_")}
        self.env.update(WMI_DATA_DIR=str(self.directory), WMI_REDIS_URL=self.redis_url, WMI_BIND="127.0.0.1")
        if server:
            self.env["WMI_SERVER"] = server
        self.redis: subprocess.Popen[bytes] | None = None
        self.events: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        argv = redis_command(self.directory, self.directory / "redis.sock")
        self.redis = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_redis(self.redis_url, self.redis)
        # The events service checks each session's account in the database (its data dir's).
        create_admin(f"sqlite:///{self.directory / 'wmi2.db'}", "fanout", os.urandom(16).hex(), "viewer")
        with self.log.open("wb") as out:
            self.events = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "events", "--port", str(self.port)],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.events.poll() is not None:
                raise RuntimeError("wmi2 events exited:\n" + self.log.read_text(errors="replace"))
            try:
                with urllib.request.urlopen(f"{self.url}/events/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError("wmi2 events did not become healthy:\n" + self.log.read_text(errors="replace"))

    @property
    def pid(self) -> int:
        assert self.events is not None
        return self.events.pid

    def stop(self) -> None:
        if self.events is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.events.pid, signal.SIGTERM)
            try:
                self.events.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.events.pid, signal.SIGKILL)
                self.events.wait()
        if self.redis is not None:
            self.redis.terminate()
            self.redis.wait(10)
        shutil.rmtree(self.directory, ignore_errors=True)


async def connect_all(url: str, cookie: str, count: int, probe: Probe) -> tuple[list[Client], int]:
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or (443 if parsed.scheme == "https" else 80)
    context = None
    if parsed.scheme == "https":
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    request = (
        f"GET /events HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n"
        f"Cookie: {COOKIE}={cookie}\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(CONNECT_BATCH)
    failures = 0

    async def one() -> Client | None:
        nonlocal failures
        async with gate:
            ready: asyncio.Future[None] = loop.create_future()
            try:
                _transport, client = await loop.create_connection(
                    lambda: Client(probe, ready), host, port, ssl=context
                )
                assert client.transport is not None
                client.transport.write(request)
                await asyncio.wait_for(ready, 30)
            except (OSError, TimeoutError):
                failures += 1
                return None
            if client.status != 200:
                failures += 1
                return None
            return client

    results = await asyncio.gather(*(one() for _ in range(count)))
    return [c for c in results if c is not None], failures


async def run(args: argparse.Namespace, url: str, redis_url: str, server_pid: int | None) -> dict[str, Any]:
    probe = Probe()
    client = redis.Redis.from_url(redis_url)
    publisher = Publisher(client, max(10_000, args.events * 2))
    token, _session = open_session(client, "fanout", "viewer", 3600)
    base = rss(server_pid) if server_pid else 0
    started = time.perf_counter()
    clients, failures = await connect_all(url, token, args.clients, probe)
    connect_seconds = time.perf_counter() - started
    await asyncio.sleep(args.settle)
    held = rss(server_pid) if server_pid else 0
    per_client = (held - base) / len(clients) if clients and server_pid else float("nan")

    server_cpu = cpu_seconds(server_pid) if server_pid else 0.0
    own_cpu = cpu_seconds(os.getpid())
    published_at = time.perf_counter()
    interval = 1.0 / args.rate if args.rate > 0 else 0.0
    for i in range(args.events):
        due = published_at + i * interval
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sent = time.perf_counter()
        event_id = publisher.publish(EVENT_TYPE, None, {"seq": i})
        ms, _, seq = event_id.partition("-")
        probe.published[(int(ms), int(seq))] = sent
    deadline = time.perf_counter() + args.wait
    expected = args.events * len(clients)
    while len(probe.latencies) + probe.early < expected and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    delivered_seconds = time.perf_counter() - published_at
    server_cpu = (cpu_seconds(server_pid) - server_cpu) if server_pid else float("nan")
    own_cpu = cpu_seconds(os.getpid()) - own_cpu
    still_open = sum(1 for c in clients if not c.closed)
    received = sum(c.received for c in clients)
    for c in clients:
        if c.transport is not None:
            c.transport.close()
    client.close()
    latencies = sorted(probe.latencies)
    ms = [x * 1000 for x in latencies]
    return {
        "clients": args.clients,
        "connected": len(clients),
        "connect_failures": failures,
        "connect_seconds": round(connect_seconds, 1),
        "held_at_end": still_open,
        "events": args.events,
        "rate": args.rate,
        "deliveries": received,
        "expected": expected,
        "lost": expected - received,
        "duplicates": sum(c.dups for c in clients),
        "unmatched": probe.early,
        "latency_p50_ms": round(percentile(ms, 50), 1),
        "latency_p95_ms": round(percentile(ms, 95), 1),
        "latency_p99_ms": round(percentile(ms, 99), 1),
        "latency_max_ms": round(ms[-1], 1) if ms else float("nan"),
        "seconds_to_deliver": round(delivered_seconds, 1),
        # CPU spent while the events went out, per event (over all clients).
        "server_cpu_ms_per_event": round(server_cpu * 1000 / max(args.events, 1), 1),
        "client_cpu_ms_per_event": round(own_cpu * 1000 / max(args.events, 1), 1),
        "server_rss_before_mb": round(base / 2**20, 1),
        "server_rss_held_mb": round(held / 2**20, 1),
        "rss_per_client_kb": round(per_client / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.fanout", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--rate", type=float, default=5.0, help="events published per second")
    parser.add_argument("--settle", type=float, default=3.0, help="idle seconds before the memory reading")
    parser.add_argument("--wait", type=float, default=30.0, help="seconds to wait for the last deliveries")
    parser.add_argument("--url", default=None, help="a running events service (http://127.0.0.1:PORT)")
    parser.add_argument("--redis-url", default=None, help="its Redis, with --url")
    parser.add_argument("--server-pid", type=int, default=None, help="its pid, with --url, for the memory")
    parser.add_argument("--server", default=None, help="WMI_SERVER for the service started here")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    # A stop (timeout, Ctrl-C) still stops the service started here.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    limit = raise_fd_limit(args.clients * 2 + 1000)
    if limit < args.clients + 100:
        parser.error(f"the open-file limit ({limit}) is too low for {args.clients} clients")
    service = None
    try:
        if args.url:
            if urlparse(args.url).hostname not in ("localhost", "127.0.0.1", "::1") or not args.redis_url:
                parser.error("--url must be on localhost, and needs --redis-url")
            url, redis_url, pid = args.url.rstrip("/"), args.redis_url, args.server_pid
        else:
            service = Service(args.server)
            service.start()
            url, redis_url, pid = service.url, service.redis_url, service.pid
        result = uvloop.run(run(args, url, redis_url, pid))
    finally:
        if service is not None:
            service.stop()
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:{width}}  {value}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0 if result["lost"] == 0 and result["duplicates"] == 0 and not result["connect_failures"] else 1


if __name__ == "__main__":
    raise SystemExit(main())

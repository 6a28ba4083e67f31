"""The events service over real HTTP, served by uvicorn on a thread of the test's process.

The app is the production one (``EventsApp(EventsService(settings))``), on the session's
redis-server, with WMI accounts in a SQLite file; only the process around it differs from
``wmi2 events``: starting a server costs a tenth of a second, not the seconds of a Python
process importing everything. What needs the wire (a browser's stream, a client that stops
reading, a connection cut) still goes over a real socket.

Test modules use the fixtures with ``from tests.support.events_server import accounts_db,
start_events`` (and ``token``, ``publisher``). ``start_events_process`` starts ``wmi2 events``
itself instead, for a test that looks at the service's own process (its sockets, its pid).
"""

from __future__ import annotations

import gc
import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import uvicorn

from services.cli.accounts import create_admin
from services.common.events import Publisher
from services.common.sessions import COOKIE, open_session
from services.common.settings import Settings
from services.events.app import EventsApp
from services.events.service import EventsService
from tests.support.ports import free_port
from tests.support.processes import Service
from tests.support.wait import wait_for

# The WMI accounts the tests' sessions belong to: the service checks each session's account.
ACCOUNTS = {"alice": "admin", "bob": "admin", "carol": "viewer", "monitor": "admin"}


LOG_MAX = 10_000


@pytest.fixture
def token(redis_client: redis.Redis) -> str:
    cookie, _session = open_session(redis_client, "alice", "admin", ttl=3600)
    return cookie


@pytest.fixture
def publisher(redis_client: redis.Redis) -> Publisher:
    return Publisher(redis_client, LOG_MAX)


def publish(publisher: Publisher, count: int, **data: Any) -> list[str]:
    return [publisher.publish("user.updated", "testhost", {"n": n, **data}) for n in range(count)]


def open_without_reading(port: int, token: str) -> socket.socket:
    """A client that sends its request, reads the headers and then stops reading."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(f"GET /events HTTP/1.1\r\nHost: test\r\nCookie: {COOKIE}={token}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 200"), head
    return sock


class EventsServer:
    """The events app on a free port, with the given settings.

    ``admin_token``: a session of an admin, who is told the health route's details.
    """

    def __init__(self, settings: Settings, admin_token: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_token = admin_token
        self.app = EventsApp(EventsService(settings))
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                timeout_graceful_shutdown=1)  # fmt: skip
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, name=f"events:{self.port}", daemon=True)

    def start(self) -> None:
        self._thread.start()
        wait_for(self._healthy, timeout=60, what="the events service")

    def _healthy(self) -> bool:
        if not self._thread.is_alive():
            raise AssertionError("the events server's thread ended")
        return httpx.get(f"{self.url}/events/health", timeout=2).status_code == 200

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(30)
        assert not self._thread.is_alive(), "the events server did not stop"

    def health(self) -> dict[str, Any]:
        answer = httpx.get(f"{self.url}/events/health", cookies={COOKIE: self.admin_token}, timeout=5)
        body: dict[str, Any] = answer.json()
        # Redis down: no session can be read, so no details; the status still tells.
        body.setdefault("subscribed", body["status"] == "ok")
        return body


@pytest.fixture(scope="module")
def accounts_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('accounts') / 'wmi2.db'}"
    for login, role in ACCOUNTS.items():
        create_admin(url, login, f"{login}-password-1", role)
    return url


@pytest.fixture
def start_events(
    redis_url: str, redis_client: redis.Redis, accounts_db: str, tmp_path: Path
) -> Iterator[Callable[..., EventsServer]]:
    """Start an events service with extra settings (``sse_queue_size=8``, as WMI_SSE_QUEUE_SIZE=8)."""
    servers: list[EventsServer] = []
    admin_token, _session = open_session(redis_client, "monitor", "admin", ttl=3600)
    # The service tunes the garbage collector of its process (services.events.service.tune_gc):
    # here that is the test's process, given back its own settings afterwards.
    thresholds = gc.get_threshold()

    def start(**values: Any) -> EventsServer:
        data_dir = tmp_path / f"events{len(servers)}"
        data_dir.mkdir()
        settings = Settings(
            **{"redis_url": redis_url, "data_dir": data_dir, "database_url": accounts_db, **values}
        )
        server = EventsServer(settings, admin_token)
        servers.append(server)
        server.start()
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.stop()
        gc.unfreeze()
        gc.set_threshold(*thresholds)


class EventsProcess:
    """``wmi2 events`` in a process of its own, on a free port, with extra ``WMI_*`` settings."""

    def __init__(self, redis_url: str, directory: Path, env: dict[str, str], admin_token: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_token = admin_token
        full_env = dict(os.environ, WMI_REDIS_URL=redis_url, WMI_DATA_DIR=str(directory), **env)
        self.service = Service(["events", "--port", str(self.port)], full_env, directory / "events.log")

    def start(self) -> None:
        self.service.start()
        wait_for(self._healthy, timeout=60, what="the events service")

    def _healthy(self) -> bool:
        if not self.service.alive():
            raise AssertionError("wmi2 events exited:\n" + self.service.output())
        return httpx.get(f"{self.url}/events/health", timeout=2).status_code == 200

    def stop(self) -> None:
        self.service.stop()

    health = EventsServer.health


@pytest.fixture
def start_events_process(
    redis_url: str, redis_client: redis.Redis, accounts_db: str, tmp_path: Path
) -> Iterator[Callable[..., EventsProcess]]:
    """As ``start_events``, each service in its own ``wmi2 events`` process."""
    servers: list[EventsProcess] = []
    admin_token, _session = open_session(redis_client, "monitor", "admin", ttl=3600)

    def start(**values: object) -> EventsProcess:
        env = {f"WMI_{name.upper()}": str(value) for name, value in values.items()}
        env.setdefault("WMI_DATABASE_URL", accounts_db)
        server = EventsProcess(redis_url, tmp_path / f"events{len(servers)}", env, admin_token)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()

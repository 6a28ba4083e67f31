"""Locust scenarios for WMI2: admins logging in, browsing, listing, creating and deleting users.

Headless against a running WMI2 (``wmi2 up`` on a sandbox; never a real host's WMI2):

    locust -f loadtest/locustfile.py --headless -u 20 -r 10 -t 60s \\
        -H https://localhost:3356 --admin-password "$WMI_ADMIN_PASSWORD"

or let ``python -m loadtest.bench --tools locust`` start a fresh sandbox WMI2 and run it.

Each ``Admin`` logs in through the JSON API, keeps the live event stream (``/events``) open
in a greenlet of its own, as its browser would, and then browses pages, lists users and
groups, and creates and deletes users through the API. The time from each POST (DELETE)
to the event that shows its effect on that stream is reported as a request of type
``EVENT``:

- ``POST /api/v1/users -> job.succeeded`` and ``-> user.created``;
- ``DELETE /api/v1/users/[login] -> user.deleted``;

an effect that does not arrive within ``--event-timeout`` seconds, or a job that fails, is
reported as a failure of that line. A ``Visitor`` opens the login page anonymously and logs
in, as an admin arriving does. ``FastHttpUser`` throughout: locust's ``HttpUser`` tops out
near 2,000 requests/s on a two-core machine.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import secrets
import socket
import ssl
import time
from typing import Any
from urllib.parse import urlparse

import gevent
import gevent.event
import orjson
from locust import FastHttpUser, between, events, task

COOKIE = "wmi_session"
RUN = secrets.token_hex(2)
_numbers = itertools.count(1)
PAGES = ("/", "/users/", "/users/?q=a&page=2", "/groups/", "/jobs/")
POST = "POST /api/v1/users"


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument("--admin-login", default=os.environ.get("WMI_ADMIN_LOGIN", "admin"))
    parser.add_argument(
        "--admin-password", default=os.environ.get("WMI_ADMIN_PASSWORD", ""), help="the WMI admin's password"
    )
    parser.add_argument("--event-timeout", type=float, default=30.0, help="seconds an effect may take")


def _fire(environment: Any, name: str, started: float, exception: Exception | None = None) -> None:
    environment.events.request.fire(
        request_type="EVENT",
        name=name,
        response_time=(time.time() - started) * 1000,
        response_length=0,
        exception=exception,
        context={},
    )


class ChunkedReader:
    """The body of an HTTP/1.1 response read from a (gevent) socket, chunked or not."""

    def __init__(self, sock: socket.socket, chunked: bool, leftover: bytes) -> None:
        self._sock = sock
        self._chunked = chunked
        self._raw = leftover
        self._remaining = 0  # bytes left in the current chunk

    def read(self) -> bytes:
        """Whatever body bytes are available (blocking for some); b"" at the end."""
        while True:
            if not self._chunked:
                if self._raw:
                    data, self._raw = self._raw, b""
                    return data
                return self._sock.recv(65536)
            out = bytearray()
            while self._raw:
                if self._remaining > 0:
                    take = self._raw[: self._remaining]
                    out += take
                    self._raw = self._raw[len(take) :]
                    self._remaining -= len(take)
                    if not self._remaining:
                        self._remaining = -2  # the CRLF after the chunk
                    continue
                if self._remaining < 0:
                    skip = min(-self._remaining, len(self._raw))
                    self._raw = self._raw[skip:]
                    self._remaining += skip
                    continue
                line, found, rest = self._raw.partition(b"\r\n")
                if not found:
                    break
                size = int(line.split(b";")[0] or b"0", 16)
                if size == 0:
                    return bytes(out)
                self._raw, self._remaining = rest, size
            if out:
                return bytes(out)
            data = self._sock.recv(65536)
            if not data:
                return b""
            self._raw += data


class EventStream:
    """One admin's ``/events``: read in a greenlet, each event handed to ``on_event``."""

    def __init__(self, base_url: str, token: str, on_event: Any) -> None:
        parsed = urlparse(base_url)
        self.host = parsed.hostname or "localhost"
        self.port = parsed.port or (443 if parsed.scheme == "https" else 80)
        self.tls = parsed.scheme == "https"
        self.token = token
        self.on_event = on_event
        self.last_id: str | None = None
        self.opened = gevent.event.Event()
        self.sock: socket.socket | None = None

    def run(self) -> None:
        while True:
            with contextlib.suppress(OSError, ValueError):
                self._follow()
            gevent.sleep(1.0)  # the browser's retry

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=60)
        if self.tls:
            context = ssl.create_default_context()
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
            sock = context.wrap_socket(sock, server_hostname=self.host)
        return sock

    def _follow(self) -> None:
        self.sock = sock = self._connect()
        resume = f"Last-Event-ID: {self.last_id}\r\n" if self.last_id else ""
        sock.sendall(
            f"GET /events HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAccept: text/event-stream\r\n"
            f"Cookie: {COOKIE}={self.token}\r\n{resume}\r\n".encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            data = sock.recv(65536)
            if not data:
                raise ValueError("the stream closed before its headers")
            head += data
        head, _, rest = head.partition(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            raise ValueError(head.split(b"\r\n", 1)[0].decode(errors="replace"))
        self.opened.set()
        reader = ChunkedReader(sock, b"transfer-encoding: chunked" in head.lower(), rest)
        pending = b""
        kind, data, event_id = "", b"", None
        while chunk := reader.read():
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                line = raw.rstrip(b"\r")
                if not line:
                    if data:
                        if event_id:
                            self.last_id = event_id
                        self.on_event(kind, data)
                    kind, data, event_id = "", b"", None
                elif line.startswith(b"event:"):
                    kind = line[6:].strip().decode()
                elif line.startswith(b"data:"):
                    data = line[5:].strip()
                elif line.startswith(b"id:"):
                    event_id = line[3:].strip().decode()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()


class Admin(FastHttpUser):
    """An admin with the interface open: an event stream, pages, lists, creations, deletions."""

    weight = 5
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        options = self.environment.parsed_options
        self.login_name = getattr(options, "admin_login", "admin")
        self.password = getattr(options, "admin_password", "")
        self.event_timeout = getattr(options, "event_timeout", 30.0)
        self.csrf = ""
        # What this admin waits to see on its stream: (event type, login) -> (line name, sent at).
        self.waiting: dict[tuple[str, str], tuple[str, float]] = {}
        self.created: list[str] = []
        self.log_in()
        token = next((c.value for c in self.client.cookiejar if c.name == COOKIE), "")
        self.stream = EventStream(self.host, token, self.on_event)
        self.reader = gevent.spawn(self.stream.run)
        self.expirer = gevent.spawn(self._expire)
        self.stream.opened.wait(30)
        # Then the users list, as the interface opens on it; so a short run (the smoke test's,
        # on a busy machine) lists them once per admin who logged in, whatever tasks it picks.
        self.list_users()

    def on_stop(self) -> None:
        for greenlet in (self.reader, self.expirer):
            greenlet.kill(block=False)
        self.stream.close()

    def log_in(self) -> None:
        with self.client.post(
            "/api/v1/session",
            json={"login": self.login_name, "password": self.password},
            name="/api/v1/session (log in)",
            catch_response=True,
        ) as answer:
            if answer.status_code == 200:
                self.csrf = answer.json()["csrf_token"]
            else:
                answer.failure(f"log in: {answer.status_code} {answer.text[:200]}")

    def on_event(self, kind: str, data: bytes) -> None:
        if kind not in ("user.created", "user.deleted", "job.succeeded", "job.failed"):
            return
        body: dict[str, Any] = orjson.loads(data).get("data") or {}
        if kind.startswith("user."):
            key = (kind, str(body.get("login")))
        else:
            key = (f"{body.get('action')}:{kind}", str(body.get("target")))
        waited = self.waiting.pop(key, None)
        if waited is None:
            if kind == "job.failed":
                # The job of one of our requests failed: its other lines will never come.
                target = str(body.get("target"))
                for other in [k for k in self.waiting if k[1] == target]:
                    name, started = self.waiting.pop(other)
                    _fire(self.environment, name, started, RuntimeError(f"job failed: {body.get('error')}"))
            return
        name, started = waited
        _fire(self.environment, name, started)
        if kind == "user.created":
            self.created.append(key[1])

    def _expire(self) -> None:
        while True:
            gevent.sleep(1.0)
            now = time.time()
            for key, (name, started) in list(self.waiting.items()):
                if now - started > self.event_timeout:
                    self.waiting.pop(key, None)
                    _fire(
                        self.environment, name, started, TimeoutError(f"no {key[0]} in {self.event_timeout}s")
                    )

    @task(4)
    def browse(self) -> None:
        self.client.get(random.choice(PAGES))

    @task(4)
    def list_users(self) -> None:
        # A page at a time (100 by default, with the total), as the pages and scripts read them.
        self.client.get("/api/v1/users?system=false")

    @task(2)
    def search_users(self) -> None:
        letter = random.choice("aeiou")
        self.client.get(f"/api/v1/users?q={letter}&offset=100", name="/api/v1/users?q=[letter]")

    @task(2)
    def list_groups(self) -> None:
        self.client.get("/api/v1/groups?system=false")

    @task(2)
    def create_user(self) -> None:
        login = f"lc{RUN}x{os.getpid() % 100:02d}{next(_numbers):05d}"
        started = time.time()
        self.waiting[("user.create:job.succeeded", login)] = (f"{POST} -> job.succeeded", started)
        self.waiting[("user.created", login)] = (f"{POST} -> user.created", started)
        body = {"login": login, "full_name": f"Locust {login}", "password": "locust-password-1"}
        with self.client.post(
            "/api/v1/users", json=body, headers={"X-CSRF-Token": self.csrf}, catch_response=True
        ) as answer:
            if answer.status_code != 202:
                answer.failure(f"{answer.status_code} {answer.text[:200]}")
                self.waiting.pop(("user.create:job.succeeded", login), None)
                self.waiting.pop(("user.created", login), None)

    @task(1)
    def delete_user(self) -> None:
        if not self.created:
            return
        login = self.created.pop(0)
        self.waiting[("user.deleted", login)] = ("DELETE /api/v1/users/[login] -> user.deleted", time.time())
        with self.client.delete(
            f"/api/v1/users/{login}?home=remove",
            headers={"X-CSRF-Token": self.csrf},
            name="/api/v1/users/[login]",
            catch_response=True,
        ) as answer:
            if answer.status_code != 202:
                answer.failure(f"{answer.status_code} {answer.text[:200]}")
                self.waiting.pop(("user.deleted", login), None)


class Visitor(FastHttpUser):
    """An admin arriving: the login page, logging in (argon2: costly on purpose), the dashboard."""

    weight = 1
    wait_time = between(1.0, 3.0)

    @task
    def arrive(self) -> None:
        options = self.environment.parsed_options
        credentials = {
            "login": getattr(options, "admin_login", "admin"),
            "password": getattr(options, "admin_password", ""),
        }
        self.client.cookiejar.clear()
        self.client.get("/login/")
        self.client.post("/api/v1/session", json=credentials, name="/api/v1/session (log in)")
        self.client.get("/")

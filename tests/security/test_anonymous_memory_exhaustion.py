"""Finding 4: anonymous memory exhaustion.

Attack: anyone may ask to log in, and each login runs argon2, which allocates 64 MiB:
64 concurrent anonymous logins took the web processes from 277 MB to 2 GB, the checks
running all at once. And an anonymous 31 MB JSON body was read and parsed in full before
the route's session check refused it.

Fix: at most ``login_checks`` password checks run at once per process
(``passwords.PasswordGate``); a login waits ``login_check_wait`` seconds at most for a
turn, then gets 503 with Retry-After, so the queue is bounded too. Request bodies are
capped before any route parses them (``services/api/bodylimit.py``): 413 with a JSON
detail when Content-Length declares more than ``max_body`` (1 MB), or as soon as a chunked
body's bytes pass it.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from argon2.exceptions import VerifyMismatchError

from services.api.core import passwords
from services.api.main import create_app
from services.common.settings import Settings
from tests.support.api_app import ApiWorld

pytest_plugins = ["tests.support.api_fixtures"]

CAP = 1024 * 1024


def _raw(url: str, head: str, chunks: Iterable[bytes] = ()) -> str:
    """Send a request by hand (a declared length it never sends, or chunks), and its status line."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(head.encode())
        try:
            for chunk in chunks:
                sock.sendall(chunk)
        except OSError:
            pass  # the server answered and closed without reading the rest: what is wanted
        answer = b""
        while b"\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    return answer.split(b"\r\n", 1)[0].decode()


def test_a_declared_body_over_the_cap_is_refused_before_it_is_read(api: ApiWorld) -> None:
    host = urlsplit(api.url).netloc
    # 31 MB declared, none sent: the answer can only come from the declaration.
    head = (f"POST /api/v1/users HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {31 * CAP}\r\n\r\n")  # fmt: skip
    assert _raw(api.url, head).split(" ")[1] == "413"
    response = api.anonymous().post("/api/v1/session", content=b"{" + b" " * CAP + b"}",
                                    headers={"Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]
    # Below the cap, the session check answers as before.
    assert api.anonymous().post("/api/v1/users", json={"login": "zoe"}).status_code == 401


def test_a_chunked_body_is_cut_off_once_past_the_cap(api: ApiWorld) -> None:
    host = urlsplit(api.url).netloc
    head = (f"POST /api/v1/session HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n")  # fmt: skip
    piece = b" " * 65536

    def chunks() -> Iterator[bytes]:
        for _ in range(CAP // len(piece) + 4):
            yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        yield b"0\r\n\r\n"

    assert _raw(api.url, head, chunks()).split(" ")[1] == "413"


def test_a_chunked_body_under_the_cap_goes_through(api_settings: Settings) -> None:
    """In process, with a small cap: the chunks reach the route while they fit."""
    app = create_app(api_settings.model_copy(update={"max_body": 64}))

    async def chunks(size: int) -> AsyncIterator[bytes]:
        body = b'{"login": "x", "password": "' + b"y" * size + b'"}'
        for i in range(0, len(body), 8):
            yield body[i : i + 8]

    async def post(size: int) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post("/api/v1/users", content=chunks(size),
                                     headers={"Content-Type": "application/json"})  # fmt: skip

    assert asyncio.run(post(100)).status_code == 413
    assert asyncio.run(post(4)).status_code == 401


class StuckHasher:
    """Stands for argon2: every check waits for the test's word, counting how many run at once."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self._lock = threading.Lock()
        self.running = 0
        self.most = 0

    def verify(self, _hash: str, _password: str) -> bool:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            self.release.wait(60)
            raise VerifyMismatchError("wrong")
        finally:
            with self._lock:
                self.running -= 1


def test_logins_beyond_the_bound_are_refused_not_queued(
    api: ApiWorld, api_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    bound, crowd = 2, 12
    passwords._dummy_hash()  # made with the real hasher, before it is replaced
    stuck = StuckHasher()
    monkeypatch.setattr(passwords, "_hasher", stuck)
    app = create_app(api_settings.model_copy(update={"login_checks": bound, "login_check_wait": 0.1}))

    async def crowd_logs_in() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60) as client:
            tasks = [
                asyncio.create_task(
                    client.post("/api/v1/session", json={"login": f"nobody-{i}", "password": "x"})
                )
                for i in range(crowd)
            ]
            # Those who found no turn are answered while the others are still being checked.
            for _ in range(600):
                if sum(task.done() for task in tasks) >= crowd - bound:
                    break
                await asyncio.sleep(0.05)
            stuck.release.set()
            return list(await asyncio.gather(*tasks))

    answers = asyncio.run(crowd_logs_in())
    outcomes = Counter(answer.status_code for answer in answers)
    assert outcomes == {401: bound, 503: crowd - bound}, outcomes
    assert stuck.most == bound
    busy = next(answer for answer in answers if answer.status_code == 503)
    assert int(busy.headers["Retry-After"]) >= 1 and "try again" in busy.json()["detail"]

"""The api and a host's worker in the test's own process: no subprocess, no socket.

``Served``: ``create_app(settings)`` behind the same proxy-headers middleware that serves it
in production (the client's address from X-Forwarded-For), reached through
``httpx.ASGITransport``. The app's lifespan and every request run on one event loop, in a
thread of its own (an anyio blocking portal), so that the tests stay synchronous
``httpx.Client`` code and the app's asyncio Redis client serves them all.

``Worker``: a host's worker without Celery's consumer: the real first read of the host
(``Runtime.prepare``), one real heartbeat (the host online), and the real task function
(``services.worker.tasks.run_action``) run on each message the api left on the host's
queue, in the order a worker would take them. Real redis-server, real SQLite, the worker's
real code writing the account files of a sandbox root; only Celery's loop that pops messages
is left out.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import redis
from anyio.from_thread import BlockingPortal, start_blocking_portal
from celery import Celery
from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from services.api.main import create_app
from services.common import keys
from services.common.events import Publisher
from services.common.redis import patient_client
from services.common.settings import Settings
from tests.support.api_app import ApiWorld, Tokens

URL = "http://testserver"
# As the proxy in front of the api connects: from a trusted address (its forwarded headers count).
PROXY = ("127.0.0.1", 50000)


class PortalTransport(httpx.BaseTransport):
    """A synchronous transport over ``httpx.ASGITransport``, its requests run on ``portal``'s loop."""

    def __init__(self, asgi: httpx.ASGITransport, portal: BlockingPortal) -> None:
        self._asgi = asgi
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._portal.call(self._handle, request)

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        response = await self._asgi.handle_async_request(request)
        body = await response.aread()
        return httpx.Response(response.status_code, headers=response.headers, content=body,
                              extensions=response.extensions, request=request)  # fmt: skip


class Served:
    """One app for a test session, its lifespan started, and any number of clients of it."""

    def __init__(self, settings: Settings, app: FastAPI | None = None) -> None:
        self.settings = settings
        self.app = app or create_app(settings)
        asgi = ProxyHeadersMiddleware(self.app, trusted_hosts=settings.forwarded_allow_ips)
        self._portal_cm = start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        self._lifespan = self._portal.wrap_async_context_manager(self.app.router.lifespan_context(self.app))
        self._lifespan.__enter__()
        # Server errors come back as the 500 a browser would get, not as the exception.
        self.transport = PortalTransport(
            httpx.ASGITransport(asgi, raise_app_exceptions=False, client=PROXY), self._portal
        )

    def client(self, headers: dict[str, str] | None = None) -> httpx.Client:
        """A client as a browser or a script would be: no redirect followed."""
        return httpx.Client(transport=self.transport, base_url=URL, headers=headers, follow_redirects=False)

    def close(self) -> None:
        self._lifespan.__exit__(None, None, None)
        self._portal_cm.__exit__(None, None, None)


def queue_messages(client: redis.Redis, host: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Take every message off a host's queue, oldest first: (job id, action, params) each."""
    taken = []
    while (raw := client.rpop(keys.host_queue(host))) is not None:  # kombu consumes from the right
        envelope = orjson.loads(raw)  # type: ignore[arg-type]
        body = envelope["body"]
        if envelope["properties"].get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args, _kwargs, _embed = orjson.loads(body)
        taken.append((args[0], args[1], args[2]))
    return taken


class Worker:
    """The worker of ``settings.host_name`` on ``settings.sysroot``, run by the test."""

    def __init__(self, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
        # Imported here: the worker's modules build its Celery app from the environment on import.
        from services.worker import tasks
        from services.worker.context import WorkerContext, host_of
        from services.worker.heartbeat import Heartbeat
        from services.worker.lifecycle import Runtime

        self.settings = settings
        self.client = patient_client(settings.resolved_redis_url)
        self.context = WorkerContext(
            settings=settings, client=self.client, publisher=Publisher(self.client, settings.event_log_max),
            host=host_of(settings), database_url=settings.resolved_database_url,
        )  # fmt: skip
        # The task reads its context from this one function: the worker process's, made of these settings.
        monkeypatch.setattr(tasks, "context", lambda: self.context)
        self._run_action = tasks.run_action
        self._celery = Celery(broker=settings.redis_url, set_as_current=False)
        self._runtime = Runtime(settings, self._celery)
        # Beats once, when the test starts it: the host online for an hour.
        self._heartbeat = Heartbeat(self.client, settings.host_name, settings.resolved_sysroot,
                                    3600, 3600, settings.event_log_max)  # fmt: skip

    def start(self) -> None:
        """The worker's first read of its host, then a beat: the host is read and online."""
        self._runtime.prepare()
        self._heartbeat.beat()

    def reread(self) -> None:
        """Read the host again, as the worker does on start: after a test wrote its files."""
        self._runtime.prepare()

    def run_queued(self) -> list[str]:
        """Run every job waiting on the host's queue, as the worker takes them; their ids."""
        ran = []
        for job_id, action, params in queue_messages(self.client, self.settings.host_name):
            self._run_action(job_id, action, params)
            ran.append(job_id)
        return ran

    def close(self) -> None:
        self._runtime.client.close()
        self._celery.close()
        self.client.close()


@contextmanager
def running_worker(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Worker]:
    worker = Worker(settings, monkeypatch)
    try:
        worker.start()
        yield worker
    finally:
        worker.close()


def run(client: httpx.Client, worker: Worker, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    """Send a change, let the worker run what it queued, and return the job (finished)."""
    accepted = client.request(method, url, **kwargs)
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["id"] in worker.run_queued()
    job: dict[str, Any] = client.get(accepted.headers["Location"]).json()
    assert job["state"] in ("succeeded", "failed"), job
    return job


def run_ok(client: httpx.Client, worker: Worker, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    """As :func:`run`, insisting that the job succeeded."""
    job = run(client, worker, method, url, **kwargs)
    assert job["state"] == "succeeded", job
    return job


class InProcessApi(ApiWorld):
    """An :class:`ApiWorld` whose clients reach the app through its ASGI interface."""

    def __init__(self, served: Served, client: redis.Redis, tokens: dict[str, Tokens]) -> None:
        super().__init__(URL, served.settings, client, tokens)
        self.served = served
        self.app = served.app

    def client(self, headers: dict[str, str] | None = None) -> httpx.Client:
        client = self.served.client(headers)
        self._clients.append(client)
        return client


@dataclass
class Host:
    """The api and its default host's worker on a sandbox root: for the tests whose jobs must run."""

    api: InProcessApi
    worker: Worker
    sysroot: Path
    settings: Settings

    def run(self, client: httpx.Client, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        return run(client, self.worker, method, url, **kwargs)

    def run_ok(self, client: httpx.Client, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        return run_ok(client, self.worker, method, url, **kwargs)

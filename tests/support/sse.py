"""A browser's event stream played by httpx + httpx_sse on a thread, for tests to inspect."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from typing import Any

import httpx
import orjson
from httpx_sse import connect_sse

from services.common.sessions import COOKIE
from tests.support.wait import wait_for


class Listener:
    """A browser's EventSource: collects every event (and notice) of one stream on a thread."""

    def __init__(
        self, url: str, token: str, last_event_id: str | None = None, *, query: bool = False
    ) -> None:
        timeout = httpx.Timeout(30, read=None)
        self._client = httpx.Client(cookies={COOKIE: token}, verify=False, timeout=timeout)
        self._url = f"{url}/events"
        self._params = {"last_event_id": last_event_id} if last_event_id and query else {}
        self._headers = {"Last-Event-ID": last_event_id} if last_event_id and not query else {}
        self.events: list[dict[str, Any]] = []
        self.notices: list[tuple[str, dict[str, Any]]] = []
        self.connected = threading.Event()
        self.ended = threading.Event()
        self._closing = False
        self._socket: socket.socket | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Listener:
        self._thread.start()
        assert self.connected.wait(30), "the event stream did not open"
        return self

    def __exit__(self, *_exc: object) -> None:
        """Hang up as a closed tab does: the socket goes, which also ends the blocked read."""
        self._closing = True
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
        self._thread.join(30)
        self._client.close()
        assert not self._thread.is_alive(), "the listener did not stop"

    def _run(self) -> None:
        try:
            with connect_sse(
                self._client, "GET", self._url, params=self._params, headers=self._headers
            ) as source:
                source.response.raise_for_status()
                self._socket = source.response.extensions["network_stream"].get_extra_info("socket")
                self.connected.set()
                for sse in source.iter_sse():
                    self._collect(sse.event, sse.id, sse.data)
        except httpx.HTTPError:
            if not self._closing:
                raise
        finally:
            self.ended.set()

    def _collect(self, event: str, event_id: str, data: str) -> None:
        if not data:
            return  # the opening "retry:" hint
        body = orjson.loads(data)
        if "id" in body:
            assert body["id"] == event_id and body["type"] == event, (event_id, event, data)
            self.events.append(body)
        else:
            self.notices.append((event, body))

    @property
    def ids(self) -> list[str]:
        return [e["id"] for e in list(self.events)]

    def wait_count(self, count: int, timeout: float = 60) -> list[str]:
        wait_for(lambda: len(self.events) >= count, timeout=timeout, what=f"{count} events")
        return self.ids

    def wait(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 30) -> dict[str, Any]:
        """The first event that satisfies ``predicate``, once it has arrived."""
        return wait_for(lambda: next((e for e in list(self.events) if predicate(e)), None), timeout=timeout,
                        what="an event")  # fmt: skip

    def of_job(self, job_id: str) -> list[dict[str, Any]]:
        return [e for e in list(self.events) if e["job"] == job_id]


def EventCollector(client: httpx.Client, last_event_id: str | None = None) -> Listener:
    """The event stream of a logged-in API client's session."""
    token = client.cookies[COOKIE]
    return Listener(str(client.base_url).rstrip("/"), token, last_event_id)

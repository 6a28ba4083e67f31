"""An SSE client on a thread that collects the events of ``/events`` for a test to inspect."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx
import orjson
from httpx_sse import connect_sse

from tests.support.wait import wait_for


class EventCollector:
    def __init__(self, client: httpx.Client, last_event_id: str | None = None) -> None:
        self._client = httpx.Client(base_url=client.base_url, cookies=client.cookies, verify=False,
                                    timeout=httpx.Timeout(30, read=None))  # fmt: skip
        self._headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        self.events: list[dict[str, Any]] = []
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> EventCollector:
        self._thread.start()
        assert self.connected.wait(30), "the event stream did not open"
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._client.close()
        self._thread.join(10)

    def _run(self) -> None:
        try:
            with connect_sse(self._client, "GET", "/events", headers=self._headers) as source:
                source.response.raise_for_status()
                self.connected.set()
                for sse in source.iter_sse():
                    if self._stop.is_set():
                        return
                    if sse.data:
                        event = orjson.loads(sse.data)
                        assert event["id"] == sse.id and event["type"] == sse.event
                        self.events.append(event)
        except (httpx.HTTPError, RuntimeError):
            if not self._stop.is_set():
                raise

    def wait(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 30) -> dict[str, Any]:
        return wait_for(lambda: next((e for e in list(self.events) if predicate(e)), None), timeout=timeout,
                        what="an event")  # fmt: skip

    def of_job(self, job_id: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["job"] == job_id]

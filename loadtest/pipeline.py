"""The action pipeline, end to end: ``POST /api/v1/users`` until its events reach an open stream.

Two measures, both through the public HTTPS API and the event stream a browser uses:

- **latency** at a fixed rate (open loop: each POST leaves at its scheduled time, whether or
  not the previous ones are done): from the moment a POST is sent to the moment its
  ``user.created`` (and its ``job.succeeded``) arrives on the stream;
- **throughput**: many POSTs in flight at once, and how many ``user.created`` per second
  the host sustains from the first POST to the last creation.

Every POST must be answered 202 and every creation seen on the stream, else it is counted
(``errors``, ``lost``).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

# How long a creation may take to show up on the stream before it counts as lost.
SETTLE = 300.0
# The events of a creation, in the order its job goes through them.
STAGES = ("job.queued", "job.running", "user.created", "job.succeeded", "job.failed")
# Where a creation's time goes, each the difference of two moments: the POST leaving the
# client, an event logged in Redis (its stream id), the user.created reaching the client.
SPANS = (
    ("api", "sent", "job.queued"),
    ("queue", "job.queued", "job.running"),
    ("work", "job.running", "user.created"),
    ("finish", "user.created", "job.succeeded"),
    ("delivery", "user.created", "arrived"),
)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank; NaN when there is nothing."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


@dataclass
class Watch:
    """What the stream has shown of the logins this run created."""

    sent: dict[str, float] = field(default_factory=dict)  # login -> when its POST left
    # login -> moment -> ms since the epoch: "sent", "arrived" (its user.created) on this
    # machine's clock, and each event type: its stream id, when Redis logged it.
    moments: dict[str, dict[str, float]] = field(default_factory=dict)
    created: dict[str, float] = field(default_factory=dict)  # login -> when user.created arrived
    succeeded: dict[str, float] = field(default_factory=dict)  # login -> when job.succeeded arrived
    failed: dict[str, str] = field(default_factory=dict)  # login -> the job's error
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    events: int = 0

    def on_event(self, kind: str, data: bytes, now: float, event_id: str = "") -> None:
        self.events += 1
        if kind not in STAGES:
            return
        event: dict[str, Any] = orjson.loads(data)
        body = event.get("data") or {}
        login = body.get("login") if kind == "user.created" else body.get("target")
        if login not in self.sent or (kind != "user.created" and body.get("action") != "user.create"):
            return
        moments = self.moments.setdefault(login, {})
        if event_id:
            moments.setdefault(kind, float(event_id.partition("-")[0]))
        if kind == "user.created":
            self.created.setdefault(login, now)
            moments.setdefault("arrived", time.time() * 1000)
        elif kind == "job.succeeded":
            self.succeeded.setdefault(login, now)
        elif kind == "job.failed":
            self.failed[login] = str(body.get("error"))
        self.changed.set()

    def done(self) -> bool:
        return len(self.created) + len(self.failed) >= len(self.sent)


async def log_in(client: httpx.AsyncClient, login: str, password: str) -> str:
    """Log in; the client keeps the cookie; returns the CSRF token."""
    answer = await client.post("/api/v1/session", json={"login": login, "password": password})
    answer.raise_for_status()
    token: str = answer.json()["csrf_token"]
    return token


async def follow(client: httpx.AsyncClient, watch: Watch) -> None:
    """Read ``/events`` until cancelled, feeding every event to ``watch``."""
    async with client.stream("GET", "/events") as stream:
        stream.raise_for_status()
        watch.connected.set()
        kind, data, event_id = "", b"", ""
        async for line in stream.aiter_lines():
            if not line:
                if data:
                    watch.on_event(kind, data, time.perf_counter(), event_id)
                kind, data = "", b""
            elif line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("id:"):
                event_id = line[3:].strip()
            elif line.startswith("data:"):
                data = line[5:].strip().encode()


def spans(moments: Iterable[dict[str, float]]) -> dict[str, list[float]]:
    """Each creation's SPANS, in ms, where both of their moments were seen."""
    found: dict[str, list[float]] = {name: [] for name, _, _ in SPANS}
    for seen in moments:
        for name, start, end in SPANS:
            if start in seen and end in seen:
                found[name].append(seen[end] - seen[start])
    return found


@dataclass
class Result:
    sent: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    created: int = 0
    failed: int = 0
    lost: int = 0
    post_ms: list[float] = field(default_factory=list)  # POST sent -> 202 received
    created_ms: list[float] = field(default_factory=list)  # POST sent -> user.created
    succeeded_ms: list[float] = field(default_factory=list)  # POST sent -> job.succeeded
    seconds: float = 0.0  # first POST -> last user.created
    spans: dict[str, list[float]] = field(default_factory=dict)  # see SPANS

    @property
    def per_second(self) -> float:
        return self.created / self.seconds if self.seconds else 0.0

    def summary(self) -> dict[str, Any]:
        def ms(values: list[float], q: float) -> float:
            return round(percentile(values, q), 1)

        return {
            "sent": self.sent,
            "errors": self.errors,
            "created": self.created,
            "failed": self.failed,
            "lost": self.lost,
            "seconds": round(self.seconds, 2),
            "created_per_s": round(self.per_second, 1),
            "post_p50_ms": ms(self.post_ms, 50),
            "post_p99_ms": ms(self.post_ms, 99),
            "created_p50_ms": ms(self.created_ms, 50),
            "created_p95_ms": ms(self.created_ms, 95),
            "created_p99_ms": ms(self.created_ms, 99),
            "created_max_ms": ms(self.created_ms, 100),
            "succeeded_p50_ms": ms(self.succeeded_ms, 50),
            "succeeded_p99_ms": ms(self.succeeded_ms, 99),
            "spans_p50_ms": {name: ms(values, 50) for name, values in self.spans.items()},
            "error_samples": self.error_samples[:5],
        }


class Pipeline:
    """One admin's session: an API client and an open event stream."""

    def __init__(self, url: str, login: str, password: str, concurrency: int = 64) -> None:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        timeout = httpx.Timeout(30.0, read=None)
        self.api = httpx.AsyncClient(base_url=url, verify=False, limits=limits, timeout=30.0)
        self.sse = httpx.AsyncClient(base_url=url, verify=False, timeout=timeout)
        self.login, self.password = login, password
        self.csrf = ""
        self.run_id = secrets.token_hex(3)
        self.count = 0

    async def __aenter__(self) -> Pipeline:
        self.csrf = await log_in(self.api, self.login, self.password)
        self.sse.cookies = self.api.cookies
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.api.aclose()
        await self.sse.aclose()

    def _next_login(self) -> str:
        self.count += 1
        return f"b{self.run_id}{self.count:06d}"

    async def _create(self, watch: Watch, result: Result) -> None:
        login = self._next_login()
        started = time.perf_counter()
        watch.sent[login] = started
        watch.moments[login] = {"sent": time.time() * 1000}
        result.sent += 1
        body = {"login": login, "full_name": f"Bench {login}", "password": "bench-password-1"}
        try:
            answer = await self.api.post("/api/v1/users", json=body, headers={"X-CSRF-Token": self.csrf})
            ok = answer.status_code == 202
            problem = f"{answer.status_code} {answer.text[:200]}"
        except httpx.HTTPError as exc:
            ok, problem = False, repr(exc)
        result.post_ms.append((time.perf_counter() - started) * 1000)
        if not ok:
            del watch.sent[login]
            result.sent -= 1
            result.errors += 1
            result.error_samples.append(problem)

    async def _measure(self, posts: Any) -> Result:
        """Open the stream, run ``posts(watch, result)``, wait for every creation, sum up."""
        watch, result = Watch(), Result()
        reader = asyncio.create_task(follow(self.sse, watch))
        try:
            await asyncio.wait_for(watch.connected.wait(), 30)
            first = time.perf_counter()
            await posts(watch, result)
            deadline = time.perf_counter() + SETTLE
            while not watch.done() and time.perf_counter() < deadline and not reader.done():
                watch.changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(watch.changed.wait(), 1.0)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await reader
        for login, sent in watch.sent.items():
            if login in watch.created:
                result.created_ms.append((watch.created[login] - sent) * 1000)
            if login in watch.succeeded:
                result.succeeded_ms.append((watch.succeeded[login] - sent) * 1000)
        result.spans = spans(watch.moments.values())
        result.created = len(watch.created)
        result.failed = len(watch.failed)
        result.error_samples += list(watch.failed.values())[:5]
        result.lost = len(watch.sent) - result.created - result.failed
        if watch.created:
            result.seconds = max(watch.created.values()) - first
        return result

    async def at_rate(self, rate: float, seconds: float) -> Result:
        """POSTs at ``rate`` per second for ``seconds`` (open loop); latency to their events."""
        count = max(1, round(rate * seconds))

        async def posts(watch: Watch, result: Result) -> None:
            start = time.perf_counter()
            tasks = []
            for i in range(count):
                delay = start + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(self._create(watch, result)))
            await asyncio.gather(*tasks)

        return await self._measure(posts)

    async def flood(self, count: int, in_flight: int) -> Result:
        """``count`` creations, ``in_flight`` POSTs at a time: the creations per second sustained."""

        async def posts(watch: Watch, result: Result) -> None:
            remaining = count

            async def poster() -> None:
                nonlocal remaining
                while remaining > 0:
                    remaining -= 1
                    await self._create(watch, result)

            await asyncio.gather(*(poster() for _ in range(in_flight)))

        return await self._measure(posts)


async def run(
    url: str, login: str, password: str, *, rate: float, seconds: float, flood: int, in_flight: int
) -> dict[str, Any]:
    async with Pipeline(url, login, password, concurrency=max(in_flight, int(rate)) + 4) as pipeline:
        paced = await pipeline.at_rate(rate, seconds)
        burst = await pipeline.flood(flood, in_flight) if flood else Result()
    return {"paced": {"rate": rate, **paced.summary()}, "flood": {"in_flight": in_flight, **burst.summary()}}

"""The events service's host monitor (services/events/hostmonitor.py), against a real redis-server:
a host whose heartbeat expired is announced ``host.offline`` once, however many monitors sweep
at the same moment (as several events processes would).
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import redis
import redis.asyncio

from services.common import keys
from services.common.hoststate import HostStates
from services.events.hostmonitor import HostMonitor
from tests.support.wait import wait_for

HOST = "h1"


def _events(client: redis.Redis) -> list[dict[str, Any]]:
    return [orjson.loads(fields[b"d"]) for _id, fields in client.xrange(keys.EVENT_STREAM)]


def _host_events(client: redis.Redis) -> list[str]:
    return [f"{e['type']} {e['host']}" for e in _events(client) if e["type"].startswith("host.")]


def _record(now: str = "2026-05-01T12:00:00+00:00") -> dict[str, Any]:
    return {"name": HOST, "sysroot": "/srv/h1", "pid": 1, "started_at": now, "last_seen": now}


def _sweep_concurrently(url: str, monitors: int) -> list[str]:
    """``monitors`` monitors, each with its own connection, sweeping at the same moment."""

    async def run() -> list[str]:
        clients = [redis.asyncio.Redis.from_url(url) for _ in range(monitors)]
        try:
            found = await asyncio.gather(*(HostMonitor(c, 1000).sweep() for c in clients))
        finally:
            for c in clients:
                await c.aclose()
        return [name for names in found for name in names]

    return asyncio.run(run())


def test_an_expired_heartbeat_is_announced_offline_once_by_many_monitors(
    redis_client: redis.Redis, redis_url: str
) -> None:
    states = HostStates(redis_client, 1000)
    states.beat(HOST, _record(), ttl=0.2)
    assert _sweep_concurrently(redis_url, 4) == [], "a live heartbeat is never taken for a dead one"
    wait_for(lambda: not redis_client.exists(keys.host_heartbeat(HOST)), timeout=5, what="the expiry")
    assert _sweep_concurrently(redis_url, 4) == [HOST]
    assert _sweep_concurrently(redis_url, 4) == [], "already offline: nothing more to say"
    offline = [e for e in _events(redis_client) if e["type"] == "host.offline"]
    assert len(offline) == 1 and offline[0]["host"] == HOST
    assert offline[0]["data"]["last_seen"] == "2026-05-01T12:00:00+00:00"
    assert "has not been heard from since 2026-05-01T12:00:00+00:00" in offline[0]["data"]["reason"]
    # Its return is announced once too.
    assert states.beat(HOST, _record(), ttl=5) is not None
    assert _host_events(redis_client) == [
        f"host.online {HOST}",
        f"host.offline {HOST}",
        f"host.online {HOST}",
    ]


def test_a_stopping_worker_announces_offline_at_once_and_the_monitor_adds_nothing(
    redis_client: redis.Redis, redis_url: str
) -> None:
    states = HostStates(redis_client, 1000)
    states.beat(HOST, _record(), ttl=60)
    assert states.stopped(HOST, "2026-05-01T12:00:00+00:00") is not None
    assert not redis_client.exists(keys.host_heartbeat(HOST)), "no heartbeat left to expire"
    assert _sweep_concurrently(redis_url, 2) == []
    assert states.stopped(HOST, None) is None, "a second stop is no transition"
    assert _host_events(redis_client) == [f"host.online {HOST}", f"host.offline {HOST}"]


def test_hosts_are_watched_each_on_its_own(redis_client: redis.Redis, redis_url: str) -> None:
    states = HostStates(redis_client, 1000)
    for host in ("a", "b", "c"):
        states.beat(host, {**_record(), "name": host}, ttl=0.3 if host == "b" else 60)
    wait_for(lambda: not redis_client.exists(keys.host_heartbeat("b")), timeout=5, what="b's expiry")
    assert _sweep_concurrently(redis_url, 3) == ["b"]
    assert [redis_client.get(keys.host_state(h)) for h in ("a", "b", "c")] == [
        b"online",
        b"offline",
        b"online",
    ]

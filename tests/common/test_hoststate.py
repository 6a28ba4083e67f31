"""A host's online/offline transitions, against a real redis-server: each announced exactly once.

The worker's beat announces ``host.online``; its stop announces ``host.offline`` (and so does
the events service's monitor once a heartbeat has expired: tests/events/test_hostmonitor.py).
"""

from __future__ import annotations

from typing import Any

import orjson
import redis

from services.common import keys
from services.common.hoststate import HostStates
from tests.support.wait import wait_for

HOST = "h1"


def _events(client: redis.Redis) -> list[dict[str, Any]]:
    return [orjson.loads(fields[b"d"]) for _id, fields in client.xrange(keys.EVENT_STREAM)]


def _host_events(client: redis.Redis) -> list[str]:
    return [f"{e['type']} {e['host']}" for e in _events(client) if e["type"].startswith("host.")]


def _record(now: str = "2026-05-01T12:00:00+00:00") -> dict[str, Any]:
    return {"name": HOST, "sysroot": "/srv/h1", "pid": 1, "started_at": now, "last_seen": now}


def test_the_first_beat_announces_online_once(redis_client: redis.Redis) -> None:
    states = HostStates(redis_client, 1000)
    assert states.beat(HOST, _record(), ttl=5) is not None
    assert states.beat(HOST, _record("2026-05-01T12:00:01+00:00"), ttl=5) is None
    assert _host_events(redis_client) == [f"host.online {HOST}"]
    assert redis_client.get(keys.host_state(HOST)) == b"online"
    record = orjson.loads(redis_client.hget(keys.HOSTS, HOST) or b"{}")
    assert record["last_seen"] == "2026-05-01T12:00:01+00:00", "each beat records when it was heard"
    assert 0 < redis_client.pttl(keys.host_heartbeat(HOST)) <= 5000


def test_the_events_are_on_the_live_channel_with_their_log_ids(redis_client: redis.Redis) -> None:
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(keys.EVENT_CHANNEL)
    try:
        wait_for(lambda: pubsub.get_message(timeout=0.1) is None, timeout=5, what="the subscription")
        states = HostStates(redis_client, 1000)
        event_id = states.beat(HOST, _record(), ttl=5)
        message = wait_for(lambda: pubsub.get_message(timeout=0.1), timeout=5, what="the live event")
        event = orjson.loads(message["data"])
        assert event["id"] == event_id and event["type"] == "host.online" and event["host"] == HOST
    finally:
        pubsub.close()

"""The events app over HTTP on real parts: a redis-server, the app served by uvicorn
(tests/support/events_server.py), sessions opened as the api opens them, events published as
the worker publishes them, and browsers played by httpx + httpx_sse on threads.

Nothing here asserts on time: every wait polls a condition with a generous deadline.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from typing import Any, cast

import httpx
import redis

from services.common import keys
from services.common.events import Publisher
from services.common.sessions import COOKIE, end_all_sessions, open_session
from tests.support.events_server import LOG_MAX, EventsServer, open_without_reading, publish
from tests.support.redis_server import RedisServer
from tests.support.sse import Listener
from tests.support.wait import wait_for


def logged_ids(client: redis.Redis, after: str) -> list[str]:
    entries = cast(list[tuple[bytes, Any]], client.xrange(keys.EVENT_STREAM, min=f"({after}", max="+"))
    return [entry_id.decode() for entry_id, _ in entries]


def test_stream_refuses_without_a_valid_session(start_events: Callable[..., EventsServer]) -> None:
    server = start_events()
    assert httpx.get(f"{server.url}/events", timeout=10).status_code == 401
    forged = httpx.get(f"{server.url}/events", cookies={COOKIE: "not-a-session"}, timeout=10)
    assert forged.status_code == 401
    assert server.health()["subscribed"] is True


def test_ending_a_session_closes_its_open_streams(
    start_events: Callable[..., EventsServer], token: str, redis_client: redis.Redis, publisher: Publisher
) -> None:
    """Bug: a disabled account's open page kept receiving events until it reconnected.

    Fix: ending sessions publishes their digests; the hub closes those sessions' streams,
    and the browser's reconnect then meets a 401. Another session's stream goes on.
    """
    server = start_events()
    other, _ = open_session(redis_client, "bob", "admin", ttl=3600)
    with Listener(server.url, token) as ended, Listener(server.url, other) as kept:
        wait_for(lambda: server.health()["clients"] == 2, what="both streams registered")
        end_all_sessions(redis_client, "alice")
        assert ended.ended.wait(30), "the ended session's stream stayed open"
        published = publish(publisher, 3)
        assert kept.wait_count(3) == published
        assert not kept.ended.is_set()
    assert httpx.get(f"{server.url}/events", cookies={COOKIE: token}, timeout=10).status_code == 401


def test_live_events_reach_every_client_in_order(
    start_events: Callable[..., EventsServer], token: str, publisher: Publisher
) -> None:
    server = start_events()
    with Listener(server.url, token) as a, Listener(server.url, token) as b, Listener(server.url, token) as c:
        published = publish(publisher, 50)
        for listener in (a, b, c):
            assert listener.wait_count(50) == published
            assert [e["data"]["n"] for e in listener.events] == list(range(50))
            assert listener.events[0]["host"] == "testhost"


def test_reconnect_with_last_event_id_gets_exactly_the_missed_events(
    start_events: Callable[..., EventsServer], token: str, publisher: Publisher
) -> None:
    server = start_events()
    with Listener(server.url, token) as first:
        seen = publish(publisher, 5)
        assert first.wait_count(5) == seen
    missed = publish(publisher, 10)
    with Listener(server.url, token, last_event_id=seen[-1]) as again:
        assert again.wait_count(10) == missed
        later = publish(publisher, 5)
        assert again.wait_count(15) == missed + later
    assert again.notices == []


def test_last_event_id_as_query_parameter(
    start_events: Callable[..., EventsServer], token: str, publisher: Publisher
) -> None:
    server = start_events()
    seen = publish(publisher, 3)
    missed = publish(publisher, 4)
    with Listener(server.url, token, last_event_id=seen[-1], query=True) as again:
        assert again.wait_count(4) == missed
        later = publish(publisher, 2)
        assert again.wait_count(6) == missed + later


def test_replay_live_race_events_published_during_replay_arrive_once(
    start_events: Callable[..., EventsServer], token: str, publisher: Publisher, redis_client: redis.Redis
) -> None:
    """Regression: the join between replay (the log) and live (the channel).

    Bug: reading the log first and subscribing afterwards loses every event published
    between the two; subscribing first and replaying without care sends the events
    published during the replay twice (once from the log, once live).
    Fix: the client is registered with the hub before the log is read (XRANGE with an
    exclusive start), and live events whose id is at or below the last replayed id are
    dropped. Here events are published without pause from before the client connects
    until it is past its (multi-batch) replay, so publishing overlaps the whole replay.
    """
    server = start_events(sse_queue_size=100_000)
    start = publisher.publish("user.updated", "testhost", {"n": -1})
    publish(publisher, 3000)  # six XRANGE batches to replay
    stop = threading.Event()

    def keep_publishing() -> None:
        while not stop.is_set():
            publisher.publish("user.updated", "testhost", {"during": True})

    writer = threading.Thread(target=keep_publishing, daemon=True)
    writer.start()
    try:
        with Listener(server.url, token, last_event_id=start) as listener:
            # 2,000 more than were logged when it connected: the replay has long caught up
            # with the publisher by then, so publishing went on across its end.
            listener.wait_count(5000)
            stop.set()
            writer.join(60)
            expected = logged_ids(redis_client, start)
            assert listener.wait_count(len(expected)) == expected
    finally:
        stop.set()
        writer.join(60)


def test_a_trimmed_log_is_announced_as_a_gap(
    start_events: Callable[..., EventsServer], token: str, redis_client: redis.Redis
) -> None:
    server = start_events()
    small = Publisher(redis_client, 10)
    first = small.publish("user.updated", "testhost", {"n": 0})
    for n in range(1, 500):
        small.publish("user.updated", "testhost", {"n": n})
    remaining = logged_ids(redis_client, first)
    assert len(remaining) < 499  # MAXLEN ~ trimmed whole nodes, including the next id
    with Listener(server.url, token, last_event_id=first) as listener:
        assert listener.wait_count(len(remaining)) == remaining
        assert listener.notices == [("stream.gap", {"type": "stream.gap", "after": first})]
    with Listener(server.url, token, last_event_id="garbage") as listener:
        wait_for(lambda: listener.notices, what="the gap notice")
        assert listener.notices == [("stream.gap", {"type": "stream.gap", "after": None})]


def test_heartbeat_comment_is_sent(start_events: Callable[..., EventsServer], token: str) -> None:
    server = start_events(sse_heartbeat=0.2)
    with (
        httpx.Client(cookies={COOKIE: token}, timeout=httpx.Timeout(30, read=30)) as client,
        client.stream("GET", f"{server.url}/events") as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        assert wait_for(lambda: next(lines) == ": ping", what="a heartbeat comment")


def test_a_disconnected_client_is_released_at_once(
    start_events: Callable[..., EventsServer], token: str
) -> None:
    # No heartbeat for an hour: only the disconnect itself can release the client.
    server = start_events(sse_heartbeat=3600)
    with Listener(server.url, token), Listener(server.url, token):
        wait_for(lambda: server.health()["clients"] == 2, what="two clients")
    wait_for(lambda: server.health()["clients"] == 0, what="both clients released")


def _read_to_end(sock: socket.socket) -> bytes:
    """What reached the client before its connection ended: a dropped client's is reset."""
    sock.settimeout(60)
    received = bytearray()
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(1 << 16):
            received += chunk
    return bytes(received)


def test_slow_client_is_dropped_while_others_keep_receiving(
    start_events: Callable[..., EventsServer], token: str, publisher: Publisher
) -> None:
    server = start_events(sse_queue_size=8, sse_heartbeat=3600)
    slow = open_without_reading(server.port, token)
    try:
        with Listener(server.url, token) as fast:
            wait_for(lambda: server.health()["clients"] == 2, what="two clients")
            # 12 MB: more than the sockets and uvicorn can buffer for the slow client.
            published = publish(publisher, 60, pad="x" * 200_000)
            assert fast.wait_count(60) == published
            wait_for(lambda: server.health()["dropped"] == 1, what="the slow client dropped")
            assert server.health()["clients"] == 1
            raw = _read_to_end(slow)  # the server cut it: the read ends
    finally:
        slow.close()
    got = raw.count(b"event: user.updated\n")
    assert 0 < got < 60
    last = raw.rsplit(b"\nid: ", 1)[-1].split(b"\n", 1)[0].decode()
    assert last == published[got - 1]
    with Listener(server.url, token, last_event_id=last) as resumed:
        assert resumed.wait_count(60 - got) == published[got:]


def test_redis_restart_loses_no_event(
    start_events: Callable[..., EventsServer], token: str, publisher: Publisher, redis_server: RedisServer
) -> None:
    server = start_events()
    with Listener(server.url, token) as a, Listener(server.url, token) as b:
        before = publish(publisher, 5)
        a.wait_count(5)
        redis_server.stop()
        wait_for(lambda: not server.health()["subscribed"], what="the subscription to notice")
        redis_server.start()  # appendonly: the log (and the session) survive
        # Published at once, most likely before the hub is back: they come from the log.
        after = publish(publisher, 5)
        for listener in (a, b):
            assert listener.wait_count(10) == before + after
        wait_for(lambda: server.health()["subscribed"], what="the subscription back")
        later = publish(publisher, 3)
        for listener in (a, b):
            assert listener.wait_count(13) == before + after + later


def test_lost_subscription_is_filled_from_the_log(
    start_events: Callable[..., EventsServer], token: str, redis_client: redis.Redis
) -> None:
    """Events published while the hub cannot subscribe reach clients from the log once it can.

    The publisher uses its own Redis user; the events service's user loses the right to
    subscribe and its subscription is killed, so for a while it certainly misses the
    channel, then gets the right back.
    """
    redis_client.acl_setuser(
        "publisher", enabled=True, passwords=["+pw"], keys=["*"], channels=["*"], categories=["+@all"]
    )
    server = start_events()
    kwargs = redis_client.connection_pool.connection_kwargs
    own_user = redis.Redis(host=kwargs["host"], port=kwargs["port"], username="publisher", password="pw")
    publisher = Publisher(own_user, LOG_MAX)
    try:
        with Listener(server.url, token) as listener:
            before = publish(publisher, 3)
            listener.wait_count(3)
            redis_client.acl_setuser("default", enabled=True, commands=["-subscribe"])
            redis_client.client_kill_filter(_type="pubsub")
            wait_for(lambda: not server.health()["subscribed"], what="the subscription lost")
            missed = publish(publisher, 4)
            assert not server.health()["subscribed"]  # it cannot subscribe: these are not live
            redis_client.acl_setuser("default", enabled=True, commands=["+subscribe"])
            assert listener.wait_count(7) == before + missed
            later = publish(publisher, 2)
            assert listener.wait_count(9) == before + missed + later
    finally:
        redis_client.acl_setuser("default", enabled=True, commands=["+subscribe"])
        redis_client.acl_deluser("publisher")
        own_user.close()

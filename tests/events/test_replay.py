"""Reading the event log for a reconnecting client, against the session's redis-server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
import redis
import redis.asyncio

from services.common import keys
from services.common.events import Publisher, id_tuple
from services.events import replay
from services.events.frames import Frame, Order

T = TypeVar("T")


def _run(redis_url: str, use: Callable[[redis.asyncio.Redis], Awaitable[T]]) -> T:
    async def run() -> T:
        client = redis.asyncio.Redis.from_url(redis_url)
        try:
            return await use(client)
        finally:
            await client.aclose()

    return asyncio.run(run())


def _missed(redis_url: str, after: Order) -> list[list[Frame]]:
    async def use(client: redis.asyncio.Redis) -> list[list[Frame]]:
        return [batch async for batch in replay.missed(client, after)]

    return _run(redis_url, use)


@pytest.mark.parametrize(
    ("raw", "order"),
    [("1700000000000-5", (1700000000000, 5)), (" 42-0 ", (42, 0)), ("42", (42, 0)), ("0-0", (0, 0))],
)
def test_a_last_event_id_is_read_as_an_order(raw: str, order: Order) -> None:
    assert replay.parse_event_id(raw) == order
    assert replay.format_id(order) == f"{order[0]}-{order[1]}"


@pytest.mark.parametrize("raw", ["", "garbage", "1-2-3", "-1-0", f"{2**64}-0", f"1-{2**64}", "1.5-0"])
def test_what_is_no_stream_id_is_refused(raw: str) -> None:
    assert replay.parse_event_id(raw) is None


def test_every_event_after_an_id_comes_back_in_order_in_batches(
    redis_url: str, redis_client: redis.Redis
) -> None:
    publisher = Publisher(redis_client, 100_000)
    ids = [publisher.publish("user.updated", "h", {"n": n}) for n in range(replay.BATCH + 20)]
    batches = _missed(redis_url, id_tuple(ids[9]))
    assert [len(b) for b in batches] == [replay.BATCH, 10]
    frames = [frame for batch in batches for frame in batch]
    assert [f.order for f in frames] == [id_tuple(i) for i in ids[10:]]
    assert frames[0].data.startswith(f"id: {ids[10]}\nevent: user.updated\n".encode())
    assert _missed(redis_url, id_tuple(ids[-1])) == []


def test_the_newest_id_is_that_of_the_last_event_or_zero(redis_url: str, redis_client: redis.Redis) -> None:
    assert _run(redis_url, replay.newest) == (0, 0)
    last = [Publisher(redis_client, 1000).publish("x", None) for _ in range(3)][-1]
    assert _run(redis_url, replay.newest) == id_tuple(last)


def test_an_entry_that_is_no_event_is_skipped(redis_url: str, redis_client: redis.Redis) -> None:
    first = Publisher(redis_client, 1000).publish("x", None)
    redis_client.xadd(keys.EVENT_STREAM, {"other": "field"})
    redis_client.xadd(keys.EVENT_STREAM, {"d": b"not json"})
    last = Publisher(redis_client, 1000).publish("y", None)
    [batch] = _missed(redis_url, (0, 0))
    assert [f.order for f in batch] == [id_tuple(first), id_tuple(last)]


def test_nothing_is_lost_after_an_id_still_in_the_log(redis_url: str, redis_client: redis.Redis) -> None:
    ids = [Publisher(redis_client, 1000).publish("x", None) for _ in range(5)]

    def lost(after: Order) -> bool:
        return _run(redis_url, lambda c: replay.lost_after(c, after))

    assert not lost(id_tuple(ids[0])) and not lost(id_tuple(ids[-1]))
    assert not lost((0, 0)), "an untrimmed log holds everything since the start"


def test_a_trimmed_log_says_what_was_lost(redis_url: str, redis_client: redis.Redis) -> None:
    publisher = Publisher(redis_client, 10)
    ids = [publisher.publish("x", None) for _ in range(500)]
    first_left = redis_client.xrange(keys.EVENT_STREAM, count=1)[0][0].decode()
    assert first_left != ids[0], "MAXLEN ~ trimmed the oldest entries"

    def lost(after: Order) -> bool:
        return _run(redis_url, lambda c: replay.lost_after(c, after))

    assert lost(id_tuple(ids[0])) and lost((0, 0))
    assert not lost(id_tuple(first_left)) and not lost(id_tuple(ids[-1]))


def test_with_no_log_at_all_only_a_client_holding_an_id_has_lost_something(redis_url: str) -> None:
    assert _run(redis_url, lambda c: replay.lost_after(c, (5, 0)))
    assert not _run(redis_url, lambda c: replay.lost_after(c, (0, 0)))


def test_an_emptied_log_has_lost_everything_after_an_older_id(
    redis_url: str, redis_client: redis.Redis
) -> None:
    ids = [Publisher(redis_client, 1000).publish("x", None) for _ in range(3)]
    redis_client.xtrim(keys.EVENT_STREAM, maxlen=0)
    assert _run(redis_url, lambda c: replay.lost_after(c, id_tuple(ids[0])))
    assert not _run(redis_url, lambda c: replay.lost_after(c, id_tuple(ids[-1]))), "it had seen the last one"

"""An event's shape, and publishing it: one log entry and one live message, the same id, in order."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
import redis

from services.common import keys
from services.common.events import Publisher, body, id_tuple, with_id
from tests.support.wait import wait_for


def test_the_body_holds_every_field_but_the_id() -> None:
    before = datetime.now(UTC)
    event = orjson.loads(body("user.created", "h1", {"login": "ann"}, job="j1", actor="admin"))
    assert set(event) == {"type", "host", "job", "actor", "at", "data"}
    assert (event["type"], event["host"], event["job"], event["actor"]) == (
        "user.created",
        "h1",
        "j1",
        "admin",
    )
    assert event["data"] == {"login": "ann"}
    assert before <= datetime.fromisoformat(event["at"]) <= datetime.now(UTC)
    assert orjson.loads(body("host.online", None))["data"] == {}


def test_the_id_goes_in_front_of_a_stored_body() -> None:
    raw = body("x", None, {"n": 1})
    full = orjson.loads(with_id("12-3", raw))
    assert full["id"] == "12-3" and {k: v for k, v in full.items() if k != "id"} == orjson.loads(raw)
    assert with_id("12-3", raw).startswith(b'{"id":"12-3",')


@pytest.mark.parametrize(
    ("event_id", "pair"),
    [("1700000000000-7", (1700000000000, 7)), ("5", (5, 0)), ("0", (0, 0)), ("0-0", (0, 0))],
)
def test_ids_compare_as_pairs(event_id: str, pair: tuple[int, int]) -> None:
    assert id_tuple(event_id) == pair


def test_ids_compare_by_number_not_by_text() -> None:
    assert id_tuple("9-0") < id_tuple("10-0") and id_tuple("10-2") < id_tuple("10-10")
    with pytest.raises(ValueError):
        id_tuple("garbage")


def test_a_published_event_is_logged_and_sent_live_with_the_same_id_in_order(
    redis_client: redis.Redis,
) -> None:
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(keys.EVENT_CHANNEL)
    try:
        wait_for(lambda: pubsub.get_message(timeout=0.1) is None, timeout=5, what="the subscription")
        publisher = Publisher(redis_client, 1000)
        ids = [publisher.publish("user.updated", "h1", {"n": n}, job=f"j{n}") for n in range(3)]
        ids.append(publisher.publish_body(body("user.deleted", "h1")))
        publisher.publish_many([body("group.created", "h2", {"n": n}) for n in range(2)])
        live = []
        while len(live) < 6:
            message = wait_for(lambda: pubsub.get_message(timeout=0.1), timeout=5, what="a live event")
            live.append(orjson.loads(message["data"]))
    finally:
        pubsub.close()
    logged = [(i.decode(), orjson.loads(f[b"d"])) for i, f in redis_client.xrange(keys.EVENT_STREAM)]
    assert [e["id"] for e in live] == [i for i, _ in logged]
    assert [i for i, _ in logged][:4] == ids
    assert [e["type"] for e in live] == ["user.updated"] * 3 + ["user.deleted"] + ["group.created"] * 2
    for event, (_, stored) in zip(live, logged, strict=True):
        assert {k: v for k, v in event.items() if k != "id"} == stored
    assert [id_tuple(i) for i, _ in logged] == sorted(id_tuple(i) for i, _ in logged)


def test_the_log_is_bounded(redis_client: redis.Redis) -> None:
    publisher = Publisher(redis_client, 10)
    for n in range(1000):
        publisher.publish("x", None, {"n": n})
    assert redis_client.xlen(keys.EVENT_STREAM) < 1000


def test_a_redis_that_forgot_the_script_gets_it_again(redis_client: redis.Redis) -> None:
    publisher = Publisher(redis_client, 1000)
    publisher.publish("x", None)
    redis_client.script_flush()
    publisher.publish_many([body("y", None), body("z", None)])
    assert [orjson.loads(f[b"d"])["type"] for _, f in redis_client.xrange(keys.EVENT_STREAM)] == [
        "x",
        "y",
        "z",
    ]

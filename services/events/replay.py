"""Reading the event log: what a reconnecting client missed, and whether some of it is gone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

import redis.asyncio
from redis.exceptions import ResponseError

from services.common import keys
from services.common.events import id_tuple, with_id
from services.events.frames import Frame, Order, event_frame

# Entries read per XRANGE: bounds the memory of one replay and the time Redis spends on it.
BATCH = 500

_MAX_PART = 2**64

# An XRANGE entry as redis-py returns it without decode_responses.
Entry = tuple[bytes, dict[bytes, bytes]]


def parse_event_id(raw: str) -> Order | None:
    """A Last-Event-ID as an order, or None if it is no stream id."""
    try:
        order = id_tuple(raw.strip())
    except ValueError:
        return None
    if not all(0 <= part < _MAX_PART for part in order):
        return None
    return order


def format_id(order: Order) -> str:
    return f"{order[0]}-{order[1]}"


async def lost_after(client: redis.asyncio.Redis, after: Order) -> bool:
    """Whether events after ``after`` may have been trimmed from the log (or the log was lost).

    Trimming removes the oldest entries, all older than the first one left; Redis does not
    say which was the newest removed, so when ``after`` is older than the first entry left
    and some were removed this answers yes, a false alarm only if ``after`` was that one.
    """
    try:
        info = await client.xinfo_stream(keys.EVENT_STREAM)
    except ResponseError:
        # No log at all: a client that holds an id has lost whatever came after it.
        return after > (0, 0)
    if after >= id_tuple(_text(info["last-generated-id"])):
        return False
    first = info.get("first-entry")
    if first is None:  # emptied: everything after ``after`` is gone
        return True
    added = info.get("entries-added")  # Redis >= 7
    trimmed = added is None or int(added) > int(info["length"])
    return trimmed and id_tuple(_text(first[0])) > after


async def missed(client: redis.asyncio.Redis, after: Order) -> AsyncIterator[list[Frame]]:
    """Every logged event after ``after``, in order, one XRANGE batch at a time."""
    cursor = after
    while True:
        entries = cast(
            list[Entry],
            await client.xrange(keys.EVENT_STREAM, min=f"({format_id(cursor)}", max="+", count=BATCH),
        )
        frames = [frame for entry in entries if (frame := _entry_frame(entry)) is not None]
        if frames:
            yield frames
        if len(entries) < BATCH:
            return
        cursor = id_tuple(_text(entries[-1][0]))


async def newest(client: redis.asyncio.Redis) -> Order:
    """The id of the last logged event, or 0-0 if there is none."""
    entries = cast(list[Entry], await client.xrevrange(keys.EVENT_STREAM, count=1))
    return id_tuple(_text(entries[0][0])) if entries else (0, 0)


def _entry_frame(entry: Entry) -> Frame | None:
    entry_id, fields = entry
    stored = fields.get(b"d")
    return event_frame(with_id(_text(entry_id), stored)) if stored else None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value

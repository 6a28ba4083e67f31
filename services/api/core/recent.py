"""The newest events of the log, for the dashboard's "last events" list."""

from __future__ import annotations

from typing import Any, cast

import orjson
import redis.asyncio

from services.common import keys


async def recent_events(client: redis.asyncio.Redis, count: int) -> list[dict[str, Any]]:
    """Up to ``count`` events, newest first, each with its id."""
    # Entries as redis-py returns them without decode_responses.
    entries = cast(
        list[tuple[bytes, dict[bytes, bytes]]], await client.xrevrange(keys.EVENT_STREAM, count=count)
    )
    events = []
    for entry_id, fields in entries:
        stored = fields.get(b"d")
        if stored:
            event = orjson.loads(stored)
            event["id"] = entry_id.decode()
            events.append(event)
    return events

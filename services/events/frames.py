"""SSE frames: the bytes a browser receives, built once per event per process.

A :class:`Frame` is shared by every client's mailbox, so fanning an event out to N
clients costs N pointers, not N serializations.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

import orjson

from services.common.events import id_tuple

log = logging.getLogger("wmi2.events")

Order = tuple[int, int]


class Frame(NamedTuple):
    # The event log id as a comparable pair, or None for frames that are not events
    # (heartbeats, notices): those are never deduplicated.
    order: Order | None
    data: bytes


HEARTBEAT = Frame(None, b": ping\n\n")

GAP_EVENT = "stream.gap"


def _clean(value: str) -> bytes:
    # A newline inside an SSE field would end it and let the rest forge fields.
    return value.replace("\r", " ").replace("\n", " ").encode()


def event_frame(raw: bytes) -> Frame | None:
    """The frame of one full event JSON, or None (logged) if it is not an event."""
    try:
        event = orjson.loads(raw)
        event_id = str(event["id"])
        order = id_tuple(event_id)
        kind = str(event.get("type") or "message")
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        log.warning("skipping a malformed event: %.200r", raw)
        return None
    # orjson never writes a raw newline, but a foreign publisher might: one data line each.
    data = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\ndata: ")
    return Frame(order, b"id: %s\nevent: %s\ndata: %s\n\n" % (_clean(event_id), _clean(kind), data))


def gap_frame(after: str | None) -> Frame:
    """Tells the page that events after ``after`` may be lost, so it should reload its state.

    It has no ``id:`` line, so the browser's Last-Event-ID stays where it was.
    """
    body = orjson.dumps({"type": GAP_EVENT, "after": after})
    return Frame(None, b"event: %s\ndata: %s\n\n" % (GAP_EVENT.encode(), body))


def retry_frame(millis: int) -> Frame:
    """How long the browser waits before reconnecting after this stream ends."""
    return Frame(None, b"retry: %d\n\n" % millis)

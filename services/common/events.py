"""Events: their shape, and the one way to publish them.

An event is ``{id, type, host, job, actor, at, data}``. Its ``id`` is the id Redis
gives it in the event log (a stream), so it is also the SSE ``id:`` a browser sends
back as ``Last-Event-ID``. Publishing is one Lua script that appends to the stream and
publishes on the live channel atomically: the order on the channel is the order in
the log, which is what lets the events service join replay and live without a gap or
a duplicate.

The log stores the event without its id (the entry's id is the id); the channel
carries the full JSON, so the events service serializes nothing per client.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import redis

from services.common import keys

# The one way an event enters the log and the channel, as a Lua function that other
# scripts prepend (services.common.hoststate) so that a state change and its event are
# one atomic step: publish(stream, channel, body, max_len) -> the event's id.
LUA_PUBLISH = """
local function publish(stream, channel, body, max_len)
  local id = redis.call('XADD', stream, 'MAXLEN', '~', max_len, '*', 'd', body)
  redis.call('PUBLISH', channel, '{"id":"' .. id .. '",' .. string.sub(body, 2))
  return id
end
"""

_PUBLISH = LUA_PUBLISH + "return publish(KEYS[1], KEYS[2], ARGV[1], ARGV[2])\n"


def body(
    type: str,
    host: str | None,
    data: dict[str, Any] | None = None,
    *,
    job: str | None = None,
    actor: str | None = None,
) -> bytes:
    """The event serialized without its id (the log assigns it)."""
    return orjson.dumps(
        {
            "type": type,
            "host": host,
            "job": job,
            "actor": actor,
            "at": datetime.now(UTC).isoformat(),
            "data": data or {},
        }
    )


def with_id(event_id: str, event_body: bytes) -> bytes:
    """The full event JSON: the log id put in front of a stored body."""
    return b'{"id":"' + event_id.encode() + b'",' + event_body[1:]


class Publisher:
    """Publishes events through one registered script (one round trip each)."""

    def __init__(self, client: redis.Redis, max_len: int) -> None:
        self._client = client
        self._script = client.register_script(_PUBLISH)
        self._max_len = max_len

    def publish(
        self,
        type: str,
        host: str | None,
        data: dict[str, Any] | None = None,
        *,
        job: str | None = None,
        actor: str | None = None,
    ) -> str:
        return self.publish_body(body(type, host, data, job=job, actor=actor))

    def publish_body(self, raw: bytes) -> str:
        """Publish an event already serialized by :func:`body`; return its id."""
        event_id = self._script(keys=[keys.EVENT_STREAM, keys.EVENT_CHANNEL], args=[raw, self._max_len])
        return event_id.decode() if isinstance(event_id, bytes) else str(event_id)

    def publish_many(self, raws: list[bytes]) -> None:
        """Publish events already serialized by :func:`body`, in order, in one round trip."""
        if not raws:
            return
        pipe = self._client.pipeline(transaction=False)
        for raw in raws:
            self.queue(pipe, raw)
        for raw, result in zip(raws, pipe.execute(raise_on_error=False), strict=True):
            if isinstance(result, redis.exceptions.NoScriptError):
                self.publish_body(raw)
            elif isinstance(result, Exception):
                raise result

    def queue(self, pipe: redis.client.Pipeline, raw: bytes) -> None:
        """Add the publication of ``raw`` (made by :func:`body`) to ``pipe``: a MULTI makes it
        atomic with the rest, and it costs no round trip of its own.

        A Redis that does not know the script (restarted since) answers NoScriptError in
        its place: publish ``raw`` again with :meth:`publish_body`, which loads the script.
        """
        pipe.evalsha(self._script.sha, 2, keys.EVENT_STREAM, keys.EVENT_CHANNEL, raw, self._max_len)


def id_tuple(event_id: str) -> tuple[int, int]:
    """A stream id as a comparable pair; ``"0"`` and ``"0-0"`` come before every id."""
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)

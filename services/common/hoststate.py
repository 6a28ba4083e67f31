"""A host's announced state, online or offline, and the only two ways it flips.

Whether a host's worker is alive is its heartbeat key (``keys.host_heartbeat``): the
worker sets it with a TTL at every beat, so it exists while the worker lives and for at
most one TTL after it died. What was last *announced* about the host is another key,
``keys.host_state``. Each flip of that key is one Lua script that checks it, flips it and
publishes the event through the same XADD+PUBLISH as every event
(``services.common.events.LUA_PUBLISH``). Being atomic, a flip happens once per
transition however many processes try it at the same moment, so every transition gets
exactly one event:

- a beat renews the heartbeat, updates the host's record in ``keys.HOSTS`` and, if the
  state was not "online" (the worker's first start, its return, or a Redis that lost its
  data), sets it and publishes ``host.online``;
- :meth:`HostStates.mark_offline` flips an "online" host whose heartbeat is gone to
  "offline" and publishes ``host.offline``. The worker calls it as it stops, dropping its
  heartbeat in the same script; the monitor (``services.events.hostmonitor``) calls it for
  a host whose heartbeat expired because its worker died without a word.
"""

from __future__ import annotations

from typing import Any

import orjson
import redis

from services.common import events, keys

ONLINE = "online"
OFFLINE = "offline"

# KEYS: heartbeat, hosts hash, state, stream, channel.
# ARGV: now, ttl in ms, host, record JSON, host.online body, stream max length.
BEAT_SCRIPT = (
    events.LUA_PUBLISH
    + """
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
if redis.call('GET', KEYS[3]) == 'online' then
  return false
end
redis.call('SET', KEYS[3], 'online')
return publish(KEYS[4], KEYS[5], ARGV[5], ARGV[6])
"""
)

# KEYS: heartbeat, state, stream, channel.
# ARGV: host.offline body, stream max length, "1" to drop the heartbeat first (a worker
# that stops) or "0" to act only if it has expired (the monitor: a beat that arrived since
# it looked wins, and the host stays online).
OFFLINE_SCRIPT = (
    events.LUA_PUBLISH
    + """
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[1])
elseif redis.call('EXISTS', KEYS[1]) == 1 then
  return false
end
if redis.call('GET', KEYS[2]) ~= 'online' then
  return false
end
redis.call('SET', KEYS[2], 'offline')
return publish(KEYS[3], KEYS[4], ARGV[1], ARGV[2])
"""
)


def beat_keys(host: str) -> list[str]:
    heartbeat, state = keys.host_heartbeat(host), keys.host_state(host)
    return [heartbeat, keys.HOSTS, state, keys.EVENT_STREAM, keys.EVENT_CHANNEL]


def offline_keys(host: str) -> list[str]:
    return [keys.host_heartbeat(host), keys.host_state(host), keys.EVENT_STREAM, keys.EVENT_CHANNEL]


def offline_body(host: str, last_seen: str | None, reason: str) -> bytes:
    return events.body("host.offline", host, {"last_seen": last_seen, "reason": reason})


def last_seen(record: bytes | str | None) -> str | None:
    """When a host was last heard from, from its record in ``keys.HOSTS``."""
    if not record:
        return None
    try:
        value = orjson.loads(record).get("last_seen")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _event_id(raw: Any) -> str | None:
    if raw is None:
        return None
    return raw.decode() if isinstance(raw, bytes) else str(raw)


class HostStates:
    """The worker's side: beat, and announce its own stop (blocking client, from a thread)."""

    def __init__(self, client: redis.Redis, max_len: int) -> None:
        self._beat = client.register_script(BEAT_SCRIPT)
        self._offline = client.register_script(OFFLINE_SCRIPT)
        self._max_len = max_len

    def beat(self, host: str, record: dict[str, Any], ttl: float) -> str | None:
        """Renew the heartbeat; the id of the ``host.online`` event if this beat brought it online."""
        now = record["last_seen"]
        online = events.body("host.online", host, {"last_seen": now, "started_at": record.get("started_at")})
        args = [now, max(1, int(ttl * 1000)), host, orjson.dumps(record), online, self._max_len]
        return _event_id(self._beat(keys=beat_keys(host), args=args))

    def stopped(self, host: str, last_seen: str | None, reason: str = "its worker stopped") -> str | None:
        """The worker stops: drop its heartbeat and announce ``host.offline`` at once."""
        body = offline_body(host, last_seen, reason)
        return _event_id(self._offline(keys=offline_keys(host), args=[body, self._max_len, "1"]))

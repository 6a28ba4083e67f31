"""The monitor that notices a worker which died without a word, and announces ``host.offline``.

A worker that stops cleanly announces its own ``host.offline``; one that is killed, or
whose machine or network goes away, cannot. Its heartbeat key then expires (at most
``heartbeat_ttl`` after its last beat), and this monitor, sweeping every host once a
second, flips the host to offline. Any number of processes may run it at once: the flip
is a compare-and-set script (``services.common.hoststate``), so each death is announced
once, by whichever sweep gets there first. The events service runs it (see its
``EventsService.start``), since that service runs wherever browsers are watching, in a
one-host setup as in a fleet.
"""

from __future__ import annotations

import asyncio
import logging

import redis
import redis.asyncio

from services.common import keys
from services.common.hoststate import OFFLINE_SCRIPT, ONLINE, last_seen, offline_body, offline_keys

log = logging.getLogger(__name__)

# Added to the TTL, this bounds the delay of host.offline: with the defaults (a beat every
# 2 s, a TTL of 6 s) a dead worker is announced within 7 s, under the 10 s promised.
SWEEP_INTERVAL = 1.0


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class HostMonitor:
    def __init__(self, client: redis.asyncio.Redis, max_len: int, interval: float = SWEEP_INTERVAL) -> None:
        self.client = client
        self.interval = interval
        self._offline = client.register_script(OFFLINE_SCRIPT)
        self._max_len = max_len

    async def sweep(self) -> list[str]:
        """Announce every host found online whose heartbeat is gone; return their names.

        Two round trips when nothing changed (the hosts, then their heartbeats and states);
        the script re-checks both atomically before flipping anything.
        """
        records = {_text(k): v for k, v in (await self.client.hgetall(keys.HOSTS)).items()}
        if not records:
            return []
        names = sorted(records)
        pipe = self.client.pipeline(transaction=False)
        for name in names:
            pipe.exists(keys.host_heartbeat(name))
            pipe.get(keys.host_state(name))
        found = await pipe.execute()
        gone = []
        for name, beating, state in zip(names, found[0::2], found[1::2], strict=True):
            if beating or state is None or _text(state) != ONLINE:
                continue
            seen = last_seen(records[name])
            reason = f"its worker has not been heard from since {seen}" if seen else "its worker is gone"
            body = offline_body(name, seen, reason)
            if await self._offline(keys=offline_keys(name), args=[body, self._max_len, "0"]) is not None:
                log.warning("host %s is offline: %s", name, reason)
                gone.append(name)
        return gone

    async def run(self) -> None:
        """Sweep until cancelled. A failure is logged once and the sweeps go on: a monitor
        that died quietly would leave every dead worker's host shown online."""
        failing = False
        while True:
            try:
                await self.sweep()
                failing = False
            except redis.RedisError as exc:
                if not failing:
                    log.warning("host monitor: Redis unreachable (%s); retrying", exc)
                failing = True
            except Exception:
                if not failing:
                    log.exception("host monitor: a sweep failed; retrying")
                failing = True
            await asyncio.sleep(self.interval)

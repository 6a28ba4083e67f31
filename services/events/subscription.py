"""The process's one subscription to the live channel, which survives Redis going away.

Every time the subscription is (re)confirmed, whether we reconnected or redis-py did
behind our back, it first delivers from the log everything after the last event it
delivered, then resumes live, dropping live events it already delivered from the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio
from redis.exceptions import RedisError

from services.common import keys
from services.events import replay
from services.events.frames import Frame, Order, event_frame

log = logging.getLogger("wmi2.events")

MIN_BACKOFF = 0.1
MAX_BACKOFF = 5.0


class Subscription:
    def __init__(
        self,
        client: redis.asyncio.Redis,
        deliver: Callable[[Frame], Awaitable[None]],
        sessions_ended: Callable[[set[str]], None],
    ) -> None:
        self._client = client
        self._deliver = deliver
        self._sessions_ended = sessions_ended
        # The last event delivered to the hub; None until the first subscription.
        self._last: Order | None = None
        self._delay = MIN_BACKOFF
        self.subscribed = False
        # Set once, at the first confirmed subscription: the service waits for it at start.
        self.ready = asyncio.Event()

    @property
    def last_id(self) -> str | None:
        return replay.format_id(self._last) if self._last else None

    async def run(self) -> None:
        """Follow the channel forever, reconnecting with exponential backoff."""
        while True:
            try:
                await self._follow()
            except (RedisError, OSError) as exc:
                log.warning("event subscription lost (%s); retrying in %.1fs", exc, self._delay)
            except Exception:
                # Whatever went wrong, a process without its subscription serves nothing:
                # log it and start over (the fill makes up for what was skipped).
                log.exception("event subscription failed; retrying in %.1fs", self._delay)
            await asyncio.sleep(self._delay)
            self._delay = min(self._delay * 2, MAX_BACKOFF)

    async def _follow(self) -> None:
        pubsub = self._client.pubsub()
        try:
            if self._last is None:
                # Read before subscribing: the fill after the confirmation then covers
                # anything published while the subscription was being set up.
                self._last = await replay.newest(self._client)
            # The events channel last: its confirmation triggers the fill.
            await pubsub.subscribe(keys.SESSIONS_ENDED_CHANNEL, keys.EVENT_CHANNEL)
            async for message in pubsub.listen():
                await self._handle(message)
        finally:
            self.subscribed = False
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]  # untyped in redis-py

    async def _handle(self, message: dict[str, Any]) -> None:
        channel = message.get("channel")
        if channel in (keys.SESSIONS_ENDED_CHANNEL, keys.SESSIONS_ENDED_CHANNEL.encode()):
            if message["type"] == "message":
                self._sessions_ended(set(message["data"].decode().split(",")))
        elif message["type"] == "subscribe":
            await self._fill()
            self.subscribed = True
            self.ready.set()
            self._delay = MIN_BACKOFF
            log.info("event subscription ready after %s", self.last_id)
        elif message["type"] == "message":
            frame = event_frame(message["data"])
            if frame is not None:
                await self._pass(frame)

    async def _fill(self) -> None:
        assert self._last is not None
        async for frames in replay.missed(self._client, self._last):
            for frame in frames:
                await self._pass(frame)

    async def _pass(self, frame: Frame) -> None:
        # Publishing is atomic (XADD then PUBLISH in one script), so live ids only grow;
        # anything at or below the last delivered id came from a fill already.
        assert frame.order is not None
        if self._last is not None and frame.order <= self._last:
            return
        self._last = frame.order
        await self._deliver(frame)

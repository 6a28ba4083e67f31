"""The events service's per-process runtime: Redis clients, the hub and its background tasks."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import redis.asyncio

from services.common.hostmonitor import HostMonitor
from services.common.redis import async_client
from services.common.settings import Settings
from services.events.hub import Hub
from services.events.shutdown import on_server_exit
from services.events.subscription import Subscription

log = logging.getLogger("wmi2.events")

# Session checks and replays share this many Redis connections; when thousands of
# browsers reconnect at once they wait their turn instead of opening thousands.
REQUEST_CONNECTIONS = 32
# How long a request waits for one of them before failing (503, or the stream ends).
CONNECTION_WAIT = 10.0
# How long start() waits for the first subscription before serving anyway.
READY_WAIT = 5.0


class EventsService:
    def __init__(self, settings: Settings) -> None:
        url = settings.resolved_redis_url
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            url, max_connections=REQUEST_CONNECTIONS, timeout=CONNECTION_WAIT, health_check_interval=30
        )
        self.redis = redis.asyncio.Redis(connection_pool=pool)
        # The subscription has its own client, so a storm of requests cannot starve it.
        self._subscriber = async_client(url)
        self.hub = Hub(settings.sse_queue_size)
        self.subscription = Subscription(self._subscriber, self.hub.deliver, self.hub.end_sessions)
        self._heartbeat = settings.sse_heartbeat
        # Announces host.offline for a worker that died without a word. It runs here since
        # this service runs wherever browsers watch (one host or a fleet); every replica may
        # run it, the flip being a compare-and-set. Its own client: neither a storm of
        # requests nor the subscription can delay it.
        self._monitor_client = async_client(url)
        self.monitor = HostMonitor(self._monitor_client, settings.event_log_max)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Start the subscription, heartbeat and host monitor (once), and wait a little for the first."""
        if not self._tasks:
            self._tasks.append(asyncio.create_task(self.subscription.run()))
            self._tasks.append(asyncio.create_task(self.monitor.run()))
            self._tasks.append(asyncio.create_task(on_server_exit(self.hub.close_all)))
            if self._heartbeat > 0:
                self._tasks.append(asyncio.create_task(self.hub.beat(self._heartbeat)))
        if not self.subscription.ready.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.subscription.ready.wait(), READY_WAIT)

    async def stop(self) -> None:
        self.hub.close_all()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.redis.aclose(close_connection_pool=True)
        await self._subscriber.aclose()
        await self._monitor_client.aclose()

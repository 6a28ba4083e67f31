"""The events service's per-process runtime: Redis clients, the hub and its background tasks."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging

import redis.asyncio

from services.common.db import sessionmaker_for
from services.common.redis import async_client, reconnect_once_async
from services.common.sessions import AccountCheck
from services.common.settings import Settings
from services.events.hostmonitor import HostMonitor
from services.events.hub import Hub
from services.events.liveness import SessionCheck
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
# The cyclic garbage collector's thresholds once serving. Each open stream keeps some
# hundred tracked objects (task, frames, mailbox, transport), so with thousands of clients
# the default thresholds (700, 10, 10) run full collections whose pauses every event in
# flight waits out (loadtest/RESULTS.md, "The events service's memory and collector").
# Reference counting frees almost everything a delivery allocates; the collector only has
# cycles left to find, such as a dropped stream's exception and frames.
GC_THRESHOLDS = (100_000, 20, 10)


def tune_gc() -> None:
    """Exempt what start-up made (modules, app, templates) from collections; collect less often."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class EventsService:
    def __init__(self, settings: Settings) -> None:
        url = settings.resolved_redis_url
        # Requests time out on a frozen Redis (503) rather than hang; the subscription, which
        # waits for events as long as it takes, has no such timeout.
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            url, max_connections=REQUEST_CONNECTIONS, timeout=CONNECTION_WAIT, health_check_interval=30,
            socket_timeout=settings.redis_timeout, socket_connect_timeout=settings.redis_timeout,
            retry=reconnect_once_async(),
        )  # fmt: skip
        self.redis = redis.asyncio.Redis(connection_pool=pool)
        # The subscription has its own client, so a storm of requests cannot starve it.
        self._subscriber = async_client(url)
        self.hub = Hub(settings.sse_queue_size)
        # Redis is not trusted to say who a session is: its account is asked too, at the
        # stream's opening and at every heartbeat.
        db_sessions = sessionmaker_for(settings.resolved_database_url)
        self.accounts = AccountCheck(db_sessions, settings.account_check_ttl)
        self.sessions = SessionCheck(self.redis, self.accounts)
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
            tune_gc()
            self._tasks.append(asyncio.create_task(self.subscription.run()))
            self._tasks.append(asyncio.create_task(self.monitor.run()))
            self._tasks.append(asyncio.create_task(on_server_exit(self.hub.close_all)))
            if self._heartbeat > 0:
                self._tasks.append(asyncio.create_task(self.hub.beat(self._heartbeat, self.sessions.ended)))
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

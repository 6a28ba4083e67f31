"""Redis clients made from the settings, one pool per process."""

from __future__ import annotations

from functools import lru_cache

import redis
import redis.asyncio
import redis.asyncio.retry
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.retry import Retry

# A patient client's retries: 0.05 s doubling up to 1 s, about 15 s in all, which covers a
# Redis restart (or a failover) without covering an outage.
PATIENT_RETRIES = 20


def reconnect_once() -> Retry:
    """A pooled connection that a Redis restart closed fails at its next command: tried once
    more on a new connection. A timeout is not retried: a frozen Redis stays one timeout."""
    return Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))


def reconnect_once_async() -> redis.asyncio.retry.Retry:
    return redis.asyncio.retry.Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))


@lru_cache(maxsize=4)
def sync_client(url: str, timeout: float | None = None) -> redis.Redis:
    """``timeout`` bounds each command and connection: None waits as long as TCP does, which
    suits a process with nobody waiting on it, never a web request."""
    return redis.Redis.from_url(url, health_check_interval=30, socket_timeout=timeout,
                                socket_connect_timeout=timeout, retry=reconnect_once())  # fmt: skip


def async_client(url: str, timeout: float | None = None) -> redis.asyncio.Redis:
    """A new async client: each event loop needs its own."""
    return redis.asyncio.Redis.from_url(
        url, health_check_interval=30, socket_timeout=timeout, socket_connect_timeout=timeout,
        retry=reconnect_once_async(),
    )  # fmt: skip


def patient_client(url: str) -> redis.Redis:
    """A new client for a worker: each command is retried on a lost connection for some 15 s, so that a
    Redis blip neither fails a job that is changing a host nor loses its events.

    A command whose reply was lost with the connection may run twice; the worker's
    writes are idempotent (SET of the model, the applied mark) but for the event log, where
    such a retry may add an event twice, and a browser applies an event twice harmlessly.
    """
    retry = Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), PATIENT_RETRIES)
    return redis.Redis.from_url(url, health_check_interval=30, retry=retry)

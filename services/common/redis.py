"""Redis clients made from the settings, one pool per process."""

from __future__ import annotations

from functools import lru_cache

import redis
import redis.asyncio


@lru_cache(maxsize=4)
def sync_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, health_check_interval=30)


def async_client(url: str) -> redis.asyncio.Redis:
    """A new async client: each event loop needs its own."""
    return redis.asyncio.Redis.from_url(url, health_check_interval=30)

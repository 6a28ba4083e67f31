"""What every task of this worker process shares: settings, Redis, the event publisher, the host."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import redis

from services.common.events import Publisher
from services.common.redis import patient_client
from services.common.settings import Settings, get_settings
from services.worker.apply import Host


@dataclass(frozen=True)
class WorkerContext:
    settings: Settings
    client: redis.Redis
    publisher: Publisher
    host: Host
    # Resolved once: resolving the data dir is a few syscalls, twice per job otherwise.
    database_url: str


def host_of(settings: Settings) -> Host:
    return Host(
        name=settings.host_name,
        sysroot=settings.resolved_sysroot,
        archive_dir=settings.archive_dir,
        manage_system_accounts=settings.manage_system_accounts,
    )


@lru_cache(maxsize=1)
def context() -> WorkerContext:
    settings = get_settings()
    client = patient_client(settings.resolved_redis_url)
    return WorkerContext(
        settings=settings,
        client=client,
        publisher=Publisher(client, settings.event_log_max),
        host=host_of(settings),
        database_url=settings.resolved_database_url,
    )

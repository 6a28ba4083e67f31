"""The host lock: one change or re-read of a host's account files at a time, across processes.

The lock expires soon after its holder dies (a SIGKILLed worker must not block the
host for long), so a live holder keeps extending it from a small thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from redis.exceptions import LockError

from services.common import keys

log = logging.getLogger(__name__)

# Seconds a dead holder's lock outlives it; a live holder extends it every third of that.
TTL = 20.0
# Seconds to wait for the lock: longer than any change (archiving a big home) should take.
WAIT = 3600.0
# Seconds between two tries of a waiter. redis-py's default (0.1) added up to a tenth of a
# second to a job that found the watcher re-reading; a try is one cheap SET NX.
POLL = 0.005


class HostBusy(Exception):
    """The host lock could not be taken in time."""


def _keep(lock: redis.lock.Lock, stop: threading.Event) -> None:
    while not stop.wait(TTL / 3):
        try:
            lock.reacquire()
        except (LockError, redis.RedisError) as exc:
            log.warning("could not extend the host lock: %s", exc)


@contextmanager
def host_lock(client: redis.Redis, host: str, wait: float = WAIT, poll: float = POLL) -> Iterator[None]:
    # thread_local=False: the keeper thread must see the token that this thread acquired.
    lock = client.lock(
        keys.host_lock(host), timeout=TTL, sleep=poll, blocking_timeout=wait, thread_local=False
    )
    if not lock.acquire():
        raise HostBusy(f"The accounts of {host} stayed busy for {wait:.0f} seconds.")
    stop = threading.Event()
    keeper = threading.Thread(target=_keep, args=(lock, stop), name="host-lock-keeper", daemon=True)
    keeper.start()
    try:
        yield
    finally:
        stop.set()
        keeper.join()
        try:
            lock.release()
        except LockError as exc:
            log.warning("the host lock was lost before its release: %s", exc)

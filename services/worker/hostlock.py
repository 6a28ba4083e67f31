"""The host lock: one change or re-read of a host's account files at a time, across processes.

The lock expires soon after its holder dies (a SIGKILLed worker must not block the
host for long), so a live holder keeps extending it from a small thread. Sooner still, a
waiter that finds the holder dead (see :mod:`services.worker.holder`) removes its lock and
takes it: no writer can still be inside, since the tools a holder runs die with it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from redis.exceptions import LockError

from services.common import keys
from services.worker import holder

log = logging.getLogger(__name__)

# Seconds a dead holder's lock outlives it; a live holder extends it every third of that.
TTL = 20.0
# Seconds to wait for the lock: longer than any change (archiving a big home) should take.
WAIT = 3600.0
# Seconds between two tries of a waiter. redis-py's default (0.1) added up to a tenth of a
# second to a job that found the watcher re-reading; a try is one cheap SET NX.
POLL = 0.005
# Seconds a waiter tries before it looks whether the holder is still alive.
LIVENESS_CHECK = 0.5

# Deletes the lock only if it still holds the dead holder's token: a live process that took
# it meanwhile keeps it.
_TAKE_OVER = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class HostBusy(Exception):
    """The host lock could not be taken in time."""


def _keep(lock: redis.lock.Lock, stop: threading.Event) -> None:
    while not stop.wait(TTL / 3):
        try:
            lock.reacquire()
        except (LockError, redis.RedisError) as exc:
            log.warning("could not extend the host lock: %s", exc)


def _clear_if_dead(client: redis.Redis, name: str) -> None:
    token = client.get(name)
    if not isinstance(token, bytes) or not holder.is_dead(token.decode()):
        return
    if client.eval(_TAKE_OVER, 1, name, token):
        log.warning("the host lock %s was held by a process that is gone: taken over", name)


def _acquire(client: redis.Redis, lock: redis.lock.Lock, wait: float) -> bool:
    deadline = time.monotonic() + wait
    token = holder.me().token()
    while True:
        left = deadline - time.monotonic()
        if lock.acquire(blocking_timeout=max(min(LIVENESS_CHECK, left), 0), token=token):
            return True
        if left <= LIVENESS_CHECK:
            return False
        _clear_if_dead(client, str(lock.name))


@contextmanager
def host_lock(client: redis.Redis, host: str, wait: float = WAIT, poll: float = POLL) -> Iterator[None]:
    # thread_local=False: the keeper thread must see the token that this thread acquired.
    lock = client.lock(keys.host_lock(host), timeout=TTL, sleep=poll, thread_local=False)
    if not _acquire(client, lock, wait):
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

"""Issue 10.5: a dead lock holder stalled its host for the lock's whole TTL (20 s).

Bug: a worker SIGKILLed inside the host lock left the lock in Redis until it expired, and
a Redis restarted from its append-only file brought a dead holder's lock back; meanwhile
no change ran and the host looked stuck. Fix: the lock's token names its holder (boot,
pid namespace, pid, start time); a waiter that finds that process gone deletes the lock
(only if it still holds that token) and takes it. A live holder, or one the waiter cannot
see, is never overtaken.
"""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
import redis

from services.common import keys
from services.worker import holder
from services.worker.hostlock import TTL, HostBusy, host_lock
from tests.support.processes import ROOT

HOST = "lockhost"
HOLD = """
import sys, time, redis
from services.worker.hostlock import host_lock
with host_lock(redis.Redis.from_url(sys.argv[1]), sys.argv[2]):
    print("held", flush=True)
    time.sleep(600)
"""
# Far less than the TTL: getting the lock within it proves a take-over, not an expiry.
WAIT = TTL / 4


def _holding(url: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-c", HOLD, url, HOST]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_killed_holder_s_lock_is_taken_over(redis_url: str, redis_client: redis.Redis) -> None:
    proc = _holding(redis_url)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert redis_client.exists(keys.host_lock(HOST)), "the dead holder's lock should still be there"
    with host_lock(redis_client, HOST, wait=WAIT):
        token = redis_client.get(keys.host_lock(HOST))
        assert token is not None and not holder.is_dead(token.decode())


def test_a_live_holder_keeps_its_lock(redis_url: str, redis_client: redis.Redis) -> None:
    proc = _holding(redis_url)
    try:
        with pytest.raises(HostBusy), host_lock(redis_client, HOST, wait=1.5):
            pass
    finally:
        proc.kill()
        proc.wait()


def test_a_holder_out_of_sight_is_not_judged(redis_client: redis.Redis) -> None:
    """A token from another pid namespace or boot (another container or machine) may belong
    to a live process: it is left to expire."""
    me = holder.me()
    for other in (
        holder.Holder(me.boot, me.namespace + 1, 999_999, 1.0),
        holder.Holder("another-boot", me.namespace, 999_999, 1.0),
    ):
        assert not holder.is_dead(other.token())
    assert holder.is_dead(holder.Holder(me.boot, me.namespace, me.pid, me.started + 1).token())
    assert not holder.is_dead(me.token())
    assert not holder.is_dead("not-a-token")

"""Issue 10.6: a redelivered job ran after jobs accepted later (``ka0061`` after ``ka0199``).

Bug: kombu's Redis transport takes messages from the right end of the queue but handed a
message back at the left (behind everything queued since): both when a pool process died
mid-job (``task_reject_on_worker_lost``) and when a restarted worker handed back its dead
predecessor's unacknowledged messages. "Create, then modify" became "modify (fails),
then create". Fix: a message handed back goes to the head of its queue (RPUSH), orphans in
the order they were delivered.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psutil
import pytest
import redis

from services.worker.hostlock import host_lock
from services.worker.jobs import MAX_ATTEMPTS
from services.worker.tasks import GAVE_UP
from tests.support.jobs import HOST, Jobs, events
from tests.support.processes import Service
from tests.support.sandbox_files import entry
from tests.support.wait import wait_for


def _kill_pool_child(worker: Service) -> None:
    [child] = psutil.Process(worker.pid).children()
    os.kill(child.pid, signal.SIGKILL)
    child.wait(30)


def _kill_whole_worker(worker: Service) -> None:
    main = psutil.Process(worker.pid)
    for process in [main, *main.children(recursive=True)]:
        process.kill()
    psutil.wait_procs([main], timeout=30)
    worker.stop()
    worker.start()


@pytest.mark.parametrize("kill", [_kill_pool_child, _kill_whole_worker], ids=["pool-child", "whole-worker"])
def test_changes_apply_in_the_order_they_were_accepted(
    kill: object, worker: Service, jobs: Jobs, redis_client: redis.Redis, sysroot: Path
) -> None:
    with host_lock(redis_client, HOST):
        first = jobs.run("user.create", "ord", {"login": "ord", "create_home": False})
        wait_for(lambda: events(redis_client, first), timeout=60, what="the first job's job.running")
        later = [
            jobs.run("user.modify", "ord", {"login": "ord", "full_name": "Second"}),
            jobs.run("user.lock", "ord", {"login": "ord"}),
        ]
        assert callable(kill)
        kill(worker)
    for job_id in (first, *later):
        job = jobs.finished(job_id)
        assert job.state == "succeeded", (job.action, job.error)
    started = [e["job"] for e in events(redis_client) if e["type"] == "job.running"]
    assert started.index(later[0]) > len(started) - 1 - started[::-1].index(first), started
    passwd = entry(sysroot, "passwd", "ord")
    assert passwd is not None and passwd[4] == "Second"


def test_a_job_that_keeps_killing_its_worker_is_given_up(worker: Service, jobs: Jobs, sysroot: Path) -> None:
    """Put back at the head each time, such a job would block its host for ever."""
    job_id = jobs.create("user.create", "doom", state="running", attempts=MAX_ATTEMPTS)
    jobs.send(job_id, "user.create", {"login": "doom", "create_home": False})
    job = jobs.finished(job_id)
    assert (job.state, job.error) == ("failed", GAVE_UP.format(attempts=MAX_ATTEMPTS))
    assert entry(sysroot, "passwd", "doom") is None

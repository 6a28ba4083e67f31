"""Issues 10.2 and 10.9: a job accepted but never handed to the worker stayed queued for ever.

Bugs: a web process killed between committing a job and sending its Celery message left 19
of 62 jobs queued with no message; a worker SIGKILLed as it popped a message lost it (in
neither the queue nor kombu's unacknowledged set). Fix: the host's worker sweeps its host's
jobs that have been queued for a few seconds and sends again each one whose message it
finds neither waiting nor unacknowledged twice in a row: a message that exists is never
sent a second time, and a message is rebuilt from the job's row alone.
"""

from __future__ import annotations

from pathlib import Path

import redis

from services.common import keys
from services.worker.sweeper import Sweeper
from tests.support.jobs import HOST, Jobs
from tests.support.processes import Service
from tests.support.sandbox_files import entry


def test_only_a_job_missing_twice_is_sent_and_only_once(
    jobs: Jobs, sweeper: Sweeper, redis_client: redis.Redis
) -> None:
    sent = jobs.run("user.lock", "amy", {"login": "amy"})  # its message waits: no worker runs
    lost = jobs.create("user.lock", "bob")  # its api died before sending it
    finished = jobs.create("user.lock", "cat", state="succeeded")
    assert sweeper.sweep(age=0) == [], "a job missing once may be a message being popped"
    assert sweeper.sweep(age=0) == [lost]
    assert sweeper.sweep(age=0) == [] and sweeper.sweep(age=0) == []
    waiting = [m for m in redis_client.lrange(keys.host_queue(HOST), 0, -1)]
    assert sum(sent.encode() in m for m in waiting) == 1
    assert sum(lost.encode() in m for m in waiting) == 1
    assert not any(finished.encode() in m for m in waiting)


def test_a_young_job_is_left_to_its_api(jobs: Jobs, sweeper: Sweeper) -> None:
    jobs.create("user.lock", "dan")
    assert sweeper.sweep() == [] and sweeper.sweep() == []


def test_a_job_left_without_message_is_run_by_the_worker(worker: Service, jobs: Jobs, sysroot: Path) -> None:
    job_id = jobs.create("user.create", "eve", params={"login": "eve", "create_home": False})
    job = jobs.finished(job_id)
    assert (job.state, job.attempts) == ("succeeded", 1), job.error
    assert entry(sysroot, "passwd", "eve") is not None

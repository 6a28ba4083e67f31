"""Issue 10.3: a Redis blip during a job gave a false failure, and no final event at all.

Bugs: Redis restarted while a job waited for the host lock; the worker's next command
failed, the job was marked failed ("failed unexpectedly") though nothing was wrong with
it, its ``job.failed`` could not be published either, and the browser showed it running
for ever. Fixes: the worker's Redis client retries a lost connection for some 15 s, so the
job carries on once Redis is back; and a job that ends while Redis is away stays marked
unannounced in its row until the worker's sweeper has published its final event.
"""

from __future__ import annotations

from pathlib import Path

import redis
from sqlalchemy import update

from services.common.db import Job, sessionmaker_for
from services.worker.hostlock import host_lock
from services.worker.sweeper import Sweeper
from tests.support.jobs import HOST, Jobs, events
from tests.support.processes import Service
from tests.support.redis_server import RedisServer
from tests.support.sandbox_files import entry
from tests.support.wait import wait_for


def test_a_redis_restart_during_a_job_fails_nothing(
    worker: Service, jobs: Jobs, redis_server: RedisServer, redis_url: str, sysroot: Path
) -> None:
    client = redis.Redis.from_url(redis_url)
    with host_lock(client, HOST):
        # The job waits for the lock this test holds, polling Redis, when Redis goes.
        job_id = jobs.run("user.create", "rey", {"login": "rey", "create_home": False})
        wait_for(lambda: events(client, job_id), timeout=60, what="the job's job.running")
        redis_server.restart()  # its append-only file brings the lock back
    job = jobs.finished(job_id)
    assert job.state == "succeeded", job.error
    assert entry(sysroot, "passwd", "rey") is not None
    # Published right after the row is finished (or by the sweeper, had Redis been away).
    wait_for(lambda: events(client, job_id)[-1]["type"] == "job.succeeded", timeout=30, what="job.succeeded")
    published = [e["type"] for e in events(client, job_id)]
    assert published.count("user.created") == 1 and published.count("job.succeeded") == 1, published
    client.close()


def test_a_job_that_ended_unannounced_is_announced_from_its_row(
    jobs: Jobs, sweeper: Sweeper, redis_client: redis.Redis
) -> None:
    error = "usermod: user 'sue' does not exist"
    job_id = jobs.create("user.lock", "sue", state="failed")
    with sessionmaker_for(jobs.url).begin() as session:
        ended = {"announced": False, "error": error, "finished_at": Job.created_at}
        session.execute(update(Job).where(Job.id == job_id).values(**ended))
    assert sweeper.announce(age=0) == [job_id]
    [event] = events(redis_client, job_id)
    assert (event["type"], event["actor"], event["host"]) == ("job.failed", "admin", HOST)
    assert event["data"] == {
        "action": "user.lock",
        "target": "sue",
        "error": "usermod: user 'sue' does not exist",
    }
    assert sweeper.announce(age=0) == [], "announced once"
    assert jobs.get(job_id).announced

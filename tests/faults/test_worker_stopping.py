"""Issue 10.10: a worker told to stop was announced offline only at the end of its warm shutdown.

Bug: between SIGTERM and the end of the running job (1.5 s in one run) the host still
looked online, and the api accepted 14 changes for a worker that was going away. Fix: the
worker drops its heartbeat and announces ``host.offline`` as soon as Celery starts its
warm shutdown; the running job still finishes.
"""

from __future__ import annotations

import os
import signal

import orjson
import psutil
import redis

from services.common import keys
from services.worker.hostlock import host_lock
from tests.support.jobs import HOST, Jobs, events
from tests.support.processes import Service
from tests.support.wait import wait_for


def _offline_events(client: redis.Redis) -> list[dict[str, object]]:
    return [e for e in events(client) if e["type"] == "host.offline"]


def test_the_host_is_offline_from_the_start_of_the_shutdown(
    worker: Service, jobs: Jobs, redis_client: redis.Redis
) -> None:
    with host_lock(redis_client, HOST):
        # The job claims its row, then waits for the lock this test holds: it is running.
        job_id = jobs.run("user.create", "sam", {"login": "sam", "create_home": False})
        wait_for(lambda: events(redis_client, job_id), timeout=60, what="the job's job.running")
        os.kill(worker.pid, signal.SIGTERM)
        wait_for(lambda: not redis_client.exists(keys.host_heartbeat(HOST)), timeout=30,
                 what="the heartbeat to go")  # fmt: skip
        assert worker.alive(), "the worker should still be finishing its job"
        [offline] = _offline_events(redis_client)
        assert orjson.loads(orjson.dumps(offline))["data"]["reason"] == "its worker is stopping"
    job = jobs.finished(job_id)
    assert job.state == "succeeded", job.error
    psutil.Process(worker.pid).wait(30)
    assert len(_offline_events(redis_client)) == 1, "one transition, one event"

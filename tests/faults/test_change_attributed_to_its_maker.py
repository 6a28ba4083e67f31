"""Issue 10.3: a change was published under the id of a job that did not make it.

Bug: when a job could not publish its changes (Redis away), the next job's re-read found
them and published them as its own; likewise a change typed on the host in the instant
before a job, before the file watcher had re-read it. Fix: under the host lock and before
changing anything, a job publishes what changed since the model was stored: under the
name of the earlier job of its process that could not publish it, else as made outside
WMI2. Its own re-read then finds only its own change.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from services.common import keys
from services.common.settings import Settings
from services.worker.hostlock import host_lock
from tests.support.jobs import HOST, Jobs, events
from tests.support.processes import Service
from tests.support.wait import wait_for


@pytest.fixture
def slow_watching_worker(
    wmi_env: dict[str, str], settings: Settings, redis_client: redis.Redis
) -> Iterator[None]:
    """A worker whose file watch waits 3 s after a change: the job gets the lock first."""
    env = {**wmi_env, "WMI_WATCH_DEBOUNCE_MS": "3000"}
    service = Service(["worker"], env, settings.data_dir / "worker.log")
    service.start()
    try:
        wait_for(lambda: redis_client.exists(keys.host_heartbeat(HOST)), timeout=60, what="the worker")
        yield
    finally:
        service.stop()


def test_a_change_made_on_the_host_just_before_a_job_is_not_the_job_s(
    slow_watching_worker: None, jobs: Jobs, redis_client: redis.Redis, sysroot: Path
) -> None:
    with host_lock(redis_client, HOST):
        job_id = jobs.run("user.create", "own", {"login": "own", "create_home": False})
        wait_for(lambda: events(redis_client, job_id), timeout=60, what="the job's job.running")
        subprocess.run(["useradd", "-P", str(sysroot), "-M", "--", "outsider"], check=True)
    assert jobs.finished(job_id).state == "succeeded"
    created = {e["data"]["login"]: e for e in events(redis_client) if e["type"] == "user.created"}
    assert created["own"]["job"] == job_id
    assert created["outsider"]["job"] is None and created["outsider"]["data"]["external"] is True

"""The run_action task in a real Celery worker (``wmi2 worker``) on a sandbox host.

Starting a worker costs seconds: the tests that leave it running as they found it share
one (``TestOnOneWorker``, each with logins and groups of its own, each starting with no job
queued or unfinished); those that kill or stop it get their own (``worker``).
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import psutil
import pytest
import redis
from sqlalchemy import select

from services.common import keys
from services.common.db import Job, sessionmaker_for
from services.worker.hostlock import host_lock
from services.worker.sandbox import init_sandbox
from tests.conftest import host_settings, service_env, worker_running
from tests.support.jobs import Jobs, events
from tests.support.processes import Service
from tests.support.redis_server import RedisServer
from tests.support.sandbox_files import entry, members
from tests.support.wait import wait_for

HOST = "testhost"
HASH = "$6$saltsalt$SECRETHASHMARKERabcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789"


@dataclass
class OneWorker:
    worker: Service
    jobs: Jobs
    redis: redis.Redis
    sysroot: Path


@pytest.fixture(scope="class")
def one_worker(tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer) -> Iterator[OneWorker]:
    """A worker on a fresh sandbox and an emptied Redis, for the tests of a class."""
    if redis_server.proc is None:  # a test stopped it and failed before starting it again
        redis_server.start()
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    top = tmp_path_factory.mktemp("tasks")
    (top / "var").mkdir()
    sysroot = init_sandbox(top / "sysroot")
    settings = host_settings(top / "var", sysroot, redis_server.url)
    jobs = Jobs(settings)
    try:
        with worker_running(service_env(settings), settings) as worker:
            yield OneWorker(worker, jobs, client, sysroot)
    finally:
        jobs.celery.close()
        client.close()


@pytest.fixture
def shared(one_worker: OneWorker) -> OneWorker:
    """The class's worker, alive, with nothing left of the tests before: no message, no unfinished job."""
    assert one_worker.worker.alive(), one_worker.worker.output()[-3000:]

    def idle() -> bool:
        with sessionmaker_for(one_worker.jobs.url)() as session:
            unfinished = session.scalars(select(Job.id).where(Job.state.in_(("queued", "running")))).all()
        return not unfinished and one_worker.redis.llen(keys.host_queue(HOST)) == 0

    wait_for(idle, timeout=60, what="no job queued or unfinished")
    return one_worker


class TestOnOneWorker:
    def test_a_job_runs_once_and_is_recorded(self, shared: OneWorker) -> None:
        worker, jobs, redis_client, sysroot = shared.worker, shared.jobs, shared.redis, shared.sysroot
        params = {"login": "alice", "full_name": "Alice", "shell": "/bin/bash", "create_home": True,
                  "groups": ["users"], "password_hash": HASH}  # fmt: skip
        job_id = jobs.run("user.create", "alice", params)
        job = jobs.finished(job_id)
        assert (job.state, job.result, job.error) == (
            "succeeded",
            "User alice created, home /home/alice",
            None,
        )
        assert job.attempts == 1 and job.started_at is not None and job.finished_at is not None
        assert entry(sysroot, "shadow", "alice") is not None and "alice" in members(sysroot, "users")
        [audit] = jobs.audit(job_id)
        assert (audit.actor, audit.action, audit.target, audit.host, audit.outcome) == (
            "admin", "user.create", "alice", HOST, "succeeded")  # fmt: skip
        mine = events(redis_client, job_id)
        assert [e["type"] for e in mine] == ["job.running", "group.created", "user.created", "group.updated",
                                             "job.succeeded"]  # fmt: skip
        assert all(e["actor"] == "admin" and e["host"] == HOST for e in mine)
        assert mine[-1]["data"] == {"action": "user.create", "target": "alice", "result": job.result}
        assert mine[2]["data"]["login"] == "alice" and mine[2]["data"]["has_password"] is True
        assert "SECRETHASHMARKER" not in str(events(redis_client)) + worker.output()
        assert redis_client.hexists(keys.host_users(HOST), "alice")

    def test_a_tool_error_fails_the_job_with_the_tools_words(self, shared: OneWorker) -> None:
        jobs, redis_client, sysroot = shared.jobs, shared.redis, shared.sysroot
        subprocess.run(["useradd", "-P", str(sysroot), "-M", "--", "erin"], check=True)
        job_id = jobs.run("group.delete", "erin", {"name": "erin"})
        job = jobs.finished(job_id)
        assert job.state == "failed" and job.result is None
        assert job.error == "groupdel: cannot remove the primary group of user 'erin'"
        assert entry(sysroot, "group", "erin") is not None
        assert [a.outcome for a in jobs.audit(job_id)] == ["failed"]
        failed = events(redis_client, job_id)[-1]
        assert failed["type"] == "job.failed"
        assert failed["data"] == {"action": "group.delete", "target": "erin", "error": job.error}

    def test_bad_params_fail_the_job_without_echoing_them(self, shared: OneWorker) -> None:
        worker, jobs, redis_client = shared.worker, shared.jobs, shared.redis
        job_id = jobs.run("user.password", "root", {"login": "root", "password_hash": ["SECRETHASHMARKER"]})
        job = jobs.finished(job_id)
        assert job.state == "failed"
        assert job.error == "The parameters of user.password are invalid: password_hash."
        assert "SECRETHASHMARKER" not in str(events(redis_client)) + worker.output()

    def test_a_finished_job_delivered_again_is_not_run_again(self, shared: OneWorker) -> None:
        jobs, redis_client = shared.jobs, shared.redis
        params = {"login": "bob", "create_home": False}
        first = jobs.run("user.create", "bob", params)
        assert jobs.finished(first).state == "succeeded"
        jobs.send(first, "user.create", params)
        # One process takes one task at a time, in order: once the next job is done, so is the duplicate.
        after = jobs.run("group.create", "lab", {"name": "lab"})
        assert jobs.finished(after).state == "succeeded"
        job = jobs.get(first)
        assert (job.state, job.attempts, job.error) == ("succeeded", 1, None)
        assert len(jobs.audit(first)) == 1
        assert [e["type"] for e in events(redis_client, first)].count("job.running") == 1

    def test_a_job_that_reached_the_host_before_is_not_applied_again(self, shared: OneWorker) -> None:
        """A redelivery after the change was made but before the job was marked finished."""
        jobs, redis_client, sysroot = shared.jobs, shared.redis, shared.sysroot
        job_id = jobs.create("user.create", "zed", state="running", attempts=1)
        redis_client.set(keys.job_applied(job_id), "User zed created, without a home")
        jobs.send(job_id, "user.create", {"login": "zed", "create_home": False})
        job = jobs.finished(job_id)
        assert (job.state, job.result, job.attempts) == ("succeeded", "User zed created, without a home", 2)
        assert entry(sysroot, "passwd", "zed") is None

    def test_jobs_queued_behind_a_running_one_are_applied_together_each_with_its_own_record(
        self, shared: OneWorker
    ) -> None:
        """Coalescing: the jobs whose messages wait behind the one being delivered are claimed
        with it and applied as one change set; each keeps its row, audit entry and events, and
        one that is refused fails alone."""
        jobs, redis_client, sysroot = shared.jobs, shared.redis, shared.sysroot
        with host_lock(redis_client, HOST):
            first = jobs.run("user.create", "co_first", {"login": "co_first", "create_home": False})
            wait_for(lambda: events(redis_client, first), timeout=60, what="the first job running")
            queued = [
                jobs.run("user.create", f"co{n}", {"login": f"co{n}", "create_home": False})
                for n in range(30)
            ]
            queued.append(jobs.run("user.create", "co0", {"login": "co0", "create_home": False}))
        finished = [jobs.finished(job_id) for job_id in [first, *queued]]
        assert [j.state for j in finished] == ["succeeded"] * 31 + ["failed"]
        assert finished[-1].error == "useradd: user 'co0' already exists"
        # The first ran alone (the rest were not queued yet); the others were claimed in two
        # statements: the delivered one, then those waiting behind it.
        assert len({j.started_at for j in finished}) <= 3
        for n, job_id in enumerate(queued[:30]):
            assert [a.outcome for a in jobs.audit(job_id)] == ["succeeded"]
            kinds = [e["type"] for e in events(redis_client, job_id)]
            assert kinds == ["job.running", "group.created", "user.created", "job.succeeded"], (n, kinds)
        assert entry(sysroot, "passwd", "co29") is not None
        # Their messages were taken out of the queue: none is delivered only to be ignored.
        assert redis_client.llen(keys.host_queue(HOST)) == 0


def test_a_worker_killed_mid_task_does_not_lose_the_job(
    worker: Service, jobs: Jobs, redis_client: redis.Redis, sysroot: Path
) -> None:
    with host_lock(redis_client, HOST):
        # The task claims the job, then waits for the lock that this test holds: it is mid-way.
        job_id = jobs.run("user.create", "kim", {"login": "kim", "create_home": False})
        wait_for(lambda: events(redis_client, job_id), timeout=60, what="the job's job.running")
        assert jobs.get(job_id).state == "running"
        [child] = psutil.Process(worker.pid).children()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
    job = jobs.finished(job_id)
    assert (job.state, job.attempts) == ("succeeded", 2), job.error
    assert entry(sysroot, "passwd", "kim") is not None
    assert [e["type"] for e in events(redis_client, job_id)].count("job.running") == 2
    assert len(jobs.audit(job_id)) == 1


def test_a_whole_worker_killed_mid_task_hands_its_job_back_on_restart(
    worker: Service, jobs: Jobs, redis_client: redis.Redis, sysroot: Path
) -> None:
    """Bug: a job whose whole worker was SIGKILLed waited for the visibility timeout (1 h).

    Fix: the host's worker, the only consumer of its queue, hands its queue's
    unacknowledged messages back when it starts.
    """
    with host_lock(redis_client, HOST):
        job_id = jobs.run("user.create", "lou", {"login": "lou", "create_home": False})
        wait_for(lambda: events(redis_client, job_id), timeout=60, what="the job's job.running")
        for process in [psutil.Process(worker.pid), *psutil.Process(worker.pid).children(recursive=True)]:
            process.kill()
        psutil.wait_procs([psutil.Process(worker.pid)], timeout=30)
    worker.stop()
    worker.start()
    job = jobs.finished(job_id)
    assert (job.state, job.attempts) == ("succeeded", 2), job.error
    assert entry(sysroot, "passwd", "lou") is not None


def test_the_watcher_and_heartbeat(worker: Service, redis_client: redis.Redis, sysroot: Path) -> None:
    subprocess.run(["useradd", "-P", str(sysroot), "-c", "By Hand", "--", "mallory"], check=True)

    def created() -> dict[str, Any] | None:
        return next((e for e in events(redis_client) if e["type"] == "user.created"), None)

    event = wait_for(created, timeout=60, what="user.created from the watcher")
    assert event is not None
    assert event["data"]["login"] == "mallory" and event["data"]["full_name"] == "By Hand"
    assert event["job"] is None and event["actor"] is None and event["data"]["external"] is True
    stored = orjson.loads(redis_client.hget(keys.host_users(HOST), "mallory") or b"{}")
    assert stored["full_name"] == "By Hand"
    assert redis_client.exists(keys.host_heartbeat(HOST))
    record = orjson.loads(redis_client.hget(keys.HOSTS, HOST) or b"{}")
    assert record["pid"] == worker.pid and record["sysroot"] == str(sysroot)
    worker.stop()
    assert not redis_client.exists(keys.host_heartbeat(HOST)), "a clean stop ends the heartbeat at once"

"""Issue 11: a stuck job was invisible as such, and nothing could be done about it.

Bug: a job whose worker never came showed "queued" for ever on the jobs page, with no age,
no warning, and no way to cancel it or to try it again. Fix: every job shows its age
("queued 3 min ago", kept current by the page's script) and a "stuck" badge once it has
been queued or running for longer than WMI_JOB_STUCK_QUEUED / WMI_JOB_STUCK_RUNNING
(the API says the same: ``age_seconds``, ``stuck``); an admin cancels a queued job, or
retries a failed or cancelled one as a new job (tests/test_api_jobs.py covers the API).

What needs a real worker is the cancel's promise: a cancelled job never runs, even when its
message is delivered afterwards, because the worker's claim moves only a queued or running
job (one conditional UPDATE, as the cancel is), so the two cannot both win.
"""

from __future__ import annotations

from pathlib import Path

import redis

from services.api.core import jobcontrol
from services.common.db import sessionmaker_for
from services.common.events import Publisher
from tests.support.jobs import Jobs, events
from tests.support.processes import Service
from tests.support.sandbox_files import entry, snapshot
from tests.support.wait import wait_for


def test_a_cancelled_job_is_not_run_when_its_message_is_delivered(
    worker: Service, jobs: Jobs, sysroot: Path, redis_client: redis.Redis
) -> None:
    params = {"login": "never", "create_home": True}
    job_id = jobs.create("user.create", "never", params=params)
    publisher = Publisher(redis_client, 1000)
    jobcontrol.cancel(sessionmaker_for(jobs.url), redis_client, publisher, job_id, "admin")
    before = snapshot(sysroot)

    jobs.send(job_id, "user.create", params)
    wait_for(lambda: f"job {job_id} is finished or unknown" in worker.output(), timeout=60,
             what="the worker to receive the cancelled job's message")  # fmt: skip

    job = jobs.get(job_id)
    assert (job.state, job.attempts, job.started_at) == ("cancelled", 0, None)
    assert snapshot(sysroot) == before and entry(sysroot, "passwd", "never") is None
    assert [e["type"] for e in events(redis_client, job_id)] == ["job.cancelled"]
    # The worker still runs the jobs that were not cancelled.
    other = jobs.run("user.create", "later", {"login": "later", "create_home": False})
    assert jobs.finished(other).state == "succeeded"

"""Issue 10.1: a job cut off mid-way was marked failed although its change was made.

Bug: a worker killed after its tool changed the files but before the job's *applied* mark
was written ran the job again when it was redelivered, and the tool failed ("user 'x'
already exists"): a false failure. Fix: a redelivered job (attempt 2 or later) without the
mark first looks at the host; if its change is there exactly as asked, it succeeds without
running a tool. A change only partly there is run again and succeeds or fails honestly;
a first delivery is never excused.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from services.worker.tasks import FOUND_DONE
from tests.support.jobs import Jobs
from tests.support.processes import Service


def _useradd(sysroot: Path, login: str, full_name: str) -> None:
    # As the interrupted delivery's tool left it: the account made, no mark written.
    subprocess.run(["useradd", "-P", str(sysroot), "-M", "-c", full_name, "--", login], check=True)


def test_a_redelivered_job_whose_change_is_there_succeeds(worker: Service, jobs: Jobs, sysroot: Path) -> None:
    _useradd(sysroot, "ada", "Ada Lovelace")
    job_id = jobs.create("user.create", "ada", state="running", attempts=1)
    jobs.send(job_id, "user.create", {"login": "ada", "full_name": "Ada Lovelace", "create_home": False})
    job = jobs.finished(job_id)
    assert (job.state, job.result, job.attempts) == ("succeeded", FOUND_DONE, 2), job.error


def test_a_change_not_there_as_asked_is_run_again_and_fails_honestly(
    worker: Service, jobs: Jobs, sysroot: Path
) -> None:
    _useradd(sysroot, "bea", "Somebody Else")
    redelivered = jobs.create("user.create", "bea", state="running", attempts=1)
    jobs.send(redelivered, "user.create", {"login": "bea", "full_name": "Bea", "create_home": False})
    same = {"login": "bea", "full_name": "Somebody Else", "create_home": False}
    first = jobs.run("user.create", "bea", same)
    for job_id in (redelivered, first):
        job = jobs.finished(job_id)
        assert job.state == "failed" and "already exists" in (job.error or ""), (job_id, job.result)

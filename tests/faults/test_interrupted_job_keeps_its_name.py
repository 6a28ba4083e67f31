"""Chaos findings 1 and 2 (loadtest/RESULTS.md): what a job killed mid-way left on the host.

Bug 1: a worker killed after its tool changed the files, before the job published the
change, left the change to the file watcher (or to the next start's first read), which
announced it as made outside WMI2: an admin's change with ``job: null, external: true``,
and the redelivered job, finding its change done, published nothing. Fix: a job records
itself as the host's writer (``keys.host_writer``) before its tools run and clears the
record in the transaction that publishes its changes; whoever re-reads the host while a
record is left publishes what it finds under that job's name.

Bug 2: a creation killed between ``useradd`` and ``chpasswd`` left the account without its
password; redelivered, it ran ``useradd`` again and failed with "already exists". The same
with ``useradd`` killed after writing the account's lines and before making its home (the
rerun after the first fix). Fix: a redelivered creation that finds the account's lines as
asked makes what is missing, the home (a copy of skel, the user's, HOME_MODE) and the
password, and succeeds.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import redis

from services.common import keys
from services.worker import writer
from services.worker.jobs import MAX_ATTEMPTS
from services.worker.tasks import CREATION_FINISHED, FOUND_DONE
from tests.support.jobs import HOST, Jobs, events
from tests.support.processes import Service
from tests.support.sandbox_files import entry
from tests.support.wait import wait_for

HASH = "$6$saltsalt$RESUMEDabcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789abcdefghij"


def _useradd(sysroot: Path, login: str) -> None:
    subprocess.run(["useradd", "-P", str(sysroot), "-M", "-c", login.title(), "--", login], check=True)


def test_a_change_left_by_a_killed_job_is_published_under_its_name(
    worker: Service, jobs: Jobs, redis_client: redis.Redis, sysroot: Path
) -> None:
    job_id = jobs.create("user.create", "kit", state="running", attempts=1)
    # What the killed delivery left: its record as the writer, and its tool's change.
    writer.mark(redis_client, HOST, job_id, "admin")
    _useradd(sysroot, "kit")

    def created() -> dict[str, object] | None:
        return next((e for e in events(redis_client) if e["type"] == "user.created"), None)

    event = wait_for(created, timeout=60, what="the watcher's user.created")
    assert event is not None and (event["job"], event["actor"]) == (job_id, "admin")
    assert "external" not in event["data"]  # type: ignore[operator]
    assert not redis_client.exists(keys.host_writer(HOST))
    jobs.send(job_id, "user.create", {"login": "kit", "full_name": "Kit", "create_home": False})
    assert jobs.finished(job_id).result == FOUND_DONE
    assert [e["type"] for e in events(redis_client)].count("user.created") == 1


def test_a_creation_cut_off_before_its_password_gets_it_on_redelivery(
    worker: Service, jobs: Jobs, sysroot: Path
) -> None:
    _useradd(sysroot, "pam")  # useradd ran; chpasswd never did
    job_id = jobs.create("user.create", "pam", state="running", attempts=1)
    jobs.send(job_id, "user.create", {"login": "pam", "full_name": "Pam", "create_home": False,
                                      "password_hash": HASH})  # fmt: skip
    job = jobs.finished(job_id)
    assert (job.state, job.result) == ("succeeded", CREATION_FINISHED.format(login="pam", left="password"))
    shadow = entry(sysroot, "shadow", "pam")
    assert shadow is not None and shadow[1] == HASH


def test_a_creation_cut_off_before_its_home_gets_it_on_redelivery(
    worker: Service, jobs: Jobs, sysroot: Path
) -> None:
    _useradd(sysroot, "hal")  # useradd wrote the lines, then died before the home
    job_id = jobs.create("user.create", "hal", state="running", attempts=1)
    jobs.send(job_id, "user.create", {"login": "hal", "full_name": "Hal", "create_home": True,
                                      "password_hash": HASH})  # fmt: skip
    job = jobs.finished(job_id)
    left = "home and password"
    assert (job.state, job.result) == ("succeeded", CREATION_FINISHED.format(login="hal", left=left)), (
        job.error
    )
    passwd = entry(sysroot, "passwd", "hal")
    assert passwd is not None
    home = sysroot / "home" / "hal"
    assert sorted(p.name for p in home.iterdir()) == sorted(
        p.name for p in (sysroot / "etc" / "skel").iterdir()
    )
    assert {(p.stat().st_uid, p.stat().st_gid) for p in [home, *home.iterdir()]} == {
        (int(passwd[2]), int(passwd[3]))
    }
    assert home.stat().st_mode & 0o777 == 0o700


def test_the_record_of_a_job_that_changed_nothing_names_no_later_change(
    worker: Service, jobs: Jobs, redis_client: redis.Redis, sysroot: Path
) -> None:
    """Found in review: a job given up after its deliveries kept killing their worker left its
    record, and the next change typed on the host was published under that job's name.
    Giving a job up drops its record."""
    job_id = jobs.create("user.lock", "doomed", state="running", attempts=MAX_ATTEMPTS)
    writer.mark(redis_client, HOST, job_id, "admin")
    jobs.send(job_id, "user.lock", {"login": "doomed"})
    assert jobs.finished(job_id).state == "failed"
    assert not redis_client.exists(keys.host_writer(HOST))
    _useradd(sysroot, "typed")

    def created() -> dict[str, object] | None:
        return next((e for e in events(redis_client) if e["type"] == "user.created"), None)

    event = wait_for(created, timeout=60, what="the watcher's user.created")
    assert event is not None and event["job"] is None

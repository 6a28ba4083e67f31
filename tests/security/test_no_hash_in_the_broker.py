"""Issue 9.3 (the better fix): Celery messages carried the password hash.

Attack: a copy of the broker (Redis's append-only file, a backup, `redis-cli MONITOR`)
held every queued job's crypt hash, open to an offline cracker. Fix: a message carries
the job's public parameters only, the hash marked "(set)"; the api keeps the hash in a
key of its own that expires within a day (``keys.job_secret``), the worker reads it back
and deletes it once the job has ended. A job whose hash is gone fails, changing nothing.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import redis

from services.common import keys
from tests.support.jobs import Jobs
from tests.support.processes import Service
from tests.support.sandbox_files import entry

HASH = "$6$saltsalt$NOTINTHEMESSAGEabcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789"


def test_the_worker_reads_the_hash_from_its_key_and_forgets_it(
    worker: Service, jobs: Jobs, redis_client: redis.Redis, sysroot: Path
) -> None:
    job_id = jobs.create("user.create", "ivy")
    redis_client.set(keys.job_secret(job_id), orjson.dumps({"password_hash": HASH}), ex=60)
    jobs.send(job_id, "user.create", {"login": "ivy", "create_home": False, "password_hash": "(set)"})
    job = jobs.finished(job_id)
    assert job.state == "succeeded", job.error
    shadow = entry(sysroot, "shadow", "ivy")
    assert shadow is not None and shadow[1] == HASH
    assert not redis_client.exists(keys.job_secret(job_id))


def test_a_job_whose_hash_is_gone_fails_and_changes_nothing(
    worker: Service, jobs: Jobs, sysroot: Path
) -> None:
    job_id = jobs.run("user.password", "root", {"login": "root", "password_hash": "(set)"})
    job = jobs.finished(job_id)
    assert job.state == "failed" and "no longer held" in (job.error or "")
    job_id = jobs.run("user.create", "joy", {"login": "joy", "create_home": False, "password_hash": "(set)"})
    assert jobs.finished(job_id).state == "failed"
    assert entry(sysroot, "passwd", "joy") is None

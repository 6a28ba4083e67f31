"""Jobs as the api makes them (a row, then a Celery message), sent straight to a worker's queue,
and read back: for the tests of the worker and of its faults.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import redis
from celery import Celery
from sqlalchemy import func, select

from services.common import keys
from services.common.db import AuditEntry, Job, init_db, sessionmaker_for
from services.common.settings import Settings
from services.common.tasks import RUN_ACTION
from tests.support.wait import wait_for

HOST = "testhost"


class Jobs:
    """What the api does for a job (record it, send it), and reading it back."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.resolved_database_url
        init_db(self.url)
        self.celery = Celery(broker=settings.redis_url)

    def create(
        self, action: str, target: str, *, state: str = "queued", attempts: int = 0,
        params: dict[str, Any] | None = None,
    ) -> str:  # fmt: skip
        job_id = uuid.uuid4().hex
        with sessionmaker_for(self.url).begin() as session:
            session.add(Job(id=job_id, host=HOST, action=action, target=target, actor="admin",
                            state=state, params=params or {}, attempts=attempts))  # fmt: skip
        return job_id

    def send(self, job_id: str, action: str, params: dict[str, Any]) -> None:
        # As the api sends it: the task's id is the job's.
        self.celery.send_task(
            RUN_ACTION, args=[job_id, action, params], queue=keys.host_queue(HOST), task_id=job_id
        )

    def run(self, action: str, target: str, params: dict[str, Any]) -> str:
        job_id = self.create(action, target, params=params)
        self.send(job_id, action, params)
        return job_id

    def get(self, job_id: str) -> Job:
        with sessionmaker_for(self.url)() as session:
            job = session.get(Job, job_id)
            assert job is not None
            return job

    def finished(self, job_id: str) -> Job:
        def done() -> Job | None:
            job = self.get(job_id)
            return job if job.state in ("succeeded", "failed") else None

        job = wait_for(done, timeout=60, what=f"job {job_id}")
        assert job is not None
        return job

    def audit(self, job_id: str) -> list[AuditEntry]:
        with sessionmaker_for(self.url)() as session:
            return list(session.scalars(select(AuditEntry).where(AuditEntry.job_id == job_id)))

    def audit_count(self) -> int:
        with sessionmaker_for(self.url)() as session:
            return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def events(client: redis.Redis, job: str | None = None) -> list[dict[str, Any]]:
    found = [orjson.loads(fields[b"d"]) for _id, fields in client.xrange(keys.EVENT_STREAM)]
    return [e for e in found if job is None or e["job"] == job]

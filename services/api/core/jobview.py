"""A job as the API and the pages show it: its row, its age, and whether it is stuck."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.api import schemas
from services.api.core.clock import aware
from services.common.db import Job, utcnow
from services.common.settings import Settings

JOB_ID = r"^[0-9a-f]{32}$"


@dataclass(frozen=True)
class StuckAfter:
    """Seconds a job may stay queued, or running, before it is flagged as stuck."""

    queued: float = Settings.model_fields["job_stuck_queued"].default
    running: float = Settings.model_fields["job_stuck_running"].default

    @classmethod
    def of(cls, settings: Settings) -> StuckAfter:
        return cls(settings.job_stuck_queued, settings.job_stuck_running)

    def stuck(self, state: str, created: datetime, started: datetime | None, now: datetime) -> bool:
        if state == "queued":
            return (now - created).total_seconds() > self.queued
        if state == "running":
            return (now - (started or created)).total_seconds() > self.running
        return False


def job_out(job: Job, limits: StuckAfter | None = None, now: datetime | None = None) -> schemas.JobOut:
    now = now or utcnow()
    created = aware(job.created_at)
    started = aware(job.started_at) if job.started_at else None
    return schemas.JobOut(
        id=job.id,
        state=job.state,
        action=job.action,
        target=job.target,
        actor=job.actor,
        host=job.host,
        created_at=created,
        finished_at=aware(job.finished_at) if job.finished_at else None,
        result=job.result,
        error=job.error,
        params=job.params,
        rows=job.rows,
        started_at=started,
        age_seconds=round(max(0.0, (now - created).total_seconds()), 3),
        stuck=(limits or StuckAfter()).stuck(job.state, created, started, now),
    )

"""The job history (from the database): newest first; a queued job cancelled, a failed one retried."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from sqlalchemy import select

from services.api import schemas
from services.api.core import jobcontrol
from services.api.core.jobs import Submitter
from services.api.deps import AdminSession, CurrentSession, DbDep, DbSessionsDep, RedisDep, SettingsDep
from services.api.responses import ACCEPTED, PROBLEMS, accepted
from services.common.db import Job, utcnow
from services.common.sessions import Session
from services.common.settings import Settings

router = APIRouter(prefix="/jobs", tags=["jobs"])

JobState = Literal["queued", "running", "succeeded", "failed", "cancelled"]
JOB_ID = r"^[0-9a-f]{32}$"
# Checked before the database sees it: a NUL or a megabyte in a path is a 422, not a 500.
JobId = Annotated[str, Path(pattern=JOB_ID, description="A job's id, as a 202 answer gives it.")]


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


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite gives back naive datetimes; every one stored is UTC."""
    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment


def job_out(job: Job, limits: StuckAfter | None = None, now: datetime | None = None) -> schemas.JobOut:
    now = now or utcnow()
    created = _aware(job.created_at) or job.created_at
    started = _aware(job.started_at)
    return schemas.JobOut(
        id=job.id,
        state=job.state,
        action=job.action,
        target=job.target,
        actor=job.actor,
        host=job.host,
        created_at=created,
        finished_at=_aware(job.finished_at),
        result=job.result,
        error=job.error,
        params=job.params,
        started_at=started,
        age_seconds=round(max(0.0, (now - created).total_seconds()), 3),
        stuck=(limits or StuckAfter()).stuck(job.state, created, started, now),
    )


@router.get("", response_model=list[schemas.JobOut])
def list_jobs(
    _: CurrentSession,
    db: DbDep,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=schemas.MAX_OFFSET)] = 0,
    state: JobState | None = None,
    host: str | None = None,
) -> list[schemas.JobOut]:
    query = select(Job).order_by(Job.created_at.desc(), Job.id.desc()).limit(limit).offset(offset)
    if state is not None:
        query = query.where(Job.state == state)
    if host is not None:
        query = query.where(Job.host == host)
    limits, now = StuckAfter.of(settings), utcnow()
    return [job_out(job, limits, now) for job in db.scalars(query)]


@router.get("/{job_id}", response_model=schemas.JobOut, responses={404: {"model": schemas.Problem}})
def get_job(job_id: JobId, _: CurrentSession, db: DbDep, settings: SettingsDep) -> schemas.JobOut:
    job = db.get(Job, job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"There is no job {job_id!r}.")
    return job_out(job, StuckAfter.of(settings))


@router.post("/{job_id}/cancel", response_model=schemas.JobOut, responses=PROBLEMS)
def cancel_job(
    job_id: JobId, request: Request, session: AdminSession, db_sessions: DbSessionsDep, client: RedisDep,
    settings: SettingsDep,
) -> schemas.JobOut:  # fmt: skip
    """Cancel a queued job: it will not run. 409 once a worker has started it, or it has ended."""
    job = jobcontrol.cancel(db_sessions, client, request.app.state.publisher, job_id, session.login)
    return job_out(job, StuckAfter.of(settings))


def submitter_for(request: Request, session: Session, client: RedisDep, host: str) -> Submitter:
    """A Submitter for ``host`` (a job's own, not the path's), acting for ``session``."""
    settings: Settings = request.app.state.settings
    return Submitter(
        db_sessions=request.app.state.db_sessions,
        redis=client,
        publisher=request.app.state.publisher,
        queue=request.app.state.job_queue,
        host=host,
        actor=session.login,
        manage_system_accounts=settings.manage_system_accounts,
        models=request.app.state.readmodels,
    )


@router.post("/{job_id}/retry", **ACCEPTED)
def retry_job(
    job_id: JobId, request: Request, session: AdminSession, db_sessions: DbSessionsDep, client: RedisDep
) -> Response:
    """Submit a failed or cancelled job again, as a new job, after the checks of its action's route.

    409 for a job that has not ended, that succeeded, or that was given a password (set it again).
    """
    job = jobcontrol.retriable(db_sessions, job_id)
    return accepted(jobcontrol.retry(submitter_for(request, session, client, job.host), job))

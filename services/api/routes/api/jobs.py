"""The job history (from the database): newest first; a queued job cancelled, a failed one retried."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from sqlalchemy import select

from services.api import schemas
from services.api.core import jobcontrol
from services.api.core.jobview import JOB_ID, StuckAfter, job_out
from services.api.deps import (
    AdminSession,
    CurrentSession,
    DbDep,
    DbSessionsDep,
    RedisDep,
    SettingsDep,
    submitter_for,
)
from services.api.responses import ACCEPTED, PROBLEMS, accepted
from services.common.db import Job, utcnow

router = APIRouter(prefix="/jobs", tags=["jobs"])

JobState = Literal["queued", "running", "succeeded", "failed", "cancelled"]
# Checked before the database sees it: a NUL or a megabyte in a path is a 422, not a 500.
JobId = Annotated[str, Path(pattern=JOB_ID, description="A job's id, as a 202 answer gives it.")]


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


@router.post("/{job_id}/retry", **ACCEPTED)
def retry_job(
    job_id: JobId, request: Request, session: AdminSession, db_sessions: DbSessionsDep, client: RedisDep
) -> Response:
    """Submit a failed or cancelled job again, as a new job, after the checks of its action's route.

    409 for a job that has not ended, that succeeded, or that was given a password (set it again).
    """
    job = jobcontrol.retriable(db_sessions, job_id)
    return accepted(jobcontrol.retry(submitter_for(request, session, client, job.host), job))

"""The job history (from the database): newest first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import select

from services.api import schemas
from services.api.deps import CurrentSession, DbDep
from services.common.db import Job

router = APIRouter(prefix="/jobs", tags=["jobs"])

JobState = Literal["queued", "running", "succeeded", "failed"]


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite gives back naive datetimes; every one stored is UTC."""
    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment


def job_out(job: Job) -> schemas.JobOut:
    return schemas.JobOut(
        id=job.id,
        state=job.state,
        action=job.action,
        target=job.target,
        actor=job.actor,
        host=job.host,
        created_at=_aware(job.created_at) or job.created_at,
        finished_at=_aware(job.finished_at),
        result=job.result,
        error=job.error,
        params=job.params,
    )


@router.get("", response_model=list[schemas.JobOut])
def list_jobs(
    _: CurrentSession,
    db: DbDep,
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
    return [job_out(job) for job in db.scalars(query)]


@router.get("/{job_id}", response_model=schemas.JobOut, responses={404: {"model": schemas.Problem}})
def get_job(job_id: str, _: CurrentSession, db: DbDep) -> schemas.JobOut:
    job = db.get(Job, job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"There is no job {job_id!r}.")
    return job_out(job)

"""The worker's side of a job in SQL: claim it, finish it, and leave an audit entry."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import CursorResult, select, update

from services.common.db import AuditEntry, Job, sessionmaker_for, utcnow

UNFINISHED = ("queued", "running")


@dataclass(frozen=True)
class Claimed:
    """What the worker needs to know of a job it is about to run."""

    id: str
    host: str
    target: str
    actor: str | None
    attempts: int


def claim(database_url: str, job_id: str) -> Claimed | None:
    """Mark the job running; None when it is finished already (a duplicate delivery) or unknown.

    'running' may be claimed again: that is a redelivery after a worker died mid-way.
    """
    with sessionmaker_for(database_url).begin() as session:
        done = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state.in_(UNFINISHED))
            .values(state="running", started_at=utcnow(), attempts=Job.attempts + 1)
        )
        if not isinstance(done, CursorResult) or done.rowcount != 1:
            return None
        job = session.execute(select(Job).where(Job.id == job_id)).scalar_one()
        return Claimed(id=job.id, host=job.host, target=job.target, actor=job.actor, attempts=job.attempts)


def finish(database_url: str, job: Claimed, action: str, *, result: str | None, error: str | None) -> str:
    """Record the outcome and its audit entry in one transaction; return the job's new state."""
    state = "failed" if error is not None else "succeeded"
    with sessionmaker_for(database_url).begin() as session:
        session.execute(
            update(Job)
            .where(Job.id == job.id)
            .values(state=state, result=result, error=error, finished_at=utcnow())
        )
        session.add(
            AuditEntry(
                actor=job.actor,
                action=action,
                target=job.target,
                host=job.host,
                outcome=state,
                detail=error if error is not None else result,
                job_id=job.id,
            )
        )
    return state

"""An admin's hand on a job already recorded: cancel it while it is queued, retry it once it failed.

Cancelling races the worker's claim, and both are one conditional UPDATE: the claim moves
only a queued or running job, the cancel only a queued one, so exactly one of them wins
and a cancelled job is never run by a later delivery of its message.

A retry is a new job, made through the same change as the original request (``core.changes``),
after the same checks against the host's read model: the host may have changed since, and a
stale change is better refused now than failed by the worker. A job given a password cannot
be retried: its hash is deleted when the job ends, and is never kept for that purpose.
"""

from __future__ import annotations

import logging

import redis
from fastapi import HTTPException, status
from pydantic import ValidationError
from sqlalchemy import update
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from services.api.core import changes
from services.api.core.jobs import Submitter
from services.common import actions, keys
from services.common.actions import Action
from services.common.db import AuditEntry, Job, utcnow
from services.common.events import Publisher

log = logging.getLogger(__name__)

RETRIABLE = ("failed", "cancelled")


def _get(db: DbSession, job_id: str) -> Job:
    job = db.get(Job, job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"There is no job {job_id!r}.")
    return job


def cancel(
    db_sessions: sessionmaker[DbSession], client: redis.Redis, publisher: Publisher, job_id: str, actor: str
) -> Job:
    """Move a queued job to ``cancelled``, audit it, forget its secret and announce it."""
    result = f"Cancelled by {actor} before it ran: nothing was changed."
    with db_sessions() as db:
        moved = db.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == "queued")
            .values(state="cancelled", result=result, finished_at=utcnow(), announced=False)
        )
        job = _get(db, job_id)
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            db.rollback()
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"The job {job_id!r} is {job.state}: only a queued job can be cancelled.",
            )
        db.add(
            AuditEntry(actor=actor, action="job.cancel", target=job.target, host=job.host,
                       outcome="cancelled", detail=f"{job.action}: {result}", job_id=job.id)
        )  # fmt: skip
        db.commit()
        db.refresh(job)
        db.expunge(job)
    _announce(db_sessions, client, publisher, job)
    return job


def _announce(
    db_sessions: sessionmaker[DbSession], client: redis.Redis, publisher: Publisher, job: Job
) -> None:
    try:
        client.delete(keys.job_secret(job.id))
        data = {"action": job.action, "target": job.target, "result": job.result}
        publisher.publish("job.cancelled", job.host, data, job=job.id, actor=job.actor)
    except redis.RedisError as exc:
        # The row says it is unannounced: the host's worker publishes it once Redis is back
        # (services/worker/sweeper.py), and the secret expires on its own.
        log.warning("job %s cancelled, its event left to the sweeper: %s", job.id, exc)
        return
    with db_sessions() as db:
        db.execute(update(Job).where(Job.id == job.id).values(announced=True))
        db.commit()


def retriable(db_sessions: sessionmaker[DbSession], job_id: str) -> Job:
    """The job to retry, once it is known to be one that can be."""
    with db_sessions() as db:
        job = _get(db, job_id)
        db.expunge(job)
    if job.state not in RETRIABLE:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"The job {job_id!r} is {job.state}: only a failed or cancelled job can be retried.",
        )
    if job.action == Action.BATCH:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "A bulk action is not retried as a whole (its rows may have been made): "
            "select the users it did not change and run it again.",
        )
    if actions.wanted_secrets(job.params):
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "This job was given a password, which is not kept once a job has ended: "
            "set the password again instead of retrying.",
        )
    return job


def retry(jobs: Submitter, job: Job) -> Job:
    """Submit the job again, as a new job of ``jobs.actor``: its parameters read back as the
    input of its change (``core.changes``), which goes through the same checks as a request."""
    try:
        action = Action(job.action)
        change = changes.CHANGES[action]
        given = change.recorded(actions.parse_params(action, job.params))
    except (ValueError, KeyError, ValidationError):
        unreadable = f"The job {job.id!r} cannot be retried: its parameters are not readable."
        raise HTTPException(status.HTTP_409_CONFLICT, unreadable) from None
    return change.submit(jobs, given, target=job.target)

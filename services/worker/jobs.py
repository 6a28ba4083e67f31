"""The worker's side of a job in SQL: claim it, finish it, and leave an audit entry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update

from services.common.db import AuditEntry, Job, engine_for, utcnow

UNFINISHED = ("queued", "running")
# A job whose deliveries died this many times (a job that kills its worker) is not run again:
# redelivered at the head of its queue, it would otherwise block its host for ever.
MAX_ATTEMPTS = 5
_JOBS: Table = Job.__table__  # type: ignore[assignment]
_AUDIT: Table = AuditEntry.__table__  # type: ignore[assignment]

# Built once: building a statement cost as much per job as running it (SQLAlchemy caches
# the compiled SQL, not the Python objects a statement is built of).
_CLAIM = (
    update(_JOBS)
    .where(_JOBS.c.id == bindparam("job_id"), _JOBS.c.state.in_(UNFINISHED))
    .values(state="running", started_at=bindparam("now"), attempts=_JOBS.c.attempts + 1)
    .returning(_JOBS.c.id, _JOBS.c.host, _JOBS.c.target, _JOBS.c.actor, _JOBS.c.attempts)
)
# The queued jobs among those named, claimed together for one change set (coalescing).
_CLAIM_QUEUED = (
    update(_JOBS)
    .where(_JOBS.c.id.in_(bindparam("job_ids", expanding=True)), _JOBS.c.state == "queued")
    .values(state="running", started_at=bindparam("now"), attempts=_JOBS.c.attempts + 1)
    .returning(_JOBS.c.id, _JOBS.c.host, _JOBS.c.target, _JOBS.c.actor, _JOBS.c.attempts,
               _JOBS.c.action, _JOBS.c.params)
)  # fmt: skip
_ANNOUNCED_ALL = (
    update(_JOBS).where(_JOBS.c.id.in_(bindparam("job_ids", expanding=True))).values(announced=True)
)
# SET takes the columns named by the parameters: state, result, error, finished_at.
_FINISH = update(_JOBS).where(_JOBS.c.id == bindparam("job_id"))
_AUDIT_ENTRY = insert(_AUDIT)
_ANNOUNCED = update(_JOBS).where(_JOBS.c.id == bindparam("job_id")).values(announced=True)
_UNANNOUNCED = (
    select(_JOBS.c.id, _JOBS.c.state, _JOBS.c.action, _JOBS.c.target, _JOBS.c.actor,
           _JOBS.c.result, _JOBS.c.error)
    .where(_JOBS.c.host == bindparam("host"), _JOBS.c.announced.is_(False))
    .where(_JOBS.c.finished_at < bindparam("before"))
    .order_by(_JOBS.c.finished_at)
)  # fmt: skip
_STALE = (
    select(_JOBS.c.id, _JOBS.c.action, _JOBS.c.params)
    .where(_JOBS.c.host == bindparam("host"), _JOBS.c.state == "queued")
    .where(_JOBS.c.created_at < bindparam("before"))
    .order_by(_JOBS.c.created_at)
)


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
    One statement (UPDATE ... RETURNING) through SQLAlchemy Core: the ORM's unit of work
    cost more than the database here (2.5 ms against 1 ms per job, measured).
    """
    with engine_for(database_url).begin() as conn:
        row = conn.execute(_CLAIM, {"job_id": job_id, "now": utcnow()}).first()
    if row is None:
        return None
    return Claimed(id=row.id, host=row.host, target=row.target, actor=row.actor, attempts=row.attempts)


@dataclass(frozen=True)
class Joined:
    """A queued job claimed to run in another job's change set, with what it asks."""

    job: Claimed
    action: str
    params: dict[str, Any]


def claim_queued(database_url: str, host: str, job_ids: list[str]) -> list[Joined]:
    """Claim those of ``job_ids`` still queued for ``host``, in the order given (others are
    cancelled, finished, or being run by a delivery of their own)."""
    if not job_ids:
        return []
    with engine_for(database_url).begin() as conn:
        rows = conn.execute(_CLAIM_QUEUED, {"job_ids": job_ids, "now": utcnow()}).all()
    found = {
        row.id: Joined(
            Claimed(id=row.id, host=row.host, target=row.target, actor=row.actor, attempts=row.attempts),
            row.action,
            dict(row.params),
        )
        for row in rows
        if row.host == host
    }
    return [found[i] for i in job_ids if i in found]


@dataclass(frozen=True)
class Finished:
    job: Claimed
    action: str
    result: str | None
    error: str | None
    rows: list[dict[str, Any]] | None = None

    @property
    def state(self) -> str:
        return "failed" if self.error is not None else "succeeded"

    def ended(self) -> Ended:
        j = self.job
        return Ended(j.id, self.state, self.action, j.target, j.actor, self.result, self.error)


def finish_all(database_url: str, finished: list[Finished]) -> None:
    """Record the outcomes of a change set's jobs and their audit entries in one transaction."""
    now = utcnow()
    with engine_for(database_url).begin() as conn:
        conn.execute(
            _FINISH,
            [
                {"job_id": f.job.id, "state": f.state, "result": f.result, "error": f.error,
                 "rows": f.rows, "finished_at": now, "announced": False}
                for f in finished
            ],
        )  # fmt: skip
        conn.execute(_AUDIT_ENTRY, [_audit_row(f) for f in finished])


def _audit_row(f: Finished) -> dict[str, Any]:
    detail = f.error if f.error is not None else f.result
    j = f.job
    return {"actor": j.actor, "action": f.action, "target": j.target, "host": j.host, "outcome": f.state,
            "detail": detail, "job_id": j.id}  # fmt: skip


def announced_all(database_url: str, job_ids: list[str]) -> None:
    """The final events of these jobs are in the event log."""
    if job_ids:
        with engine_for(database_url).begin() as conn:
            conn.execute(_ANNOUNCED_ALL, {"job_ids": job_ids})


def finish(
    database_url: str,
    job: Claimed,
    action: str,
    *,
    result: str | None,
    error: str | None,
    rows: list[dict[str, Any]] | None = None,
) -> str:
    """Record the outcome and its audit entry in one transaction; return the job's new state."""
    state = "failed" if error is not None else "succeeded"
    with engine_for(database_url).begin() as conn:
        finished = {
            "state": state, "result": result, "error": error, "rows": rows, "finished_at": utcnow(),
            "announced": False,
        }  # fmt: skip
        conn.execute(_FINISH, {"job_id": job.id, **finished})
        conn.execute(
            _AUDIT_ENTRY,
            {
                "actor": job.actor,
                "action": action,
                "target": job.target,
                "host": job.host,
                "outcome": state,
                "detail": error if error is not None else result,
                "job_id": job.id,
            },
        )
    return state


@dataclass(frozen=True)
class Waiting:
    """A job still queued: enough to send it again (its params are the public ones)."""

    id: str
    action: str
    params: dict[str, Any]


def queued_before(database_url: str, host: str, before: datetime) -> list[Waiting]:
    """The host's jobs accepted before ``before`` and still queued, oldest first."""
    with engine_for(database_url).connect() as conn:
        rows = conn.execute(_STALE, {"host": host, "before": before}).all()
    return [Waiting(id=row.id, action=row.action, params=dict(row.params)) for row in rows]


@dataclass(frozen=True)
class Ended:
    """A job that has ended, as its final event tells it."""

    id: str
    state: str
    action: str
    target: str
    actor: str | None
    result: str | None
    error: str | None

    @property
    def event_type(self) -> str:
        return f"job.{self.state}"

    @property
    def event_data(self) -> dict[str, Any]:
        outcome = {"error": self.error} if self.state == "failed" else {"result": self.result}
        return {"action": self.action, "target": self.target, **outcome}


def announced(database_url: str, job_id: str) -> None:
    """The job's final event is in the event log."""
    with engine_for(database_url).begin() as conn:
        conn.execute(_ANNOUNCED, {"job_id": job_id})


def unannounced(database_url: str, host: str, before: datetime) -> list[Ended]:
    """The host's jobs that ended before ``before`` and whose final event was not published."""
    with engine_for(database_url).connect() as conn:
        rows = conn.execute(_UNANNOUNCED, {"host": host, "before": before}).all()
    return [Ended(**row._asdict()) for row in rows]

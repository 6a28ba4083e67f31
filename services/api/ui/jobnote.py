"""The job a plain form submission redirected with (``?job=``), shown next to the form."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session as DbSession

from services.common.db import Job


def job_note(db: DbSession, job_id: str | None) -> dict[str, Any] | None:
    if not job_id or len(job_id) > 32:
        return None
    job = db.get(Job, job_id)
    if job is None:
        return None
    return {
        "id": job.id,
        "state": job.state,
        "action": job.action,
        "target": job.target,
        "outcome": job.error or job.result or "",
    }

"""Reading the audit trail: filters shared by the JSON API, its CSV export and the audit page."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from fastapi import HTTPException, status
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session as DbSession

from services.api import schemas
from services.api.core.clock import aware
from services.common.db import AuditEntry

CSV_COLUMNS = ("at", "actor", "action", "target", "host", "outcome", "detail", "job_id")
# A spreadsheet runs a cell that starts with one of these as a formula: such cells get a
# leading quote, so that an exported trail cannot carry a payload (a login typed as "=cmd|…").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Rows fetched per round trip while streaming an export.
_CSV_BATCH = 500


@dataclass(frozen=True)
class AuditFilter:
    """Every field optional. ``action`` matches itself and its sub-actions ("user" → "user.create")."""

    actor: str | None = None
    action: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def query(self) -> Select[AuditEntry]:
        query = select(AuditEntry)
        if self.actor:
            query = query.where(AuditEntry.actor == self.actor)
        if self.action:
            prefix = _escape_like(self.action.rstrip(".*")) + ".%"
            query = query.where(
                or_(AuditEntry.action == self.action, AuditEntry.action.like(prefix, escape="\\"))
            )
        if self.target:
            query = query.where(AuditEntry.target.ilike(f"%{_escape_like(self.target)}%", escape="\\"))
        if self.since is not None:
            query = query.where(AuditEntry.at >= self.since)
        if self.until is not None:
            query = query.where(AuditEntry.at < self.until)
        return query


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def parse_moment(raw: str | None, field: str, *, end: bool = False) -> datetime | None:
    """A date (``2026-05-01``) or an ISO datetime, as UTC; a date ``until`` means the end of that day."""
    if not raw:
        return None
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            moment = datetime.combine(day + timedelta(days=1) if end else day, time(), UTC)
        else:
            parsed = datetime.fromisoformat(raw)
            moment = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except ValueError:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"The field {field!r} is not a date: write it as 2026-05-01 or 2026-05-01T13:45:00.",
        ) from None
    return moment


def make_filter(
    actor: str | None, action: str | None, target: str | None, since: str | None, until: str | None
) -> AuditFilter:
    return AuditFilter(
        actor=actor or None,
        action=action or None,
        target=target or None,
        since=parse_moment(since, "since"),
        until=parse_moment(until, "until", end=True),
    )


def entry_out(entry: AuditEntry) -> schemas.AuditOut:
    return schemas.AuditOut(
        id=entry.id,
        at=aware(entry.at),
        actor=entry.actor,
        action=entry.action,
        target=entry.target,
        host=entry.host,
        outcome=entry.outcome,
        detail=entry.detail,
        job_id=entry.job_id,
    )


def newest_first(query: Select[AuditEntry]) -> Select[AuditEntry]:
    return query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())


def page(db: DbSession, where: AuditFilter, limit: int, offset: int) -> tuple[list[schemas.AuditOut], int]:
    """One page of entries, newest first, and how many match in all."""
    query = where.query()
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    entries = db.scalars(newest_first(query).limit(limit).offset(offset))
    return [entry_out(e) for e in entries], total


def distinct_values(db: DbSession) -> tuple[list[str], list[str]]:
    """The actors and actions found in the trail: suggestions for the page's filter fields."""
    actors = db.scalars(select(AuditEntry.actor).where(AuditEntry.actor.is_not(None)).distinct())
    actions = db.scalars(select(AuditEntry.action).distinct())
    return sorted(a for a in actors if a), sorted(actions)


def _cell(value: object) -> str:
    text = "" if value is None else value.isoformat() if isinstance(value, datetime) else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_rows(db: DbSession, where: AuditFilter) -> Iterator[str]:
    """The export, line by line (header first): streamed, so a long trail never sits in memory."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for entry in db.scalars(newest_first(where.query()).execution_options(yield_per=_CSV_BATCH)):
        out = entry_out(entry)
        writer.writerow([_cell(getattr(out, column)) for column in CSV_COLUMNS])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()

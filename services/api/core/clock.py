"""Datetimes as the database gives them back: SQLite drops the zone of what was stored in UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def aware(moment: datetime) -> datetime:
    """The same instant, marked UTC if the database returned it naive (every one stored is UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment

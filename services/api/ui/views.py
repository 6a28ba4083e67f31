"""How records read on a page: small functions the templates call (and the script mirrors).

The page's script renders rows that arrive by event with the same rules, so each rule
here is one line that ``web/static/wmi.js`` repeats (see its ``views`` object).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any


def when(value: datetime | str | None) -> str:
    """A moment as the pages show it: UTC, to the second ("2026-05-01 13:45:07")."""
    if value is None or value == "":
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def iso(value: datetime | str | None) -> str:
    if value is None or isinstance(value, str):
        return value or ""
    return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).isoformat()


def count(value: int) -> str:
    """2000 → "2,000"."""
    return f"{value:,}"


def user_status(user: Mapping[str, Any]) -> str:
    """Without a password nobody logs in, locked or not: that is said first."""
    if not user.get("has_password"):
        return "no password"
    return "locked" if user.get("locked") else "active"


def subject(event: Mapping[str, Any]) -> str:
    """What an event is about: a login, a group's name, or a job's target."""
    data = event.get("data") or {}
    return str(data.get("login") or data.get("name") or data.get("target") or "")


def job_outcome(job: Mapping[str, Any]) -> str:
    return str(job.get("error") or job.get("result") or "")


FILTERS: dict[str, Callable[..., Any]] = {"when": when, "iso": iso, "count": count}
GLOBALS: dict[str, Any] = {"user_status": user_status, "subject": subject, "job_outcome": job_outcome}

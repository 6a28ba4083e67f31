"""How records read on a page: small functions the templates call (and the script mirrors).

The page's script renders rows that arrive by event with the same rules, so each rule
here is one line that ``web/static/wmi.js`` repeats (see its ``views`` object).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from services.api.core.readmodel import user_status


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


def subject(event: Mapping[str, Any]) -> str:
    """What an event is about: a login, a group's name, or a job's target."""
    data = event.get("data") or {}
    return str(data.get("login") or data.get("name") or data.get("target") or "")


def job_outcome(job: Mapping[str, Any]) -> str:
    return str(job.get("error") or job.get("result") or "")


def _moment(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


# Whole phrases, each to be translated as one: the number is the only part filled in.
SPANS = ((60, 1, "{n} s"), (3600, 60, "{n} min"), (48 * 3600, 3600, "{n} h"), (None, 86400, "{n} d"))
AGES = {"queued": "queued {span} ago", "running": "running for {span}", "ended": "ended {span} ago"}
STUCK = {
    "queued": "Queued for longer than {limit} s: is the host's worker running?",
    "running": "Running for longer than {limit} s: its worker may be hung or gone.",
}


def span(seconds: float) -> str:
    """A length of time, rounded down to its largest unit: "12 s", "3 min", "5 h", "2 d"."""
    seconds = max(0.0, seconds)
    for below, unit, phrase in SPANS:
        if below is None or seconds < below:
            return phrase.format(n=int(seconds // unit))
    raise AssertionError("unreachable")


def job_age(job: Mapping[str, Any], now: datetime | str) -> str:
    """How long a job has waited, run, or been over: "queued 3 min ago", "running for 12 s"."""
    state = str(job.get("state"))
    key = state if state in ("queued", "running") else "ended"
    since = {"queued": "created_at", "running": "started_at", "ended": "finished_at"}[key]
    start = _moment(job.get(since)) or _moment(job.get("created_at"))
    current = _moment(now)
    if start is None or current is None:
        return ""
    return AGES[key].format(span=span((current - start).total_seconds()))


def stuck_title(state: str, clock: Mapping[str, Any]) -> str:
    """Why a job is flagged as stuck: the sentence its badge carries."""
    return STUCK[state].format(limit=f"{clock[f'stuck_{state}']:g}") if state in STUCK else ""


FILTERS: dict[str, Callable[..., Any]] = {"when": when, "iso": iso, "count": count}
GLOBALS: dict[str, Any] = {
    "user_status": user_status, "subject": subject, "job_outcome": job_outcome, "job_age": job_age,
    "stuck_title": stuck_title,
}  # fmt: skip

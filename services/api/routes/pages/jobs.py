"""The jobs pages (``/jobs/``, ``/jobs/{id}/``): every job, newest first, its state and age changing
live; and the plain forms that cancel a queued job or retry a failed one, as the JSON API does."""

from __future__ import annotations

import re
from math import ceil
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import func, select

from services.api.core import jobcontrol
from services.api.core.jobview import JOB_ID, StuckAfter, job_out
from services.api.deps import DbDep, DbSessionsDep, RedisDep, SettingsDep, submitter_for
from services.api.ui.context import PageDep, PageError
from services.api.ui.forms import FormAdmin, refusals_as_pages
from services.api.ui.templates import Pages, html, redirect
from services.common.db import Job, utcnow
from services.common.settings import Settings

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
STATES = ("queued", "running", "succeeded", "failed", "cancelled")


def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


def _clock(settings: Settings) -> dict[str, Any]:
    """What the script needs to age jobs and flag stuck ones as the server does, whatever the
    browser's own clock says: the server's time now, and the two limits."""
    limits = StuckAfter.of(settings)
    return {"now": utcnow().isoformat(), "stuck_queued": limits.queued, "stuck_running": limits.running}


@router.get("/jobs/")
def jobs_page(
    request: Request,
    page: PageDep,
    db: DbDep,
    settings: SettingsDep,
    state: Literal["queued", "running", "succeeded", "failed", "cancelled", ""] = "",
    number: Annotated[int, Query(alias="page", ge=1)] = 1,
) -> Response:
    query = select(Job).where(Job.host == page.host)
    if state:
        query = query.where(Job.state == state)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, ceil(total / PAGE_SIZE))
    number = min(number, pages)
    rows = db.scalars(
        query.order_by(Job.created_at.desc(), Job.id.desc()).limit(PAGE_SIZE).offset((number - 1) * PAGE_SIZE)
    )
    limits, now = StuckAfter.of(settings), utcnow()
    body = _pages(request).render(
        "jobs.html", page=page, jobs=[job_out(j, limits, now).model_dump() for j in rows], total=total,
        number=number, pages=pages, state=state, states=STATES, page_size=PAGE_SIZE, clock=_clock(settings),
    )  # fmt: skip
    return html(body)


@router.get("/jobs/{job_id}/")
def job_page(request: Request, job_id: str, page: PageDep, db: DbDep, settings: SettingsDep) -> Response:
    job = db.get(Job, job_id) if re.fullmatch(JOB_ID, job_id) else None
    if job is None:
        raise PageError(404, f"There is no job {job_id!r}.")
    shown = job_out(job, StuckAfter.of(settings)).model_dump()
    body = _pages(request).render("job.html", page=page, job=shown, clock=_clock(settings))
    return html(body)


def _job_link(default_host: str, job: Job) -> str:
    """The page of ``job``, on its own host (``?host=`` only when it is not the default one)."""
    path = f"/jobs/{job.id}/"
    return path if job.host == default_host else f"{path}?{urlencode({'host': job.host})}"


@router.post("/jobs/{job_id}/cancel")
def cancel_job(
    request: Request, job_id: str, session: FormAdmin, db_sessions: DbSessionsDep, client: RedisDep,
    settings: SettingsDep,
) -> Response:  # fmt: skip
    with refusals_as_pages():
        job = jobcontrol.cancel(db_sessions, client, request.app.state.publisher, job_id, session.login)
    return redirect(_job_link(settings.host_name, job))


@router.post("/jobs/{job_id}/retry")
def retry_job(
    request: Request, job_id: str, session: FormAdmin, db_sessions: DbSessionsDep, client: RedisDep,
    settings: SettingsDep,
) -> Response:  # fmt: skip
    with refusals_as_pages():
        old = jobcontrol.retriable(db_sessions, job_id)
        job = jobcontrol.retry(submitter_for(request, session, client, old.host), old)
    return redirect(_job_link(settings.host_name, job))

"""The dashboard (``/``): the hosts, the counts of the chosen host, its unfinished jobs, the latest events."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession
from starlette.concurrency import run_in_threadpool

from services.api.core import readmodel
from services.api.core.jobview import job_out
from services.api.core.readmodel import Filters
from services.api.core.recent import recent_events
from services.api.deps import AsyncRedisDep, DbDep, ReadModelsDep, SettingsDep
from services.api.ui.context import PageDep
from services.api.ui.templates import Pages, html
from services.common.db import Job

router = APIRouter(include_in_schema=False)

RECENT_EVENTS = 20
RUNNING_SHOWN = 20


def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


def _unfinished_jobs(db: DbSession, host: str) -> list[dict[str, Any]]:
    query = (
        select(Job)
        .where(Job.host == host, Job.state.in_(("queued", "running")))
        .order_by(Job.created_at.desc())
        .limit(RUNNING_SHOWN)
    )
    return [job_out(job).model_dump() for job in db.scalars(query)]


@router.get("/")
async def dashboard(
    request: Request,
    page: PageDep,
    aredis: AsyncRedisDep,
    models: ReadModelsDep,
    db: DbDep,
    settings: SettingsDep,
) -> Response:
    """Counts and a few rows: what it costs does not grow with the host's accounts."""
    model = await models.current_async(aredis, page.host)
    regular = Filters(system=False)
    hosts = await readmodel.hosts(aredis, settings.host_name)
    events = await recent_events(aredis, RECENT_EVENTS)
    jobs = await run_in_threadpool(_unfinished_jobs, db, page.host)
    body = _pages(request).render(
        "dashboard.html", page=page, hosts=hosts, users=model.users.count(regular),
        groups=model.groups.count(regular), jobs=jobs, events=events,
    )  # fmt: skip
    return html(body)

"""The jobs page: every job, newest first, its state changing live."""

from __future__ import annotations

from math import ceil
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import func, select

from services.api.deps import DbDep
from services.api.routes.jobs import job_out
from services.api.ui.context import PageDep
from services.api.ui.templates import Pages, html
from services.common.db import Job

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
STATES = ("queued", "running", "succeeded", "failed")


@router.get("/jobs/")
def jobs_page(
    request: Request,
    page: PageDep,
    db: DbDep,
    state: Literal["queued", "running", "succeeded", "failed", ""] = "",
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
    pages_: Pages = request.app.state.pages
    body = pages_.render(
        "jobs.html", page=page, jobs=[job_out(j).model_dump() for j in rows], total=total, number=number,
        pages=pages, state=state, states=STATES, page_size=PAGE_SIZE,
    )  # fmt: skip
    return html(body)

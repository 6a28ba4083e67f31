"""The audit page: the trail, filtered by actor, action, target and date, with its CSV export."""

from __future__ import annotations

from math import ceil
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request, Response

from services.api.core import audit
from services.api.deps import DbDep
from services.api.ui.context import PageDep, PageError
from services.api.ui.templates import Pages, html

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 100


@router.get("/audit/")
def audit_page(
    request: Request,
    page: PageDep,
    db: DbDep,
    actor: Annotated[str, Query(max_length=64)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    target: Annotated[str, Query(max_length=255)] = "",
    since: Annotated[str, Query(max_length=32)] = "",
    until: Annotated[str, Query(max_length=32)] = "",
    # Bounded: (number - 1) * PAGE_SIZE goes to SQL as an OFFSET, which SQLite keeps to 64 bits.
    number: Annotated[int, Query(alias="page", ge=1, le=10_000_000)] = 1,
) -> Response:
    try:
        where = audit.make_filter(actor, action, target, since, until)
    except HTTPException as exc:
        raise PageError(exc.status_code, str(exc.detail)) from None
    entries, total = audit.page(db, where, PAGE_SIZE, (number - 1) * PAGE_SIZE)
    actors, actions = audit.distinct_values(db)
    filters = {"actor": actor, "action": action, "target": target, "since": since, "until": until}
    chosen = {k: v for k, v in filters.items() if v}
    pages_: Pages = request.app.state.pages
    body = pages_.render(
        "audit.html", page=page, entries=[e.model_dump() for e in entries], total=total, number=number,
        pages=max(1, ceil(total / PAGE_SIZE)), filters=filters, chosen=chosen, actors=actors,
        actions=actions, csv_url=f"{page.api_root}/audit?{urlencode({**chosen, 'format': 'csv'})}",
    )  # fmt: skip
    return html(body)

"""The audit trail: who did what, to what, when, with what result; as JSON or as CSV."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from services.api import schemas
from services.api.core import audit
from services.api.deps import CurrentSession, DbDep, SettingsDep
from services.api.responses import PROBLEMS
from services.common.db import sessionmaker_for

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get(
    "",
    response_model=list[schemas.AuditOut],
    responses={
        **PROBLEMS,
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "headers": {
                "X-Total-Count": {
                    "description": "Entries matching (JSON only).",
                    "schema": {"type": "integer"},
                }
            },
        },
    },
)
def list_audit(
    _: CurrentSession,
    db: DbDep,
    settings: SettingsDep,
    actor: str | None = None,
    action: Annotated[str | None, Query(description="An action, or a family: 'user' matches user.*")] = None,
    target: Annotated[str | None, Query(description="Part of the target's name")] = None,
    since: Annotated[str | None, Query(description="2026-05-01 or 2026-05-01T13:45:00 (UTC)")] = None,
    until: Annotated[str | None, Query(description="Inclusive: a date means up to its end")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=schemas.MAX_OFFSET)] = 0,
    format: Literal["json", "csv"] = "json",
) -> Response | list[schemas.AuditOut]:
    """Newest first; ``format=csv`` exports every matching entry (limit and offset ignored)."""
    where = audit.make_filter(actor, action, target, since, until)
    if format == "csv":
        return _csv(where, settings.resolved_database_url)
    entries, total = audit.page(db, where, limit, offset)
    response = Response(
        content=b"[" + b",".join(e.model_dump_json().encode() for e in entries) + b"]",
        media_type="application/json",
        headers={"X-Total-Count": str(total)},
    )
    return response


def _csv(where: audit.AuditFilter, database_url: str) -> StreamingResponse:
    def lines() -> Iterator[str]:
        # Its own database session: the request's is closed before a streamed body is sent.
        with sessionmaker_for(database_url)() as db:
            yield from audit.csv_rows(db, where)

    name = f"wmi2-audit-{datetime.now(UTC):%Y%m%d-%H%M%S}.csv"
    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )

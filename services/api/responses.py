"""Response helpers: JSON already serialized (by orjson or by the worker) and 202 Accepted."""

from __future__ import annotations

from typing import Any

from fastapi import Response, status

from services.api.core.readmodel import Selection
from services.api.schemas import JobAccepted, Problem
from services.common.db import Job

JSON = "application/json"


def raw_json(body: bytes, status_code: int = status.HTTP_200_OK) -> Response:
    """Bytes that are JSON already: sent as they are, with no second serialization."""
    return Response(content=body, status_code=status_code, media_type=JSON)


def page_json(selection: Selection, limit: int) -> Response:
    """A page of a list, as ``schemas.UserPage``/``GroupPage``: its records' stored JSON as they are."""
    head = b'{"total":%d,"limit":%d,"offset":%d,"items":' % (selection.total, limit, selection.offset)
    return raw_json(head + selection.items_json() + b"}")


def accepted(job: Job) -> Response:
    url = f"/api/v1/jobs/{job.id}"
    body = b'{"id":"%s","state":"%s","url":"%s"}' % (job.id.encode(), job.state.encode(), url.encode())
    return Response(
        content=body, status_code=status.HTTP_202_ACCEPTED, media_type=JSON, headers={"Location": url}
    )


# For the OpenAPI document: what a mutating route may answer.
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem} for code in (401, 403, 404, 409, 422, 503)
}
ACCEPTED: dict[str, Any] = {
    "status_code": status.HTTP_202_ACCEPTED,
    "response_model": JobAccepted,
    "responses": PROBLEMS,
}

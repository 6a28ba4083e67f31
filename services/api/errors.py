"""Error answers: always ``{"detail": "<a sentence>"}``, never a stack trace or an echo of the input.

FastAPI's own 422 lists pydantic errors with the offending ``input``, which could be a
password; here each error becomes a sentence and the input is left out.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError as DatabaseError

log = logging.getLogger(__name__)

_PLACES = {"body", "query", "path", "header", "cookie"}


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc if part not in _PLACES)


def sentence(error: dict[str, Any]) -> str:
    field, kind = _field(tuple(error.get("loc", ()))), error.get("type", "")
    if kind == "json_invalid":
        return "The request body is not valid JSON."
    if not field:
        if kind == "missing":
            return "The request body is missing: send a JSON object."
        return "The request body must be a JSON object."
    if kind == "missing":
        return f"The field {field!r} is required."
    if kind == "extra_forbidden":
        return f"The field {field!r} is not accepted here."
    message = str(error.get("msg", "is invalid"))
    return f"The field {field!r} is invalid: {message[:1].lower()}{message[1:]}."


async def validation_failed(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"field": _field(tuple(e.get("loc", ()))), "problem": sentence(e)} for e in exc.errors()]
    detail = " ".join(dict.fromkeys(e["problem"] for e in errors)) or "The request is invalid."
    return JSONResponse(
        {"detail": detail, "errors": jsonable_encoder(errors)},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


async def redis_down(_request: Request, exc: Exception) -> JSONResponse:
    log.error("redis unreachable: %s", exc)
    return JSONResponse(
        {"detail": "The WMI's Redis cannot be reached: try again in a moment."},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
    )


async def database_down(_request: Request, exc: Exception) -> JSONResponse:
    log.error("database unreachable: %s", exc)
    return JSONResponse(
        {"detail": "The WMI's database cannot be reached: try again in a moment."},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_failed)
    app.add_exception_handler(redis.ConnectionError, redis_down)
    app.add_exception_handler(redis.TimeoutError, redis_down)
    app.add_exception_handler(DatabaseError, database_down)

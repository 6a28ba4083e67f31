"""The OpenAPI document, made true to what the API answers.

FastAPI documents a 422 as its own ``HTTPValidationError`` (a list of pydantic errors),
but ``errors.validation_failed`` answers ``{"detail": str, "errors": [{field, problem}]}``;
and it documents only the codes a route declares, while the dependencies a route uses
decide most of what it may answer. Here, once, when the document is first built:

- every 422 is the ``ValidationProblem`` schema, and FastAPI's two schemas are dropped;
- each operation gets the codes its dependencies can answer, each a ``Problem``:
  401 (a session is read), 403 (a mutation: the CSRF header; an admin's route: the role),
  404 (a ``{host}`` in the path), 409 and 503 (a job is submitted: the host may be
  offline, the broker down), 400, 413 and 422 (a body), 422 (a parameter), 503 (Redis or the
  database is used);
- the session cookie and the CSRF header are one security requirement (both are needed),
  not two alternatives.

So a route added later is documented by what it depends on, without a list to keep.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from services.api import deps
from services.api.schemas import FieldProblem, Problem, ValidationProblem

OPENAPI_URL = "/api/v1/openapi.json"
_REF = "#/components/schemas/{model}"
_FASTAPI_422 = ("HTTPValidationError", "ValidationError")

# What a dependency may answer, whichever route uses it.
_ANSWERS: dict[Callable[..., Any], tuple[int, ...]] = {
    deps.current_session: (401, 503),
    deps.admin_session: (403,),
    deps.host_in_path: (404, 422),
    deps.get_submitter: (409, 503),
    deps.get_redis: (503,),
    deps.get_async_redis: (503,),
    deps.get_readmodels: (503,),
    deps.get_db_sessions: (503,),
    deps.get_db: (503,),
}

WHY = {
    400: "The body cannot be read at all (FastAPI's answer to a body that is not UTF-8).",
    401: "Not logged in, or the session has expired or was ended.",
    403: "A mutation without the session's X-CSRF-Token header, or a viewer asking for an admin's change.",
    404: "No such host, user, group, job or account.",
    409: "The change conflicts with the host's state (exists already, nothing would change, a "
    "system account, the host offline).",
    413: "The request body is too large.",
    422: "The request does not fit its schema, or a value is refused; 'errors' lists the fields "
    "when the schema was not met.",
    429: "Too many attempts: wait for the number of seconds in Retry-After.",
    503: "Redis, the database or the job broker cannot be reached: try again in a moment.",
}


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def answers(route: RouteContext) -> set[int]:
    """The error codes ``route`` may answer, from what it depends on and what it takes."""
    codes: set[int] = set()
    dependants = list(_dependants(route.dependant))
    for dependant in dependants:
        if dependant.call is not None:
            codes.update(_ANSWERS.get(dependant.call, ()))
        if dependant.call is deps.csrf_checked and (route.methods or set()) - deps.SAFE_METHODS:
            codes.add(403)
    if any(d.path_params or d.query_params or d.header_params or d.cookie_params for d in dependants):
        codes.add(422)
    if route.body_field is not None:
        codes.update((400, 413, 422))
    return codes


def _problem(code: int, model: str) -> dict[str, Any]:
    return {
        "description": WHY.get(code, HTTPStatus(code).phrase),
        "content": {"application/json": {"schema": {"$ref": _REF.format(model=model)}}},
    }


def _document(operation: dict[str, Any], codes: set[int]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for code in sorted(codes | {int(c) for c in responses if c.isdigit() and int(c) >= 400}):
        model = "ValidationProblem" if code == 422 else "Problem"
        current = responses.get(str(code))
        refs = str(current)
        if current is None or any(name in refs for name in _FASTAPI_422) or code == 422:
            responses[str(code)] = _problem(code, model)
    security = operation.get("security")
    if security and len(security) > 1:
        merged: dict[str, list[str]] = {}
        for requirement in security:
            merged.update(requirement)
        operation["security"] = [merged]


def _add_schemas(document: dict[str, Any]) -> None:
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_422:
        schemas.pop(name, None)
    for model in (Problem, FieldProblem, ValidationProblem):
        schema = model.model_json_schema(ref_template=_REF)
        for name, sub in schema.pop("$defs", {}).items():
            schemas.setdefault(name, sub)
        schemas[model.__name__] = schema


def true_to_answers(document: dict[str, Any], routes: list[Any]) -> dict[str, Any]:
    """``document`` (FastAPI's), rewritten in place as described above."""
    paths: dict[str, dict[str, Any]] = document.get("paths", {})
    # Each route as the app serves it: included routers' prefixes and dependencies applied.
    for route in iter_route_contexts(routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        assert route.path_format is not None  # an APIRoute's
        for method in route.methods or ():
            operation = paths.get(route.path_format, {}).get(method.lower())
            if operation is not None:
                _document(operation, answers(route))
    _add_schemas(document)
    return document


def install(app: FastAPI) -> None:
    """Serve the rewritten document at ``app.openapi_url`` (built once, on first use)."""
    build = app.openapi
    rewritten: list[dict[str, Any]] = []  # the last document rewritten (FastAPI rebuilds on new routes)

    def openapi() -> dict[str, Any]:
        document = build()
        if not rewritten or rewritten[0] is not document:
            rewritten[:] = [true_to_answers(document, app.routes)]
        return document

    app.openapi = openapi  # type: ignore[method-assign]

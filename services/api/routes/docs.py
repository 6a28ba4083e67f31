"""The API's reference: its OpenAPI document and Swagger UI, for logged-in users only.

The document maps every route, parameter and error of the api: nothing an anonymous
visitor needs. Swagger UI is served from ``web/static/vendor/swagger-ui`` (see its
SOURCE.md), never from a CDN, and the page allows nothing else to load or run: its
start-up script is a file of its own, so no inline script is needed.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from services.api.deps import CurrentSession, bound_session_async
from services.api.ui.templates import HEADERS, HTML, Pages, redirect
from services.common.sessions import COOKIE

router = APIRouter(include_in_schema=False)

OPENAPI_URL = "/api/v1/openapi.json"
# Swagger UI sets element styles from script (allowed) and no inline <style>; it calls
# the api (connect-src) and draws a few icons as data: URLs.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


@router.get(OPENAPI_URL)
async def openapi_document(request: Request, _: CurrentSession) -> JSONResponse:
    document: dict[str, Any] = request.app.openapi()
    return JSONResponse(document, headers={"Cache-Control": "no-store"})


@router.get("/docs")
async def docs_page(request: Request) -> Response:
    if await bound_session_async(request, request.cookies.get(COOKIE)) is None:
        return redirect("/login/")
    pages: Pages = request.app.state.pages
    body = pages.render("docs.html", openapi_url=OPENAPI_URL)
    return Response(body, media_type=HTML, headers={**HEADERS, "Content-Security-Policy": DOCS_CSP})

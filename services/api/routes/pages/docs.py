"""The API's reference page (``/docs``): Swagger UI over the OpenAPI document of routes/api/docs.py,
for logged-in users only.

Swagger UI is served from ``web/static/vendor/swagger-ui`` (see its SOURCE.md), never from a
CDN, and the page allows nothing else to load or run: its start-up script is a file of its
own, so no inline script is needed.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.api.deps import bound_session_async
from services.api.openapi import OPENAPI_URL
from services.api.ui.templates import HEADERS, HTML, Pages, redirect
from services.common.sessions import COOKIE

router = APIRouter(include_in_schema=False)

# Swagger UI sets element styles from script (allowed) and no inline <style>; it calls
# the api (connect-src) and draws a few icons as data: URLs.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


@router.get("/docs")
async def docs_page(request: Request) -> Response:
    if await bound_session_async(request, request.cookies.get(COOKIE)) is None:
        return redirect("/login/")
    pages: Pages = request.app.state.pages
    body = pages.render("docs.html", openapi_url=OPENAPI_URL)
    return Response(body, media_type=HTML, headers={**HEADERS, "Content-Security-Policy": DOCS_CSP})

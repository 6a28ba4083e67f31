"""The API's OpenAPI document, for logged-in users only (Swagger UI shows it: routes/pages/docs.py).

The document maps every route, parameter and error of the api: nothing an anonymous
visitor needs.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.api.deps import CurrentSession
from services.api.openapi import OPENAPI_URL

router = APIRouter(include_in_schema=False)


@router.get(OPENAPI_URL)
async def openapi_document(request: Request, _: CurrentSession) -> JSONResponse:
    document: dict[str, Any] = request.app.openapi()
    return JSONResponse(document, headers={"Cache-Control": "no-store"})

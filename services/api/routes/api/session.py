"""The WMI session: log in (JSON), see who is logged in, log out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, Security, status

from services.api import schemas
from services.api.core import auth, sameorigin
from services.api.deps import (
    CsrfSession,
    CurrentSession,
    DbDep,
    RedisDep,
    SettingsDep,
    client_address,
    cookie_scheme,
)
from services.common.sessions import end_session

router = APIRouter(prefix="/session", tags=["session"])


async def not_cross_site(request: Request) -> None:
    """Against login CSRF: a JSON body, from no other site.

    Another site's page can post a form, or a ``text/plain`` or type-less fetch, without
    asking; only a CORS preflight, which this api never grants, would let it send
    ``application/json``. So requiring that type is what stops it; a script (curl) sends
    it and no Origin, and logs in as before. A browser that says it is on another site
    is refused outright.
    """
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "Send the login as JSON (Content-Type: application/json)."
        )
    if sameorigin.source(request) is sameorigin.Source.FOREIGN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Log in from this site's own pages.")


@router.post(
    "",
    response_model=schemas.SessionOut,
    responses={
        401: {"model": schemas.Problem},
        403: {"model": schemas.Problem},
        415: {"model": schemas.Problem},
        429: {"model": schemas.Problem},
        503: {"model": schemas.Problem},
    },
    dependencies=[Depends(not_cross_site)],
)
def log_in(
    body: schemas.LoginIn,
    request: Request,
    response: Response,
    db: DbDep,
    client: RedisDep,
    settings: SettingsDep,
) -> schemas.SessionOut:
    """Log in; the answer's csrf_token goes in the X-CSRF-Token header of every later mutation."""
    try:
        token, session = auth.log_in(
            db, client, request.app.state.password_gate, body.login, body.password,
            client_address(request), settings.session_ttl,
        )  # fmt: skip
    except auth.LoginRefused as refused:
        headers = {"Retry-After": str(refused.retry_after)} if refused.retry_after else None
        raise HTTPException(refused.status_code, refused.detail, headers=headers) from None
    auth.set_cookie(response, token, settings.session_ttl)
    return schemas.SessionOut(login=session.login, role=session.role, csrf_token=session.csrf_token)


@router.get("", response_model=schemas.SessionOut)
async def who_am_i(session: CurrentSession) -> schemas.SessionOut:
    """The current session, with its csrf_token (for a script that kept only the cookie)."""
    return schemas.SessionOut(login=session.login, role=session.role, csrf_token=session.csrf_token)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT)
def log_out(
    session: CsrfSession,
    client: RedisDep,
    token: Annotated[str | None, Security(cookie_scheme)] = None,
) -> Response:
    if token:
        end_session(client, token, session.login)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    auth.clear_cookie(response)
    return response

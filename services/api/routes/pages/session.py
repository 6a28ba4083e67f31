"""The login page, form login and logout: the pages' counterpart of routes/api/session.py.

``GET /login/`` is load-tested: for an anonymous visitor it serves bytes rendered once at
start-up (no Redis, no database, no templating per request), identical on every request,
from a bare ASGI endpoint placed first among the routes (see :class:`LoginPage`).
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response, status
from starlette.routing import request_response
from starlette.types import Receive, Scope, Send

from services.api.core import auth, sameorigin
from services.api.deps import DbDep, RedisDep, SettingsDep, bound_session, bound_session_async, client_address
from services.api.ui.templates import HEADERS, HTML, Pages, html, redirect
from services.common.sessions import COOKIE, end_session

router = APIRouter(include_in_schema=False)


class LoginPage:
    """``GET /login/`` as a bare ASGI endpoint, registered before every other route.

    FastAPI's routing and dependency machinery cost most of a request this small: measured
    in process, about 2,500 requests/s through a regular route, over 15,000 this way. Only a
    visitor who sends the session cookie goes through a Request (and a Redis read), to be
    sent home if the session is still open.
    """

    def __init__(self, body: bytes) -> None:
        headers = [(b"content-type", HTML.encode()), (b"content-length", str(len(body)).encode())]
        headers += [(k.lower().encode(), v.encode()) for k, v in HEADERS.items()]
        self._start = {"type": "http.response.start", "status": 200, "headers": headers}
        self._body = {"type": "http.response.body", "body": body}
        self._with_cookie = request_response(self._page_or_home)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cookie = COOKIE.encode() + b"="
        if any(name == b"cookie" and cookie in value for name, value in scope["headers"]):
            await self._with_cookie(scope, receive, send)
            return
        await send(self._start)
        await send(self._body)

    async def _page_or_home(self, request: Request) -> Response:
        token = request.cookies.get(COOKIE)
        if token and await bound_session_async(request, token) is not None:
            return redirect("/")
        return Response(self._body["body"], media_type=HTML, headers=HEADERS)


def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


@router.post("/login/")
def login_form(
    request: Request,
    db: DbDep,
    client: RedisDep,
    settings: SettingsDep,
    login: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    pages = _pages(request)
    # Against login CSRF: only our own page may post this form. A browser too old to say
    # where the request comes from, and with no Origin nor Referer either, is refused: the
    # form cannot tell it from another site's page (scripts log in with JSON instead).
    if sameorigin.source(request) is not sameorigin.Source.OURS:
        return html(pages.login_failed("Log in from this site's own page.", ""), 403)
    if not login or not password or len(login) > 64 or len(password.encode()) > 1024:
        return html(pages.login_failed(auth.WRONG, login[:64]), 401)
    try:
        token, _ = auth.log_in(
            db, client, request.app.state.password_gate, login, password,
            client_address(request), settings.session_ttl,
        )  # fmt: skip
    except auth.LoginRefused as refused:
        page = html(pages.login_failed(refused.detail, login), refused.status_code)
        if refused.retry_after:
            page.headers["Retry-After"] = str(refused.retry_after)
        return page
    response = redirect("/")
    auth.set_cookie(response, token, settings.session_ttl)
    return response


@router.post("/logout/")
def logout_form(request: Request, client: RedisDep, csrf_token: Annotated[str, Form()] = "") -> Response:
    token = request.cookies.get(COOKIE)
    session = bound_session(request, client, token)
    if token and session is not None:
        if request.headers.get("sec-fetch-site") == "cross-site" or not secrets.compare_digest(
            csrf_token.encode(), session.csrf_token.encode()
        ):
            return Response(
                "Log out from this site's own page.", status.HTTP_403_FORBIDDEN, media_type="text/plain"
            )
        end_session(client, token, session.login)
    response = redirect("/login/")
    auth.clear_cookie(response)
    return response

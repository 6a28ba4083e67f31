"""The HTML pages: the login form, a dashboard placeholder, form login and logout.

``GET /login/`` is load-tested: for an anonymous visitor it serves bytes rendered once at
start-up (no Redis, no database, no templating per request), identical on every request,
from a bare ASGI endpoint placed first among the routes (see :class:`LoginPage`).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

import jinja2
import redis.asyncio
from fastapi import APIRouter, Form, Request, Response, status
from fastapi.responses import RedirectResponse
from starlette.routing import request_response
from starlette.types import Receive, Scope, Send

from services.api.core import auth
from services.api.deps import AsyncRedisDep, DbDep, RedisDep, SettingsDep
from services.api.routes.session import client_address
from services.common.sessions import COOKIE, Session, end_session, read_session, read_session_async

router = APIRouter(include_in_schema=False)

HTML = "text/html; charset=utf-8"
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


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
        if await _visitor(request, request.app.state.async_redis) is not None:
            return _redirect("/")
        return Response(self._body["body"], media_type=HTML, headers=HEADERS)


class Pages:
    """The templates, loaded once; the anonymous login page, rendered once."""

    def __init__(self, templates: Path) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(templates), autoescape=True, auto_reload=False
        )
        self.login = self.env.get_template("login.html")
        self.dashboard = self.env.get_template("dashboard.html")
        self.login_anonymous = self.login.render(error=None, login=None).encode()
        self.login_page = LoginPage(self.login_anonymous)

    def login_failed(self, error: str, login: str) -> bytes:
        return self.login.render(error=error, login=login).encode()


def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


def _html(body: bytes, status_code: int = status.HTTP_200_OK) -> Response:
    return Response(content=body, status_code=status_code, media_type=HTML, headers=HEADERS)


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=status.HTTP_303_SEE_OTHER)


def _cross_site(request: Request) -> bool:
    """A form posted from another site (login CSRF): browsers say so in Sec-Fetch-Site."""
    return request.headers.get("sec-fetch-site") == "cross-site"


async def _visitor(request: Request, aredis: redis.asyncio.Redis) -> Session | None:
    token = request.cookies.get(COOKIE)
    return await read_session_async(aredis, token) if token else None


@router.get("/")
async def home(request: Request, aredis: AsyncRedisDep, settings: SettingsDep) -> Response:
    session = await _visitor(request, aredis)
    if session is None:
        return _redirect("/login/")
    return _html(_pages(request).dashboard.render(session=session, host=settings.host_name).encode())


@router.post("/login/")
def login_form(
    request: Request,
    db: DbDep,
    client: RedisDep,
    settings: SettingsDep,
    login: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    if _cross_site(request):
        return _html(_pages(request).login_failed("Log in from this site's own page.", ""), 403)
    if not login or not password or len(login) > 64 or len(password.encode()) > 1024:
        return _html(_pages(request).login_failed(auth.WRONG, login[:64]), 401)
    try:
        token, _ = auth.log_in(db, client, login, password, client_address(request), settings.session_ttl)
    except auth.LoginRefused as refused:
        return _html(_pages(request).login_failed(refused.detail, login), refused.status_code)
    response = _redirect("/")
    auth.set_cookie(response, token, settings.session_ttl)
    return response


@router.post("/logout/")
def logout_form(request: Request, client: RedisDep, csrf_token: Annotated[str, Form()] = "") -> Response:
    token = request.cookies.get(COOKIE)
    session = read_session(client, token)
    if token and session is not None:
        if _cross_site(request) or not secrets.compare_digest(
            csrf_token.encode(), session.csrf_token.encode()
        ):
            return Response(
                "Log out from this site's own page.", status.HTTP_403_FORBIDDEN, media_type="text/plain"
            )
        end_session(client, token, session.login)
    response = _redirect("/login/")
    auth.clear_cookie(response)
    return response

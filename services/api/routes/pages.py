"""The login page, form login and logout, and the dashboard.

``GET /login/`` is load-tested: for an anonymous visitor it serves bytes rendered once at
start-up (no Redis, no database, no templating per request), identical on every request,
from a bare ASGI endpoint placed first among the routes (see :class:`LoginPage`).
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response, status
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession
from starlette.concurrency import run_in_threadpool
from starlette.routing import request_response
from starlette.types import Receive, Scope, Send

from services.api.core import auth, readmodel, sameorigin
from services.api.core.readmodel import Filters
from services.api.core.recent import recent_events
from services.api.deps import (
    AsyncRedisDep,
    DbDep,
    ReadModelsDep,
    RedisDep,
    SettingsDep,
    bound_session,
    bound_session_async,
)
from services.api.routes.jobs import job_out
from services.api.routes.session import client_address
from services.api.ui.context import PageDep
from services.api.ui.templates import HEADERS, HTML, Pages, html, redirect
from services.common.db import Job
from services.common.sessions import COOKIE, end_session

router = APIRouter(include_in_schema=False)

RECENT_EVENTS = 20
RUNNING_SHOWN = 20


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


def _unfinished_jobs(db: DbSession, host: str) -> list[dict[str, Any]]:
    query = (
        select(Job)
        .where(Job.host == host, Job.state.in_(("queued", "running")))
        .order_by(Job.created_at.desc())
        .limit(RUNNING_SHOWN)
    )
    return [job_out(job).model_dump() for job in db.scalars(query)]


@router.get("/")
async def dashboard(
    request: Request,
    page: PageDep,
    aredis: AsyncRedisDep,
    models: ReadModelsDep,
    db: DbDep,
    settings: SettingsDep,
) -> Response:
    """Counts and a few rows: what it costs does not grow with the host's accounts."""
    model = await models.current_async(aredis, page.host)
    regular = Filters(system=False)
    hosts = await readmodel.hosts(aredis, settings.host_name)
    events = await recent_events(aredis, RECENT_EVENTS)
    jobs = await run_in_threadpool(_unfinished_jobs, db, page.host)
    body = _pages(request).render(
        "dashboard.html", page=page, hosts=hosts, users=model.users.count(regular),
        groups=model.groups.count(regular), jobs=jobs, events=events,
    )  # fmt: skip
    return html(body)


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

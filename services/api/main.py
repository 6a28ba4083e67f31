"""The API gateway's ASGI app: ``uvicorn --factory services.api.main:create_app``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from services.api import errors, openapi
from services.api.bodylimit import BodyLimit
from services.api.core import imports
from services.api.core.jobs import make_queue
from services.api.core.passwords import PasswordGate
from services.api.core.readmodel import ReadModels
from services.api.deps import host_in_path
from services.api.fastpath import Api, LoginRedirect, answered
from services.api.routes import api, pages
from services.api.ui import refusals
from services.api.ui.templates import Pages
from services.common.db import init_db, sessionmaker_for
from services.common.events import Publisher
from services.common.redis import async_client, sync_client
from services.common.sessions import AccountCheck
from services.common.settings import Settings, get_settings

WEB = Path(__file__).resolve().parents[2] / "web"
API_PREFIX = "/api/v1"


def api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    for module in (api.health, api.session, api.users, api.groups, api.jobs, api.hosts, api.accounts,
                   api.audit, api.fleet, api.imports):  # fmt: skip
        router.include_router(module.router)
    # The same users and groups routes for each host of a fleet; the one-host paths above
    # act on the default host (deps.get_host).
    for module in (api.users, api.groups):
        router.include_router(module.router, prefix="/hosts/{host}", dependencies=[Depends(host_in_path)])
    return router


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    # Migrates the schema if needed (under a lock: several web workers start at once), so
    # that `wmi2 api` alone works on an empty data dir.
    init_db(settings.resolved_database_url)
    # An asyncio client belongs to one event loop: made here, in the loop that serves.
    app.state.async_redis = async_client(settings.resolved_redis_url, settings.redis_timeout)
    try:
        yield
    finally:
        await app.state.async_redis.aclose()
        app.state.job_queue.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = Api(
        title="WMI2",
        summary="Web management interface for the accounts of Linux hosts.",
        version="0.1.0",
        # Served by routes.api.docs and routes.pages.docs instead, behind a session and with
        # the assets of web/static.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.redis = sync_client(settings.resolved_redis_url, settings.redis_timeout)
    app.state.readmodels = ReadModels(app.state.redis)
    app.state.db_sessions = sessionmaker_for(settings.resolved_database_url)
    app.state.publisher = Publisher(app.state.redis, settings.event_log_max)
    app.state.job_queue = make_queue(settings)
    app.state.pages = Pages(WEB / "templates")
    app.state.password_gate = PasswordGate(settings.login_checks, settings.login_check_wait)
    app.state.accounts = AccountCheck(app.state.db_sessions, settings.account_check_ttl)
    errors.install(app)
    openapi.install(app)
    refusals.install(app)
    # First of all routes: the login page is the one load-tested (see pages.session.LoginPage).
    app.state.login_page = pages.session.LoginPage(app.state.pages.login_anonymous)
    app.router.add_route("/login/", app.state.login_page, methods=["GET"], include_in_schema=False)
    # And ahead of FastAPI itself for an anonymous GET (see fastpath): the load-tested requests.
    app.fast = {"/login/": answered(app.state.login_page), "/": LoginRedirect()}
    for module in (pages.session, pages.dashboard, pages.users, pages.groups, pages.jobs, pages.audit,
                   pages.accounts, pages.fleet, pages.docs, pages.imports):  # fmt: skip
        app.include_router(module.router)
    app.include_router(api_router())
    app.include_router(api.docs.router)
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
    # Before any route parses a body; a roster import gets a larger cap (its route reads the
    # body only once the session is checked).
    app.add_middleware(
        BodyLimit,
        limit=settings.max_body,
        overrides={api.imports.PATH: imports.MAX_FILE, pages.imports.PATH: imports.MAX_FILE},
    )
    return app

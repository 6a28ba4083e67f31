"""Every dependency the routes declare, as ``Annotated`` aliases.

The per-process resources (settings, Redis clients, the Celery producer, the event
publisher) live on ``app.state``, made by :func:`services.api.main.create_app`, so that a
test can build an app from its own settings.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated

import redis
import redis.asyncio
from fastapi import Depends, HTTPException, Path, Query, Request, Security, status
from fastapi.security import APIKeyCookie, APIKeyHeader
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from services.api.core import hosts
from services.api.core.jobs import Submitter
from services.api.core.readmodel import ReadModels
from services.api.schemas import MAX_OFFSET, PAGE_MAX
from services.common.sessions import COOKIE, AccountCheck, Session, read_session, read_session_async
from services.common.settings import Settings

CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Declared as security schemes so that the OpenAPI document says how to authenticate.
cookie_scheme = APIKeyCookie(name=COOKIE, auto_error=False, description="The session cookie set at login.")
csrf_scheme = APIKeyHeader(
    name=CSRF_HEADER, auto_error=False, description="The csrf_token given at login; every mutation sends it."
)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_redis(request: Request) -> redis.Redis:
    """The blocking client: for sync routes, which run in the thread pool."""
    client: redis.Redis = request.app.state.redis
    return client


async def get_async_redis(request: Request) -> redis.asyncio.Redis:
    """The event loop's client: for async routes."""
    client: redis.asyncio.Redis = request.app.state.async_redis
    return client


async def get_readmodels(request: Request) -> ReadModels:
    """The process's decoded read models, reloaded when a host's changes (core.readmodel)."""
    models: ReadModels = request.app.state.readmodels
    return models


SettingsDep = Annotated[Settings, Depends(get_settings)]
RedisDep = Annotated[redis.Redis, Depends(get_redis)]
AsyncRedisDep = Annotated[redis.asyncio.Redis, Depends(get_async_redis)]
ReadModelsDep = Annotated[ReadModels, Depends(get_readmodels)]


async def get_db_sessions(request: Request) -> sessionmaker[DbSession]:
    """The database's session factory: for a sync route to open and close a session in its
    own thread (a generator dependency costs two more trips through the thread pool)."""
    sessions: sessionmaker[DbSession] = request.app.state.db_sessions
    return sessions


DbSessionsDep = Annotated[sessionmaker[DbSession], Depends(get_db_sessions)]


def get_db(sessions: DbSessionsDep) -> Iterator[DbSession]:
    with sessions() as db:
        yield db


DbDep = Annotated[DbSession, Depends(get_db)]


async def get_host(request: Request, settings: SettingsDep) -> str:
    """The managed host: the ``{host}`` of the path (``/api/v1/hosts/{host}/...``, checked by
    :func:`host_in_path`), or the default host for the one-host paths (``/api/v1/users``)."""
    host: str = request.path_params.get("host", settings.host_name)
    return host


HostDep = Annotated[str, Depends(get_host)]


def _accounts(request: Request) -> AccountCheck:
    accounts: AccountCheck = request.app.state.accounts
    return accounts


async def bound_session_async(request: Request, token: str | None) -> Session | None:
    """The session of ``token``, if Redis has it and its account (per the database) still matches."""
    if not token:
        return None
    session = await read_session_async(request.app.state.async_redis, token)
    if session is None or not await _accounts(request).holds_async(session):
        return None
    return session


def bound_session(request: Request, client: redis.Redis, token: str | None) -> Session | None:
    """:func:`bound_session_async` for the thread pool's routes."""
    session = read_session(client, token)
    if session is None or not _accounts(request).holds(session):
        return None
    return session


async def current_session(
    request: Request, token: Annotated[str | None, Security(cookie_scheme)] = None
) -> Session:
    session = await bound_session_async(request, token)
    if session is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "You are not logged in, or your session has expired: log in again."
        )
    return session


CurrentSession = Annotated[Session, Depends(current_session)]


async def host_in_path(
    host: Annotated[str, Path(max_length=253, description="A managed host, as GET /api/v1/hosts lists it.")],
    _: CurrentSession,
    aredis: AsyncRedisDep,
    settings: SettingsDep,
) -> str:
    """For the routers mounted under ``/hosts/{host}``: an unknown host is 404 (after the
    session check, so that host names are not told to anonymous callers)."""
    if not await hosts.is_known(aredis, host, settings.host_name):
        raise hosts.no_such_host(host)
    return host


async def csrf_checked(
    request: Request, session: CurrentSession, token: Annotated[str | None, Security(csrf_scheme)] = None
) -> Session:
    """A mutation must prove it comes from a page (or a script) that was given the token."""
    if request.method not in SAFE_METHODS and not (
        token and secrets.compare_digest(token.encode(), session.csrf_token.encode())
    ):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"Missing or wrong {CSRF_HEADER} header: send the csrf_token given at login.",
        )
    return session


CsrfSession = Annotated[Session, Depends(csrf_checked)]


async def admin_session(session: CsrfSession) -> Session:
    if session.role != "admin":
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"Your WMI account has the role {session.role!r}: "
            "it can read, but only an admin can change things.",
        )
    return session


AdminSession = Annotated[Session, Depends(admin_session)]


def submitter_for(request: Request, session: Session, client: redis.Redis, host: str) -> Submitter:
    """The one way a Submitter is made: for ``host``, acting for ``session``'s admin."""
    return Submitter(
        db_sessions=request.app.state.db_sessions,
        redis=client,
        publisher=request.app.state.publisher,
        queue=request.app.state.job_queue,
        host=host,
        actor=session.login,
        manage_system_accounts=request.app.state.settings.manage_system_accounts,
        models=request.app.state.readmodels,
    )


async def get_submitter(
    request: Request, session: AdminSession, client: RedisDep, host: HostDep
) -> Submitter:
    return submitter_for(request, session, client, host)


SubmitterDep = Annotated[Submitter, Depends(get_submitter)]


# --- a page of a list: the same parameters for every list of a host's records ---------------------

Limit = Annotated[
    int,
    Query(ge=1, le=PAGE_MAX, description=f"The most records to answer, 1 to {PAGE_MAX}: offset pages on."),
]
Offset = Annotated[
    int, Query(ge=0, le=MAX_OFFSET, description="How many matching records to skip (the page's start).")
]
Search = Annotated[
    str,
    Query(max_length=200, description="Keep the records holding this text, whatever its case (empty: all)."),
]
SystemFilter = Annotated[
    bool | None,
    Query(description="true: only system accounts (outside the host's UID_MIN..UID_MAX, and root); "
          "false: only the others; left out: both."),
]  # fmt: skip
GroupFilter = Annotated[
    str | None,
    Query(max_length=64, description="Only its members: it lists them, or it is their primary group."),
]
LockedFilter = Annotated[
    bool | None, Query(description="true: only locked accounts; false: only the others.")
]

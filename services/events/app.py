"""The events service's ASGI app: ``GET /events`` (the stream) and ``GET /events/health``.

The app owns the full paths, so it can be served alone behind a proxy or co-hosted with
the API by a path dispatcher. A dispatcher should pass lifespan events on to it; if it
does not, the hub starts on the first request instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from services.common.headers import is_https, secured
from services.common.sessions import COOKIE, Session, digest, read_session_async
from services.common.settings import get_settings
from services.events.replay import parse_event_id
from services.events.service import EventsService
from services.events.stream import EventStream

STREAM_PATH = "/events"


class EventsApp(Starlette):
    """Starlette for everything but the stream itself, which skips its middleware and router.

    Every coroutine frame a stream keeps suspended is memory held per client for hours:
    going straight from ``__call__`` to the stream saves about a dozen of them (some
    4 KB per client, measured), with nothing lost, since the stream handles its own errors.
    """

    def __init__(self, service: EventsService) -> None:
        @asynccontextmanager
        async def lifespan(_app: Starlette) -> AsyncIterator[None]:
            await service.start()
            try:
                yield
            finally:
                await service.stop()

        super().__init__(routes=[Route(f"{STREAM_PATH}/health", self.health)], lifespan=lifespan)
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        if scope["path"] == STREAM_PATH:
            # _open returns before the stream starts, so its Request is not kept alive.
            response = await self._open(Request(scope), https=is_https(scope))
            if isinstance(response, EventStream):
                # The stream sends them itself: no wrapper kept suspended per client.
                await response(scope, receive, send)
                return
            await response(scope, receive, secured(scope, send))
        else:
            await super().__call__(scope, receive, secured(scope, send))

    async def _open(self, request: Request, *, https: bool) -> ASGIApp:
        """The stream for a logged-in client, or the reason it cannot have one."""
        service = self.service
        if request.method not in ("GET", "HEAD"):
            return PlainTextResponse("Method Not Allowed", 405, headers={"Allow": "GET, HEAD"})
        await service.start()
        token = request.cookies.get(COOKIE)
        try:
            session = await self._session(token)
        except (RedisError, SQLAlchemyError):
            return PlainTextResponse("The event service cannot reach its store; retry shortly.", 503)
        if session is None:
            return PlainTextResponse("Log in to receive events.", 401)
        if service.hub.closing:
            return PlainTextResponse("The event service is restarting; retry shortly.", 503)
        raw = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
        after = parse_event_id(raw) if raw else None
        lost = bool(raw) and after is None
        return EventStream(service.hub, service.redis, after, lost, digest(token or ""), https)

    async def _session(self, token: str | None) -> Session | None:
        """The cookie's session, if Redis has it and its account (per the database) still holds it."""
        session = await read_session_async(self.service.redis, token)
        if session is None or not await self.service.accounts.holds_async(session):
            return None
        return session

    async def health(self, request: Request) -> Response:
        """Anyone may learn that the service is up (healthchecks); only an admin, how it is doing."""
        subscription = self.service.subscription
        status = 200 if subscription.subscribed else 503
        body: dict[str, object] = {"status": "ok" if subscription.subscribed else "degraded"}
        if await self._is_admin(request):
            body.update(subscribed=subscription.subscribed, clients=len(self.service.hub),
                        dropped=self.service.hub.dropped, last_id=subscription.last_id)  # fmt: skip
        return JSONResponse(body, status_code=status)

    async def _is_admin(self, request: Request) -> bool:
        try:
            session = await self._session(request.cookies.get(COOKIE))
        except (RedisError, SQLAlchemyError):
            return False
        return session is not None and session.role == "admin"


def create_app() -> EventsApp:
    return EventsApp(EventsService(get_settings()))

"""The anonymous visitor's two requests, answered before FastAPI's middleware and router.

``GET /login/`` and ``GET /`` without a session are what a load test (the original's ab
and httperf commands), a monitoring probe or a crowd of logged-out browsers send. Through
FastAPI each of them crosses five middleware layers (error, telemetry, exception, exit
stack, router) and, for ``/``, a dependency run in the thread pool that reads Redis only to
find no cookie: measured under granian with wrk, those layers cost more than the page.
Here a dict lookup decides; anything else, and any request that carries a session cookie,
takes the regular way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from services.common.headers import secured
from services.common.sessions import COOKIE

# (scope, receive, send) -> whether it answered; False hands the request to FastAPI.
FastHandler = Callable[[Scope, Receive, Send], Awaitable[bool]]

_COOKIE = COOKIE.encode() + b"="


def has_session_cookie(scope: Scope) -> bool:
    return any(name == b"cookie" and _COOKIE in value for name, value in scope["headers"])


def answered(app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> FastHandler:
    """A plain ASGI endpoint as a fast handler that always answers."""

    async def handler(scope: Scope, receive: Receive, send: Send) -> bool:
        await app(scope, receive, send)
        return True

    return handler


class LoginRedirect:
    """``GET /`` without a session cookie: the same 303 to the login page as the dashboard's."""

    def __init__(self, location: str = "/login/") -> None:
        self._start = {
            "type": "http.response.start",
            "status": 303,
            "headers": [(b"location", location.encode()), (b"content-length", b"0")],
        }
        self._body = {"type": "http.response.body", "body": b""}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> bool:
        if has_session_cookie(scope):
            return False
        await send(self._start)
        await send(self._body)
        return True


class EncodedSlash:
    """A path with an encoded '/' (``%2F``) names nothing WMI2 has: no login, group, host or
    job id holds a '/'. Answered 404 before routing, because Starlette decodes it first and
    would then redirect ``PATCH /api/v1/users/..%2F`` to ``/api/v1/users/..`` (307), which a
    client resolves to ``/api/v1``: a mutation must never be redirected."""

    def __init__(self) -> None:
        self._start = {
            "type": "http.response.start",
            "status": 404,
            "headers": [(b"content-type", b"application/json")],
        }
        detail = "There is nothing at this address: no name WMI2 manages holds a '/'."
        self._body = {"type": "http.response.body", "body": orjson.dumps({"detail": detail})}

    @staticmethod
    def names_nothing(scope: Scope) -> bool:
        return b"%2f" in scope.get("raw_path", b"").lower()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(self._start)
        await send(self._body)


class Api(FastAPI):
    """FastAPI, with ``fast`` GET handlers consulted first, by exact path, and a path with an
    encoded '/' answered 404 before routing (:class:`EncodedSlash`).

    Every HTTP answer, fast or not, gets the security headers (``services.common.headers``)
    here, outside all of FastAPI's layers: its error pages and static files included.
    """

    _encoded_slash = EncodedSlash()

    fast: dict[str, FastHandler]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        send = secured(scope, send)
        if EncodedSlash.names_nothing(scope):
            await self._encoded_slash(scope, receive, send)
            return
        if scope["method"] == "GET":
            handler = getattr(self, "fast", {}).get(scope["path"])
            if handler is not None:
                # What Starlette would have set: a Request made by the handler finds its app.
                scope["app"] = self
                if await handler(scope, receive, send):
                    return
        await super().__call__(scope, receive, send)

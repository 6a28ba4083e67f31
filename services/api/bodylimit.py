"""A cap on request bodies, applied before any route parses one (pure ASGI middleware).

FastAPI reads and parses a route's whole body before its dependencies run, the session
check included: without a cap, an anonymous caller's 31 MB of JSON was held and parsed
in full. Here a body larger than the cap is refused with 413 and a JSON detail: at once
when its Content-Length says so, or, for a chunked body, as soon as the bytes received
pass the cap (the route then sees the request end; what it would answer is dropped).

A route that needs more (a later import of many accounts) gets its own cap in
``overrides``, by exact path. Since FastAPI reads a declared body before checking the
session, such a route must take its body from ``request.stream()`` after its session
dependency, not as a parameter, or anonymous callers get the larger cap too.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def too_large(limit: int) -> tuple[Message, Message]:
    detail = f"The request body is larger than {limit:,} bytes, the most accepted here."
    body = orjson.dumps({"detail": detail})
    start = {
        "type": "http.response.start",
        "status": 413,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


def declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int, overrides: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.overrides = dict(overrides or {})
        self._refusals = {cap: too_large(cap) for cap in {limit, *self.overrides.values()}}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.overrides.get(scope["path"], self.limit)
        declared = declared_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(limit, send)
            return
        if declared is not None:
            # The server reads no more than the declared length as this request's body.
            await self.app(scope, receive, send)
            return
        await self._counted(scope, receive, send, limit)

    async def _refuse(self, limit: int, send: Send) -> None:
        start, body = self._refusals[limit]
        await send(start)
        await send(body)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """A body of unknown length: count its bytes as they come; past the cap, answer 413."""
        received = 0
        state = {"started": False, "refused": False}

        async def capped_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request" and not state["refused"]:
                received += len(message.get("body", b""))
                if received > limit:
                    state["refused"] = True
                    if not state["started"]:
                        await self._refuse(limit, send)
                    # The route stops reading as if the client had gone: it never sees the excess.
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if state["refused"]:
                return
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, capped_receive, guarded_send)
        except Exception:
            # The route's reaction to the cut body (a ClientDisconnect): the 413 has gone out.
            if not state["refused"]:
                raise

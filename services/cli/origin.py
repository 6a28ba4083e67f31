"""One HTTPS origin for two ASGI apps: ``/events`` goes to the events service, the rest to the api.

They stay separate apps (separate containers in compose, behind a proxy that routes the
same way); here one server hosts both so that ``wmi2 up`` needs no proxy.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from services.api.main import create_app as create_api
from services.events.app import create_app as create_events

EVENTS_PREFIX = "/events"


class Origin:
    def __init__(self, api: Any, events: Any) -> None:
        self.api: ASGIApp = api
        self.events: ASGIApp = events
        self._apps = (api, events)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        path: str = scope.get("path", "")
        if path == EVENTS_PREFIX or path.startswith(EVENTS_PREFIX + "/"):
            await self.events(scope, receive, send)
        else:
            await self.api(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        """Run both apps' lifespans inside one: a failure in either fails the start."""
        await receive()
        async with AsyncExitStack() as stack:
            try:
                for app in self._apps:
                    await stack.enter_async_context(app.router.lifespan_context(app))
            except Exception as exc:
                await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
            await receive()
        await send({"type": "lifespan.shutdown.complete"})


def create_app() -> Origin:
    return Origin(create_api(), create_events())

"""Noticing that the server is shutting down, so that open streams end instead of hanging it.

uvicorn waits for every request to finish before it runs the lifespan shutdown, and an
event stream never finishes by itself: without this, stopping the server waits for
``timeout_graceful_shutdown`` (or for ever) and then cancels each stream with an error
logged. uvicorn exposes no hook, so, like sse-starlette, we find its ``Server`` through
the SIGTERM handler it installs and watch its ``should_exit`` flag. Under another
server this finds nothing and the server's own graceful timeout applies.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

POLL = 0.5


def server_exiting() -> bool:
    handler = signal.getsignal(signal.SIGTERM)
    server = getattr(handler, "__self__", None)
    return getattr(server, "should_exit", False) is True


async def on_server_exit(callback: Callable[[], None]) -> None:
    """Call ``callback`` once the server starts shutting down."""
    while not server_exiting():
        await asyncio.sleep(POLL)
    callback()

"""Noticing that the server is shutting down, so that open streams end instead of hanging it.

Servers wait for every request to finish before they stop, and an event stream never
finishes by itself: without this, stopping the server waits for its graceful timeout (or
for ever) and then kills the streams, or the whole worker. Neither uvicorn nor granian
offers a hook, so two ways are watched, whichever comes first:

- the SIGTERM/SIGINT that stops a worker process: our handler is put in front of the one
  in place, notes the signal and calls that one, so the server's own handling is unchanged
  (granian handles them in its event loop, through the wakeup fd, which a Python-level
  handler does not replace);
- uvicorn's ``Server.should_exit`` flag, found like sse-starlette does through the SIGTERM
  handler uvicorn installs, for an exit uvicorn decides without a signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType

POLL = 0.5
SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _uvicorn_server() -> object | None:
    """uvicorn's ``Server``, whose bound method is the SIGTERM handler; None under another server."""
    return getattr(signal.getsignal(signal.SIGTERM), "__self__", None)


def _chain(signum: int, notify: Callable[[], None]) -> None:
    previous = signal.getsignal(signum)

    def handler(number: int, frame: FrameType | None) -> None:
        notify()
        if callable(previous):
            previous(number, frame)
        elif previous == signal.SIG_DFL:
            # What the signal would have done without us: usually, end the process.
            signal.signal(number, signal.SIG_DFL)
            os.kill(os.getpid(), number)

    signal.signal(signum, handler)


async def on_server_exit(callback: Callable[[], None]) -> None:
    """Call ``callback`` once the server starts shutting down."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    server = _uvicorn_server()

    def notify() -> None:
        loop.call_soon_threadsafe(stopping.set)

    if threading.current_thread() is threading.main_thread():
        for signum in SIGNALS:
            # A handler that cannot be read or replaced leaves only the flag to watch.
            with contextlib.suppress(ValueError, OSError, TypeError):
                _chain(signum, notify)
    while getattr(server, "should_exit", False) is not True and not stopping.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), POLL)
    callback()

"""One browser's event stream, as a plain ASGI response.

Not sse-starlette's EventSourceResponse: that one runs four tasks per client (sender,
disconnect listener, its own ping timer, exit listener) inside an anyio task group;
this one runs the request's own task plus one small disconnect watcher, and heartbeats
come from the hub's single timer, so an idle client costs a third of the memory
(loadtest/RESULTS.md, "The events service's memory and collector").
"""

from __future__ import annotations

import asyncio
import logging
import random

import anyio
import redis.asyncio
from redis.exceptions import RedisError
from starlette.types import Receive, Scope, Send

from services.common import headers
from services.events import replay
from services.events.frames import Frame, Order, gap_frame, retry_frame
from services.events.hub import Hub
from services.events.mailbox import Mailbox

log = logging.getLogger("wmi2.events")

HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    # Proxies (nginx) must pass each event on at once, not buffer the stream.
    (b"x-accel-buffering", b"no"),
    # When a stream ends (client dropped, server draining) the socket goes with it.
    (b"connection", b"close"),
]

# What a stream sends, over HTTP and over HTTPS: two lists shared by every stream.
STREAM_HEADERS = headers.with_headers(HEADERS, headers.PLAIN)
HTTPS_STREAM_HEADERS = headers.with_headers(HEADERS, headers.HTTPS)

# Browsers reconnect after this many milliseconds, each a different amount so that
# thousands of clients dropped at once do not all come back in the same instant.
RETRY_MS = (1000, 4000)

# How long a last, polite end of stream may wait for a client that stopped reading.
END_TIMEOUT = 1.0


class EventStream:
    """Registers with the hub, sends the headers, replays what was missed, then goes live.

    ``after`` is the client's Last-Event-ID (None: live only); ``lost`` says the client
    sent an id it cannot be given events after (unreadable), so it is told of a gap.
    """

    def __init__(
        self,
        hub: Hub,
        client: redis.asyncio.Redis,
        after: Order | None,
        lost: bool,
        session: str,
        https: bool = False,
    ) -> None:
        self._headers = HTTPS_STREAM_HEADERS if https else STREAM_HEADERS
        self._hub = hub
        self._session = session
        self._client = client
        self._after = after
        self._lost = lost

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] == "HEAD":
            await send({"type": "http.response.start", "status": 200, "headers": self._headers})
            await send({"type": "http.response.body", "body": b""})
            return
        # Registered before the headers go out (so a 200 means "you are receiving") and
        # before the log is read (so nothing published during the replay is missed).
        mailbox = self._hub.register(self._session)
        watcher = asyncio.ensure_future(_until_disconnect(receive))
        watcher.add_done_callback(lambda _: mailbox.close())
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self._headers})
            await self._stream(send, mailbox)
            if mailbox.overflowed:
                # It stopped reading: a polite end would wait behind what it never reads, and
                # the server's close would keep its socket until it drained. Cut before the
                # app returns, while the server still holds the socket's descriptor.
                await self._hub.resets.reset(scope)
            else:
                await _end(send)
        finally:
            watcher.cancel()
            self._hub.unregister(mailbox)

    async def _stream(self, send: Send, mailbox: Mailbox) -> None:
        """Pump until the mailbox closes, which interrupts whatever the pump awaits.

        A slow client is usually stuck in send() waiting for its socket to drain: closing
        its mailbox (it fell too far behind) must end that at once, not when it drains.
        Cancelling our own task does it for the cost of a bound method (an anyio
        CancelScope costs about 1 KB per client).
        """
        task = asyncio.current_task()
        assert task is not None
        mailbox.on_close(task.cancel)
        try:
            if not mailbox.closed:
                await self._pump(send, mailbox)
        except asyncio.CancelledError:
            # Our own interruption ends the stream; any other cancellation is passed on.
            if not mailbox.closed or task.uncancel() > 0:
                raise
        finally:
            mailbox.on_close(None)

    async def _pump(self, send: Send, mailbox: Mailbox) -> None:
        first = [retry_frame(random.randint(*RETRY_MS))]  # noqa: S311 - jitter, not a secret
        if self._lost:
            first.append(gap_frame(None))
        await _send(send, first)
        after = self._after
        if after is not None:
            try:
                after = await self._replay(send, after)
            except RedisError as exc:
                # End the stream: the browser reconnects with the last id it did get.
                log.warning("replay failed (%s); closing the stream", exc)
                return
        while (frames := await mailbox.take()) is not None:
            # Live events the replay already sent (published while it ran) are dropped.
            fresh = [f for f in frames if after is None or f.order is None or f.order > after]
            await _send(send, fresh)

    async def _replay(self, send: Send, after: Order) -> Order:
        """Send every logged event after ``after``; return the last id sent."""
        if await replay.lost_after(self._client, after):
            await _send(send, [gap_frame(replay.format_id(after))])
        async for frames in replay.missed(self._client, after):
            await _send(send, frames)
            after = frames[-1].order or after
        return after


async def _send(send: Send, frames: list[Frame]) -> None:
    if frames:
        # One write per batch: a burst costs one syscall per client, not one per event.
        body = frames[0].data if len(frames) == 1 else b"".join(f.data for f in frames)
        await send({"type": "http.response.body", "body": body, "more_body": True})


async def _end(send: Send) -> None:
    # If the client stopped reading meanwhile, this send would wait for ever: give up, and
    # the server closes the socket (uvicorn logs that the response was not completed).
    with anyio.move_on_after(END_TIMEOUT):
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass

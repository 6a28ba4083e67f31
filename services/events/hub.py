"""The in-memory fan-out: one frame in, one pointer into every client's mailbox out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from services.events.frames import HEARTBEAT, Frame
from services.events.mailbox import Mailbox
from services.events.reset import Resets

# Given session digests, which of them have ended.
EndedCheck = Callable[[set[str]], Awaitable[set[str]]]

log = logging.getLogger("wmi2.events")


class Hub:
    def __init__(self, queue_size: int) -> None:
        self._queue_size = queue_size
        self._clients: set[Mailbox] = set()
        # Frames broadcast since the hub last let the clients run (see deliver).
        self._unyielded = 0
        self._yield_every = max(1, min(64, queue_size // 4))
        self.dropped = 0
        self.closing = False
        # The connections of dropped clients, cut at once rather than left to drain.
        self.resets = Resets()

    def __len__(self) -> int:
        return len(self._clients)

    def register(self, session: str = "") -> Mailbox:
        """A new client's mailbox, receiving every frame broadcast from now on.

        ``session`` is the digest of the client's session, so that ending the session
        (logout, account disabled) ends the stream too.
        """
        mailbox = Mailbox(self._queue_size, session)
        if self.closing:
            mailbox.close()
        else:
            self._clients.add(mailbox)
        return mailbox

    def unregister(self, mailbox: Mailbox) -> None:
        self._clients.discard(mailbox)
        mailbox.close()

    def broadcast(self, frame: Frame) -> None:
        """Queue ``frame`` for every client; a client over its bound is dropped, not waited for."""
        gone = [mailbox for mailbox in self._clients if not mailbox.offer(frame)]
        slow = 0
        for mailbox in gone:
            self._clients.discard(mailbox)
            slow += mailbox.overflowed
        if slow:
            self.dropped += slow
            log.warning("dropped %d client(s) that fell %d frames behind", slow, self._queue_size)

    async def deliver(self, frame: Frame) -> None:
        """Broadcast, letting every woken client write at least every few frames.

        A burst already buffered from Redis (or a gap fill) is otherwise broadcast in one
        go, without the clients running, and would overflow the mailboxes of clients that
        are not slow at all. Yielding after every frame would be safe but costs one write
        per client per event; a few frames per yield lets each client write a burst at once.
        The bound stays well under the mailbox size, so only a client that cannot write
        (its socket full) ever overflows.
        """
        self.broadcast(frame)
        self._unyielded += 1
        if self._unyielded >= self._yield_every:
            self._unyielded = 0
            await asyncio.sleep(0)

    async def beat(self, interval: float, ended: EndedCheck | None = None) -> None:
        """One heartbeat timer per process (not one per client): a comment line to all.

        Then, if given ``ended`` (which of these session digests have ended?), the streams
        of sessions that ended unannounced (expired, deleted, their account changed) are
        closed: a stream outlives its session by one heartbeat at most.
        """
        while True:
            await asyncio.sleep(interval)
            self.broadcast(HEARTBEAT)
            if ended is not None:
                await self._end_unannounced(ended)

    async def _end_unannounced(self, ended: EndedCheck) -> None:
        digests = {mailbox.session for mailbox in self._clients if mailbox.session}
        if not digests:
            return
        try:
            gone = await ended(digests)
        except Exception as exc:
            # Redis or the database unreachable: the streams stay (closing them would only
            # send every browser to a 503), the check runs again at the next heartbeat.
            log.warning("could not check the open streams' sessions (%s)", exc)
            return
        self.end_sessions(gone)

    def end_sessions(self, digests: set[str]) -> None:
        """Close the streams of sessions that have just ended; they reconnect to a 401."""
        ended = [mailbox for mailbox in self._clients if mailbox.session in digests]
        for mailbox in ended:
            self.unregister(mailbox)
        if ended:
            log.info("closed %d stream(s) of ended sessions", len(ended))

    def close_all(self) -> None:
        """End every stream (server shutting down) and refuse new ones."""
        self.closing = True
        clients, self._clients = self._clients, set()
        for mailbox in clients:
            mailbox.close()

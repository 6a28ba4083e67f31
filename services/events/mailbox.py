"""One client's bounded queue of frames: the only per-client state the hub keeps.

Kept smaller than :class:`asyncio.Queue` (which carries two deques of waiters and an
Event with a third): a list swapped out whole on each take, one future while the
client waits, and a flag. Ten thousand idle clients cost a few hundred kilobytes here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from services.events.frames import Frame


class Mailbox:
    __slots__ = ("_frames", "_limit", "_on_close", "_waiter", "closed", "overflowed", "session")

    def __init__(self, limit: int, session: str = "") -> None:
        self.session = session
        self._frames: list[Frame] = []
        self._limit = max(1, limit)
        self._waiter: asyncio.Future[None] | None = None
        self._on_close: Callable[[], object] | None = None
        self.closed = False
        self.overflowed = False

    def offer(self, frame: Frame) -> bool:
        """Queue a frame; False once the client is over its bound (and so closed)."""
        if self.closed:
            return False
        if len(self._frames) >= self._limit:
            self.overflowed = True
            self.close()
            return False
        self._frames.append(frame)
        self._wake()
        return True

    def on_close(self, callback: Callable[[], object] | None) -> None:
        """Run ``callback`` when the mailbox closes (to interrupt a send that is blocked)."""
        self._on_close = callback

    def close(self) -> None:
        """Stop the client: what was queued is dropped at once, so its memory is freed."""
        if self.closed:
            return
        self.closed = True
        self._frames = []
        self._wake()
        callback, self._on_close = self._on_close, None
        if callback is not None:
            callback()

    async def take(self) -> list[Frame] | None:
        """Everything queued (waiting for at least one frame), or None once closed."""
        while not self._frames:
            if self.closed:
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        if self.closed:
            return None
        frames, self._frames = self._frames, []
        return frames

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

"""One client's bounded mailbox: frames in order, taken all at once, closed on overflow."""

from __future__ import annotations

import asyncio

from services.events.frames import Frame
from services.events.mailbox import Mailbox


def _frame(n: int) -> Frame:
    return Frame((n, 0), b"frame %d" % n)


def test_frames_are_taken_all_at_once_in_order() -> None:
    async def run() -> list[Frame] | None:
        box = Mailbox(10)
        assert all(box.offer(_frame(n)) for n in range(3))
        return await box.take()

    assert asyncio.run(run()) == [_frame(0), _frame(1), _frame(2)]


def test_a_waiting_take_wakes_on_the_first_frame() -> None:
    async def run() -> list[Frame] | None:
        box = Mailbox(10)
        waiting = asyncio.create_task(box.take())
        await asyncio.sleep(0)
        assert not waiting.done(), "nothing to take yet"
        box.offer(_frame(1))
        return await waiting

    assert asyncio.run(run()) == [_frame(1)]


def test_one_frame_over_the_bound_closes_the_mailbox_and_drops_what_it_held() -> None:
    async def run() -> tuple[bool, list[Frame] | None]:
        box = Mailbox(2)
        assert box.offer(_frame(0)) and box.offer(_frame(1))
        refused = box.offer(_frame(2))
        assert box.closed and box.overflowed
        return refused, await box.take()

    assert asyncio.run(run()) == (False, None)


def test_closing_wakes_a_waiting_take_with_none_and_calls_back_once() -> None:
    calls: list[str] = []

    async def run() -> list[Frame] | None:
        box = Mailbox(5, session="digest")
        box.on_close(lambda: calls.append("closed"))
        waiting = asyncio.create_task(box.take())
        await asyncio.sleep(0)
        box.close()
        box.close()
        assert not box.offer(_frame(1)), "a closed mailbox takes nothing"
        assert not box.overflowed and box.session == "digest"
        return await waiting

    assert asyncio.run(run()) is None
    assert calls == ["closed"]


def test_a_bound_below_one_still_holds_one_frame() -> None:
    box = Mailbox(0)
    assert box.offer(_frame(0))
    assert not box.offer(_frame(1)) and box.overflowed

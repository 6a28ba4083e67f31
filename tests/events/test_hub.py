"""The hub's fan-out: every frame to every client, slow clients dropped, ended sessions closed."""

from __future__ import annotations

import asyncio

from services.events.frames import HEARTBEAT, Frame
from services.events.hub import Hub
from services.events.mailbox import Mailbox


def _frame(n: int) -> Frame:
    return Frame((n, 0), b"frame %d" % n)


def _queued(box: Mailbox) -> list[Frame]:
    """What a mailbox holds, without closing it."""
    taken = asyncio.run(box.take())
    assert taken is not None
    return taken


def test_a_frame_reaches_every_client_registered_before_it() -> None:
    hub = Hub(10)
    first, second = hub.register(), hub.register()
    hub.broadcast(_frame(1))
    late = hub.register()
    hub.broadcast(_frame(2))
    assert len(hub) == 3
    assert _queued(first) == _queued(second) == [_frame(1), _frame(2)]
    assert _queued(late) == [_frame(2)]


def test_one_shared_frame_object_goes_to_every_mailbox() -> None:
    hub = Hub(10)
    boxes = [hub.register() for _ in range(3)]
    frame = _frame(7)
    hub.broadcast(frame)
    assert all(_queued(box)[0] is frame for box in boxes)


def test_a_client_that_falls_behind_is_dropped_and_counted_the_others_go_on() -> None:
    hub = Hub(3)
    slow, fast = hub.register(), hub.register()
    for n in range(3):
        hub.broadcast(_frame(n))
    assert _queued(fast) == [_frame(0), _frame(1), _frame(2)]
    hub.broadcast(_frame(3))
    assert slow.closed and slow.overflowed and not fast.closed
    assert hub.dropped == 1 and len(hub) == 1
    assert _queued(fast) == [_frame(3)]


def test_unregistering_closes_the_mailbox_and_stops_its_frames() -> None:
    hub = Hub(10)
    box = hub.register()
    hub.unregister(box)
    hub.broadcast(_frame(1))
    assert box.closed and len(hub) == 0 and hub.dropped == 0


def test_ending_sessions_closes_exactly_their_streams() -> None:
    hub = Hub(10)
    ended_a, ended_b, kept, anonymous = (
        hub.register("a"),
        hub.register("a"),
        hub.register("b"),
        hub.register(),
    )
    hub.end_sessions({"a", "zzz"})
    assert ended_a.closed and ended_b.closed
    assert not kept.closed and not anonymous.closed and len(hub) == 2


def test_closing_all_ends_every_stream_and_refuses_new_ones() -> None:
    hub = Hub(10)
    boxes = [hub.register("s") for _ in range(3)]
    hub.close_all()
    assert all(box.closed for box in boxes) and len(hub) == 0
    newcomer = hub.register("s")
    assert newcomer.closed and len(hub) == 0


def test_deliver_lets_clients_run_every_few_frames() -> None:
    """A burst delivered in one go must not overflow a client that does take its frames."""

    async def run() -> tuple[int, list[int]]:
        hub = Hub(8)  # yields every 2 frames
        box = hub.register()
        sizes: list[int] = []

        async def reader() -> None:
            while (frames := await box.take()) is not None:
                sizes.append(len(frames))

        task = asyncio.create_task(reader())
        for n in range(100):
            await hub.deliver(_frame(n))
        await asyncio.sleep(0)
        hub.close_all()
        await task
        return hub.dropped, sizes

    dropped, sizes = asyncio.run(run())
    assert dropped == 0
    assert sum(sizes) == 100 and max(sizes) <= 8


def test_the_heartbeat_pings_everyone_and_closes_streams_of_sessions_that_ended_unannounced() -> None:
    async def run() -> tuple[Mailbox, Mailbox, list[set[str]]]:
        hub = Hub(10)
        gone, kept = hub.register("gone"), hub.register("kept")
        asked: list[set[str]] = []

        async def ended(digests: set[str]) -> set[str]:
            asked.append(digests)
            return {"gone"}

        beating = asyncio.create_task(hub.beat(0.001, ended))
        for _ in range(10_000):  # a bound, not a timing: a few beats suffice
            if gone.closed:
                break
            await asyncio.sleep(0.001)
        beating.cancel()
        return gone, kept, asked

    gone, kept, asked = asyncio.run(run())
    assert asked[0] == {"gone", "kept"}
    assert gone.closed and not kept.closed
    assert HEARTBEAT in _queued(kept)


def test_a_failing_session_check_leaves_the_streams_open() -> None:
    async def run() -> Mailbox:
        hub = Hub(10)
        box = hub.register("s")

        async def ended(digests: set[str]) -> set[str]:
            raise ConnectionError("redis away")

        await hub._end_unannounced(ended)
        return box

    assert not asyncio.run(run()).closed

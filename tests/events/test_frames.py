"""SSE frames: the bytes a browser receives for an event, a gap, a retry hint and a heartbeat."""

from __future__ import annotations

import orjson
import pytest

from services.events.frames import GAP_EVENT, HEARTBEAT, event_frame, gap_frame, retry_frame


def test_an_event_becomes_id_event_and_data_lines_with_its_order() -> None:
    raw = orjson.dumps({"id": "1700000000000-3", "type": "user.created", "data": {"login": "ann"}})
    frame = event_frame(raw)
    assert frame is not None
    assert frame.order == (1700000000000, 3)
    assert frame.data == b"id: 1700000000000-3\nevent: user.created\ndata: " + raw + b"\n\n"


def test_an_event_without_a_type_is_a_message() -> None:
    frame = event_frame(b'{"id":"5-0"}')
    assert frame is not None and b"\nevent: message\n" in frame.data


def test_a_newline_in_the_json_becomes_one_data_line_each() -> None:
    """A foreign publisher's pretty-printed JSON must not end the data field early."""
    frame = event_frame(b'{"id": "7-1",\r\n "type": "x"\n}')
    assert frame is not None
    assert frame.data == b'id: 7-1\nevent: x\ndata: {"id": "7-1",\ndata:  "type": "x"\ndata: }\n\n'


def test_a_newline_in_the_id_or_type_cannot_forge_a_field() -> None:
    frame = event_frame(orjson.dumps({"id": "9-0", "type": "x\nid: 99-0\r\nevent: forged"}))
    assert frame is not None
    lines = frame.data.split(b"\n")
    assert lines[0] == b"id: 9-0" and lines[1] == b"event: x id: 99-0  event: forged"
    assert [line for line in lines if line.startswith(b"id:")] == [b"id: 9-0"]


@pytest.mark.parametrize(
    "raw", [b"not json", b"[1, 2]", b'{"type": "x"}', b'{"id": "abc", "type": "x"}', b'{"id": null}']
)
def test_what_is_not_an_event_gives_no_frame(raw: bytes) -> None:
    assert event_frame(raw) is None


def test_a_gap_has_no_id_so_the_browser_keeps_its_last_event_id() -> None:
    frame = gap_frame("12-0")
    assert frame.order is None
    assert not frame.data.startswith(b"id:") and b"\nid:" not in frame.data
    head, _, data = frame.data.partition(b"\ndata: ")
    assert head == b"event: " + GAP_EVENT.encode()
    assert orjson.loads(data) == {"type": "stream.gap", "after": "12-0"}
    assert orjson.loads(gap_frame(None).data.split(b"data: ", 1)[1]) == {"type": "stream.gap", "after": None}


def test_retry_and_heartbeat_frames() -> None:
    assert retry_frame(2500).data == b"retry: 2500\n\n" and retry_frame(2500).order is None
    assert HEARTBEAT.data == b": ping\n\n" and HEARTBEAT.order is None

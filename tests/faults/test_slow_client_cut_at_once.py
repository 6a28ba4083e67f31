"""Issue 12: a slow client dropped by the events service kept its socket ESTABLISHED.

Bug: a client that stopped reading was dropped (its mailbox overflowed) and its response
ended, but the server closed the connection politely: the FIN waited behind the
megabytes queued in the socket, so the socket stayed ESTABLISHED, holding them, until
the client read or went away (one that answers zero-window probes is kept for ever). Fix: the stream of a
dropped client finds its socket among the process's descriptors and resets it
(``connect(AF_UNSPEC)``: the unsent bytes are discarded and RST sent) before the app
returns; the server's descriptor then fails and is closed. Checked with both servers.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

import psutil
import pytest

from services.common.events import Publisher
from services.events import reset
from tests.support.wait import wait_for
from tests.test_events_service import (  # noqa: F401 - fixtures
    EventsServer,
    _open_without_reading,
    accounts_db,
    publish,
    publisher,
    start_events,
    token,
)

# A bound, not a timing: unfixed, the socket is held for as long as the client stays.
CUT_WITHIN = 15


def _server_side(events: EventsServer, client_port: int) -> tuple[int, str] | None:
    """(pid, socket inode) of the events process's end of the client's connection."""
    parent = psutil.Process(events.service.pid)
    for proc in (parent, *parent.children(recursive=True)):
        for conn in proc.net_connections(kind="tcp"):
            if conn.laddr.port == events.port and conn.raddr and conn.raddr.port == client_port:
                return proc.pid, os.readlink(f"/proc/{proc.pid}/fd/{conn.fd}")
    return None


def _still_held(pid: int, inode: str) -> bool:
    fds = f"/proc/{pid}/fd"
    return any(_link(f"{fds}/{fd}") == inode for fd in os.listdir(fds))


def _link(path: str) -> str | None:
    try:
        return os.readlink(path)
    except FileNotFoundError:
        return None


def _tcp_states(server_port: int, client_port: int) -> list[str]:
    """This machine's TCP sockets of that connection, either end, in any state."""
    ports = {(server_port, client_port), (client_port, server_port)}
    return [
        c.status
        for c in psutil.net_connections(kind="tcp")
        if c.raddr and (c.laddr.port, c.raddr.port) in ports
    ]


def _read_until_reset(sock: socket.socket) -> int:
    sock.settimeout(60)
    received = 0
    while chunk := sock.recv(1 << 16):
        received += len(chunk)
    return received  # an end without a reset: the test fails on the missing exception


@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_a_dropped_slow_client_s_connection_is_cut_at_once(
    start_events: Callable[..., EventsServer],  # noqa: F811 - fixtures imported above
    token: str,  # noqa: F811
    publisher: Publisher,  # noqa: F811
    server: str,
) -> None:
    events = start_events(server=server, sse_queue_size=8, sse_heartbeat=3600)
    slow = _open_without_reading(events.port, token)
    try:
        client_port = slow.getsockname()[1]
        held = wait_for(lambda: _server_side(events, client_port), what="the server's end of the connection")
        # 12 MB: more than the sockets and the server can buffer for a client that does not read.
        publish(publisher, 60, pad="x" * 200_000)
        wait_for(lambda: events.health()["dropped"] == 1, what="the slow client dropped")
        wait_for(lambda: not _still_held(*held), timeout=CUT_WITHIN, what="the server's socket released")
        assert _tcp_states(events.port, client_port) == [], "nothing left of it: not ESTABLISHED, no FIN_WAIT"
        with pytest.raises(ConnectionResetError):
            _read_until_reset(slow)
    finally:
        slow.close()


def test_only_the_tcp_peer_itself_is_ever_cut() -> None:
    """A client address taken from X-Forwarded-For may name another connection: never cut."""
    direct = {"server": ("::ffff:127.0.0.1", 3356), "client": ("::ffff:10.0.0.7", 40000), "headers": []}
    assert reset._scope_peer(direct) == (3356, "10.0.0.7", 40000)
    forwarded = {**direct, "headers": [(b"x-forwarded-for", b"10.0.0.7:40000")]}
    assert reset._scope_peer(forwarded) is None
    assert reset._scope_peer({"server": None, "client": ("10.0.0.7", 40000), "headers": []}) is None

"""Cutting a dropped client's TCP connection at once, whichever server holds it.

A client dropped for not reading has megabytes queued for it in its socket. Neither
granian nor uvicorn gives the app its socket or transport, and both end a connection
whose response stopped short politely: the FIN waits behind the unsent bytes, so the
socket stays ESTABLISHED, holding a send buffer of frames, until the client reads or
goes away (a client that answers TCP's zero-window probes is kept for ever).

So the stream cuts it itself. It finds the socket among this process's own descriptors by
its addresses (the scope's server port and client address) and disconnects it:
``connect()`` with ``AF_UNSPEC`` on a TCP socket (Linux's ``tcp_disconnect``) drops the
unsent bytes and sends RST, whoever else holds the descriptor; the server's own write
then fails and it closes its descriptor. One scan of the process's sockets finds every
client dropped in the same loop iteration (a burst drops many at once).

A request that carries X-Forwarded-For is not cut: its scope's client may come from that
header, so it may not be the connection's peer (and a client could name another's). Its
connection ends as before. Behind a proxy that is every request; a proxy reads what it
is sent at once, so it is rarely the reader that stopped.
"""

from __future__ import annotations

import asyncio
import ctypes
import ipaddress
import logging
import os
import socket
import struct
from typing import Any

import psutil
from starlette.types import Scope

log = logging.getLogger("wmi2.events")

# (server port, client address, client port): one TCP connection of this process.
Peer = tuple[int, str, int]

_UNSPEC = struct.pack("H14x", socket.AF_UNSPEC)
_libc = ctypes.CDLL(None, use_errno=True)


class Resets:
    """The connections to cut, gathered for one scan per loop iteration."""

    def __init__(self) -> None:
        self._wanted: set[Peer] = set()
        self._scanned: asyncio.Future[None] | None = None

    async def reset(self, scope: Scope) -> None:
        """Cut the connection of ``scope``; return once it is cut (or cannot be found)."""
        peer = _scope_peer(scope)
        if peer is None:
            return
        self._wanted.add(peer)
        if self._scanned is None:
            loop = asyncio.get_running_loop()
            self._scanned = loop.create_future()
            loop.call_soon(self._scan)
        # Shielded: a waiter cancelled meanwhile must not cancel the others' scan.
        await asyncio.shield(self._scanned)

    def _scan(self) -> None:
        wanted, self._wanted = self._wanted, set()
        scanned, self._scanned = self._scanned, None
        try:
            found = [c for c in psutil.Process().net_connections(kind="tcp") if c.raddr]
            cut = sum(_disconnect(c.fd, peer) for c in found if (peer := _peer(c.laddr, c.raddr)) in wanted)
            log.info("cut %d of %d dropped client connection(s)", cut, len(wanted))
        except psutil.Error as exc:
            log.warning("could not look for %d dropped connection(s): %s", len(wanted), exc)
        finally:
            if scanned is not None and not scanned.done():
                scanned.set_result(None)


def _scope_peer(scope: Scope) -> Peer | None:
    # A client taken from X-Forwarded-For (a proxy's header, or a client's own lie) may
    # name any address, even another connection's: only the TCP peer itself is cut.
    if any(name == b"x-forwarded-for" for name, _ in scope.get("headers", ())):
        return None
    return _peer(scope.get("server"), scope.get("client"))


def _peer(server: Any, client: Any) -> Peer | None:
    """The connection's key from (host, port) pairs, or None if they are not TCP/IP's."""
    try:
        (_, server_port), (host, client_port) = server, client
        address = ipaddress.ip_address(host)
    except (TypeError, ValueError):
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # a dual-stack socket's view of an IPv4 client
    return int(server_port), str(address), int(client_port)


def _disconnect(fd: int, peer: Peer) -> bool:
    """Reset the connection on ``fd`` if it still is ``peer``'s; True if it was reset."""
    try:
        # A descriptor of our own: the server may close and reuse ``fd`` while we look at it.
        copy = os.dup(fd)
    except OSError:
        return False  # closed meanwhile
    try:
        own = socket.socket(fileno=copy)
    except OSError:
        os.close(copy)
        return False  # no longer a socket
    with own:
        try:
            if _peer(own.getsockname(), own.getpeername()) != peer:
                return False
        except OSError:
            return False  # no longer connected: nothing left to cut
        if _libc.connect(own.fileno(), _UNSPEC, len(_UNSPEC)) != 0:
            log.warning("could not reset a dropped client's connection: %s", os.strerror(ctypes.get_errno()))
            return False
        return True

"""Serving an ASGI app: uvicorn (uvloop, httptools) or granian (Rust HTTP and TLS), no access log.

``WMI_SERVER`` chooses; both serve the same factories with the same settings. Measured on
a two-core machine with the load tool beside it, serving ``/login/`` (see
``loadtest/RESULTS.md``), granian's TLS handshakes and HTTP parsing cost less than
uvicorn's, whose TLS runs through Python's ``ssl`` module.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from services.common.settings import Settings

# How long a stopping server waits for requests in flight (seconds).
GRACEFUL = 3
# Connections waiting to be accepted (uvicorn's default; granian's is half).
BACKLOG = 2048
# Requests granian lets into Python at once, per worker. Its default (backlog / workers)
# would hold the 1,025th event stream at the door: every open stream is a request in
# flight, so the bound is the open-file limit, as with uvicorn, not a request count.
BACKPRESSURE = 1 << 20
# The factory that ``proxied_app`` wraps, handed to granian's worker processes.
_FACTORY_ENV = "WMI_SERVE_FACTORY"


def serve(factory: str, settings: Settings, port: int, *, tls: bool, workers: int) -> None:
    """Serve ``factory`` (``module:function``) until a signal stops it."""
    if settings.server == "granian":
        _granian(factory, settings, port, tls=tls, workers=workers)
    else:
        _uvicorn(factory, settings, port, tls=tls, workers=workers)


def _uvicorn(factory: str, settings: Settings, port: int, *, tls: bool, workers: int) -> None:
    import uvicorn

    uvicorn.run(
        factory,
        factory=True,
        host=settings.bind,
        port=port,
        workers=workers,
        backlog=BACKLOG,
        loop="uvloop",
        http="httptools",
        access_log=settings.access_log,
        log_level="info",
        ssl_certfile=str(settings.cert_file) if tls else None,
        ssl_keyfile=str(settings.key_file) if tls else None,
        proxy_headers=not tls,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_graceful_shutdown=GRACEFUL,
    )


def _granian(factory: str, settings: Settings, port: int, *, tls: bool, workers: int) -> None:
    from granian.constants import HTTPModes, Interfaces, Loops
    from granian.log import LogLevels
    from granian.server import Server

    if not tls:
        # Behind the proxy: the client's address comes from its X-Forwarded-For, as with
        # uvicorn's proxy_headers, which granian has no equivalent of.
        os.environ[_FACTORY_ENV] = factory
        factory = f"{__name__}:proxied_app"
    Server(
        factory,
        address=settings.bind,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        loop=Loops.uvloop,
        http=HTTPModes.http1,
        websockets=False,
        log_level=LogLevels.info,
        log_access=settings.access_log,
        ssl_cert=Path(settings.cert_file) if tls else None,
        ssl_key=Path(settings.key_file) if tls else None,
        backlog=BACKLOG,
        backpressure=BACKPRESSURE,
        workers_kill_timeout=GRACEFUL + 2,
        # A dead worker is replaced while the others keep serving; without this granian
        # stops them all. A worker that dies again soon after its respawn still ends the
        # server, and the one above it (``wmi2 up``'s supervisor) takes over.
        respawn_failed_workers=True,
        factory=True,
    ).serve()


def proxied_app() -> Any:
    """The factory named in ``WMI_SERVE_FACTORY``, trusting the proxy's forwarded headers."""
    from importlib import import_module

    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    from services.common.settings import get_settings

    module, _, name = os.environ[_FACTORY_ENV].partition(":")
    app = getattr(import_module(module), name)()
    return ProxyHeadersMiddleware(app, trusted_hosts=get_settings().forwarded_allow_ips)

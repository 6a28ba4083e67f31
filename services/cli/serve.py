"""Serving an ASGI app with uvicorn: uvloop, httptools, no access log on the hot path."""

from __future__ import annotations

import uvicorn

from services.common.settings import Settings


def serve(factory: str, settings: Settings, port: int, *, tls: bool, workers: int) -> None:
    """Serve ``factory`` (``module:function``) until a signal stops it."""
    uvicorn.run(
        factory,
        factory=True,
        host=settings.bind,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        access_log=settings.access_log,
        log_level="info",
        ssl_certfile=str(settings.cert_file) if tls else None,
        ssl_keyfile=str(settings.key_file) if tls else None,
        proxy_headers=not tls,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_graceful_shutdown=3,
    )

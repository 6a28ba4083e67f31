"""The headers every answer of a WMI2 web service carries, whatever made it.

Pages set their own, fuller Content-Security-Policy; but JSON, static files, errors,
redirects and the api's fast-path answers were sent without any, so a response could be
framed (clickjacking) or sniffed into another type. Here they are added to every
response start that lacks them, from tuples made once: the cost per request is one
wrapper and a scan of the response's few headers.

- ``X-Content-Type-Options: nosniff``.
- ``Content-Security-Policy: default-src 'none'; frame-ancestors 'none'`` where the
  response has no policy of its own: nothing it could be read as may load anything, nor be
  framed. A page's own policy (with its ``frame-ancestors 'none'``) is left as it is.
- ``Strict-Transport-Security`` on an HTTPS answer: the request's scheme is https (TLS
  here, or a trusted proxy's X-Forwarded-Proto already applied by the server), or the
  proxy says so (browsers ignore the header over plain HTTP, so believing any
  X-Forwarded-Proto cannot hurt). No ``includeSubDomains``: other hosts of the domain are
  not ours to decide for.

Wrap an ASGI app with :class:`SecurityHeaders`, or one response's ``send`` with
:func:`secured`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]
Header = tuple[bytes, bytes]

NOSNIFF: Header = (b"x-content-type-options", b"nosniff")
NO_FRAMES: Header = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
HSTS: Header = (b"strict-transport-security", b"max-age=31536000")

PLAIN: tuple[Header, ...] = (NOSNIFF, NO_FRAMES)
HTTPS: tuple[Header, ...] = (*PLAIN, HSTS)


def is_https(scope: Scope) -> bool:
    if scope.get("scheme") == "https":
        return True
    return any(name == b"x-forwarded-proto" and value == b"https" for name, value in scope["headers"])


def with_headers(headers: Iterable[Header], extra: tuple[Header, ...]) -> list[Header]:
    """``headers`` and those of ``extra`` whose name they lack (names are lower-case in ASGI)."""
    headers = list(headers)
    present = {name for name, _ in headers}
    headers.extend(header for header in extra if header[0] not in present)
    return headers


def secured(scope: Scope, send: Send) -> Send:
    """``send``, adding the headers to the response's start."""
    extra = HTTPS if is_https(scope) else PLAIN

    async def send_secured(message: Message) -> None:
        if message["type"] == "http.response.start":
            # A copy: a fast path may send the same precomputed message to every request.
            message = {**message, "headers": with_headers(message.get("headers", ()), extra)}
        await send(message)

    return send_secured


class SecurityHeaders:
    """Pure ASGI middleware: every HTTP response gets the headers above."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, secured(scope, send))

"""Finding 9 (events part): the events service's answers lacked the browser's protections.

The attack: its answers (the stream, the 401, the health route) could be framed by another
site and content-sniffed as another type, and a browser that reached it over HTTPS was not
told to insist on HTTPS.

The fix: every answer carries ``X-Content-Type-Options: nosniff`` and
a Content-Security-Policy with ``frame-ancestors 'none'`` (services/common/headers.py,
shared with the api), and over HTTPS (directly or as the proxy
says with ``X-Forwarded-Proto``) ``Strict-Transport-Security``.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import redis

from services.common.sessions import COOKIE, open_session
from tests.support.events_server import EventsServer


def _protected(headers: httpx.Headers, https: bool) -> None:
    assert headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert ("strict-transport-security" in headers) == https


def test_every_answer_of_the_events_service_is_protected(
    start_events: Callable[..., EventsServer], redis_client: redis.Redis
) -> None:
    server = start_events()
    token, _ = open_session(redis_client, "alice", "admin", ttl=3600)
    # The proxy in front (compose's Caddy) says how the browser came: the test stands in for it.
    for https, forwarded in ((False, {}), (True, {"X-Forwarded-Proto": "https"})):
        with httpx.Client(base_url=server.url, headers=forwarded, timeout=10) as client:
            _protected(client.get("/events/health").headers, https)
            _protected(client.get("/events").headers, https)  # 401
            _protected(client.post("/events").headers, https)  # 405
            with client.stream("GET", "/events", cookies={COOKIE: token}) as stream:
                assert stream.status_code == 200
                _protected(stream.headers, https)

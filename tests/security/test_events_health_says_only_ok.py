"""Finding 7 (events part): the events service's health route told anyone how it was doing.

The attack: an anonymous caller of ``/events/health`` learnt how many browsers were
watching, how many had been dropped, and the id of the last event: who is active and
when, and a probe of the service's load.

The fix: anonymous callers (healthchecks) are told only ``{"status": "ok"}`` (or
``"degraded"`` with a 503); the details are for a logged-in admin alone.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import redis

from services.common.sessions import COOKIE, open_session
from tests.support.events_server import EventsServer


def test_anonymous_callers_are_told_only_ok(
    start_events: Callable[..., EventsServer], redis_client: redis.Redis
) -> None:
    server = start_events()
    anonymous = httpx.get(f"{server.url}/events/health", timeout=10)
    assert (anonymous.status_code, anonymous.json()) == (200, {"status": "ok"})
    viewer, _ = open_session(redis_client, "carol", "viewer", ttl=3600)
    told = httpx.get(f"{server.url}/events/health", cookies={COOKIE: viewer}, timeout=10)
    assert told.json() == {"status": "ok"}
    # A forged session (its account is not an admin in the database) is told no more.
    forged, _ = open_session(redis_client, "mallory", "admin", ttl=3600)
    told = httpx.get(f"{server.url}/events/health", cookies={COOKIE: forged}, timeout=10)
    assert told.json() == {"status": "ok"}
    details = server.health()  # as the admin "monitor"
    assert details["status"] == "ok" and details["clients"] == 0 and details["subscribed"] is True

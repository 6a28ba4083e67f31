"""No tests: the names that tests/faults/test_slow_client_cut_at_once.py imports from here.

That test looks at the events service's own process (its sockets), so its ``start_events``
is ``wmi2 events`` in a process of its own. The events tests are in tests/events/; this
module goes once that test imports from tests/support/events_server.py instead.
"""

from __future__ import annotations

from tests.support.events_server import EventsProcess as EventsServer
from tests.support.events_server import accounts_db, publish, publisher, token
from tests.support.events_server import open_without_reading as _open_without_reading
from tests.support.events_server import start_events_process as start_events

__all__ = [
    "EventsServer",
    "_open_without_reading",
    "accounts_db",
    "publish",
    "publisher",
    "start_events",
    "token",
]

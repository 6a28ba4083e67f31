"""The events tier: the hub, mailboxes, frames and replay driven directly; the app over HTTP."""

from __future__ import annotations

from tests.support.events_server import accounts_db, publisher, start_events, token  # noqa: F401 (fixtures)

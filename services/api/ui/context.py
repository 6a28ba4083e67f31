"""What every page is rendered with: who is looking, which host, and where its events resume.

``last_event`` is the newest event id at the moment the page starts reading what it shows:
the page's script opens the event stream after it (``/events?last_event_id=``), so any
change made while the page was being read or loaded is replayed to it, never lost. The
records the events carry are whole, so a change both shown and replayed is applied twice
to the same effect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlencode

import redis
from fastapi import Depends, Query, Request

from services.api.deps import RedisDep, SettingsDep, bound_session
from services.common import keys
from services.common.sessions import COOKIE, Session

API = "/api/v1"
# A host name as the worker registers it: anything else cannot name a host.
HOST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,252}")


class LoginRequired(Exception):
    """No open session: the visitor is sent to the login page."""


class PageError(Exception):
    """A page or form refusal, shown as a page of its own (403, 404, 409, 422...)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


@dataclass(frozen=True)
class PageContext:
    session: Session
    host: str
    default_host: str
    last_event: str
    path: str
    # Every host the selector offers: the default one and those a worker registered.
    hosts: tuple[str, ...] = ()

    @property
    def is_admin(self) -> bool:
        return self.session.role == "admin"

    @property
    def api_root(self) -> str:
        """The JSON API of what belongs to no host: accounts, jobs, the audit trail, the hosts."""
        return API

    @property
    def api(self) -> str:
        """Where the JSON API of this page's host is: the one-host paths for the default host,
        the fleet's ``/api/v1/hosts/{host}/...`` for another one."""
        return API if self.host == self.default_host else f"{API}/hosts/{quote(self.host, safe='')}"

    def link(self, path: str, **params: object) -> str:
        """A link within the WMI that keeps the chosen host (omitted when it is the default)."""
        query = {k: v for k, v in params.items() if v not in (None, "", False)}
        if self.host != self.default_host:
            query["host"] = self.host
        return path + ("?" + urlencode(query) if query else "")


def newest_event_id(client: redis.Redis) -> str:
    entries = client.xrevrange(keys.EVENT_STREAM, count=1)
    if not entries:
        return "0-0"
    entry_id = entries[0][0]
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


def _is_known(client: redis.Redis, host: str, default_host: str) -> bool:
    """A host some worker registered or read (as ``core.hosts.is_known``, without an event loop)."""
    if host == default_host:
        return True
    return bool(client.hexists(keys.HOSTS, host) or client.exists(keys.host_info(host)))


def _known_hosts(client: redis.Redis, default_host: str) -> tuple[str, ...]:
    registered = {
        name.decode() if isinstance(name, bytes) else str(name) for name in client.hkeys(keys.HOSTS)
    }
    return tuple(sorted(registered | {default_host}))


def page_context(
    request: Request,
    client: RedisDep,
    settings: SettingsDep,
    host: Annotated[str | None, Query(max_length=253)] = None,
) -> PageContext:
    session = bound_session(request, client, request.cookies.get(COOKIE))
    if session is None:
        raise LoginRequired
    chosen = host or settings.host_name
    if not HOST_NAME.fullmatch(chosen) or not _is_known(client, chosen, settings.host_name):
        raise PageError(404, f"There is no host {chosen!r}.")
    return PageContext(
        session=session,
        host=chosen,
        default_host=settings.host_name,
        last_event=newest_event_id(client),
        path=request.url.path,
        hosts=_known_hosts(client, settings.host_name),
    )


PageDep = Annotated[PageContext, Depends(page_context)]


def admin_page(page: PageDep) -> PageContext:
    if not page.is_admin:
        raise PageError(403, "Only an admin can see this page.")
    return page


AdminPageDep = Annotated[PageContext, Depends(admin_page)]

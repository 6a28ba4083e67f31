"""Finding 6: an open event stream outlived its session.

The attack: a session that ends without the api announcing it (it expires, it is deleted
in Redis, its account is disabled or demoted in the database by other means) kept its
open event stream, and so kept receiving every account change, for as long as the
browser kept the connection: hours.

The fix: at every heartbeat (``WMI_SSE_HEARTBEAT``) the events service checks the sessions
of all its open streams at once (one MGET per thousand sessions, each account once against
the database, as the api does) and closes the streams of those that ended; the browser's
reconnect then meets a 401. A stream is also refused when its session's account no longer
holds it.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import redis
import sqlalchemy

from services.common import keys
from services.common.events import Publisher
from services.common.sessions import COOKIE, digest, open_session
from tests.support.events_server import EventsServer
from tests.support.sse import Listener
from tests.support.wait import wait_for

# Short enough that "within a heartbeat or two" is seconds; every wait below is bounded.
HEARTBEAT = 0.3


def _set(accounts_db: str, login: str, **values: object) -> None:
    engine = sqlalchemy.create_engine(accounts_db)
    with engine.begin() as db:
        db.execute(sqlalchemy.text(f"UPDATE admins SET {', '.join(f'{k} = :{k}' for k in values)} "
                                   "WHERE login = :login"), {**values, "login": login})  # fmt: skip
    engine.dispose()


def test_a_session_deleted_in_redis_ends_its_open_stream(
    start_events: Callable[..., EventsServer], redis_client: redis.Redis
) -> None:
    server = start_events(sse_heartbeat=HEARTBEAT)
    gone, _ = open_session(redis_client, "alice", "admin", ttl=3600)
    kept, _ = open_session(redis_client, "bob", "admin", ttl=3600)
    with Listener(server.url, gone) as ended, Listener(server.url, kept) as other:
        wait_for(lambda: server.health()["clients"] == 2, what="both streams registered")
        # Not a logout (which announces it): the key alone goes, as when it expires.
        assert redis_client.delete(keys.session(digest(gone))) == 1
        assert ended.ended.wait(30), "the stream outlived its session"
        published = Publisher(redis_client, 1000).publish("user.updated", "testhost", {"n": 1})
        assert other.wait_count(1) == [published]
        assert not other.ended.is_set(), "a live session's stream was closed too"
    refused = httpx.get(f"{server.url}/events", cookies={COOKIE: gone}, timeout=10)
    assert refused.status_code == 401


def test_an_account_disabled_or_demoted_in_the_database_ends_its_streams(
    start_events: Callable[..., EventsServer], redis_client: redis.Redis, accounts_db: str
) -> None:
    server = start_events(sse_heartbeat=HEARTBEAT, account_check_ttl=0.1)
    disabled, _ = open_session(redis_client, "alice", "admin", ttl=3600)
    demoted, _ = open_session(redis_client, "bob", "admin", ttl=3600)
    try:
        with Listener(server.url, disabled) as first, Listener(server.url, demoted) as second:
            wait_for(lambda: server.health()["clients"] == 2, what="both streams registered")
            _set(accounts_db, "alice", disabled=True)
            _set(accounts_db, "bob", role="viewer")
            assert first.ended.wait(30), "a disabled account's stream stayed open"
            assert second.ended.wait(30), "a demoted account's admin stream stayed open"
        for token in (disabled, demoted):
            assert httpx.get(f"{server.url}/events", cookies={COOKIE: token}, timeout=10).status_code == 401
    finally:
        _set(accounts_db, "alice", disabled=False)
        _set(accounts_db, "bob", role="admin")

"""Finding 11 (api): Redis was the only judge of a session.

Attack: whoever can write to Redis wrote a session key for a login with no WMI account,
role admin, and the api took it for an admin. Likewise a session survived its account
being disabled, deleted or demoted in the database behind the api's back (a restored
backup, an SQL console, another tool), while its Redis keys lived.

Fix (``services.common.sessions.AccountCheck``, used by every session check of the api,
JSON and pages): a session counts only while the database's account row exists, is
enabled and has the session's role; the answer is cached ``account_check_ttl`` seconds
(3 by default) per process, so such a session ends within seconds.
"""

from __future__ import annotations

import secrets

import httpx
from sqlalchemy import update

from services.cli.accounts import create_admin
from services.common import keys
from services.common.db import Admin
from services.common.sessions import COOKIE, Session, digest
from tests.support.api_app import ApiWorld, session_cookie
from tests.support.wait import wait_for

pytest_plugins = ["tests.support.api_fixtures"]


def _forge(api: ApiWorld, login: str, role: str) -> httpx.Client:
    token = secrets.token_urlsafe(32)
    session = Session(login=login, role=role, csrf_token="forged-csrf")
    api.redis.set(keys.session(digest(token)), session.model_dump_json(), ex=600)
    return api.client({"Cookie": f"{COOKIE}={token}", "X-CSRF-Token": "forged-csrf"})


def test_a_session_written_into_redis_for_no_account_is_refused(api: ApiWorld) -> None:
    before = api.recorded()
    forged = _forge(api, "ghost-" + secrets.token_hex(4), "admin")
    assert forged.get("/api/v1/session").status_code == 401
    assert forged.get("/api/v1/users").status_code == 401
    assert forged.post("/api/v1/users/alice/lock").status_code == 401
    assert forged.get("/").status_code == 303  # the page sends it to log in
    assert forged.post("/users/alice/lock", data={"csrf_token": "forged-csrf"}).status_code == 303
    assert api.recorded() == before


def test_a_forged_role_is_refused(api: ApiWorld) -> None:
    # "reader" exists, but as a viewer: a session claiming admin for it is no session.
    assert _forge(api, "reader", "admin").get("/api/v1/session").status_code == 401


def _logged_in_account(api: ApiWorld, role: str) -> tuple[str, httpx.Client]:
    login, password = f"bound-{secrets.token_hex(4)}", "bound-password-1"
    create_admin(api.settings.resolved_database_url, login, password, role)
    answer = api.anonymous().post("/api/v1/session", json={"login": login, "password": password})
    assert answer.status_code == 200
    client = api.client({"Cookie": f"{COOKIE}={session_cookie(answer)}"})
    assert client.get("/api/v1/session").status_code == 200
    return login, client


def _changed_behind_the_api(api: ApiWorld, login: str, **values: object) -> None:
    with api.db() as db:
        db.execute(update(Admin).where(Admin.login == login).values(**values))
        db.commit()


def test_an_account_disabled_in_the_database_loses_its_sessions(api: ApiWorld) -> None:
    login, client = _logged_in_account(api, "admin")
    _changed_behind_the_api(api, login, disabled=True)
    wait_for(lambda: client.get("/api/v1/session").status_code == 401, timeout=30, what="the session refused")
    assert client.get("/").status_code == 303
    # Its Redis keys are still there: the refusal comes from the database.
    assert api.redis.scard(keys.sessions_of(login)) == 1


def test_an_account_demoted_in_the_database_loses_its_admin_session(api: ApiWorld) -> None:
    login, client = _logged_in_account(api, "admin")
    _changed_behind_the_api(api, login, role="viewer")
    wait_for(lambda: client.get("/api/v1/session").status_code == 401, timeout=30, what="the session refused")

"""Logging in and out through the JSON API: the cookie, rate limit, audit, CSRF."""

from __future__ import annotations

import httpx
from argon2 import PasswordHasher
from sqlalchemy import select

from services.api.core.auth import FAILURE_LIMIT
from services.common import keys
from services.common.db import Admin, AuditEntry
from services.common.sessions import COOKIE, digest
from tests.support.api_app import ADMIN, DISABLED, VIEWER, ApiWorld, session_cookie

WRONG = "Wrong login or password."


def _login(api: ApiWorld, login: str, password: str, client: str = "") -> httpx.Response:
    headers = {"X-Forwarded-For": client} if client else None
    return api.anonymous().post(
        "/api/v1/session", json={"login": login, "password": password}, headers=headers
    )


def _audit(api: ApiWorld) -> list[tuple[str | None, str, str | None]]:
    with api.db() as db:
        entries = db.scalars(
            select(AuditEntry).where(AuditEntry.action == "session.login").order_by(AuditEntry.id)
        )
        return [(e.actor, e.outcome, e.detail) for e in entries]


def test_login_answers_the_session_and_sets_a_strict_cookie(api: ApiWorld) -> None:
    response = _login(api, *ADMIN)
    assert response.status_code == 200
    body = response.json()
    assert body["login"] == ADMIN[0] and body["role"] == "admin" and len(body["csrf_token"]) > 20
    cookie = response.headers["set-cookie"]
    attributes = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "secure", "samesite=strict", "path=/"} <= attributes
    token = session_cookie(response)
    # Redis holds the session under the token's digest, never the token itself.
    assert api.redis.exists(keys.session(digest(token)))
    assert api.redis.ttl(keys.session(digest(token))) > 0
    assert not any(token.encode() in k for k in api.redis.scan_iter())
    assert _audit(api) == [(ADMIN[0], "succeeded", None)]


def test_the_session_answers_who_is_logged_in(api: ApiWorld) -> None:
    me = api.viewer().get("/api/v1/session")
    assert me.status_code == 200 and me.json()["login"] == VIEWER[0] and me.json()["role"] == "viewer"


def test_unknown_login_and_wrong_password_get_the_same_401(api: ApiWorld) -> None:
    wrong_password = _login(api, ADMIN[0], "not-the-password")
    unknown_login = _login(api, "nobody-at-all", ADMIN[1])
    assert wrong_password.status_code == unknown_login.status_code == 401
    assert wrong_password.json() == unknown_login.json() == {"detail": WRONG}
    assert "set-cookie" not in wrong_password.headers
    assert [(a, o) for a, o, _ in _audit(api)] == [(ADMIN[0], "failed"), ("nobody-at-all", "failed")]


def test_a_disabled_account_cannot_log_in(api: ApiWorld) -> None:
    response = _login(api, *DISABLED)
    assert response.status_code == 401 and "disabled" in response.json()["detail"]
    assert "set-cookie" not in response.headers
    assert _audit(api) == [(DISABLED[0], "failed", "account disabled from 127.0.0.1, 1 time")]


def test_the_eleventh_failure_in_a_row_gets_429_for_that_login_and_client(api: ApiWorld) -> None:
    for _ in range(FAILURE_LIMIT):
        assert _login(api, ADMIN[0], "guess", client="203.0.113.7").status_code == 401
    limited = _login(api, *ADMIN, client="203.0.113.7")
    assert limited.status_code == 429 and "wait" in limited.json()["detail"]
    assert 0 < int(limited.headers["Retry-After"]) <= 300
    # Another client, or another login from that client, is not locked out.
    assert _login(api, *ADMIN, client="203.0.113.8").status_code == 200
    assert _login(api, *VIEWER, client="203.0.113.7").status_code == 200
    assert api.redis.ttl(keys.login_failures(ADMIN[0], "203.0.113.7")) <= 300


def test_a_success_clears_the_failures(api: ApiWorld) -> None:
    for _ in range(FAILURE_LIMIT - 1):
        _login(api, ADMIN[0], "guess", client="203.0.113.9")
    assert _login(api, *ADMIN, client="203.0.113.9").status_code == 200
    assert not api.redis.exists(keys.login_failures(ADMIN[0], "203.0.113.9"))


def test_logout_needs_the_csrf_token_then_ends_the_session(api: ApiWorld) -> None:
    admin = api.admin()
    no_token = api.client({"Cookie": admin.headers["Cookie"]})
    assert no_token.delete("/api/v1/session").status_code == 403
    assert admin.get("/api/v1/session").status_code == 200
    response = admin.delete("/api/v1/session")
    assert response.status_code == 204
    assert f"{COOKIE}=" in response.headers["set-cookie"] and "Max-Age=0" in response.headers["set-cookie"]
    assert admin.get("/api/v1/session").status_code == 401
    assert admin.get("/api/v1/users").status_code == 401


def test_a_wrong_csrf_token_is_refused(api: ApiWorld) -> None:
    admin = api.admin()
    admin.headers["X-CSRF-Token"] = "forged"
    response = admin.post("/api/v1/users/alice/lock")
    assert response.status_code == 403 and "X-CSRF-Token" in response.json()["detail"]


def test_login_body_is_checked(api: ApiWorld) -> None:
    anonymous = api.anonymous()
    missing = anonymous.post("/api/v1/session", json={"login": "x"})
    assert missing.status_code == 422 and missing.json()["detail"] == "The field 'password' is required."
    extra = anonymous.post("/api/v1/session", json={"login": "x", "password": "y", "remember": True})
    assert extra.status_code == 422 and "'remember' is not accepted" in extra.json()["detail"]
    # The password typed is never echoed back, even in a validation error.
    long = anonymous.post("/api/v1/session", json={"login": "x", "password": "secret-" * 200})
    assert long.status_code == 422 and "secret-" not in long.text


def test_a_weak_stored_hash_is_upgraded_at_the_next_successful_login(api: ApiWorld) -> None:
    """The tier stores its accounts with the cheapest argon2 hash (tests/api/conftest.py): a
    right password replaces it with one of the library's parameters; a wrong one does not."""
    with api.db() as db:
        weak = db.scalar(select(Admin.password_hash).where(Admin.login == VIEWER[0]))
    assert weak is not None and "m=8,t=1,p=1" in weak
    assert _login(api, VIEWER[0], "not-the-password").status_code == 401
    with api.db() as db:
        assert db.scalar(select(Admin.password_hash).where(Admin.login == VIEWER[0])) == weak
    assert _login(api, *VIEWER).status_code == 200
    with api.db() as db:
        upgraded = db.scalar(select(Admin.password_hash).where(Admin.login == VIEWER[0]))
    assert upgraded is not None and upgraded != weak
    assert not PasswordHasher().check_needs_rehash(upgraded)
    assert PasswordHasher().verify(upgraded, VIEWER[1])

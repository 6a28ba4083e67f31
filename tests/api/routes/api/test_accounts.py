"""The WMI accounts API: admins only; a role change or a disabling ends the account's sessions."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from services.api.core.auth import DISABLED
from services.common import keys
from services.common.db import AuditEntry
from tests.support.api_app import ADMIN, VIEWER, ApiWorld


def _events(api: ApiWorld) -> list[dict[str, Any]]:
    return [orjson.loads(fields[b"d"]) for _id, fields in api.redis.xrange(keys.EVENT_STREAM)]


def _fresh_login(api: ApiWorld, login: str, password: str) -> httpx.Response:
    return api.anonymous().post("/api/v1/session", json={"login": login, "password": password})


def _as(api: ApiWorld, response: httpx.Response) -> httpx.Client:
    """A client holding the session that ``response`` (a login) opened."""
    cookie = response.headers["set-cookie"].split(";", 1)[0]
    return api.client({"Cookie": cookie, "X-CSRF-Token": response.json()["csrf_token"]})


def test_an_admin_lists_and_creates_accounts_a_viewer_may_not(api: ApiWorld) -> None:
    admin = api.admin()
    listed = admin.get("/api/v1/accounts").json()
    assert {a["login"]: a["role"] for a in listed}[ADMIN[0]] == "admin"
    assert all(set(a) == {"login", "role", "disabled", "created_at"} for a in listed)
    assert api.viewer().get("/api/v1/accounts").status_code == 403

    made = admin.post(
        "/api/v1/accounts", json={"login": "clerk", "password": "clerk-pass-1", "role": "viewer"}
    )
    assert made.status_code == 201 and made.json()["role"] == "viewer" and made.json()["disabled"] is False
    assert "password" not in made.text
    assert _fresh_login(api, "clerk", "clerk-pass-1").json()["role"] == "viewer"
    assert [e["data"] for e in _events(api) if e["type"] == "account.created"] == [
        {"login": "clerk", "role": "viewer", "disabled": False}
    ]
    with api.db() as db:
        entry = db.query(AuditEntry).filter_by(action="account.create", target="clerk").one()
        assert entry.actor == ADMIN[0] and entry.outcome == "succeeded"


def test_bad_accounts_are_refused_in_words(api: ApiWorld) -> None:
    admin = api.admin()
    cases = [
        ({"login": "clerk2", "password": "short"}, 422, "at least 8 characters"),
        ({"login": "Bad Name", "password": "long-enough-1"}, 422, "is not allowed"),
        ({"login": "clerk3", "password": "long-enough-1", "role": "root"}, 422, "'role'"),
        ({"login": ADMIN[0], "password": "long-enough-1"}, 409, "exists already"),
    ]
    for body, status, words in cases:
        response = admin.post("/api/v1/accounts", json=body)
        assert response.status_code == status and words in response.json()["detail"], response.text
    assert "long-enough-1" not in str(_events(api))


def test_a_role_change_or_a_disabling_ends_the_accounts_sessions_at_once(api: ApiWorld) -> None:
    admin = api.admin()
    assert (
        admin.post("/api/v1/accounts", json={"login": "mover", "password": "mover-pass-1"}).status_code == 201
    )
    mover = _as(api, _fresh_login(api, "mover", "mover-pass-1"))
    assert mover.get("/api/v1/session").json()["role"] == "viewer"

    promoted = admin.patch("/api/v1/accounts/mover", json={"role": "admin"})
    assert promoted.status_code == 200 and promoted.json()["role"] == "admin"
    assert mover.get("/api/v1/session").status_code == 401
    mover = _as(api, _fresh_login(api, "mover", "mover-pass-1"))
    assert mover.get("/api/v1/session").json()["role"] == "admin"

    assert admin.patch("/api/v1/accounts/mover", json={"disabled": True}).json()["disabled"] is True
    assert mover.get("/api/v1/users").status_code == 401
    refused = _fresh_login(api, "mover", "mover-pass-1")
    assert refused.status_code == 401 and refused.json()["detail"] == DISABLED
    assert admin.patch("/api/v1/accounts/mover", json={"disabled": False}).status_code == 200
    assert _fresh_login(api, "mover", "mover-pass-1").status_code == 200

    updates = [e for e in _events(api) if e["type"] == "account.updated"]
    assert [e["data"]["disabled"] for e in updates] == [False, True, False]
    assert all(e["actor"] == ADMIN[0] and e["host"] is None for e in updates)
    with api.db() as db:
        details = [
            e.detail for e in db.query(AuditEntry).filter_by(action="account.update").order_by(AuditEntry.id)
        ]
    assert details == ["role viewer -> admin; 1 session(s) ended", "disabled; 1 session(s) ended", "enabled"]


def test_what_an_account_change_may_not_do(api: ApiWorld) -> None:
    admin = api.admin()
    mine = admin.patch(f"/api/v1/accounts/{ADMIN[0]}", json={"disabled": True})
    assert mine.status_code == 409 and "your own account" in mine.json()["detail"]
    assert admin.patch("/api/v1/accounts/nobody-here", json={"role": "admin"}).status_code == 404
    empty = admin.patch(f"/api/v1/accounts/{VIEWER[0]}", json={})
    assert empty.status_code == 422 and "Nothing to change" in empty.json()["detail"]
    same = admin.patch(f"/api/v1/accounts/{VIEWER[0]}", json={"role": "viewer"})
    assert same.status_code == 409 and "Nothing would change" in same.json()["detail"]
    assert api.viewer().get("/api/v1/session").status_code == 200  # no session ended for nothing

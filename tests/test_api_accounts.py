"""The WMI accounts API (admins only) and the audit trail's API, with its CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson

from services.api.core.auth import DISABLED
from services.common import keys
from services.common.db import AuditEntry
from tests.support.api_app import ADMIN, VIEWER, ApiWorld

pytest_plugins = ["tests.support.api_fixtures"]


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


def _trail(api: ApiWorld) -> None:
    now = datetime.now(UTC)
    rows = [
        AuditEntry(at=now - timedelta(days=3), actor="ann", action="user.create", target="alice",
                   outcome="succeeded"),
        AuditEntry(at=now - timedelta(days=2), actor="ann", action="user.lock", target="bob",
                   outcome="failed", detail="no such user"),
        AuditEntry(at=now - timedelta(days=1), actor="ben", action="group.create", target="devs",
                   outcome="queued"),
        AuditEntry(at=now, actor="ben", action="user.create", target='=HYPERLINK("http://x")',
                   outcome="succeeded"),
    ]  # fmt: skip
    with api.db() as db:
        db.add_all(rows)
        db.commit()


def test_the_audit_trail_filters_by_actor_action_target_and_date(api: ApiWorld) -> None:
    _trail(api)
    viewer = api.viewer()

    def targets(**params: str) -> list[str]:
        response = viewer.get("/api/v1/audit", params=params)
        assert response.status_code == 200, response.text
        return [e["target"] for e in response.json() if e["action"] != "session.login"]

    assert targets(actor="ann") == ["bob", "alice"]  # newest first
    assert targets(action="user") == ['=HYPERLINK("http://x")', "bob", "alice"]
    assert targets(action="user.create", actor="ann") == ["alice"]
    assert targets(target="DEV") == ["devs"]
    day = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    assert targets(since=day, until=day) == ["bob"]
    assert targets(target="%") == []  # a literal percent sign, not a wildcard
    bad = viewer.get("/api/v1/audit", params={"since": "yesterday"})
    assert bad.status_code == 422 and "not a date" in bad.json()["detail"]
    page = viewer.get("/api/v1/audit", params={"limit": 1, "offset": 1, "actor": "ben"})
    assert [e["target"] for e in page.json()] == ["devs"] and page.headers["x-total-count"] == "2"


def test_the_audit_trail_exports_as_csv_that_a_spreadsheet_cannot_run(api: ApiWorld) -> None:
    _trail(api)
    response = api.viewer().get("/api/v1/audit", params={"format": "csv", "actor": "ben"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="wmi2-audit-')
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["target"] for r in rows] == ['\'=HYPERLINK("http://x")', "devs"]
    assert list(rows[0]) == ["at", "actor", "action", "target", "host", "outcome", "detail", "job_id"]
    assert rows[1]["outcome"] == "queued" and rows[1]["at"].endswith("+00:00")

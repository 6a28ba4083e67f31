"""The audit trail's API: filters, paging, and a CSV export that a spreadsheet cannot run."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from services.common.db import AuditEntry
from tests.support.api_app import ApiWorld


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

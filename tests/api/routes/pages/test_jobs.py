"""The jobs pages: a stuck job flagged, and the cancel and retry controls, also as plain forms."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from services.common.db import Job, utcnow
from tests.support.api_app import ApiWorld


def _set_job(api: ApiWorld, job_id: str, **values: Any) -> None:
    with api.db() as db:
        db.execute(update(Job).where(Job.id == job_id).values(**values))
        db.commit()


def _lock(api: ApiWorld, login: str = "alice") -> str:
    response = api.admin().post(f"/api/v1/users/{login}/lock")
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def test_the_jobs_pages_show_the_flag_and_the_controls_and_their_plain_forms_work(api: ApiWorld) -> None:
    admin, viewer = api.admin(), api.viewer()
    stuck, failed = _lock(api), _lock(api, "bob")
    _set_job(api, stuck, created_at=utcnow() - timedelta(minutes=3))
    _set_job(api, failed, state="failed", error="boom")
    page = admin.get("/jobs/").text
    # One badge shown (the other is the hidden one of the row template the script stamps).
    shown_badge = 'title="Queued for longer than 30 s: is the host&#39;s worker running?">stuck'
    assert page.count(shown_badge) == 1
    assert "queued 3 min ago" in page
    assert f'action="/jobs/{stuck}/cancel"' in page and f'action="/jobs/{failed}/retry"' in page
    assert 'data-api="/api/v1/jobs/" ' not in page  # the stamped rows' forms get theirs from the script
    for path in ("/jobs/", f"/jobs/{stuck}/"):
        shown = viewer.get(path).text
        assert "/cancel" not in shown and "/retry" not in shown and "stuck" in shown, path

    token = {"csrf_token": admin.headers["X-CSRF-Token"]}
    viewer_token = {"csrf_token": viewer.headers["X-CSRF-Token"]}
    assert viewer.post(f"/jobs/{stuck}/cancel", data=viewer_token).status_code == 403
    assert admin.post(f"/jobs/{stuck}/cancel", data={}).status_code == 403
    cancelled = admin.post(f"/jobs/{stuck}/cancel", data=token)
    assert cancelled.status_code == 303 and cancelled.headers["location"] == f"/jobs/{stuck}/"
    assert api.job(stuck).state == "cancelled"  # type: ignore[union-attr]
    again = admin.post(f"/jobs/{stuck}/cancel", data=token)
    assert again.status_code == 409 and "only a queued job can be cancelled" in again.text
    retried = admin.post(f"/jobs/{failed}/retry", data=token)
    assert retried.status_code == 303
    new_id = retried.headers["location"].split("/")[2]
    assert new_id != failed and api.job(new_id).action == "user.lock"  # type: ignore[union-attr]
    job_page = admin.get(f"/jobs/{new_id}/").text
    assert "Job user.lock bob" in job_page and f'action="/jobs/{new_id}/cancel"' in job_page

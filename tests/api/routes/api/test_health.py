"""The health route (no session) and the API reference (a session needed)."""

from __future__ import annotations

from tests.support.api_app import ApiWorld


def test_health_needs_no_session_and_the_reference_needs_one(api: ApiWorld) -> None:
    assert api.anonymous().get("/api/v1/health").json() == {"status": "ok"}
    # Anonymous visitors get neither: see tests/security/test_anonymous_api_docs.py.
    viewer = api.viewer()
    assert viewer.get("/docs").status_code == 200
    document = viewer.get("/api/v1/openapi.json").json()
    assert "/api/v1/users/{login}/password" in document["paths"]

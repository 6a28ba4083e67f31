"""Who may do what: anonymous visitors nothing, viewers read, admins also change (with the CSRF token)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api_app import HOST, ApiWorld

Call = tuple[str, str, dict[str, Any]]

READS: list[Call] = [
    ("GET", "/api/v1/session", {}),
    ("GET", "/api/v1/users", {}),
    ("GET", "/api/v1/users/alice", {}),
    ("GET", "/api/v1/groups", {}),
    ("GET", "/api/v1/groups/devs", {}),
    ("GET", "/api/v1/jobs", {}),
    ("GET", "/api/v1/jobs/0123456789abcdef0123456789abcdef", {}),
    ("GET", "/api/v1/hosts", {}),
    ("GET", "/api/v1/audit", {}),
]
# Each would be accepted from an admin: a refusal can only come from who sends it.
MUTATIONS: list[Call] = [
    ("DELETE", "/api/v1/session", {}),
    ("POST", "/api/v1/users", {"json": {"login": "zoe"}}),
    ("PATCH", "/api/v1/users/alice", {"json": {"full_name": "Alice L."}}),
    ("DELETE", "/api/v1/users/alice", {}),
    ("POST", "/api/v1/users/alice/password", {"json": {"password": "a new secret"}}),
    ("POST", "/api/v1/users/alice/lock", {}),
    ("POST", "/api/v1/users/alice/unlock", {}),
    ("POST", "/api/v1/users/bulk", {"json": {"logins": ["alice", "bob"], "action": "lock"}}),
    ("POST", "/api/v1/groups", {"json": {"name": "lab"}}),
    ("DELETE", "/api/v1/groups/devs", {}),
    ("POST", "/api/v1/groups/devs/members", {"json": {"logins": ["bob"]}}),
    ("DELETE", "/api/v1/groups/devs/members", {"json": {"logins": ["alice"]}}),
]


def _on_host(calls: list[Call]) -> list[Call]:
    """The users and groups routes again under /api/v1/hosts/{host} (a fleet's), for the default host."""
    prefixes = ("/api/v1/users", "/api/v1/groups")
    return [
        (m, p.replace("/api/v1/", f"/api/v1/hosts/{HOST}/", 1), kw)
        for m, p, kw in calls
        if p.startswith(prefixes)
    ]


READS += [*_on_host(READS), ("GET", f"/api/v1/hosts/{HOST}", {}), ("GET", "/api/v1/fleet/users", {})]
MUTATIONS += _on_host(MUTATIONS)
# The WMI accounts: admins only, reads included; no job (see tests/api/routes/api/test_accounts.py).
ACCOUNTS: list[Call] = [
    ("GET", "/api/v1/accounts", {}),
    ("POST", "/api/v1/accounts", {"json": {"login": "newcomer", "password": "newcomer-pass-1"}}),
    ("PATCH", "/api/v1/accounts/reader", {"json": {"role": "viewer"}}),
]
# A job's controls, and a roster's preview and apply: admins only, no job of their own
# without a job or preview to act on (404 here; a preview is tested in test_imports.py).
JOB_CONTROLS: list[Call] = [
    ("POST", "/api/v1/jobs/0123456789abcdef0123456789abcdef/cancel", {}),
    ("POST", "/api/v1/jobs/0123456789abcdef0123456789abcdef/retry", {}),
    ("POST", "/api/v1/imports", {"content": b"login\nzoe\n", "headers": {"Content-Type": "text/csv"}}),
    ("POST", "/api/v1/imports/0123456789abcdef0123456789abcdef/apply", {}),
]
OPEN = {("POST", "/api/v1/session"), ("GET", "/api/v1/health")}


def _template(path: str) -> str:
    """/api/v1/users/alice -> /api/v1/users/{}: to match the OpenAPI paths."""
    known = dict.fromkeys(("alice", "devs", "0123456789abcdef0123456789abcdef", "reader", HOST), "{}")
    return "/".join(known.get(part, part) for part in path.split("/"))


def test_the_lists_cover_every_operation_of_the_api(api: ApiWorld) -> None:
    document = api.viewer().get("/api/v1/openapi.json").json()
    operations = {
        (method.upper(), "/".join("{}" if p.startswith("{") else p for p in path.split("/")))
        for path, item in document["paths"].items()
        for method in item
    }
    covered = {(m, _template(p)) for m, p, _ in READS + MUTATIONS + ACCOUNTS + JOB_CONTROLS} | OPEN
    assert operations == covered


@pytest.mark.parametrize(("method", "path", "kwargs"), READS + MUTATIONS + ACCOUNTS + JOB_CONTROLS)
def test_anonymous_gets_401(api: ApiWorld, method: str, path: str, kwargs: dict[str, Any]) -> None:
    before = api.recorded()
    response = api.anonymous().request(method, path, **kwargs)
    assert response.status_code == 401, response.text
    assert "log in" in response.json()["detail"]
    assert api.recorded() == before


def test_a_viewer_reads(api: ApiWorld) -> None:
    viewer = api.viewer()
    for method, path, kwargs in READS:
        expected = 404 if path.startswith("/api/v1/jobs/") else 200
        assert viewer.request(method, path, **kwargs).status_code == expected, path


def test_a_viewer_changes_nothing(api: ApiWorld) -> None:
    viewer = api.viewer()
    before = api.recorded()
    for method, path, kwargs in MUTATIONS[1:] + JOB_CONTROLS:  # a viewer may log out
        response = viewer.request(method, path, **kwargs)
        assert response.status_code == 403, (path, response.text)
        assert "only an admin" in response.json()["detail"]
    assert api.recorded() == before


def test_an_admin_without_the_csrf_token_changes_nothing(api: ApiWorld) -> None:
    admin = api.admin(csrf=False)
    before = api.recorded()
    for method, path, kwargs in MUTATIONS + JOB_CONTROLS:
        response = admin.request(method, path, **kwargs)
        assert response.status_code == 403, (path, response.text)
        assert "X-CSRF-Token" in response.json()["detail"]
    assert api.recorded() == before
    assert admin.get("/api/v1/users").status_code == 200  # reads need no token


def test_an_admin_with_the_token_is_accepted(api: ApiWorld) -> None:
    admin = api.admin()
    for method, path, kwargs in MUTATIONS[1:]:
        # bob is no member yet; alice leaves devs: each call is valid on the fresh read model.
        response = admin.request(method, path, **kwargs)
        assert response.status_code == 202, (path, response.text)
    assert api.recorded().jobs == len(MUTATIONS) - 1

"""Bad input: a 4xx with a sentence a person understands, and nothing recorded, published or enqueued;
on a real sandbox host, its files byte-identical."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api_app import ApiWorld
from tests.support.inprocess import Host
from tests.support.sandbox_files import snapshot

USERS = "/api/v1/users"
GROUPS = "/api/v1/groups"

# method, path, request arguments, expected status, a fragment of the expected detail.
CASES: list[tuple[str, str, dict[str, Any], int, str]] = [
    ("POST", USERS, {"json": {"login": "-rf"}}, 422, "must start with a lowercase letter"),
    ("POST", USERS, {"json": {"login": "Zoe"}}, 422, "'Zoe' is not allowed"),
    ("POST", USERS, {"json": {"login": "a" * 33}}, 422, "at most 32"),
    ("POST", USERS, {"json": {"login": ""}}, 422, "login is empty"),
    ("POST", USERS, {"json": {"login": "élodie"}}, 422, "is not allowed"),
    ("POST", USERS, {"json": {"login": "zo e"}}, 422, "is not allowed"),
    ("POST", USERS, {"json": {"login": "../etc"}}, 422, "is not allowed"),
    ("POST", USERS, {"json": {"login": "$(reboot)"}}, 422, "is not allowed"),
    ("POST", USERS, {"json": {"login": "alice"}}, 409, "already exists"),
    ("POST", USERS, {"json": {"login": "root"}}, 409, "already exists"),
    ("POST", USERS, {"json": {"login": "devs"}}, 409, "group named 'devs' already exists"),
    ("POST", USERS, {"json": {"login": "zoe", "shell": "/bin/zsh"}}, 422, "/etc/shells"),
    ("POST", USERS, {"json": {"login": "zoe", "full_name": "Zoe:0:0"}}, 422, "cannot contain ':'"),
    ("POST", USERS, {"json": {"login": "zoe", "full_name": "Zoe,Room 4"}}, 422, "cannot contain ','"),
    ("POST", USERS, {"json": {"login": "zoe", "full_name": "Zoe\nroot"}}, 422, "control character"),
    ("POST", USERS, {"json": {"login": "zoe", "full_name": "x" * 129}}, 422, "at most 128"),
    ("POST", USERS, {"json": {"login": "zoe", "groups": ["no-such-group"]}}, 422, "no group 'no-such-group'"),
    ("POST", USERS, {"json": {"login": "zoe", "groups": ["Bad Group"]}}, 422, "group name 'Bad Group'"),
    ("POST", USERS, {"json": {"login": "zoe", "password": ""}}, 422, "password is empty"),
    ("POST", USERS, {"json": {"login": "zoe", "password": "p" * 1025}}, 422, "at most 1024 bytes"),
    ("POST", USERS, {"json": {"login": "zoe", "password": "é" * 600}}, 422, "at most 1024 bytes"),
    ("POST", USERS, {"json": {"login": "zoe", "password": "a\0b"}}, 422, "NUL"),
    ("POST", USERS, {"json": {"login": "zoe", "uid": 0}}, 422, "'uid' is not accepted"),
    ("POST", USERS, {"json": {"login": 123}}, 422, "'login' is invalid"),
    ("POST", USERS, {"json": {"full_name": "No Login"}}, 422, "'login' is required"),
    ("POST", USERS, {"json": {"login": "zoe", "create_home": "maybe"}}, 422, "'create_home' is invalid"),
    ("POST", USERS, {"content": b"not json", "headers": {"Content-Type": "application/json"}}, 422, "JSON"),
    ("POST", USERS, {"json": ["zoe"]}, 422, "must be a JSON object"),
    ("POST", USERS, {}, 422, "body is missing"),
    ("PATCH", f"{USERS}/no-such-user", {"json": {"full_name": "X"}}, 404, "no user 'no-such-user'"),
    ("PATCH", f"{USERS}/alice", {"json": {}}, 422, "Nothing to change"),
    ("PATCH", f"{USERS}/alice", {"json": {"groups": ["users"], "groups_add": ["devs"]}}, 422, "either"),
    ("PATCH", f"{USERS}/alice", {"json": {"groups_add": ["devs"], "groups_remove": ["devs"]}}, 422, "both"),
    ("PATCH", f"{USERS}/alice", {"json": {"shell": "/bin/false"}}, 422, "/etc/shells"),
    ("PATCH", f"{USERS}/alice", {"json": {"groups_add": ["no-such-group"]}}, 422, "no group"),
    ("PATCH", f"{USERS}/alice", {"json": {"fullname": "Alice"}}, 422, "'fullname' is not accepted"),
    ("PATCH", f"{USERS}/alice", {"json": {"full_name": "Alice Liddell"}}, 409, "Nothing would change"),
    ("PATCH", f"{USERS}/alice", {"json": {"groups": ["audio", "users"]}}, 409, "Nothing would change"),
    ("POST", f"{USERS}/no-such-user/password", {"json": {"password": "s3cret"}}, 404, "no user"),
    ("POST", f"{USERS}/alice/password", {"json": {"password": ""}}, 422, "password is empty"),
    ("POST", f"{USERS}/alice/password", {"json": {}}, 422, "'password' is required"),
    ("POST", f"{USERS}/no-such-user/lock", {}, 404, "no user"),
    ("POST", f"{USERS}/no-such-user/unlock", {}, 404, "no user"),
    ("POST", f"{USERS}/bob/unlock", {}, 409, "set a password first"),
    ("DELETE", f"{USERS}/no-such-user", {}, 404, "no user"),
    ("DELETE", f"{USERS}/alice", {"params": {"home": "burn"}}, 422, "'home' is invalid"),
    ("DELETE", f"{USERS}/daemon", {}, 409, "system account"),
    ("POST", GROUPS, {"json": {"name": "-g"}}, 422, "group name '-g'"),
    ("POST", GROUPS, {"json": {"name": "lab;rm"}}, 422, "is not allowed"),
    ("POST", GROUPS, {"json": {"name": "users"}}, 409, "already exists"),
    ("POST", GROUPS, {"json": {"name": "lab", "gid": "abc"}}, 422, "'gid' is invalid"),
    ("POST", GROUPS, {"json": {"name": "lab", "gid": 100}}, 422, "out of range"),
    ("POST", GROUPS, {"json": {"name": "lab", "gid": -5}}, 422, "out of range"),
    ("POST", GROUPS, {"json": {"name": "lab", "gid": 65534}}, 422, "out of range"),
    ("POST", GROUPS, {"json": {"name": "lab", "gid": 2**32}}, 422, "out of range"),
    ("POST", GROUPS, {"json": {"name": "lab", "gid": 1002}}, 409, "already used by the group 'devs'"),
    ("DELETE", f"{GROUPS}/no-such-group", {}, 404, "no group"),
    ("DELETE", f"{GROUPS}/sudo", {}, 409, "system group"),
    ("POST", f"{GROUPS}/devs/members", {"json": {"logins": []}}, 422, "list of logins is empty"),
    ("POST", f"{GROUPS}/devs/members", {"json": {"logins": "alice"}}, 422, "'logins' is invalid"),
    ("POST", f"{GROUPS}/devs/members", {"json": {"logins": ["no-such-user"]}}, 422, "no user"),
    ("POST", f"{GROUPS}/devs/members", {"json": {"logins": ["alice"]}}, 409, "already is a member"),
    ("POST", f"{GROUPS}/no-such-group/members", {"json": {"logins": ["alice"]}}, 404, "no group"),
    ("DELETE", f"{GROUPS}/devs/members", {"json": {"logins": ["bob"]}}, 409, "None of the users"),
    ("DELETE", f"{GROUPS}/devs/members", {"json": {"logins": ["-rf"]}}, 422, "is not allowed"),
]


def test_there_are_more_than_thirty_cases() -> None:
    assert len(CASES) > 30


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "fragment"),
    CASES,
    ids=[f"{m} {p} {k}"[:80] for m, p, k, _, _ in CASES],
)
def test_bad_input_is_refused_and_nothing_is_recorded(
    api: ApiWorld, method: str, path: str, kwargs: dict[str, Any], status: int, fragment: str
) -> None:
    admin = api.admin()
    before = api.recorded()
    response = admin.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail.endswith(".") and fragment in detail, detail
    assert api.recorded() == before
    if "password" in str(kwargs):
        assert "p" * 1025 not in response.text and "é" * 600 not in response.text


def test_a_validation_error_names_every_problem_without_echoing_the_input(api: ApiWorld) -> None:
    response = api.admin().post(USERS, json={"login": 5, "password": ["hunter2"], "colour": "red"})
    assert response.status_code == 422
    body = response.json()
    assert {e["field"] for e in body["errors"]} == {"login", "password", "colour"}
    assert "hunter2" not in response.text


def test_job_listing_parameters_are_checked(api: ApiWorld) -> None:
    viewer = api.viewer()
    for params in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"state": "lost"}):
        response = viewer.get("/api/v1/jobs", params=params)
        assert response.status_code == 422 and "is invalid" in response.json()["detail"], params


def test_a_host_never_read_cannot_be_changed(api: ApiWorld) -> None:
    api.redis.flushall()
    admin = api.admin()
    before = api.recorded()
    response = admin.post(USERS, json={"login": "zoe"})
    assert response.status_code == 503 and "worker running" in response.json()["detail"]
    assert api.recorded() == before


# --- the same refusals on a host read from real files (was tests/test_invalid_input.py) -----------

LONG = "x" * 10_000
ON_A_SANDBOX: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/api/v1/users", {"json": {"login": "-rf"}}),
    ("POST", "/api/v1/users", {"json": {"login": "root"}}),
    ("POST", "/api/v1/users", {"json": {"login": "a:b"}}),
    ("POST", "/api/v1/users", {"json": {"login": "$(reboot)"}}),
    ("POST", "/api/v1/users", {"json": {"login": "a" * 33}}),
    ("POST", "/api/v1/users", {"json": {"login": "élodie"}}),
    ("POST", "/api/v1/users", {"json": {"login": ""}}),
    ("POST", "/api/v1/users", {"json": {"login": "zoe", "shell": "/bin/zsh"}}),
    ("POST", "/api/v1/users", {"json": {"login": "zoe", "full_name": LONG}}),
    ("POST", "/api/v1/users", {"json": {"login": "zoe", "groups": ["no-such-group"]}}),
    ("POST", "/api/v1/users", {"json": {"login": "Zoe"}}),
    ("POST", "/api/v1/users", {"json": {"login": "1zoe"}}),
    ("POST", "/api/v1/users", {"json": {"login": "zoe", "full_name": "Zoe:0:0"}}),
    ("POST", "/api/v1/users", {"json": {"login": "zoe", "full_name": "Zoe\nroot::0:0::/:/bin/sh"}}),
    ("POST", "/api/v1/users", {"json": {"login": "zoe", "full_name": "Zoe,Room 4"}}),
    ("POST", "/api/v1/users", {"json": {"full_name": "No Login"}}),
    ("POST", "/api/v1/users", {"json": {"login": "zoe", "uid": 0}}),
    ("POST", "/api/v1/users", {"json": {"login": 123}}),
    ("POST", "/api/v1/users", {"json": {"login": "zoe", "create_home": "maybe"}}),
    ("POST", "/api/v1/users", {"json": {"login": "zoe", "password": ""}}),
    ("POST", "/api/v1/users", {"json": {"login": "zo e"}}),
    ("POST", "/api/v1/users", {"json": {"login": "../etc"}}),
    ("POST", "/api/v1/users", {"content": b"not json", "headers": {"Content-Type": "application/json"}}),
    ("PATCH", "/api/v1/users/no-such-user", {"json": {"full_name": "X"}}),
    ("PATCH", "/api/v1/users/root", {"json": {"shell": "/bin/false"}}),
    ("PATCH", "/api/v1/users/root", {"json": {"groups_add": ["no-such-group"]}}),
    ("POST", "/api/v1/users/no-such-user/password", {"json": {"password": "s3cret-enough"}}),
    ("POST", "/api/v1/users/root/password", {"json": {"password": "p" * 2000}}),
    ("POST", "/api/v1/users/no-such-user/lock", {}),
    ("POST", "/api/v1/users/root/unlock", {}),
    ("DELETE", "/api/v1/users/no-such-user", {}),
    ("DELETE", "/api/v1/users/daemon", {"params": {"home": "burn"}}),
    ("POST", "/api/v1/groups", {"json": {"name": "-g"}}),
    ("POST", "/api/v1/groups", {"json": {"name": "users"}}),
    ("POST", "/api/v1/groups", {"json": {"name": "lab", "gid": "abc"}}),
    ("POST", "/api/v1/groups", {"json": {"name": "lab", "gid": 100}}),
    ("POST", "/api/v1/groups", {"json": {"name": "lab", "gid": -5}}),
    ("POST", "/api/v1/groups", {"json": {"name": "lab;rm"}}),
    ("DELETE", "/api/v1/groups/no-such-group", {}),
    ("POST", "/api/v1/groups/users/members", {"json": {"logins": ["no-such-user"]}}),
    ("POST", "/api/v1/groups/no-such-group/members", {"json": {"logins": ["root"]}}),
    ("POST", "/api/v1/groups/users/members", {"json": {"logins": []}}),
    ("DELETE", "/api/v1/groups/users/members", {"json": {"logins": ["-rf"]}}),
]


def test_there_are_at_least_thirty_cases_on_a_sandbox() -> None:
    assert len(ON_A_SANDBOX) >= 30


def test_bad_input_is_refused_and_changes_nothing_on_a_sandbox(host: Host) -> None:
    """Against a host read by its worker from real files: the sandbox stays byte-identical."""
    admin, sysroot = host.api.admin(), host.sysroot
    before = snapshot(sysroot)
    wrong = []
    for method, url, kwargs in ON_A_SANDBOX:
        response = admin.request(method, url, **kwargs)
        is_json = response.headers.get("content-type") == "application/json"
        detail = response.json().get("detail") if is_json else None
        if not (400 <= response.status_code < 500 and isinstance(detail, str) and len(detail) > 10):
            wrong.append(f"{method} {url} {kwargs}: {response.status_code} {response.text[:200]}")
    assert not wrong, "\n".join(wrong)
    assert admin.get("/api/v1/jobs").json() == []
    assert host.worker.run_queued() == [], "nothing was sent to the worker"
    assert snapshot(sysroot) == before

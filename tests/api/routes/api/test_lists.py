"""GET /api/v1/users and /api/v1/groups (services/api/routes/api/users.py, groups.py): a page at a time,
with its total, filtered on the server; bad paging is a 4xx that says why.

On the hand-written read model of tests/support/api_app.py: Debian's base accounts (system),
alice (in users, audio, devs) and bob (locked), groups alice, bob and devs.
"""

from __future__ import annotations

from typing import Any

import pytest

from services.common import keys
from services.common.accounts import User
from tests.support.api_app import HOST, ApiWorld, write_read_model
from tests.support.large_model import LARGE, write_large_model

ENVELOPE = {"total", "limit", "offset", "items"}


def _page(api: ApiWorld, path: str, **params: Any) -> dict[str, Any]:
    answer = api.viewer().get(path, params=params)
    assert answer.status_code == 200, answer.text
    page: dict[str, Any] = answer.json()
    assert set(page) == ENVELOPE
    return page


def _logins(page: dict[str, Any]) -> list[str]:
    return [u.get("login") or u["name"] for u in page["items"]]


def test_a_page_of_users_with_its_total(api: ApiWorld) -> None:
    everyone = _page(api, "/api/v1/users")
    assert (everyone["limit"], everyone["offset"]) == (100, 0)
    assert everyone["total"] == len(everyone["items"]) == api.redis.hlen(keys.host_users(HOST))
    assert _logins(everyone) == sorted(_logins(everyone))
    assert set(everyone["items"][0]) == set(User.model_fields)
    second = _page(api, "/api/v1/users", limit=5, offset=5)
    assert second["total"] == everyone["total"] and (second["limit"], second["offset"]) == (5, 5)
    assert _logins(second) == _logins(everyone)[5:10]
    past = _page(api, "/api/v1/users", offset=10_000)
    assert past["items"] == [] and past["total"] == everyone["total"]


def test_users_filtered_on_the_server(api: ApiWorld) -> None:
    assert _logins(_page(api, "/api/v1/users", system=False)) == ["alice", "bob"]
    system = _page(api, "/api/v1/users", system=True)
    assert "root" in _logins(system) and not {"alice", "bob"} & set(_logins(system))
    assert _logins(_page(api, "/api/v1/users", q="LIDDELL")) == ["alice"]  # the full name, any case
    assert _logins(_page(api, "/api/v1/users", q="ali")) == ["alice"]
    assert _logins(_page(api, "/api/v1/users", group="audio")) == ["alice"]
    assert _logins(_page(api, "/api/v1/users", group="bob")) == ["bob"]  # its primary group
    assert _logins(_page(api, "/api/v1/users", locked=True, system=False)) == ["bob"]
    assert "root" in _logins(_page(api, "/api/v1/users", locked=True))  # root's password is locked
    unlocked = _page(api, "/api/v1/users", locked=False, q="a")
    assert _logins(unlocked) == [u for u in _logins(unlocked) if u != "bob"] and "alice" in _logins(unlocked)
    nobody = _page(api, "/api/v1/users", group="no-such-group")
    assert nobody == {"total": 0, "limit": 100, "offset": 0, "items": []}


def test_a_page_of_groups_filtered_by_name(api: ApiWorld) -> None:
    regular = _page(api, "/api/v1/groups", system=False)
    assert _logins(regular) == ["alice", "bob", "devs"] and regular["total"] == 3
    assert _logins(_page(api, "/api/v1/groups", q="DEV")) == ["devs", "plugdev"]
    assert "sudo" in _logins(_page(api, "/api/v1/groups", system=True, limit=500))
    one = _page(api, "/api/v1/groups", q="a", limit=1, offset=1)
    assert one["total"] > 2 and len(one["items"]) == 1


@pytest.mark.parametrize(
    ("query", "field", "says"),
    [
        ("limit=0", "limit", "greater than or equal to 1"),
        ("limit=100000", "limit", "less than or equal to 500"),
        ("limit=lots", "limit", "valid integer"),
        ("offset=-1", "offset", "greater than or equal to 0"),
        ("locked=maybe", "locked", "valid boolean"),
        ("system=perhaps", "system", "valid boolean"),
        (f"q={'x' * 201}", "q", "at most 200 characters"),
    ],
)
def test_bad_paging_or_filters_are_a_422_that_says_which_and_why(
    api: ApiWorld, query: str, field: str, says: str
) -> None:
    for path in ("/api/v1/users", "/api/v1/groups"):
        if field == "locked" and path.endswith("groups"):
            continue
        answer = api.viewer().get(f"{path}?{query}")
        assert answer.status_code == 422, (path, query)
        assert answer.json()["errors"][0]["field"] == field
        assert says in answer.json()["detail"], answer.json()["detail"]


def test_the_lists_of_another_host_are_its_own(api: ApiWorld) -> None:
    write_read_model(api.redis, "other")
    api.redis.hdel(keys.host_users("other"), "alice")
    page = _page(api, "/api/v1/hosts/other/users", system=False)
    assert _logins(page) == ["bob"] and page["total"] == 1
    assert api.anonymous().get("/api/v1/users").status_code == 401


def test_the_openapi_document_describes_the_pages(api: ApiWorld) -> None:
    document = api.viewer().get("/api/v1/openapi.json").json()
    for path, item in (("/api/v1/users", "User"), ("/api/v1/groups", "Group")):
        get = document["paths"][path]["get"]
        ref = get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        page = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert set(page["properties"]) == ENVELOPE and set(page["required"]) == ENVELOPE
        assert page["properties"]["items"]["items"]["$ref"].endswith(f"/{item}")
        params = {p["name"]: p for p in get["parameters"]}
        assert params["limit"]["schema"]["maximum"] == 500 and params["limit"]["schema"]["minimum"] == 1
        assert params["limit"]["schema"]["default"] == 100 and params["offset"]["schema"]["minimum"] == 0
        assert {"q", "system"} <= set(params) and "422" in get["responses"]
    assert {"group", "locked"} <= {p["name"] for p in document["paths"]["/api/v1/users"]["get"]["parameters"]}


# --- a large host --------------------------------------------------------------------------------


def test_at_30000_accounts_what_is_answered_does_not_grow_with_them(api: ApiWorld) -> None:
    write_large_model(api.redis)
    admin = api.admin()
    dashboard = admin.get("/")
    assert dashboard.status_code == 200 and "30,002" in dashboard.text  # users: alice, bob and these
    assert len(dashboard.content) <= 40_000, len(dashboard.content)
    assert "user29999" not in dashboard.text
    users = admin.get("/users/")
    assert users.status_code == 200 and len(users.content) <= 60_000, len(users.content)
    assert "1–50 of 30,002" in users.text  # noqa: RUF001 (the page's own typography)
    listed = admin.get("/api/v1/users")
    assert len(listed.content) <= 200_000 and listed.json()["total"] > LARGE
    staff = admin.get("/api/v1/users", params={"group": "staff", "limit": 500}).json()
    assert staff["total"] == LARGE // 10 and len(staff["items"]) == 500

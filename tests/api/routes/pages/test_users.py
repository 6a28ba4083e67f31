"""The users pages (services/api/routes/pages/users.py): one page of rows, filtered and sorted by the
server from its query string, its links carrying that state; never every login. Their plain forms
make the same jobs as the JSON API, and are refused in the same words.

On the hand-written read model of tests/support/api_app.py, and on 120 more users
(tests/support/large_model.py: user00000…, one in ten in staff, one in seventeen locked).
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.api.routes.pages.forms import form_job, job_made, post_form, refusal
from tests.support.api_app import ApiWorld
from tests.support.large_model import login, write_large_model

RANGE = re.compile(r"data-range>([^<]*)<")


def _rows(page: httpx.Response) -> list[str]:
    assert page.status_code == 200, page.text
    return re.findall(r'<tr data-key="([^"]+)"', page.text)


def _range(page: httpx.Response) -> str:
    found = RANGE.search(page.text)
    assert found is not None
    return found.group(1)


@pytest.fixture
def many(api: ApiWorld) -> ApiWorld:
    write_large_model(api.redis, 120)
    return api


def test_the_page_shows_one_page_of_the_regular_users_and_their_count(many: ApiWorld) -> None:
    page = many.viewer().get("/users/")
    rows = _rows(page)
    assert rows == ["alice", "bob", *[login(n) for n in range(48)]]
    assert _range(page) == "1–50 of 122"  # noqa: RUF001 (the page's own typography)
    assert '<span class="count" data-count>122</span>' in page.text
    assert login(119) not in page.text and "root" not in rows
    # The rows are the server's alone: nothing for the browser to filter or fill.
    assert "data-searched" not in page.text and "tpl-user-row" not in page.text
    last = many.viewer().get("/users/?page=3")
    assert _rows(last) == [login(n) for n in range(98, 120)]
    assert _range(last) == "101–122 of 122"  # noqa: RUF001 (the page's own typography)
    assert _rows(many.viewer().get("/users/?page=99")) == _rows(last), "past the end: the last page"


def test_filters_come_from_the_query_string_and_every_link_keeps_them(many: ApiWorld) -> None:
    viewer = many.viewer()
    staff = viewer.get("/users/", params={"group": "staff", "locked": "false", "sort": "uid", "dir": "desc"})
    expected = [login(n) for n in range(119, -1, -1) if n % 10 == 0 and n % 17 != 5]
    assert _rows(staff) == expected
    assert 'name="group" type="search" value="staff"' in staff.text
    assert '<option value="false" selected>' in staff.text
    # A header link reverses the current order, or sorts by another column, keeping the filters.
    assert 'href="/users/?group=staff&amp;locked=false&amp;sort=uid"' in staff.text
    assert 'href="/users/?group=staff&amp;locked=false&amp;sort=login"' in staff.text
    assert _rows(viewer.get("/users/", params={"q": "NUMBER 11"})) == [
        login(11),
        *[login(n) for n in range(110, 120)],
    ]
    assert _rows(viewer.get("/users/", params={"q": "liddell"})) == ["alice"]
    with_system = viewer.get("/users/", params={"q": "root", "system": "1"})
    assert (
        _rows(with_system) == ["root"]
        and 'name="system" type="checkbox" value="1" checked' in with_system.text
    )
    assert _rows(viewer.get("/users/", params={"q": "root"})) == []


def test_the_pager_links_keep_the_filters(many: ApiWorld) -> None:
    page = many.viewer().get("/users/", params={"q": "user", "page": 2})
    assert _range(page) == "51–100 of 120"  # noqa: RUF001 (the page's own typography)
    assert 'rel="prev" data-page="1" href="/users/?page=1&amp;q=user&amp;sort=login"' in page.text
    assert 'rel="next" data-page="3" href="/users/?page=3&amp;q=user&amp;sort=login"' in page.text


@pytest.mark.parametrize("query", ["locked=maybe", "page=0", "dir=sideways", f"q={'x' * 201}"])
def test_a_page_asked_for_with_bad_parameters_says_which(api: ApiWorld, query: str) -> None:
    page = api.viewer().get(f"/users/?{query}")
    field = query.split("=")[0]
    assert page.status_code == 422 and f"The field '{field}' is invalid" in page.json()["detail"]


def test_the_group_fields_suggest_names_from_the_api_rather_than_carry_them(api: ApiWorld) -> None:
    page = api.admin().get("/users/")
    for field in ("new-groups", "filter-group"):
        assert f'list="{field}-options" data-suggest="/api/v1/groups"' in page.text
        assert f'<datalist id="{field}-options"></datalist>' in page.text
    user = api.admin().get("/users/alice/")
    assert 'list="edit-groups-options" data-suggest="/api/v1/groups"' in user.text


# --- the plain forms: the same changes as the JSON API, refused in the same words ----------------

USERS = "/api/v1/users"
SECRET = "form-and-json-Pa55"

# A form (its path and fields) and the JSON request of the same change, and the page it goes back to.
SAME_JOB: list[tuple[str, dict[str, Any], str, str, dict[str, Any], str]] = [
    ("/users/", {"login": "zoe", "full_name": "Zoe Q", "shell": "/bin/sh", "groups": "users, devs",
                 "password": SECRET, "create_home": "yes"},
     "POST", USERS, {"json": {"login": "zoe", "full_name": "Zoe Q", "shell": "/bin/sh",
                              "groups": ["users", "devs"], "password": SECRET}}, "/users/"),
    # Left blank: the host's default shell and no password; the box unticked: no home.
    ("/users/", {"login": "zoe", "full_name": "", "shell": "", "groups": "", "password": ""},
     "POST", USERS, {"json": {"login": "zoe", "create_home": False}}, "/users/"),
    # The edit form sends every field: its full name emptied clears it.
    ("/users/alice/edit", {"full_name": "", "shell": "/bin/sh", "groups": "users devs"},
     "PATCH", f"{USERS}/alice", {"json": {"full_name": "", "shell": "/bin/sh", "groups": ["users", "devs"]}},
     "/users/alice/"),
    ("/users/alice/password", {"password": SECRET}, "POST", f"{USERS}/alice/password",
     {"json": {"password": SECRET}}, "/users/alice/"),
    ("/users/alice/lock", {}, "POST", f"{USERS}/alice/lock", {}, "/users/alice/"),
    ("/users/alice/unlock", {}, "POST", f"{USERS}/alice/unlock", {}, "/users/alice/"),
    ("/users/alice/delete", {"home": "archive", "confirm": "yes"}, "DELETE", f"{USERS}/alice",
     {"params": {"home": "archive"}}, "/users/"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "fields", "method", "url", "kwargs", "back"), SAME_JOB,
                         ids=[f"{p} {f}"[:60] for p, f, *_ in SAME_JOB])  # fmt: skip
def test_a_form_makes_the_job_its_json_request_makes(
    api: ApiWorld, path: str, fields: dict[str, Any], method: str, url: str, kwargs: dict[str, Any], back: str
) -> None:
    admin = api.admin()
    by_form = form_job(api, post_form(admin, path, fields), back)
    answer = admin.request(method, url, **kwargs)
    assert answer.status_code == 202, answer.text
    assert by_form == job_made(api, answer.json()["id"])
    assert SECRET not in str(by_form)


# A form and the JSON request of the same change, both refused: the status and the sentence.
REFUSED: list[tuple[str, dict[str, Any], str, str, dict[str, Any], int]] = [
    ("/users/", {"login": "alice"}, "POST", USERS, {"json": {"login": "alice"}}, 409),
    ("/users/", {"login": "-rf"}, "POST", USERS, {"json": {"login": "-rf"}}, 422),
    ("/users/", {"login": "zoe", "shell": "/bin/zsh"}, "POST", USERS,
     {"json": {"login": "zoe", "shell": "/bin/zsh"}}, 422),
    ("/users/", {"login": "zoe", "groups": "users no-such-group"}, "POST", USERS,
     {"json": {"login": "zoe", "groups": ["users", "no-such-group"]}}, 422),
    ("/users/", {"login": "zoe", "uid": "0"}, "POST", USERS, {"json": {"login": "zoe", "uid": 0}}, 422),
    ("/users/", {"full_name": "No Login"}, "POST", USERS, {"json": {"full_name": "No Login"}}, 422),
    ("/users/alice/edit", {"full_name": "Alice Liddell", "shell": "/bin/bash", "groups": "audio users"},
     "PATCH", f"{USERS}/alice",
     {"json": {"full_name": "Alice Liddell", "shell": "/bin/bash", "groups": ["audio", "users"]}}, 409),
    ("/users/no-such-user/edit", {"full_name": "X"}, "PATCH", f"{USERS}/no-such-user",
     {"json": {"full_name": "X"}}, 404),
    ("/users/alice/password", {"password": ""}, "POST", f"{USERS}/alice/password",
     {"json": {"password": ""}}, 422),
    ("/users/root/password", {"password": SECRET}, "POST", f"{USERS}/root/password",
     {"json": {"password": SECRET}}, 409),
    ("/users/bob/unlock", {}, "POST", f"{USERS}/bob/unlock", {}, 409),
    ("/users/daemon/delete", {"confirm": "yes"}, "DELETE", f"{USERS}/daemon", {}, 409),
    ("/users/alice/delete", {"home": "burn", "confirm": "yes"}, "DELETE", f"{USERS}/alice",
     {"params": {"home": "burn"}}, 422),
]  # fmt: skip


@pytest.mark.parametrize(("path", "fields", "method", "url", "kwargs", "status"), REFUSED,
                         ids=[f"{p} {f}"[:60] for p, f, *_ in REFUSED])  # fmt: skip
def test_a_refused_form_is_a_page_saying_what_the_json_api_says(
    api: ApiWorld,
    path: str,
    fields: dict[str, Any],
    method: str,
    url: str,
    kwargs: dict[str, Any],
    status: int,
) -> None:
    admin = api.admin()
    before = api.recorded()
    page = post_form(admin, path, fields)
    answer = admin.request(method, url, **kwargs)
    assert (page.status_code, answer.status_code) == (status, status), (page.text, answer.text)
    assert refusal(page) == answer.json()["detail"]
    assert api.recorded() == before


def test_a_deletion_by_form_needs_its_box_ticked(api: ApiWorld) -> None:
    admin = api.admin()
    before = api.recorded()
    page = post_form(admin, "/users/alice/delete", {"home": "remove"})
    assert page.status_code == 422
    assert refusal(page) == "Tick the box that confirms the deletion of 'alice'."
    assert api.recorded() == before


def test_the_action_bar_acts_on_the_users_ticked(api: ApiWorld) -> None:
    admin = api.admin()
    page = admin.get("/users/")
    assert 'form="bulk"' in page.text and 'action="/users/bulk"' in page.text
    assert 'form="bulk"' not in api.viewer().get("/users/").text, "a viewer has nothing to tick"
    done = post_form(admin, "/users/bulk", {"logins": ["alice", "bob"], "action": "lock"})
    action, target, params = form_job(api, done, "/users/")
    assert (action, target) == ("batch", "2 users")
    assert [(r["action"], r["target"]) for r in params["rows"]] == [
        ("user.lock", "alice"),
        ("user.lock", "bob"),
    ]


def test_all_matching_the_filter_are_the_users_the_page_counts(many: ApiWorld) -> None:
    admin = many.admin()
    listed = admin.get("/users/", params={"group": "staff"})
    count = int(re.search(r"data-count>(\d+)<", listed.text).group(1))  # type: ignore[union-attr]
    fields = {"all_matching": "yes", "filter_group": "staff", "action": "add_groups", "groups": "audio"}
    stale = post_form(many.admin(), "/users/bulk", {**fields, "filter_total": str(count + 1)})
    assert stale.status_code == 409 and f"now matches {count} users" in refusal(stale)
    assert f'name="filter_total" value="{count}"' in listed.text
    done = post_form(admin, "/users/bulk", {**fields, "filter_total": str(count)})
    _action, target, params = form_job(many, done, "/users/")
    staff = {r["target"] for r in params["rows"]}
    assert target == f"{count} users" and len(staff) == count > 5
    assert all(r["params"]["groups_add"] == ["audio"] for r in params["rows"])


def test_new_passwords_come_on_a_sheet_shown_once(api: ApiWorld) -> None:
    admin = api.admin()
    sheet = post_form(admin, "/users/bulk", {"logins": ["alice", "bob"], "action": "generate_passwords"})
    assert sheet.status_code == 200 and sheet.headers["cache-control"] == "no-store"
    cards = re.findall(r"Login: <code>([^<]+)</code></p>\s*<p>Password: <code>([^<]+)</code>", sheet.text)
    assert sorted(login for login, _ in cards) == ["alice", "bob"]
    [job_id] = re.findall(r'href="/jobs/([0-9a-f]{32})/"', sheet.text)
    _action, _target, params = job_made(api, job_id)
    assert all(r["params"]["password_hash"] == "(set)" for r in params["rows"])
    assert all(password not in str(params) for _, password in cards)


def test_the_action_bar_refuses_in_words(api: ApiWorld) -> None:
    admin = api.admin()
    before = api.recorded()
    nothing = post_form(admin, "/users/bulk", {"action": "lock"})
    assert nothing.status_code == 422 and "Tick the users" in refusal(nothing)
    unconfirmed = post_form(admin, "/users/bulk", {"logins": ["alice"], "action": "delete"})
    assert unconfirmed.status_code == 422 and "confirms the deletion" in refusal(unconfirmed)
    unknown = post_form(admin, "/users/bulk", {"logins": ["alice", "nosuchuser"], "action": "lock"})
    assert unknown.status_code == 422 and "There is no user 'nosuchuser'" in refusal(unknown)
    assert api.recorded() == before

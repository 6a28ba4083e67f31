"""The groups pages (services/api/routes/pages/groups.py): one page of groups, searched by name on the
server; a group's page names a few of the users whose primary group it is, and links to all. Their
plain forms make the same jobs as the JSON API, and are refused in the same words."""

from __future__ import annotations

import re
from typing import Any

import httpx
import orjson
import pytest

from services.common import keys
from tests.api.routes.pages.forms import form_job, job_made, post_form, refusal
from tests.support.api_app import HOST, ApiWorld
from tests.support.large_model import login, write_large_model


def _rows(page: httpx.Response) -> list[str]:
    assert page.status_code == 200, page.text
    return re.findall(r'<tr data-key="([^"]+)"', page.text)


def test_the_groups_page_shows_one_page_searched_by_name(api: ApiWorld) -> None:
    write_large_model(api.redis, 60)
    viewer = api.viewer()
    first = viewer.get("/groups/")
    assert _rows(first) == ["alice", "bob", "devs", *[login(n) for n in range(47)]]
    assert '<span class="count" data-count>63</span>' in first.text and "tpl-group-row" not in first.text
    assert _rows(viewer.get("/groups/", params={"q": "USER0005"})) == [login(n) for n in range(50, 60)]
    assert _rows(viewer.get("/groups/", params={"q": "dev"})) == ["devs"]
    assert _rows(viewer.get("/groups/", params={"q": "dev", "system": "1"})) == ["devs", "plugdev"]
    by_gid = viewer.get("/groups/", params={"sort": "gid", "dir": "desc"})
    assert _rows(by_gid)[0] == login(59)


def test_a_group_page_names_a_few_of_its_primary_users_and_links_to_them_all(api: ApiWorld) -> None:
    write_large_model(api.redis, 30)
    # Thirty users whose primary group is devs.
    for n in range(30):
        record = orjson.loads(api.redis.hget(keys.host_users(HOST), login(n)) or b"{}")
        api.redis.hset(keys.host_users(HOST), login(n), orjson.dumps({**record, "primary_group": "devs"}))
    api.redis.set(keys.host_digest(HOST), b"after the change")  # as the worker stores a change
    page = api.viewer().get("/groups/devs/")
    assert page.status_code == 200
    assert f"primary group of {', '.join(login(n) for n in range(20))} and 10 more" in page.text
    assert login(25) not in page.text
    assert 'href="/users/?group=devs&amp;system=1">its users</a>' in page.text
    assert api.viewer().get("/groups/nope/").status_code == 404


def test_a_group_page_lists_one_page_of_members_and_links_to_them_all(api: ApiWorld) -> None:
    many = [login(n) for n in range(300)]
    record = {"name": "crowd", "gid": 5000, "members": many, "system": False}
    api.redis.hset(keys.host_groups(HOST), "crowd", orjson.dumps(record))
    page = api.admin().get("/groups/crowd/")
    assert page.status_code == 200
    listed = re.findall(r'<li data-key="([^"]+)"', page.text)
    assert listed == many[:200] and login(200) not in page.text
    assert '<span data-field="member_count">300</span> member(s)' in page.text
    assert 'The first 200 of 300: <a href="/users/?group=crowd&amp;system=1">all of them</a>' in page.text
    assert "tpl-member" not in page.text


# --- the plain forms: the same changes as the JSON API, refused in the same words ----------------

GROUPS = "/api/v1/groups"

# A form (its path and fields) and the JSON request of the same change, and the page it goes back to.
SAME_JOB: list[tuple[str, dict[str, Any], str, str, dict[str, Any], str]] = [
    ("/groups/", {"name": "lab", "gid": "2001"}, "POST", GROUPS, {"json": {"name": "lab", "gid": 2001}},
     "/groups/"),
    ("/groups/", {"name": "lab", "gid": ""}, "POST", GROUPS, {"json": {"name": "lab"}}, "/groups/"),
    ("/groups/devs/members", {"logins": "bob"}, "POST", f"{GROUPS}/devs/members",
     {"json": {"logins": ["bob"]}}, "/groups/devs/"),
    # The members ticked on the group's page: checkboxes sharing the name "logins".
    ("/groups/users/members/remove", {"logins": ["alice"]}, "DELETE", f"{GROUPS}/users/members",
     {"json": {"logins": ["alice"]}}, "/groups/users/"),
    ("/groups/devs/delete", {"confirm": "yes"}, "DELETE", f"{GROUPS}/devs", {}, "/groups/"),
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


# A form and the JSON request of the same change, both refused: the status and the sentence.
REFUSED: list[tuple[str, dict[str, Any], str, str, dict[str, Any], int]] = [
    ("/groups/", {"name": "users"}, "POST", GROUPS, {"json": {"name": "users"}}, 409),
    ("/groups/", {"name": "lab", "gid": "100"}, "POST", GROUPS, {"json": {"name": "lab", "gid": 100}}, 422),
    ("/groups/", {"name": "lab", "gid": "abc"}, "POST", GROUPS, {"json": {"name": "lab", "gid": "abc"}}, 422),
    ("/groups/", {"name": "lab", "gid": "1002"}, "POST", GROUPS, {"json": {"name": "lab", "gid": 1002}}, 409),
    # Names typed in one field, split as the script splits them.
    ("/groups/devs/members", {"logins": "bob,\nno-such-user"}, "POST", f"{GROUPS}/devs/members",
     {"json": {"logins": ["bob", "no-such-user"]}}, 422),
    ("/groups/devs/members", {"logins": "alice"}, "POST", f"{GROUPS}/devs/members",
     {"json": {"logins": ["alice"]}}, 409),
    # No box ticked.
    ("/groups/devs/members/remove", {}, "DELETE", f"{GROUPS}/devs/members", {"json": {"logins": []}}, 422),
    ("/groups/no-such-group/members/remove", {"logins": ["alice"]}, "DELETE",
     f"{GROUPS}/no-such-group/members", {"json": {"logins": ["alice"]}}, 404),
    ("/groups/sudo/delete", {"confirm": "yes"}, "DELETE", f"{GROUPS}/sudo", {}, 409),
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
    page = post_form(admin, "/groups/devs/delete", {})
    assert page.status_code == 422 and refusal(page) == "Tick the box that confirms the deletion of 'devs'."
    assert api.recorded() == before

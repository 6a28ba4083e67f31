"""The groups pages (services/api/routes/group_pages.py): one page of groups, searched by name on the
server; a group's page names a few of the users whose primary group it is, and links to all."""

from __future__ import annotations

import re

import httpx
import orjson

from services.common import keys
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

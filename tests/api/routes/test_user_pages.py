"""The users page (services/api/routes/user_pages.py): one page of rows, filtered and sorted by the
server from its query string, its links carrying that state; never every login.

On the hand-written read model of tests/support/api_app.py, and on 120 more users
(tests/support/large_model.py: user00000…, one in ten in staff, one in seventeen locked).
"""

from __future__ import annotations

import re

import httpx
import pytest

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

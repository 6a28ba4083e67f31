"""The WMI accounts page's plain forms (services/api/routes/pages/accounts.py): parsed into the JSON
API's models and made by the same code, so they do what it does and refuse in its words."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.routes.pages.forms import post_form, refusal
from tests.support.api_app import ADMIN, VIEWER, ApiWorld

ACCOUNTS = "/api/v1/accounts"


def _account(api: ApiWorld, login: str) -> dict[str, Any]:
    listed = {a["login"]: a for a in api.admin().get(ACCOUNTS).json()}
    return {k: v for k, v in listed[login].items() if k != "created_at"}


def test_an_account_made_and_changed_by_forms_is_as_the_json_api_makes_it(api: ApiWorld) -> None:
    admin = api.admin()
    made = post_form(admin, "/accounts/", {"login": "formclerk", "password": "formclerk-1", "role": "admin"})
    assert made.status_code == 303 and made.headers["location"] == "/accounts/?done=formclerk"
    answer = admin.post(ACCOUNTS, json={"login": "jsonclerk", "password": "jsonclerk-1", "role": "admin"})
    assert answer.status_code == 201
    assert _account(api, "formclerk") == {**_account(api, "jsonclerk"), "login": "formclerk"}
    assert api.anonymous().post("/api/v1/session", json={"login": "formclerk", "password": "formclerk-1"}
                                ).json()["role"] == "admin"  # fmt: skip

    # The toggle's hidden field says "true" or "false"; the role's select, a role.
    for fields, expected in (({"disabled": "true"}, (True, "admin")), ({"role": "viewer"}, (True, "viewer")),
                             ({"disabled": "false"}, (False, "viewer"))):  # fmt: skip
        changed = post_form(admin, "/accounts/formclerk/", fields)
        assert changed.status_code == 303 and changed.headers["location"] == "/accounts/?done=formclerk"
        account = _account(api, "formclerk")
        assert (account["disabled"], account["role"]) == expected, fields
        admin.patch(f"{ACCOUNTS}/jsonclerk", json={"disabled": expected[0], "role": expected[1]})
        assert _account(api, "jsonclerk") == {**account, "login": "jsonclerk"}


# The form's path and fields, the JSON request of the same change, the status both get.
REFUSED: list[tuple[str, dict[str, Any], str, str, dict[str, Any], int]] = [
    ("/accounts/", {"login": "formclerk2", "password": "short"}, "POST", ACCOUNTS,
     {"login": "formclerk2", "password": "short"}, 422),
    ("/accounts/", {"login": "Bad Name", "password": "long-enough-1"}, "POST", ACCOUNTS,
     {"login": "Bad Name", "password": "long-enough-1"}, 422),
    ("/accounts/", {"login": "formclerk3", "password": "long-enough-1", "role": "root"}, "POST", ACCOUNTS,
     {"login": "formclerk3", "password": "long-enough-1", "role": "root"}, 422),
    ("/accounts/", {"login": ADMIN[0], "password": "long-enough-1"}, "POST", ACCOUNTS,
     {"login": ADMIN[0], "password": "long-enough-1"}, 409),
    (f"/accounts/{VIEWER[0]}/", {}, "PATCH", f"{ACCOUNTS}/{VIEWER[0]}", {}, 422),
    (f"/accounts/{VIEWER[0]}/", {"role": "viewer"}, "PATCH", f"{ACCOUNTS}/{VIEWER[0]}",
     {"role": "viewer"}, 409),
    (f"/accounts/{ADMIN[0]}/", {"disabled": "true"}, "PATCH", f"{ACCOUNTS}/{ADMIN[0]}",
     {"disabled": True}, 409),
    ("/accounts/nobody-here/", {"role": "admin"}, "PATCH", f"{ACCOUNTS}/nobody-here", {"role": "admin"}, 404),
]  # fmt: skip


@pytest.mark.parametrize(("path", "fields", "method", "url", "body", "status"), REFUSED,
                         ids=[f"{p} {f}"[:60] for p, f, *_ in REFUSED])  # fmt: skip
def test_a_refused_account_form_is_a_page_saying_what_the_json_api_says(
    api: ApiWorld, path: str, fields: dict[str, Any], method: str, url: str, body: dict[str, Any], status: int
) -> None:
    admin = api.admin()
    before = _account(api, VIEWER[0])
    page = post_form(admin, path, fields)
    answer = admin.request(method, url, json=body)
    assert (page.status_code, answer.status_code) == (status, status), (page.text, answer.text)
    assert refusal(page) == answer.json()["detail"]
    assert "long-enough-1" not in page.text
    assert _account(api, VIEWER[0]) == before
    assert "formclerk2" not in str(admin.get(ACCOUNTS).json())

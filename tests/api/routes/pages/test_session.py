"""The pages' routes without a browser: home, the login page (one byte-identical page for every
anonymous visitor), logging in and out by form."""

from __future__ import annotations

import httpx

from services.common.sessions import COOKIE
from tests.support.api_app import ADMIN, ApiWorld, session_cookie

WRONG = "Wrong login or password."


def _form_login(api: ApiWorld, login: str, password: str) -> httpx.Response:
    """The login form, posted as a browser without Sec-Fetch-Site does from our own page."""
    return api.anonymous().post("/login/", data={"login": login, "password": password},
                                headers={"Origin": api.url})  # fmt: skip


def test_home_sends_anonymous_visitors_to_the_login_page(api: ApiWorld) -> None:
    response = api.anonymous().get("/")
    assert response.status_code == 303 and response.headers["location"] == "/login/"


def test_the_login_page_is_byte_identical_for_every_anonymous_visitor(api: ApiWorld) -> None:
    anonymous = api.anonymous()
    pages = [anonymous.get("/login/") for _ in range(5)]
    assert {p.status_code for p in pages} == {200}
    assert len({p.content for p in pages}) == 1
    assert {p.headers["content-length"] for p in pages} == {str(len(pages[0].content))}
    assert all("set-cookie" not in p.headers for p in pages)
    assert 'name="password"' in pages[0].text and "/static/wmi.css" in pages[0].text
    assert anonymous.get("/static/wmi.css").status_code == 200
    assert pages[0].headers["content-type"] == "text/html; charset=utf-8"
    assert "frame-ancestors 'none'" in pages[0].headers["content-security-policy"]
    # A stale session cookie gets the same page; POST /login/ is not taken by the GET fast path.
    stale = api.client({"Cookie": f"{COOKIE}=expired-token"}).get("/login/")
    assert stale.status_code == 200 and stale.content == pages[0].content
    assert anonymous.head("/login/").status_code == 200
    assert anonymous.get("/login").headers.get("location", "").endswith("/login/")


def test_form_login_sets_the_cookie_and_leads_to_the_dashboard(api: ApiWorld) -> None:
    response = _form_login(api, ADMIN[0], ADMIN[1])
    assert response.status_code == 303 and response.headers["location"] == "/"
    browser = api.client({"Cookie": f"{COOKIE}={session_cookie(response)}"})
    home = browser.get("/")
    assert home.status_code == 200 and ADMIN[0] in home.text and 'name="csrf_token"' in home.text
    assert browser.get("/login/").status_code == 303  # already logged in


def test_form_login_failure_shows_the_error_in_the_page(api: ApiWorld) -> None:
    response = _form_login(api, "mallory", "guess")
    assert response.status_code == 401
    assert WRONG in response.text and 'value="mallory"' in response.text
    assert "set-cookie" not in response.headers
    hostile = _form_login(api, '"><script>x()</script>', "p")
    assert "<script>x()" not in hostile.text


def test_form_logout_needs_the_page_token(api: ApiWorld) -> None:
    response = _form_login(api, ADMIN[0], ADMIN[1])
    browser = api.client({"Cookie": f"{COOKIE}={session_cookie(response)}"})
    assert browser.post("/logout/", data={"csrf_token": "forged"}).status_code == 403
    token = browser.get("/").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    out = browser.post("/logout/", data={"csrf_token": token})
    assert out.status_code == 303 and out.headers["location"] == "/login/"
    assert browser.get("/").status_code == 303

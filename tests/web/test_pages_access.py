"""The pages in real headless Chromium, on a host with 2,000 users, as to who may do what:
logging in and out, a viewer who sees no control that changes anything, CSRF, an unknown
host, the audit page (what it filters and exports).

One WMI2 for the module (see tests/support/web_fixtures.py); the users table, labels, phone
width and the pages without the script are in test_pages_users_and_forms.py. Nothing here
waits on a clock but Playwright's own polling expectations.
"""

from __future__ import annotations

from playwright.sync_api import BrowserContext, expect

from tests.support.browser import live, log_in
from tests.support.sandbox_files import entry
from tests.support.stack import ADMIN, VIEWER, Stack

pytest_plugins = ["tests.support.web_fixtures"]

SEED_USERS = 2000
SEED_GROUPS = {"lab": [0, 1, 2, 3], "office": [4, 5]}
# Logins made by tests/support/seed.py: first_last, then first_last1, 2, 3 for the next rounds.
SOME_USER = "karim_roux"
PAGES = ["/", "/users/", f"/users/{SOME_USER}/", "/groups/", "/groups/lab/", "/jobs/", "/audit/"]


def test_login_a_wrong_password_and_logout(stack: Stack, context: BrowserContext) -> None:
    page = context.new_page()
    page.goto(f"{stack.url}/")
    expect(page).to_have_url(f"{stack.url}/login/")
    page.get_by_label("Login").fill(ADMIN[0])
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong login or password.")
    expect(page.get_by_label("Login")).to_have_value(ADMIN[0])
    expect(page.get_by_label("Password")).to_have_value("")

    log_in(page, stack.url, *ADMIN)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator("[data-stat=users]")).to_have_text("2,000")
    live(page)

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{stack.url}/login/")
    page.goto(f"{stack.url}/users/")
    expect(page).to_have_url(f"{stack.url}/login/")


def test_a_viewer_sees_no_control_that_changes_anything_and_a_forged_one_gets_403(
    stack: Stack, context: BrowserContext
) -> None:
    page = context.new_page()
    log_in(page, stack.url, *VIEWER)
    for path in PAGES:
        page.goto(stack.url + path)
        posting = page.locator("form[method=post]").evaluate_all(
            "fs => fs.map(f => f.getAttribute('action'))"
        )
        assert posting == ["/logout/"], path
        assert page.locator("[data-api], input[type=checkbox][name=logins]").count() == 0, path
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Accounts")).to_have_count(0)
    # The viewer's own, valid token on an admin's form and on the JSON API: still 403.
    token = page.locator("meta[name=csrf-token]").get_attribute("content") or ""
    accounts = page.goto(f"{stack.url}/accounts/")
    assert accounts is not None and accounts.status == 403
    form = page.request.post(f"{stack.url}/users/", form={"csrf_token": token, "login": "forged"})
    assert form.status == 403 and "only an admin" in form.text()
    api = page.request.post(
        f"{stack.url}/api/v1/users", data={"login": "forged"}, headers={"X-CSRF-Token": token}
    )
    assert api.status == 403
    lock = page.request.post(f"{stack.url}/users/{SOME_USER}/lock", form={"csrf_token": token})
    assert lock.status == 403
    assert entry(stack.sysroot, "passwd", "forged") is None


def test_a_form_without_its_csrf_token_gets_403(stack: Stack, context: BrowserContext) -> None:
    page = context.new_page()
    log_in(page, stack.url, *ADMIN)
    page.goto(f"{stack.url}/users/")
    # The new-user form, stripped of its token and of the script's handling: a plain POST.
    page.evaluate("""() => {
        const form = document.querySelector('form[action="/users/"]');
        form.querySelector('[name=csrf_token]').remove();
        delete form.dataset.api;
    }""")
    page.get_by_text("New user").click()
    page.get_by_label("Login", exact=True).fill("no_token")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Create user").click()
    response = navigation.value
    assert response is not None and response.status == 403
    expect(page.get_by_role("alert")).to_contain_text("security token")

    # The JSON API without the header, or with a wrong one.
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        status = page.evaluate(
            """h => fetch('/api/v1/users', {
                method: 'POST', headers: {'Content-Type': 'application/json', ...h},
                body: JSON.stringify({login: 'no_token'}),
            }).then(r => r.status)""",
            headers,
        )
        assert status == 403
    wrong = page.request.post(f"{stack.url}/users/{SOME_USER}/lock", form={"csrf_token": "forged"})
    assert wrong.status == 403
    assert entry(stack.sysroot, "passwd", "no_token") is None


def test_an_unknown_host_is_a_404_page(stack: Stack, context: BrowserContext) -> None:
    """Bug: ``?host=`` naming no host rendered empty pages, as if the host had no users."""
    page = context.new_page()
    log_in(page, stack.url, *ADMIN)
    response = page.goto(f"{stack.url}/users/?host=no-such-host")
    assert response is not None and response.status == 404
    expect(page.locator("body")).to_contain_text("There is no host 'no-such-host'")


def test_the_audit_page_filters_and_exports_what_it_shows(stack: Stack, context: BrowserContext) -> None:
    page = context.new_page()
    log_in(page, stack.url, *VIEWER)
    page.goto(f"{stack.url}/audit/")
    page.get_by_label("Actor").fill(VIEWER[0])
    page.get_by_label("Action").fill("session")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(f"{stack.url}/audit/?actor={VIEWER[0]}&action=session&target=&since=&until=")
    rows = page.locator("[data-region=audit-rows] tbody tr")
    expect(rows.first).to_contain_text("session.login")
    assert set(rows.locator("td:nth-child(2)").all_inner_texts()) == {VIEWER[0]}

    export = page.get_by_role("link", name="Export CSV")
    assert export.get_attribute("href") == f"/api/v1/audit?actor={VIEWER[0]}&action=session&format=csv"
    csv_file = page.request.get(stack.url + (export.get_attribute("href") or ""))
    lines = csv_file.text().splitlines()
    assert lines[0] == "at,actor,action,target,host,outcome,detail,job_id"
    assert len(lines) - 1 == rows.count() and all(
        f",{VIEWER[0]},session.login," in line for line in lines[1:]
    )

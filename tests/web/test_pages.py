"""The pages in real headless Chromium, on a host with 2,000 users: logging in and out, who sees
which controls, CSRF, the users table (filter as you type, sort, paginate), labels, phone width.

One WMI2 for the module (see tests/support/web_fixtures.py); nothing here waits on a clock
but Playwright's own polling expectations.
"""

from __future__ import annotations

import re

from playwright.sync_api import BrowserContext, Page, expect

from tests.support.browser import NewContext, live, log_in
from tests.support.sandbox_files import entry
from tests.support.stack import ADMIN, VIEWER, Stack
from tests.support.wait import wait_for

pytest_plugins = ["tests.support.web_fixtures"]

SEED_USERS = 2000
SEED_GROUPS = {"lab": [0, 1, 2, 3], "office": [4, 5]}
# Logins made by tests/support/seed.py: first_last, then first_last1, 2, 3 for the next rounds.
SOME_USER = "karim_roux"
PAGES = ["/", "/users/", f"/users/{SOME_USER}/", "/groups/", "/groups/lab/", "/jobs/", "/audit/"]


def _rows(page: Page) -> int:
    return page.locator("[data-rows] tr").count()


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


def test_the_users_table_with_2000_users(stack: Stack, context: BrowserContext) -> None:
    page = context.new_page()
    log_in(page, stack.url, *ADMIN)
    page.goto(f"{stack.url}/users/")
    expect(page.locator("[data-count]")).to_have_text("2,000")
    expect(page.locator("[data-range]")).to_have_text("1–50 of 2,000")  # noqa: RUF001 (the page's own typography)
    assert _rows(page) == 50
    live(page)

    # Filter as you type: the server filters, the page swaps in the rows it renders, no reload.
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Filter").press_sequentially(SOME_USER)
    expect(page.locator("[data-rows] tr")).to_have_count(4)  # karim_roux, karim_roux1, 2, 3
    expect(page.locator("[data-count]")).to_have_text("4")
    page.get_by_label("Filter").press_sequentially("2")
    expect(page.locator("[data-rows] tr")).to_have_count(1)
    expect(page.locator("[data-rows] tr a")).to_have_text(f"{SOME_USER}2")
    # Kept in the address: a reload (rendered by the server) shows the same.
    expect(page).to_have_url(f"{stack.url}/users/?sort=login&q={SOME_USER}2")
    page.get_by_label("Filter").fill("")
    expect(page.locator("[data-count]")).to_have_text("2,000")

    # Sort by column: UID descending puts the last seeded user first.
    page.get_by_role("link", name="UID").click()
    expect(page.locator("th[aria-sort=ascending]")).to_have_text("UID")
    page.get_by_role("link", name="UID").click()
    expect(page.locator("th[aria-sort=descending]")).to_have_text("UID")
    expect(page.locator("[data-rows] tr").first.locator("[data-text=uid]")).to_have_text("3999")

    # Paginate; the server renders the same page on a reload.
    page.get_by_role("link", name="Next ›").click()  # noqa: RUF001 (the page's own typography)
    expect(page.locator("[data-range]")).to_have_text("51–100 of 2,000")  # noqa: RUF001 (the page's own typography)
    assert page.evaluate("window.notReloaded") is True
    page.reload()
    expect(page.locator("[data-range]")).to_have_text("51–100 of 2,000")  # noqa: RUF001 (the page's own typography)
    expect(page.locator("[data-rows] tr").first.locator("[data-text=uid]")).to_have_text("3949")
    assert page.evaluate("window.notReloaded") is None  # that last one was a real reload

    # System accounts are behind a toggle.
    page.get_by_label("Filter").fill("root")
    expect(page.locator("[data-empty]")).to_be_visible()
    page.get_by_label("Show system accounts").check()
    expect(page.locator("[data-rows] tr a")).to_have_text(["root"])

    # A group's members, its name suggested by the API as it is typed.
    page.get_by_label("Filter").fill("")
    page.get_by_label("Group", exact=True).fill("lab")
    expect(page.locator("#filter-group-options option")).to_have_count(1)
    expect(page.locator("#filter-group-options option")).to_have_attribute("value", "lab")
    expect(page.locator("[data-rows] tr")).to_have_count(4)
    expect(page.locator("[data-count]")).to_have_text("4")


def test_every_field_is_labelled_focus_is_visible_and_nothing_scrolls_sideways(
    stack: Stack, new_context: NewContext
) -> None:
    for width in (1280, 390):
        page = new_context(viewport={"width": width, "height": 800}).new_page()
        log_in(page, stack.url, *ADMIN)
        for path in [*PAGES, "/accounts/"]:
            page.goto(stack.url + path)
            unlabelled = page.evaluate("""() => [...document.querySelectorAll(
                    'input:not([type=hidden]), select, textarea')]
                .filter(el => !el.labels?.length && !el.getAttribute('aria-label'))
                .map(el => el.name || el.id)""")
            assert unlabelled == [], (path, unlabelled)
            sideways = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert sideways <= 0, (width, path, sideways)
        # The keyboard's first stop skips to the content, and focus is drawn.
        page.goto(f"{stack.url}/users/")
        page.keyboard.press("Tab")
        expect(page.locator(":focus")).to_have_text("Skip to content")
        page.keyboard.press("Tab")
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineWidth")
        assert outline == "3px", outline


def test_pages_render_in_full_without_the_script(stack: Stack, new_context: NewContext) -> None:
    page = new_context(java_script_enabled=False).new_page()
    log_in(page, stack.url, *ADMIN)
    page.goto(f"{stack.url}/users/?q={SOME_USER}&sort=uid&dir=desc")
    expect(page.locator("[data-rows] tr a")).to_have_text(
        [f"{SOME_USER}3", f"{SOME_USER}2", f"{SOME_USER}1", SOME_USER]
    )
    expect(page.locator("[data-conn]")).to_be_hidden()
    page.goto(f"{stack.url}/users/?page=40")
    expect(page.locator("[data-range]")).to_have_text("1,951–2,000 of 2,000")  # noqa: RUF001 (the page's own typography)
    page.goto(f"{stack.url}/groups/lab/")
    expect(page.locator("[data-members] li")).to_have_count(4)


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


def test_forms_work_as_plain_posts_without_the_script(stack: Stack, new_context: NewContext) -> None:
    page = new_context(java_script_enabled=False).new_page()
    log_in(page, stack.url, *ADMIN)
    page.goto(f"{stack.url}/users/")
    page.get_by_text("New user").click()
    page.get_by_label("Login", exact=True).fill("plain_form")
    page.get_by_label("Password", exact=True).fill("plain-form-pass-1")
    page.get_by_role("button", name="Create user").click()
    expect(page).to_have_url(re.compile(r"/users/\?job=[0-9a-f]{32}$"))
    banner = page.locator(".alert-info")
    expect(banner).to_contain_text("Job user.create plain_form:")

    def finished() -> bool:
        page.reload()
        return banner.locator("[data-badge]").inner_text() == "succeeded"

    wait_for(finished, timeout=30, interval=0.3, what="the job to succeed")
    assert entry(stack.sysroot, "passwd", "plain_form") is not None

    # A refusal is a page that says why, with a way back.
    page.goto(f"{stack.url}/users/")
    page.get_by_text("New user").click()
    page.get_by_label("Login", exact=True).fill("plain_form")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Create user").click()
    assert navigation.value is not None and navigation.value.status == 409
    expect(page.get_by_role("alert")).to_have_text("The user 'plain_form' already exists on host 'testhost'.")
    expect(page.get_by_role("link", name="Back")).to_have_attribute("href", "/users/")

    page.goto(f"{stack.url}/users/plain_form/")
    page.get_by_role("button", name="Lock plain_form", exact=True).click()
    expect(page).to_have_url(re.compile(r"/users/plain_form/\?job=[0-9a-f]{32}$"))
    expect(page.locator(".alert-info")).to_contain_text("Job user.lock plain_form:")

"""The pages in real headless Chromium, on a host with 2,000 users: the users table (filter as
you type, sort, paginate), labels, focus and phone width, and the pages and forms without
the script.

One WMI2 for the module (see tests/support/web_fixtures.py); logging in, who sees which
controls and CSRF are in test_pages_access.py. Nothing here waits on a clock but
Playwright's own polling expectations.
"""

from __future__ import annotations

import re

from playwright.sync_api import BrowserContext, Page, expect

from tests.support.browser import NewContext, live, log_in
from tests.support.sandbox_files import entry
from tests.support.stack import ADMIN, Stack
from tests.support.wait import wait_for

pytest_plugins = ["tests.support.web_fixtures"]

SEED_USERS = 2000
SEED_GROUPS = {"lab": [0, 1, 2, 3], "office": [4, 5]}
# Logins made by tests/support/seed.py: first_last, then first_last1, 2, 3 for the next rounds.
SOME_USER = "karim_roux"
PAGES = ["/", "/users/", f"/users/{SOME_USER}/", "/groups/", "/groups/lab/", "/jobs/", "/audit/"]


def _rows(page: Page) -> int:
    return page.locator("[data-rows] tr").count()


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
        for path in [*PAGES, "/accounts/", "/imports/"]:
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

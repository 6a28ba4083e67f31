"""Live pages in real headless Chromium, each change followed without a reload: a form's job to
the end, two admins seeing each other's changes, a filtered page following the server's
filter, a change typed on the host, the dashboard and the jobs page following a job.

"Within 2 s" is the issue's behavioural requirement for another admin's change to show:
hence the ``timeout=2000`` of those expectations (Playwright polls until then).
One WMI2 for the module (see tests/support/web_fixtures.py); the event stream's own
troubles (bursts, a lost stream, a disabled account, a stuck job) are in test_live_stream.py.
"""

from __future__ import annotations

import subprocess

from playwright.sync_api import expect

from tests.support.api import logged_in_client, wait_job
from tests.support.browser import NewContext, live, live_page, log_in, no_reload, row, same_document
from tests.support.sandbox_files import entry, members
from tests.support.stack import ADMIN, Stack

pytest_plugins = ["tests.support.web_fixtures"]

SEED_USERS = 30
SEED_GROUPS = {"lab": [0, 1]}
SECOND_ADMIN = ("second", "second-admin-pass")
OTHERS_CHANGE = 2000  # ms


def test_a_user_created_through_the_form_shows_its_job_reach_done(
    stack: Stack, new_context: NewContext
) -> None:
    page = live_page(new_context, stack.url, "/users/")
    page.get_by_text("New user").click()
    page.get_by_label("Login", exact=True).fill("form_user")
    page.get_by_label("Full name").fill("Form User")
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("[data-strength-text]")).to_have_text("Strength: Strong.")
    page.get_by_role("button", name="Create user").click()

    status = page.locator('form[action="/users/"] [data-form-status]')
    expect(status.locator("[data-badge=state]")).to_have_text("succeeded", timeout=30_000)
    expect(page.locator('[data-rows] tr[data-key="form_user"] [data-text=full_name]')).to_have_text(
        "Form User"
    )
    expect(page.get_by_label("Login", exact=True)).to_have_value("")  # the form is ready for the next one
    assert same_document(page)
    shadow = entry(stack.sysroot, "shadow", "form_user")
    assert shadow is not None and shadow[1].startswith("$6$")

    # A refusal is said next to the form, in the API's words.
    page.get_by_label("Login", exact=True).fill("form_user")
    page.get_by_role("button", name="Create user").click()
    expect(status).to_have_text("The user 'form_user' already exists on host 'testhost'.")


def test_two_admins_see_each_others_changes_without_a_reload(stack: Stack, new_context: NewContext) -> None:
    first = new_context().new_page()
    log_in(first, stack.url, *ADMIN)
    # The second admin is made through the accounts page.
    first.goto(f"{stack.url}/accounts/")
    first.get_by_text("New account").click()
    first.get_by_label("Login", exact=True).fill(SECOND_ADMIN[0])
    first.get_by_label("Password", exact=True).fill(SECOND_ADMIN[1])
    first.get_by_label("Role", exact=True).select_option("admin")
    first.get_by_role("button", name="Create account").click()
    expect(first.locator(f'[data-region=accounts-rows] tr[data-key="{SECOND_ADMIN[0]}"]')).to_be_visible()

    second = new_context().new_page()
    log_in(second, stack.url, *SECOND_ADMIN)
    first.goto(f"{stack.url}/users/")
    live(first)
    no_reload(first)
    second.goto(f"{stack.url}/users/")
    live(second)

    # Create.
    second.get_by_text("New user").click()
    second.get_by_label("Login", exact=True).fill("duo")
    second.get_by_label("Full name").fill("Duo First")
    second.get_by_label("Password", exact=True).fill("duo-password-1")
    second.get_by_role("button", name="Create user").click()
    expect(row(first, "duo")).to_be_visible(timeout=OTHERS_CHANGE)
    expect(first.locator('tr[data-key="duo"] [data-badge]')).to_have_text("active")
    expect(first.locator("[data-toasts]")).to_contain_text("User duo created by second")

    # Modify.
    second.goto(f"{stack.url}/users/duo/")
    live(second)
    second.get_by_label("Full name", exact=True).fill("Duo Second")
    second.get_by_role("button", name="Save").click()
    expect(first.locator('tr[data-key="duo"] [data-text=full_name]')).to_have_text(
        "Duo Second", timeout=OTHERS_CHANGE
    )

    # Lock.
    second.get_by_role("button", name="Lock duo", exact=True).click()
    expect(first.locator('tr[data-key="duo"] [data-badge]')).to_have_text("locked", timeout=OTHERS_CHANGE)
    expect(second.get_by_role("button", name="Unlock duo", exact=True)).to_be_visible()
    expect(second.get_by_role("button", name="Lock duo", exact=True)).to_be_hidden()

    # Group membership, watched on the group's page.
    first.goto(f"{stack.url}/groups/lab/")
    live(first)
    no_reload(first)
    second.goto(f"{stack.url}/groups/lab/")
    second.get_by_label("Logins").fill("duo")
    second.get_by_role("button", name="Add to lab").click()
    expect(first.locator('[data-members] li[data-key="duo"]')).to_be_visible(timeout=OTHERS_CHANGE)
    expect(first.locator("[data-field=member_count]")).to_have_text("3")
    assert "duo" in members(stack.sysroot, "lab")
    second.get_by_label("duo").check()
    second.get_by_role("button", name="Remove selected").click()
    expect(first.locator('[data-members] li[data-key="duo"]')).to_have_count(0, timeout=OTHERS_CHANGE)

    # Delete, watched on the users page.
    first.goto(f"{stack.url}/users/")
    live(first)
    no_reload(first)
    second.goto(f"{stack.url}/users/duo/")
    second.get_by_text("Delete duo…").click()
    second.get_by_label("Remove it", exact=True).check()
    second.get_by_label("Yes, delete duo").check()
    second.get_by_role("button", name="Delete duo").click()
    expect(row(first, "duo")).to_have_count(0, timeout=OTHERS_CHANGE)
    expect(second.locator("[data-gone]")).to_be_visible()
    assert same_document(first)
    assert entry(stack.sysroot, "passwd", "duo") is None


def test_a_filtered_page_counts_and_shows_the_creations_and_deletions_that_belong_on_it(
    stack: Stack, new_context: NewContext
) -> None:
    """Issue 11: the browser holds one page of rows, not the list; on an event it asks the server
    for the page again, so what it shows follows the filter (here ``q=shown_``) as the server's."""
    page = live_page(new_context, stack.url, "/users/?q=shown_")
    count = page.locator("[data-count]")
    expect(count).to_have_text("0")
    expect(page.locator("[data-empty]")).to_be_visible()

    api = logged_in_client(stack.url, *ADMIN)
    try:
        wait_job(api, api.post("/api/v1/users", json={"login": "shown_one", "full_name": "Shown One"}))
        expect(row(page, "shown_one")).to_be_visible()
        expect(count).to_have_text("1")
        expect(page.locator("[data-range]")).to_have_text("1–1 of 1")  # noqa: RUF001 (the page's own typography)
        # Created before shown_two: had it been shown, it would be there by the time shown_two is.
        wait_job(api, api.post("/api/v1/users", json={"login": "hidden_one"}))
        wait_job(api, api.post("/api/v1/users", json={"login": "shown_two"}))
        expect(row(page, "shown_two")).to_be_visible()
        expect(count).to_have_text("2")
        expect(page.locator("[data-rows] tr")).to_have_count(2)
        assert row(page, "hidden_one").count() == 0

        wait_job(api, api.patch("/api/v1/users/shown_one", json={"full_name": "Shown Again"}))
        expect(row(page, "shown_one").locator("[data-text=full_name]")).to_have_text("Shown Again")
        wait_job(api, api.delete("/api/v1/users/shown_one"))
        expect(row(page, "shown_one")).to_have_count(0)
        expect(count).to_have_text("1")
        expect(page.locator("[data-rows] tr")).to_have_count(1)
    finally:
        api.close()
    assert same_document(page)


def test_a_useradd_behind_our_back_appears_in_an_open_users_page(
    stack: Stack, new_context: NewContext
) -> None:
    page = live_page(new_context, stack.url, "/users/")
    subprocess.run(
        ["useradd", "--prefix", str(stack.sysroot), "-c", "Typed By Hand", "--", "by_hand"], check=True
    )
    expect(page.locator('tr[data-key="by_hand"] [data-text=full_name]')).to_have_text("Typed By Hand")
    expect(page.locator("[data-toasts]")).to_contain_text("User by_hand created on the host")
    assert same_document(page)


def test_the_dashboard_and_the_jobs_page_follow_a_job_live(stack: Stack, new_context: NewContext) -> None:
    dashboard = new_context().new_page()
    log_in(dashboard, stack.url, *ADMIN)
    live(dashboard)
    users = int(dashboard.locator("[data-stat=users]").inner_text())
    jobs = new_context().new_page()
    log_in(jobs, stack.url, *ADMIN)
    jobs.goto(f"{stack.url}/jobs/")
    live(jobs)

    api = logged_in_client(stack.url, *ADMIN)
    job = wait_job(api, api.post("/api/v1/users", json={"login": "watched"}))
    api.close()
    expect(jobs.locator(f'tr[data-key="{job["id"]}"] [data-badge=state]')).to_have_text("succeeded")
    expect(jobs.locator(f'tr[data-key="{job["id"]}"] [data-text=target]')).to_have_text("watched")
    expect(dashboard.locator("[data-stat=users]")).to_have_text(str(users + 1))
    expect(dashboard.locator("[data-events] li").first).to_contain_text("job.succeeded")
    expect(dashboard.locator("[data-events]")).to_contain_text("user.created")
    expect(dashboard.locator("[data-unfinished] li")).to_have_count(0)

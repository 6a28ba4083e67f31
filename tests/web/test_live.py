"""Live pages in real headless Chromium: a form's job followed to the end, two admins seeing each
other's changes, a change typed on the host, a disabled account, and the event stream lost
and caught up again. None of it reloads the page.

"Within 2 s" is the issue's behavioural requirement for another admin's change to show:
hence the ``timeout=2000`` of those expectations (Playwright polls until then).
"""

from __future__ import annotations

import subprocess
import uuid
from datetime import timedelta

import redis
from playwright.sync_api import Locator, Page, expect

from services.common import keys
from services.common.db import Job, sessionmaker_for, utcnow
from services.common.events import Publisher
from tests.support.api import logged_in_client, wait_job
from tests.support.browser import NewContext, live, log_in
from tests.support.sandbox_files import entry, members
from tests.support.stack import ADMIN, Stack
from tests.support.wait import wait_for

pytest_plugins = ["tests.support.web_fixtures"]

SEED_USERS = 30
SEED_GROUPS = {"lab": [0, 1]}
SECOND_ADMIN = ("second", "second-admin-pass")
OTHERS_CHANGE = 2000  # ms
BURST = 1000


def _row(page: Page, login: str) -> Locator:
    return page.locator(f'[data-rows] tr[data-key="{login}"]')


def _no_reload(page: Page) -> None:
    page.evaluate("window.sameDocument = true")


def _same_document(page: Page) -> bool:
    return bool(page.evaluate("window.sameDocument === true"))


def test_a_user_created_through_the_form_shows_its_job_reach_done(
    stack: Stack, new_context: NewContext
) -> None:
    page = new_context().new_page()
    log_in(page, stack.url, *ADMIN)
    page.goto(f"{stack.url}/users/")
    live(page)
    _no_reload(page)
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
    assert _same_document(page)
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
    _no_reload(first)
    second.goto(f"{stack.url}/users/")
    live(second)

    # Create.
    second.get_by_text("New user").click()
    second.get_by_label("Login", exact=True).fill("duo")
    second.get_by_label("Full name").fill("Duo First")
    second.get_by_label("Password", exact=True).fill("duo-password-1")
    second.get_by_role("button", name="Create user").click()
    expect(_row(first, "duo")).to_be_visible(timeout=OTHERS_CHANGE)
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
    _no_reload(first)
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
    _no_reload(first)
    second.goto(f"{stack.url}/users/duo/")
    second.get_by_text("Delete duo…").click()
    second.get_by_label("Remove it", exact=True).check()
    second.get_by_label("Yes, delete duo").check()
    second.get_by_role("button", name="Delete duo").click()
    expect(_row(first, "duo")).to_have_count(0, timeout=OTHERS_CHANGE)
    expect(second.locator("[data-gone]")).to_be_visible()
    assert _same_document(first)
    assert entry(stack.sysroot, "passwd", "duo") is None


def test_a_filtered_page_counts_and_shows_the_creations_and_deletions_that_belong_on_it(
    stack: Stack, new_context: NewContext
) -> None:
    """Issue 11: the browser holds one page of rows, not the list; on an event it asks the server
    for the page again, so what it shows follows the filter (here ``q=shown_``) as the server's."""
    page = new_context().new_page()
    log_in(page, stack.url, *ADMIN)
    page.goto(f"{stack.url}/users/?q=shown_")
    live(page)
    _no_reload(page)
    count = page.locator("[data-count]")
    expect(count).to_have_text("0")
    expect(page.locator("[data-empty]")).to_be_visible()

    api = logged_in_client(stack.url, *ADMIN)
    try:
        wait_job(api, api.post("/api/v1/users", json={"login": "shown_one", "full_name": "Shown One"}))
        expect(_row(page, "shown_one")).to_be_visible()
        expect(count).to_have_text("1")
        expect(page.locator("[data-range]")).to_have_text("1–1 of 1")  # noqa: RUF001 (the page's own typography)
        # Created before shown_two: had it been shown, it would be there by the time shown_two is.
        wait_job(api, api.post("/api/v1/users", json={"login": "hidden_one"}))
        wait_job(api, api.post("/api/v1/users", json={"login": "shown_two"}))
        expect(_row(page, "shown_two")).to_be_visible()
        expect(count).to_have_text("2")
        expect(page.locator("[data-rows] tr")).to_have_count(2)
        assert _row(page, "hidden_one").count() == 0

        wait_job(api, api.patch("/api/v1/users/shown_one", json={"full_name": "Shown Again"}))
        expect(_row(page, "shown_one").locator("[data-text=full_name]")).to_have_text("Shown Again")
        wait_job(api, api.delete("/api/v1/users/shown_one"))
        expect(_row(page, "shown_one")).to_have_count(0)
        expect(count).to_have_text("1")
        expect(page.locator("[data-rows] tr")).to_have_count(1)
    finally:
        api.close()
    assert _same_document(page)


def test_a_burst_of_events_costs_the_page_a_handful_of_requests(
    stack: Stack, new_context: NewContext
) -> None:
    """A thousand events in a burst: the page asks for its rows again a few times, not a thousand."""
    page = new_context().new_page()
    log_in(page, stack.url, *ADMIN)
    page.goto(f"{stack.url}/users/")
    live(page)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url) if "/users/" in request.url else None)
    client = redis.Redis.from_url(str(stack.settings.redis_url))
    publisher = Publisher(client, 10_000)
    host = stack.settings.host_name
    for n in range(BURST):
        publisher.publish(
            "user.updated", host, {"login": f"ghost{n}", "full_name": "", "groups": []}, actor="bulk"
        )
    client.close()
    # Every event has been through the page once the folded notice counts them all.
    expect(page.locator("[data-toasts] .toast.more")).to_have_text(f"…and {BURST - 3} more", timeout=30_000)
    expect(page.locator("body[data-refreshing]")).to_have_count(0)
    assert 1 <= len(asked) <= 5, asked
    print(f"{BURST} events: {len(asked)} request(s) for the page")


def test_a_useradd_behind_our_back_appears_in_an_open_users_page(
    stack: Stack, new_context: NewContext
) -> None:
    page = new_context().new_page()
    log_in(page, stack.url, *ADMIN)
    page.goto(f"{stack.url}/users/")
    live(page)
    _no_reload(page)
    subprocess.run(
        ["useradd", "--prefix", str(stack.sysroot), "-c", "Typed By Hand", "--", "by_hand"], check=True
    )
    expect(page.locator('tr[data-key="by_hand"] [data-text=full_name]')).to_have_text("Typed By Hand")
    expect(page.locator("[data-toasts]")).to_contain_text("User by_hand created on the host")
    assert _same_document(page)


def test_a_disabled_account_is_logged_out_at_once(stack: Stack, new_context: NewContext) -> None:
    api = logged_in_client(stack.url, *ADMIN)
    made = api.post(
        "/api/v1/accounts", json={"login": "leaver", "password": "leaver-pass-1", "role": "admin"}
    )
    api.close()
    assert made.status_code == 201, made.text
    leaver = new_context().new_page()
    log_in(leaver, stack.url, "leaver", "leaver-pass-1")
    leaver.goto(f"{stack.url}/users/")
    live(leaver)

    admin = new_context().new_page()
    log_in(admin, stack.url, *ADMIN)
    admin.goto(f"{stack.url}/accounts/")
    admin.locator('tr[data-key="leaver"]').get_by_role("button", name="Disable").click()
    expect(admin.locator('tr[data-key="leaver"] [data-badge=status]')).to_have_text("disabled")
    # The leaver's open page hears of it and finds its session gone.
    expect(leaver).to_have_url(f"{stack.url}/login/")
    assert leaver.request.get(f"{stack.url}/api/v1/users").status == 401


def test_the_page_catches_up_after_the_event_stream_was_lost(stack: Stack, new_context: NewContext) -> None:
    page = new_context().new_page()
    log_in(page, stack.url, *ADMIN)
    page.goto(f"{stack.url}/users/")
    live(page)
    _no_reload(page)
    conn = page.locator("[data-conn]")

    stack.stop_web()  # api and events: the whole origin
    expect(conn).to_have_text("Reconnecting…")
    # Meanwhile, on the host: the worker publishes it to the log, which nobody is reading.
    subprocess.run(["useradd", "--prefix", str(stack.sysroot), "--", "while_away"], check=True)
    wait_for(lambda: _in_read_model(stack, "while_away"), timeout=30, what="the worker to read while_away")
    stack.start_web()  # on the same port

    expect(conn).to_have_text("Live", timeout=30_000)
    expect(_row(page, "while_away")).to_be_visible()
    assert _same_document(page)


def _in_read_model(stack: Stack, login: str) -> bool:
    client = redis.Redis.from_url(str(stack.settings.redis_url))
    try:
        return bool(client.hexists(keys.host_users(stack.settings.host_name), login))
    finally:
        client.close()


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


def test_a_burst_of_notifications_is_folded(stack: Stack, new_context: NewContext) -> None:
    page = new_context().new_page()
    log_in(page, stack.url, *ADMIN)
    page.goto(f"{stack.url}/groups/")
    live(page)
    client = redis.Redis.from_url(str(stack.settings.redis_url))
    publisher = Publisher(client, 1000)
    for n in range(15):
        publisher.publish(
            "group.updated", "elsewhere", {"name": f"g{n}", "gid": 5000 + n, "members": []}, actor="bulk"
        )
    client.close()
    toasts = page.locator("[data-toasts] .toast")
    expect(toasts).to_have_count(4)
    expect(toasts.last).to_have_text("…and 12 more")


def test_a_stuck_job_is_flagged_and_cancelled_live(stack: Stack, new_context: NewContext) -> None:
    """Issue 11. With the worker stopped, a job stays queued: the jobs page flags it, and its
    Cancel button (the JSON API, through the script) turns it cancelled without a reload."""
    client = redis.Redis.from_url(str(stack.settings.redis_url))
    stack.worker.stop()
    try:
        stuck = uuid.uuid4().hex
        with sessionmaker_for(stack.settings.resolved_database_url).begin() as db:
            db.add(Job(id=stuck, host=stack.settings.host_name, action="user.lock", target="nobody_here",
                       actor=ADMIN[0], state="queued", params={"login": "nobody_here"},
                       created_at=utcnow() - timedelta(minutes=2)))  # fmt: skip
        page = new_context().new_page()
        log_in(page, stack.url, *ADMIN)
        page.goto(f"{stack.url}/jobs/")
        live(page)
        _no_reload(page)
        row = page.locator(f'[data-rows] tr[data-key="{stuck}"]')
        expect(row.locator("[data-stuck]")).to_be_visible()
        expect(row.locator("[data-age]")).to_have_text("queued 2 min ago")

        row.get_by_role("button", name="Cancel").click()
        expect(row.locator("[data-badge=state]")).to_have_text("cancelled")
        expect(row.locator("[data-stuck]")).to_be_hidden()
        expect(row.get_by_role("button", name="Cancel")).to_be_hidden()
        expect(row.get_by_role("button", name="Retry")).to_be_visible()
        expect(row.locator("[data-text=outcome]")).to_have_text(
            f"Cancelled by {ADMIN[0]} before it ran: nothing was changed."
        )
        assert _same_document(page)
    finally:
        stack.worker.start()
        wait_for(lambda: client.exists(keys.host_heartbeat(stack.settings.host_name)), timeout=60,
                 what="the worker back")  # fmt: skip
        client.close()

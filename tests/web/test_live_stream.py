"""The live pages' event stream in real headless Chromium: a burst of events and of notices
folded, a disabled account logged out at once, the stream lost and caught up again, a stuck
job flagged and cancelled. None of it reloads the page.

One WMI2 for the module (see tests/support/web_fixtures.py); the changes followed live
(forms, two admins, a filtered page, the host, a job) are in test_live_changes.py.
"""

from __future__ import annotations

import subprocess
import uuid
from datetime import timedelta

import redis
from playwright.sync_api import expect

from services.common import keys
from services.common.db import Job, sessionmaker_for, utcnow
from services.common.events import Publisher
from tests.support.api import logged_in_client
from tests.support.browser import NewContext, live, live_page, log_in, row, same_document
from tests.support.stack import ADMIN, Stack
from tests.support.wait import wait_for

pytest_plugins = ["tests.support.web_fixtures"]

SEED_USERS = 30
BURST = 1000


def test_a_burst_of_events_costs_the_page_a_handful_of_requests(
    stack: Stack, new_context: NewContext
) -> None:
    """A thousand events in a burst: the page asks for its rows again a few times, not a thousand."""
    page = live_page(new_context, stack.url, "/users/", marked=False)
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
    page = live_page(new_context, stack.url, "/users/")
    conn = page.locator("[data-conn]")

    stack.stop_web()  # api and events: the whole origin
    expect(conn).to_have_text("Reconnecting…")
    # Meanwhile, on the host: the worker publishes it to the log, which nobody is reading.
    subprocess.run(["useradd", "--prefix", str(stack.sysroot), "--", "while_away"], check=True)
    wait_for(lambda: _in_read_model(stack, "while_away"), timeout=30, what="the worker to read while_away")
    stack.start_web()  # on the same port

    expect(conn).to_have_text("Live", timeout=30_000)
    expect(row(page, "while_away")).to_be_visible()
    assert same_document(page)


def _in_read_model(stack: Stack, login: str) -> bool:
    client = redis.Redis.from_url(str(stack.settings.redis_url))
    try:
        return bool(client.hexists(keys.host_users(stack.settings.host_name), login))
    finally:
        client.close()


def test_a_burst_of_notifications_is_folded(stack: Stack, new_context: NewContext) -> None:
    page = live_page(new_context, stack.url, "/groups/", marked=False)
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
        page = live_page(new_context, stack.url, "/jobs/")
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
        assert same_document(page)
    finally:
        stack.worker.start()
        wait_for(lambda: client.exists(keys.host_heartbeat(stack.settings.host_name)), timeout=60,
                 what="the worker back")  # fmt: skip
        client.close()
